#!/usr/bin/env -S node --max-old-space-size=512 --max-semi-space-size=4 --no-parallel-scavenge
/**
 * The `tracehive` command. The only module that reads argv, installs signal handlers and
 * decides exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig, redactedConfig, startWarnings, type Config } from './config.js';
import { BridgeError } from './errors.js';
import { buildApp } from './app.js';
import { versionLine } from './build-info.js';
import { replay, formatSummary } from './tools/replay.js';
import { formatReport, spoolReport } from './tools/spool-stats.js';
import { Spool } from './queue/spool.js';
import { requestRequeue, requeueDead } from './queue/requeue.js';
import { notifyDir, Outbox } from './notify/outbox.js';
import { join } from 'node:path';

const USAGE = `Usage: tracehive <command> [options]

Commands:
  serve                      run the CyberTrace listener, delivery queue and admin port until SIGTERM
  map [FILE]                 print the alerts CyberTrace lines map to (stdin by default), deliver nothing;
                             stderr says what serve would do with each: create SOURCEREF, update of SOURCEREF
                             (the key's open alert, in this run or in spool.dir/alerts) or unchanged
      --mail FILE.eml|DIR …  map mails instead, as intake would ('-' = stdin); a file that is no mail is
                             named with the reason serve would quarantine it, and the exit code is 1
      --plan                 print {"action","sourceRef",…,"alert"} per line instead of the bare alert
  replay FILE                send a captured newline stream to a listener ('-' = stdin)
      --host H               default 127.0.0.1
      --port P               default 9998
      --rate N               lines per second, 0 = as fast as possible (default 0)
      --connections C        parallel connections (default 1)
  check-config               validate the configuration and print it with secrets redacted
  ingest [FILE.eml|DIR …]    leave mails in ingest.dropDir for serve (stdin when no FILE: an MTA pipe); exit 75 = try again later
  spool stats [--json]       what waits in spool.dir: queue depth and age, dead letters by code, rejected lines, budgets
  spool requeue-dead [FILE…] put dead-lettered alerts back in the queue (all, or these files of dead/)
  alerts list [--json]       the alert each key has in TheHive: sightings, severity, last seen
  alerts show KEY [--json]   one key's alert (KEY: a key, a sourceRef or TheHive's alert id)
  alerts forget KEY          reset a key: its next sighting finds its alert again in TheHive

Options:
  --config FILE              a JSON config file (also TRACEHIVE_CONFIG); environment variables win
  -h, --help                 this text
  --version                  print the version, the commit it was built from and the Node version
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '9998' },
      rate: { type: 'string', default: '0' },
      connections: { type: 'string', default: '1' },
      json: { type: 'boolean' },
      mail: { type: 'boolean' },
      plan: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (values.version) {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const configFrom = () => loadConfig(values.config !== undefined ? { file: values.config } : {});
  switch (command) {
    case 'serve':
      return serve(configFrom());
    case 'map':
      return map(configFrom(), rest, { mail: values.mail === true, plan: values.plan === true });
    case 'check-config': {
      const config = configFrom();
      process.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
      for (const warning of startWarnings(config)) process.stderr.write(`warning: ${warning}\n`);
      process.stderr.write('Configuration is valid.\n');
      return 0;
    }
    case 'replay': {
      const file = rest[0];
      if (file === undefined) throw new BridgeError('ERR_USAGE', 'replay needs a FILE (or - for stdin).');
      const options = {
        file,
        host: values.host,
        port: positiveInt('--port', values.port, 1),
        rate: positiveInt('--rate', values.rate, 0),
        connections: positiveInt('--connections', values.connections, 1),
      };
      if (file !== '-') await mustRead(file);
      // Ctrl-C ends the replay cleanly: what was read is sent, then the partial summary.
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      const summary = await replay({ ...options, signal: abort.signal });
      process.stdout.write(`${formatSummary(summary)}${abort.signal.aborted ? ' (interrupted)' : ''}\n`);
      return abort.signal.aborted ? 130 : 0;
    }
    case 'ingest':
      return ingest(configFrom(), rest);
    case 'spool':
      return spoolCommand(configFrom(), rest, values.json === true);
    case 'alerts':
      return alertsCommand(configFrom(), rest, values.json === true);
    default:
      throw new BridgeError('ERR_USAGE', `Unknown command ${JSON.stringify(command)}; run tracehive --help.`);
  }
}

function positiveInt(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new BridgeError('ERR_USAGE', `Expected ${name} to be an integer ≥ ${min}, got ${JSON.stringify(text)}.`);
  return n;
}

/**
 * Beyond shutdown.timeoutMs, how long the last steps (closing files and ports, the summary) may
 * take before the process exits anyway: a shutdown must never hang with its ports open.
 */
