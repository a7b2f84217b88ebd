/**
 * Wires the pipeline: sources → parse → spool (disk) → feeder → map → delivery queue → sink, plus
 * the admin port. `buildApp(config)` → `{start, stop}`; only cli.ts reads argv and signals.
 *
 * Accepted means on disk: a source's input is appended to the spool and counts as accepted once
 * the group commit has fsynced it. A spool record is acknowledged only when its alert is delivered
 * or written to the dead-letter log, so after a crash everything accepted and unconfirmed is sent
 * again at the next start.
 */
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { startWarnings, type Config } from './config.js';
import { BridgeError } from './errors.js';
import { createLogger } from './log.js';
import { Telemetry } from './telemetry.js';
import { TcpSource } from './sources/tcp.js';
import { AdminServer, type ReadyState } from './http/admin.js';
import { availableParallelism } from 'node:os';
import { memoBytes, LinePipeline } from './pipeline.js';
import { mapperPool, workerMapper, type LineMapper } from './map-worker/client.js';
import { mapModeOf } from './map-worker/mode.js';
import { inputReadiness } from './input-readiness.js';
import { startNotifier, type NotifierRuntime } from './notify/runtime.js';
import { THEHIVE_WEBHOOK_PATH, theHiveWebhookHandler } from './http/thehive-webhook.js';
import type { Spool } from './queue/spool.js';
import { openSpool } from './open-spool.js';
import { lineRecord, peerLineRecord } from './queue/spool-payload.js';
import { REQUEUE_POLL_MS, pendingRequests, requeueDead } from './queue/requeue.js';
import { DropPickup } from './queue/drop-pickup.js';
import { DEAD_FILES } from './queue/dead-letter.js';
import { createRejectedLog } from './queue/rejected-log.js';
import { Janitor } from './queue/janitor.js';
import { FileStore } from './io/file-store.js';
import { KeptFiles } from './io/kept-files.js';
import { checkDropDirPlacement, dropDirWarnings, prepareSpoolDir } from './io/spool-dir.js';
import { MailPipeline, type MailSpool } from './mail-pipeline.js';
import { InputGate } from './input-gate.js';
import type { ImapSource } from './sources/imap.js';
import type { SmtpSource } from './sources/smtp.js';
import { imapOptionsOf, mailPolicyOf, mailTrustOf, smtpOptionsOf, targetsOf } from './app-options.js';
import { TargetRuntime } from './target-runtime.js';
import { attachTargetMetrics } from './target-telemetry.js';
import { SecretReloader, type SecretReload } from './secret-reload.js';
import { RuleTelemetry } from './rule-telemetry.js';

/**
 * At shutdown, how long peers may take to finish the line they are writing after we
 * half-close. CyberTrace resends what it could not send, so waiting longer only delays the drain.
 */
const SHUTDOWN_GRACE_MS = 1000;

/**
 * The spool's close (one last write and fsync, then the lock) may take this long even after
 * shutdown.timeoutMs is spent: waiting for sources on a full spool can use the whole deadline, and
 * the close is what says how many records were lost. A disk that hangs longer is reported as such.
 */
const SPOOL_CLOSE_GRACE_MS = 1000;

export interface AppDeps {
  readonly logger?: Logger;
  /** Clock for alert dates; tests pin it. */
  readonly now?: () => number;
}

export interface StartedAddresses {
  readonly tcp?: AddressInfo;
  readonly http?: AddressInfo;
  readonly smtp?: AddressInfo;
}

export interface App {
  readonly config: Config;
  readonly telemetry: Telemetry;
  readonly log: Logger;
  start(): Promise<StartedAddresses>;
  /**
   * Stops accepting, delivers what is in memory within shutdown.timeoutMs; the rest stays in the
   * spool. Bounded by shutdown.timeoutMs whatever the state (a full spool, a failing disk), and
   * every port is closed when it settles, resolved or rejected.
   */
  stop(): Promise<{ undelivered: number }>;
  /** `/readyz`: whether input is accepted (the spool takes writes, has room, not stopping). */
  readiness(): ReadyState;
  /** `/readyz/delivery`: whether the sink takes alerts (TheHive's key check, recent failures). */
  deliveryReadiness(): ReadyState;
  /** Parses, maps and spools one mail (what IMAP, SMTP and `ingest` use); needs start() first. */
  readonly mail: MailPipeline;
  /** SIGHUP: reads the secret files again and replaces TheHive's API key when it changed (secret-reload.ts). */
  reloadSecrets(): SecretReload;
}

export function buildApp(config: Config, deps: AppDeps = {}): App {
  const log = deps.logger ?? createLogger(config.log.level);
  const now = deps.now ?? Date.now;
  // Mail alerts' files (the .eml, attachments) wait here until the sink has them (issue 13).
  const fileStore = new FileStore(join(config.spool.dir, 'files'));
  // The directories beside the queue, each counted against its budget (spool.dead/rejected/quarantine).
  const kept = {
    dead: new KeptFiles(join(config.spool.dir, 'dead'), DEAD_FILES, config.spool.dead),
    rejected: new KeptFiles(join(config.spool.dir, 'rejected'), { kind: 'day', prefix: 'rejected' }, config.spool.rejected),
    quarantine: new KeptFiles(join(config.spool.dir, 'quarantine'), { kind: 'quarantine' }, config.spool.quarantine),
  };
  // Opened in start(): it takes the lock and reads the spool back from disk.
  let spool: Spool | undefined;
  // Each delivery target: thehive.url's (or the file sink) first, then thehive.targets' (issue 14).
  let targets: TargetRuntime[] = [];
  const telemetry = new Telemetry(log.child({ component: 'telemetry' }), () => targets.reduce((n, t) => n + t.delivery.pending, 0));
  const ruleTelemetry = new RuleTelemetry(telemetry.registry, log.child({ component: 'rules' }), now);
  telemetry.attachInputReadiness(() => readiness().ready);
  const resolved = targetsOf(config);
  const names = new Set(resolved.map((t) => t.name));
  let lastReady: ReadyState | undefined;
  /** /readyz/delivery and tracehive_sink_ready: every target ready; each reason named by its target when there are several. */
  const deliveryReadiness = (): ReadyState => {
    if (targets.length === 1) return (targets[0] as TargetRuntime).readiness();
    const states = targets.map((t) => ({ name: t.name, state: t.readiness() }));
    return { ready: states.every((s) => s.state.ready), reasons: states.flatMap((s) => s.state.reasons.map((r) => `${s.name}: ${r}`)) };
  };
  const readinessChanged = (ready: boolean, reason: string): void => {
    // One target: its health's own words, as before targets existed.
    if (targets.length === 1) return telemetry.readiness(ready, reason);
    const state = deliveryReadiness();
    if (lastReady !== undefined && lastReady.ready === state.ready && lastReady.reasons[0] === state.reasons[0]) return;
    lastReady = state;
    telemetry.readiness(state.ready, state.reasons[0] ?? '');
  };
  const deadBudgetChecked = (overBudget: string | null): void => telemetry.deadOverBudget(overBudget);
  targets = resolved.map((target) => new TargetRuntime({ target, names, config, files: fileStore, telemetry, ruleTelemetry, log, now, dead: kept.dead, deadBudgetChecked, readinessChanged }));
  const primary = targets[0] as TargetRuntime;
  const deadLetters = primary.deadLetters;
  telemetry.readiness(deliveryReadiness().ready, deliveryReadiness().reasons[0] ?? '', { quiet: true });
  attachTargetMetrics(telemetry.registry, () => targets);
  const rejectedLog = createRejectedLog(kept.rejected, telemetry);
  const janitor = new Janitor({ ...kept, telemetry, deadOverBudget: () => deadLetters.overBudget(), failed: (err) => log.error({ err }, 'Cleaning up dead/, rejected/ or quarantine/ failed; retried at the next pass.') });
  let notify: NotifierRuntime | undefined;

  const gate = new InputGate(() => spool);
  // Dead letters over spool.dead.maxBytes: still written (they hold accepted data), but input waits for the operator.
  gate.addBudget(() => deadLetters.overBudget());
  let spoolFull = false;
  /**
   * Appends one accepted item; a promise when the caller must pause its input (spool full, a write
   * failing, a batch waiting for its fsync). After the spool closed at shutdown: a rejected promise
   * (ERR_SPOOL_CLOSED), on which the listener stops reading: nothing more can be accepted.
   */
  const append = (payload: string, receivedAt: number, memo?: unknown, memoBytes?: number): void | Promise<void> => {
    const open = spool;
    if (open === undefined || open.closed) return closedSpool();
    open.append(payload, receivedAt, memo, memoBytes);
    return admit();
  };
  const closedSpool = (): Promise<never> => Promise.reject(new BridgeError('ERR_SPOOL_CLOSED', 'Input arrived after the spool was closed at shutdown.'));
  /** A promise when input must pause now (spool full, a write failing, a budget), else nothing. */
  const admit = (): void | Promise<void> => {
    const open = spool;
    if (open === undefined || open.closed) return closedSpool();
    if (!open.full && !gate.paused) return undefined;
    if (!spoolFull && open.atMaxBytes) {
      spoolFull = true;
      const { bytes } = open.stats();
      telemetry.spoolFull(true, bytes, config.spool.maxBytes);
    }
    return gate.whenOpen().then(() => {
      if (spoolFull && !open.atMaxBytes) {
        spoolFull = false;
        telemetry.spoolFull(false, open.stats().bytes, config.spool.maxBytes);
      }
    });
  };
  const pipeline = new LinePipeline({
    policy: config.alert,
    telemetry,
    now,
    // The memo's heap counts toward the spool's memory tail (pipeline.ts memoBytes).
    accept: (line, receivedAt, peer, memo) => append(peer === undefined ? lineRecord(line) : peerLineRecord(peer, line), receivedAt, memo, memoBytes(memo)),
    admit,
    roomBytes: () => spool?.roomBytes ?? 0,
    // Mapping at accept pays only when the alert leaves soon: not while a target cannot deliver
    // (TheHive down, a wrong key), when the spool's memory tail would only fill up with alerts that
    // wait, then be dropped. Those lines are mapped when read back (the feeder's premap).
    memoUsed: () => (spool?.tailing ?? true) && targets.every((t) => t.health.state.ready),
    keepRejected: (entry) => {
      rejectedLog.write(entry).catch((err: unknown) => log.warn({ err }, 'Cannot write the rejected-line log; the line is only counted.'));
    },
  });

  // Mail sources pause on the gate (a failing disk, a full spool, a budget), not on a batch waiting for its fsync.
  const mailSpool: MailSpool = {
    get closed() {
      return spool?.closed ?? true;
    },
    get full() {
      return gate.paused;
    },
    whenSpace: () => gate.whenOpen(),
    append: (payload, time) => (spool as Spool).append(payload, time),
    commit: () => (spool as Spool).commit(),
  };
  const mail = new MailPipeline({
    policy: config.alert,
    mailPolicy: mailPolicyOf(config),
    trust: mailTrustOf(config),
    spool: () => (spool === undefined ? undefined : mailSpool),
    quarantineDir: kept.quarantine.dir,
    quarantine: kept.quarantine,
    files: fileStore,
    telemetry,
    now,
  });
  // The IMAP and SMTP libraries are loaded in start(), only when enabled (memory of a serve without mail).
  const imapOptions = imapOptionsOf(config);
  const smtpOptions = smtpOptionsOf(config);
  const imap: ImapSource[] = [];
  let smtp: SmtpSource | undefined;

  let mapper: LineMapper | undefined;
  /** The map worker when lines are mapped at accept (issue 15, tcp.mapWorker), else none. */
  const startMapper = (): LineMapper | undefined => {
    const mode = mapModeOf({ setting: config.tcp.mapWorker, cores: availableParallelism(), lifecycle: targets.some((t) => t.lifecycleOn), wire: targets.every((t) => t.sink.wire === true) });
    const threads = config.tcp.mapWorkers;
    log.info({ mapWorker: mode.where === 'worker', ...(mode.where === 'worker' ? { threads } : {}) }, mode.where === 'worker' ? `Lines are parsed, mapped and encoded at accept on ${threads === 1 ? 'a worker thread' : `${threads} worker threads`} (${mode.why}).` : `Lines are mapped on the main thread as they are fed (${mode.why}).`);
    if (mode.where !== 'worker') return undefined;
    const m = mapperPool(config.tcp.mapWorkers, () => workerMapper(config.alert, (err) => log.error({ err }, 'A map worker failed: its lines are mapped on the main thread (nothing is lost). Please report this with the log.')));
    pipeline.useMapper(m);
    return m;
  };
  const tcp = config.tcp.enabled ? new TcpSource(config.tcp, telemetry, (line, peer) => pipeline.handle(line, peer)) : undefined;
  let tcpListening = false;
  let stopping = false;
  const readiness = (): ReadyState =>
    inputReadiness({ spoolOpen: spool !== undefined, blocked: spool?.blocked ?? null, atMaxBytes: spool?.atMaxBytes === true, maxBytes: config.spool.maxBytes, gateReasons: gate.reasons(), tcpEnabled: tcp !== undefined, tcpListening, stopping });
  const admin = config.http.enabled
    ? new AdminServer({ host: config.http.host, port: config.http.port, registry: telemetry.registry, readiness, deliveryReadiness })
    : undefined;
  admin?.route('POST', THEHIVE_WEBHOOK_PATH, theHiveWebhookHandler({ token: config.http.thehiveWebhookToken, minSeverity: config.notify.minSeverity, notifier: () => notify?.notifier, onAlertEvent: (event) => {
      for (const t of targets) t.lifecycle?.alertEvent(event);
    }, failed: (err) => log.error({ err }, 'A notification from TheHive’s webhook cannot be recorded.') }));

  // SIGHUP re-reads thehive.url's key; a named target's key file is read at start.
  const secrets = new SecretReloader(config, log, { ...(primary.theHive ? { theHive: primary.theHive } : {}), recheck: () => primary.probe?.recheck() });

  // Requeue requests of `tracehive spool requeue-dead`, and mails left by `tracehive ingest`, while serve runs.
  let requeueTimer: NodeJS.Timeout | undefined;
  let requeueing: Promise<void> = Promise.resolve();
  const drops = new DropPickup({ spoolDir: config.spool.dir, dropDir: config.ingest.dropDir, maxBytes: config.email.smtp.maxBytes, intake: mail, telemetry, log: log.child({ component: 'drop' }), stopping: () => stopping });
  const requeue = async (): Promise<void> => {
    const open = spool;
    if (!open || stopping) return;
    for (const request of await pendingRequests(config.spool.dir)) {
      const result = await requeueDead(config.spool.dir, open, { request, beforeMove: () => Promise.all(targets.map((t) => t.deadLetters.close())).then(() => undefined), ...(notify ? { notifications: notify.requeue } : {}) });
      log.info({ ...result }, 'Dead letters requeued: their alerts are in the spool and are sent again.');
      // The files left dead/: count again, so input paused over spool.dead.maxBytes resumes.
      await kept.dead.scan();
      telemetry.deadOverBudget(deadLetters.overBudget());
    }
    await drops.take();
  };

  let starting: Promise<StartedAddresses> | undefined;
  let stopped: Promise<{ undelivered: number }> | undefined;
  const start = async (): Promise<StartedAddresses> => {
    const addresses: { tcp?: AddressInfo; http?: AddressInfo; smtp?: AddressInfo } = {};
    // Valid but open to the network or to eavesdroppers: said once, each with what to set.
    for (const warning of startWarnings(config)) log.warn(warning);
    const spoolDir = await prepareSpoolDir(config.spool.dir);
    if (spoolDir.tightenedFrom !== null) log.warn({ dir: config.spool.dir, mode: `0${spoolDir.tightenedFrom.toString(8)}` }, 'spool.dir was readable by other users (it holds mails and alerts): made 0700.');
    await checkDropDirPlacement(config.spool.dir, config.ingest.dropDir);
    for (const warning of await dropDirWarnings(config.ingest.dropDir)) log.warn({ dropDir: config.ingest.dropDir }, `ingest.dropDir ${warning}.`);
    await janitor.start();
    // Files of mails that never reached the spool (a crash before their record was written).
    void fileStore.sweep(now()).catch((err: unknown) => log.warn({ err }, 'Sweeping spool.dir/files failed; retried at the next start.'));
    if (admin && !stopping) {
      addresses.http = await admin.start();
      log.info({ host: addresses.http.address, port: addresses.http.port }, 'Admin HTTP listening: /healthz /readyz /metrics.');
    }
    if (stopping) return addresses;
    const opened = await openSpool(config, telemetry);
    spool = opened;
    telemetry.attachSpool(() => ({ ...opened.stats(), maxBytes: config.spool.maxBytes, full: opened.atMaxBytes, blocked: opened.blocked !== null }));
    telemetry.spoolRecovered(opened.recovery);
    notify = await startNotifier({ config, log: log.child({ component: 'notify' }), registry: telemetry.registry, now });
    // thehive.url's target reads with the spool's own reader; each named target with a cursor of its own.
    // The map worker maps lines at accept and those the feeders read back from disk.
    if (tcp && !stopping) mapper = startMapper();
    for (const t of targets) await t.start(t === primary ? opened : opened.cursor(), notify?.notifier, telemetry.registry, mapper);
    requeueing = drops
      .legacy(opened)
      .catch((err: unknown) => log.error({ err }, 'Draining the legacy spool.dir/incoming/ failed; retried at the next start.'))
      .then(requeue)
      .catch((err: unknown) => log.error({ err }, 'Requeueing dead letters failed; the files stay in spool.dir/requeue/ and are retried.'));
    requeueTimer = setInterval(() => {
      requeueing = requeueing.then(requeue).catch((err: unknown) => log.error({ err }, 'Requeueing dead letters failed; the files stay in spool.dir/requeue/ and are retried.'));
    }, REQUEUE_POLL_MS);
    requeueTimer.unref();
    if (tcp && !stopping) {
      addresses.tcp = await tcp.start();
      tcpListening = true;
      log.info({ host: addresses.tcp.address, port: addresses.tcp.port }, 'CyberTrace listener ready: point OutputSettings > ConnectionString here.');
    }
    if (smtpOptions && !stopping) {
      smtp = new (await import('./sources/smtp.js')).SmtpSource(smtpOptions, mail, log.child({ component: 'smtp' }), telemetry);
      addresses.smtp = await smtp.start();
      log.info({ host: addresses.smtp.address, port: addresses.smtp.port }, 'SMTP intake listening: mail sent here becomes alerts.');
    }
    if (imapOptions.length > 0 && !stopping) {
      const { ImapSource } = await import('./sources/imap.js');
      // One source per mailbox (email.imap.mailboxes); each start resolves after its first attempt,
      // connected or not: a down mail server must not stop CyberTrace intake, nor the other mailboxes.
      const sources = imapOptions.map((o) => new ImapSource(o, mail, log.child({ component: 'imap' })));
      imap.push(...sources);
      await Promise.all(sources.map((s) => s.start()));
    }
    if (primary.theHive === undefined) log.info({ path: config.file.path }, 'No thehive.url configured: alerts go to the file sink.');
    return addresses;
  };

  return {
    config,
    telemetry,
    log,
    readiness,
    deliveryReadiness,
    mail,
    reloadSecrets: () => secrets.reload(),
    start() {
      starting ??= start();
      return starting;
    },
    async stop() {
      stopped ??= stop();
      return stopped;
    },
  };

  /**
   * Every step is bounded by the deadline, and whatever happens (a full spool, a failing disk, a
   * step that throws) the ports close: `finally` below. What is left stays in the spool.
   */
  async function stop(): Promise<{ undelivered: number }> {
    const deadline = Date.now() + config.shutdown.timeoutMs;
    const remaining = (): number => Math.max(0, deadline - Date.now());
    const bounded = <T>(p: Promise<T> | undefined): Promise<T | undefined> => Promise.race([p, sleep(remaining()).then(() => undefined)]);
    stopping = true;
    for (const t of targets) t.stopChecks();
    if (requeueTimer) clearInterval(requeueTimer);
    const janitorDone = janitor.stop();
    let records = 0;
    try {
      await bounded(starting?.catch(() => undefined)); // a signal during start-up: stop what it started
      log.info({ timeoutMs: config.shutdown.timeoutMs, inMemory: targets.reduce((n, t) => n + t.delivery.pending, 0), spooled: spool?.stats().records ?? 0 }, 'Shutting down: no new connections; delivering what is in memory, the rest stays in the spool.');
      // Sources hand what they already read to the spool while the queue keeps delivering.
      const sourcesDone = Promise.all([
        tcp?.stop(Math.min(SHUTDOWN_GRACE_MS, remaining())),
        // A mail being taken finishes (its accept resolves) before the spool closes; IMAP logs out.
        ...imap.map((s) => s.stop(remaining())),
        smtp?.stop(),
      ]);
      await bounded(sourcesDone);
      // Lines at the map worker are spooled before the spool closes.
      await bounded(pipeline.drain());
      tcpListening = false;
      await bounded(Promise.all(targets.map((t) => t.feeder?.stop())));
      await bounded(mapper?.close());
      await bounded(requeueing);
      // Sightings waiting for their interval get their flush within the deadline too.
      for (const t of targets) t.lifecycle?.lifecycle.flushAll();
      await Promise.all(targets.map((t) => t.delivery.drain(remaining())));
      // Sends still in flight end within thehive.timeoutMs; a file sink on a hung disk must not hold the exit.
      const left = (await bounded(Promise.all(targets.map((t) => t.delivery.close())).then((n) => n.reduce((a, b) => a + b, 0)))) ?? targets.reduce((n, t) => n + t.delivery.pending, 0);
      await bounded(Promise.all(targets.map((t) => t.lifecycle?.close())));
      await bounded(notify?.close());
      records = spool?.stats().records ?? 0;
      // Closing the spool wakes sources still waiting for room (a full or failing spool): their
      // appends are refused from now on, so they finish. A disk that hangs cannot hold the exit.
      let closed = false;
      const closing = spool
        ?.close()
        .then(() => null, (err: unknown) => err as Error)
        .finally(() => (closed = true));
      // Its last write is quick or fails quick: it gets a moment even when the deadline is spent.
      const closeError = await Promise.race([closing, sleep(Math.max(remaining(), SPOOL_CLOSE_GRACE_MS)).then(() => undefined)]);
      await bounded(sourcesDone);
      if (records > 0) {
        log.info({ inFlightAtDeadline: left, records }, 'Undelivered alerts stay in the spool and are sent at the next start.');
      } else {
        log.info('All accepted alerts delivered.');
      }
      // Its error (records it could not write) is the caller's to report, and so is a close that hung.
      if (closeError) throw closeError;
      if (closing && !closed) throw new BridgeError('ERR_SPOOL_DIR', `The spool did not close within shutdown.timeoutMs (${config.shutdown.timeoutMs} ms): the disk of ${config.spool.dir} hangs. What was committed is on disk; records appended in the last moment may be lost.`);
    } finally {
      await Promise.allSettled([...targets.flatMap((t) => [bounded(t.sink.close()), bounded(t.deadLetters.close())]), bounded(rejectedLog.close()), bounded(janitorDone)]);
      await admin?.stop();
    }
    const count = (name: string): Promise<number> => telemetry.value(name);
    log.info(
      {
        linesReceived: await count('tracehive_lines_received_total'),
        accepted: await count('tracehive_alerts_queued_total'),
        committed: await count('tracehive_spool_committed_records_total'),
        alertsDelivered: await count('tracehive_alerts_delivered_total'),
        alertsDead: await count('tracehive_alerts_dead_total'),
        spooled: records,
      },
      'Stopped: every accepted alert is delivered, in the dead-letter log, or in the spool for the next start.',
    );
    return { undelivered: records };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