const SHUTDOWN_SLACK_MS = 5000;

/** `tracehive map`: lines (or, with --mail, mails) to the alerts they make, and what serve would do with each. */
async function map(config: Config, files: string[], o: { mail: boolean; plan: boolean }): Promise<number> {
  const { mapLines, mapMails } = await import('./tools/map-run.js');
  const io = {
    out: async (text: string): Promise<void> => {
      if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
    },
    err: (text: string): void => void process.stderr.write(text),
  };
  const options = { plan: o.plan, now: Date.now };
  if (o.mail) return mapMails(config, files, process.stdin, options, io);
  const file = files[0];
  if (files.length > 1) throw new BridgeError('ERR_USAGE', `tracehive map takes one capture FILE (or - for stdin), got ${files.length}; for mails use tracehive map --mail FILE…`);
  if (file !== undefined && file !== '-') await mustRead(file);
  return mapLines(config, file, process.stdin, options, io);
}

async function serve(config: Config): Promise<number> {
  const app = buildApp(config);
  let stopping: Promise<unknown> | undefined;
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        app.log.warn({ signal }, 'Second signal: exiting without waiting for the drain.');
        process.exit(1);
      }
      app.log.info({ signal }, 'Signal received.');
      const limitMs = config.shutdown.timeoutMs + SHUTDOWN_SLACK_MS;
      setTimeout(() => {
        app.log.error({ limitMs }, 'Shutdown did not finish in time: exiting now. What was accepted is in the spool.');
        resolve(1);
      }, limitMs).unref();
      stopping = app.stop().then(
        () => resolve(0),
        (err: unknown) => {
          app.log.error({ err }, 'Shutdown failed.');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  // Without a handler SIGHUP would end the process: `systemctl reload` rotates the key instead.
  process.on('SIGHUP', () => {
    app.log.info({ signal: 'SIGHUP' }, 'Signal received: reading the secret files again.');
    app.reloadSecrets();
  });
  try {
    await app.start();
  } catch (err) {
    await app.stop().catch(() => undefined);
    throw err;
  }
  const code = await done;
  // Whatever is still open (a socket a failed shutdown left, a hung disk) must not keep the process alive.
  app.log.flush?.();
  setImmediate(() => process.exit(code));
  return code;
}

/**
 * `tracehive ingest`: mails from files or stdin, each kept durably as one drop file in
 * ingest.dropDir, raw, for `tracehive serve` (now, or at its next start) to parse, map and spool.
 * ingest never opens spool.dir: it may run as the MTA's user. Exit codes follow sysexits so an MTA
 * pipe retries (75) or bounces (65, 66) correctly.
 */
async function ingest(config: Config, files: string[]): Promise<number> {
  const { DropWriter } = await import('./queue/drop-writer.js');
  const { checkDropDirPlacement } = await import('./io/spool-dir.js');
  const { ingestFiles, ingestStdin, ingestExitCode, formatIngestResult } = await import('./sources/mail-files.js');
  await checkDropDirPlacement(config.spool.dir, config.ingest.dropDir);
  const drop = new DropWriter(config.ingest.dropDir);
  const options = { maxBytes: config.email.smtp.maxBytes };
  const results = files.length === 0 ? [await ingestStdin(process.stdin, drop, options)] : (await ingestFiles(files, drop, options)).results;
  for (const r of results) process.stderr.write(`${formatIngestResult(r)}\n`);
  return ingestExitCode(results);
}

async function spoolCommand(config: Config, args: string[], json: boolean): Promise<number> {
  const [sub, ...files] = args;
  if (sub === 'stats') {
    const { dead, rejected, quarantine } = config.spool;
    const report = await spoolReport(config.spool.dir, Date.now(), { budgets: { dead, rejected, quarantine }, dropDir: config.ingest.dropDir });
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  }
  if (sub === 'requeue-dead') {
    let spool: Spool;
    try {
      spool = await Spool.open({ dir: join(config.spool.dir, 'queue'), maxBytes: config.spool.maxBytes, fsyncIntervalMs: 0, segmentBytes: config.spool.segmentBytes });
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_SPOOL_LOCKED') throw err;
      // serve runs and owns the dead-letter files: it does the move at its next poll.
      await requestRequeue(config.spool.dir, files);
      process.stdout.write(`tracehive serve is running on this spool: it requeues ${files.length > 0 ? files.join(', ') : 'every dead-letter file'} within seconds (its log says "Dead letters requeued").\n`);
      return 0;
    }
    // Notification dead letters go back into the outbox; serve sends them at its next start.
    const outbox = await Outbox.open({ dir: notifyDir(config.spool.dir), now: Date.now, report: () => undefined });
    try {
      const request = files.length > 0 ? await requestRequeue(config.spool.dir, files) : undefined;
      const result = await requeueDead(config.spool.dir, spool, { ...(request ? { request } : {}), notifications: (event, channel) => outbox.reopen(event, channel) });
      const unreadable = result.unreadable > 0 ? `; ${result.unreadable} lines were no dead letters this release reads and are kept in ${join(config.spool.dir, 'requeue')}/unreadable-*` : '';
      process.stdout.write(`Requeued ${result.alerts} alerts and ${result.notifications ?? 0} notifications from ${result.files} files${unreadable}. tracehive serve sends them at its next start.\n`);
      for (const p of result.problems) process.stdout.write(`  dead/${p.file}${p.line > 0 ? ` line ${p.line}` : ''}: ${p.reason}\n`);
    } finally {
      await outbox.close();
      await spool.close();
    }
    return 0;
  }
  throw new BridgeError('ERR_USAGE', `Unknown spool command ${JSON.stringify(sub ?? '')}; use: tracehive spool stats | tracehive spool requeue-dead [FILE…].`);
}

async function alertsCommand(config: Config, args: string[], json: boolean): Promise<number> {
  const t = await import('./tools/alerts.js');
  const [sub, wanted] = args;
  if (sub === 'list') {
    const [states, mails] = [await t.loadStates(config.spool.dir), await t.loadMailStates(config.spool.dir)];
    if (json) process.stdout.write([...states.map((s) => JSON.stringify(t.summary(s))), ...mails.map((m) => JSON.stringify(t.mailSummary(m)))].map((l) => `${l}\n`).join(''));
    else process.stdout.write(t.formatList(states) + t.formatMailList(mails));
    return 0;
  }
  const unknown = (): BridgeError => new BridgeError('ERR_USAGE', `No alert state matches ${JSON.stringify(wanted)}: give a key, a sourceRef or an alert id that tracehive alerts list shows.`);
  if ((sub === 'show' || sub === 'forget') && wanted === undefined) throw new BridgeError('ERR_USAGE', `tracehive alerts ${sub} needs a KEY: a key, a sourceRef or an alert id that tracehive alerts list shows.`);
  if (sub === 'show') {
    const state = t.findState(await t.loadStates(config.spool.dir), wanted as string);
    const mail = state === undefined ? t.findMailState(await t.loadMailStates(config.spool.dir), wanted as string) : undefined;
    if (state === undefined && mail === undefined) throw unknown();
    process.stdout.write(json ? `${JSON.stringify(state ?? mail, null, 2)}\n` : state ? t.formatShow(state) : t.formatMailShow(mail as NonNullable<typeof mail>));
    return 0;
  }
  if (sub === 'forget') {
    const { state, how } = await t.forgetKey(config.spool.dir, wanted as string);
    const what = `key ${state.key} (${state.sourceRef}, ${state.what})`;
    process.stdout.write(how === 'now' ? `Forgot ${what}. Its next sighting finds its alert in TheHive again and counts from there.\n` : `tracehive serve is running on this spool: it forgets ${what} within seconds (its log says "Alert state forgotten").\n`);
    return 0;
  }
  throw new BridgeError('ERR_USAGE', `Unknown alerts command ${JSON.stringify(sub ?? '')}; use: tracehive alerts list | show KEY | forget KEY.`);
}

/** A usage error (exit 2) naming the file when an input file cannot be read. */
async function mustRead(file: string): Promise<void> {
  await access(file, constants.R_OK).catch((err: NodeJS.ErrnoException) => {
    throw new BridgeError('ERR_USAGE', `Cannot read ${file} (${err.code}); give a capture file of CyberTrace lines, or - for stdin.`, { cause: err });
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof BridgeError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const code = (err as NodeJS.ErrnoException).code;
    let message = err instanceof Error ? err.message : String(err);
    if (code === 'EADDRINUSE') message += ': another process listens there; stop it or choose another port (TRACEHIVE_TCP_PORT, TRACEHIVE_HTTP_PORT)';
    if (code === 'EACCES') message += ': ports below 1024 need privileges; choose a higher port';
    process.stderr.write(`tracehive: ${message}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
