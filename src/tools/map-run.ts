/**
 * `tracehive map`: the alerts CyberTrace lines (`map [FILE]`) or mails (`map --mail FILE…`) map
 * to, printed as JSON lines, and what serve would do with each (map-plan.ts): nothing is
 * delivered, spooled or quarantined. Mails go through intake's own steps (the mbox `From ` line
 * dropped as `ingest` does, the same "is it a mail" check, parser, mapper and configuration).
 *
 * stdout stays what it always was, one alert per line, so `tracehive map | jq` keeps working;
 * the plan goes to stderr, one line per alert, or with `--plan` into stdout as a wrapper
 * (`{"action":"create","sourceRef":"ct-k…","alert":{…}}`) for scripts. The lifecycle's state
 * files are only read (never locked or written): serve may be running on the same spool.dir.
 */
import { createReadStream } from 'node:fs';
import { access, open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import split2 from 'split2';
import { pino } from 'pino';
import type { Config } from '../config.js';
import { mailPolicyOf } from '../app-options.js';
import { MAIL_STATE_FILE, type MailKeyState } from '../lifecycle/mail-lifecycle.js';
import { lifecycleTarget } from '../lifecycle/runtime.js';
import type { KeyState } from '../lifecycle/state.js';
import { StateStore } from '../lifecycle/state-store.js';
import { NOT_A_MAIL, startsLikeMail } from '../mail-pipeline.js';
import { LinePipeline } from '../pipeline.js';
import { stripMboxFromLine } from '../sources/mail-files.js';
import { Telemetry } from '../telemetry.js';
import type { Alert } from '../types.js';
import { MapPlanner, formatPlan, type KnownStates, type Plan } from './map-plan.js';

/** Where map writes: `out` is stdout (awaited: backpressure), `err` stderr. */
export interface MapOutput {
  out(text: string): Promise<void>;
  err(text: string): void;
}

export interface MapOptions {
  /** `--plan`: each stdout line is `{action, sourceRef, …, alert}` instead of the bare alert. */
  readonly plan: boolean;
  readonly now: () => number;
}

/** `map [FILE]`: lines from FILE or stdin (`undefined` or `-`). Returns the exit code. */
export async function mapLines(config: Config, file: string | undefined, input: Readable, o: MapOptions, io: MapOutput): Promise<number> {
  const telemetry = new Telemetry(pino({ level: 'silent' }), () => 0);
  const planner = await plannerFor(config, io);
  const tally = new Tally();
  let lineNo = 0;
  let alerts = 0;
  const pipeline = new LinePipeline({
    policy: config.alert,
    telemetry,
    now: o.now,
    accept: () => undefined,
    keepRejected: (entry) => io.err(`line ${lineNo}: ${entry.code}: ${entry.detail}\n`),
  });
  const fromStdin = file === undefined || file === '-';
  const source = fromStdin ? input : createReadStream(file);
  const splitter = split2();
  // A read error mid-file ends the loop below with that error instead of an unhandled event.
  source.on('error', (err: Error) => splitter.destroy(err));
  for await (const line of source.pipe(splitter)) {
    lineNo++;
    const mapped = pipeline.toMapped(line as string, file ?? 'stdin');
    if (mapped === undefined) continue;
    alerts++;
    const plan = mapped.record.kind === 'detection' ? planner.detection(mapped.record, mapped.alert, o.now()) : planner.plain(mapped.alert);
    await emit(mapped.alert, plan, `line ${lineNo}`, planner, tally, o, io);
  }
  // Say what became of every line, so lines that made no alert are never a silent mystery.
  const kind = (k: string): Promise<number> => telemetry.value('tracehive_lines_parsed_total', { kind: k });
  const serviceNote = config.alert.serviceAlerts === 'log' ? ' (logged only: alert.serviceAlerts=log)' : '';
  io.err(
    `${lineNo} lines: ${alerts} alerts, ${await kind('service')} service alerts${serviceNote}, ${await kind('finished')} LookupFinished, ` +
      `${await telemetry.value('tracehive_lines_rejected_total')} rejected.\n`,
  );
  if (planner.lifecycle && alerts > 0) io.err(tally.summary());
  return 0;
}

/**
 * `map --mail FILE…`: each mail's alert, files in order (a directory stands for its `*.eml`, `-`
 * for stdin). A file that is unreadable, too large or no mail is named on stderr and the others
 * still printed; the exit code is then 1.
 */
export async function mapMails(config: Config, files: readonly string[], input: Readable, o: MapOptions, io: MapOutput): Promise<number> {
  const planner = await plannerFor(config, io);
  const tally = new Tally();
  const mailPolicy = mailPolicyOf(config);
  const maxBytes = config.email.smtp.maxBytes;
  const [{ parseMail }, { alertFromMail }] = await Promise.all([import('../parse/email.js'), import('../map/mail-alert.js')]);
  let failed = 0;
  let mapped = 0;
  for (const name of files.length === 0 ? ['-'] : files) {
    for (const item of name === '-' ? [{ name: 'stdin', read: () => readStream(input, maxBytes) }] : await expand(name, maxBytes)) {
      const raw = await item.read().catch((err: NodeJS.ErrnoException) => `cannot read it (${err.code ?? err.message}): give an .eml file, a directory of them, or - for stdin`);
      if (typeof raw === 'string') {
        failed++;
        io.err(`${item.name}: ${raw}\n`);
        continue;
      }
      const mail = stripMboxFromLine(raw);
      let alert: Alert;
      let warnings: readonly string[] = [];
      try {
        if (!startsLikeMail(mail)) throw new Error(NOT_A_MAIL.replace(/^ERR_MAIL_PARSE: /, ''));
        const parsed = await parseMail(mail, { maxDepth: mailPolicy.maxDepth });
        warnings = parsed.warnings;
        alert = alertFromMail(parsed, config.alert, mailPolicy, o.now());
      } catch (err) {
        failed++;
        io.err(`${item.name}: no alert: serve would quarantine this mail in spool.dir/quarantine (ERR_MAIL_PARSE: ${err instanceof Error ? err.message : String(err)})\n`);
        continue;
      }
      mapped++;
      for (const w of warnings) io.err(`${item.name}: warning: ${w}\n`);
      await emit(alert, planner.mail(alert, o.now()), item.name, planner, tally, o, io);
    }
  }
  io.err(`${mapped + failed} mails: ${mapped} made an alert, ${failed} did not.\n`);
  if (planner.lifecycle && mapped > 0) io.err(tally.summary());
  return failed > 0 ? 1 : 0;
}

/** Prints one alert (and its plan: stderr, or stdout with --plan). */
async function emit(alert: Alert, plan: Plan, where: string, planner: MapPlanner, tally: Tally, o: MapOptions, io: MapOutput): Promise<void> {
  tally.add(plan);
  if (o.plan) return io.out(`${JSON.stringify({ ...plan, alert })}\n`);
  if (planner.lifecycle) io.err(`${where}: ${formatPlan(plan)}\n`);
  return io.out(`${JSON.stringify(alert)}\n`);
}

/** The plans of one run, counted for the summary line. */
class Tally {
  readonly #counts = { create: 0, update: 0, unchanged: 0 };

  add(plan: Plan): void {
    this.#counts[plan.action]++;
  }

  summary(): string {
    const c = this.#counts;
    return `serve would: ${c.create} create, ${c.update} update (of an alert still open in TheHive), ${c.unchanged} unchanged.\n`;
  }
}

/** The planner, with what the state files in spool.dir/alerts hold when the lifecycle is on. */
async function plannerFor(config: Config, io: MapOutput): Promise<MapPlanner> {
  const options = { windowMs: config.alert.updateWindowMs, keyFields: config.alert.updateKey, target: lifecycleTarget(config) };
  if (config.alert.updateWindowMs <= 0) return new MapPlanner({ ...options, known: { detection: () => undefined, mail: () => undefined } });
  return new MapPlanner({ ...options, known: await readStates(join(config.spool.dir, 'alerts'), io) });
}

/**
 * The state files, read only. StateStore.open writes nothing when the directory exists (it would
 * create it, so a missing one means no state); a line being written by serve right now is torn
 * and skipped, as a crash's would be.
 */
async function readStates(dir: string, io: MapOutput): Promise<KnownStates> {
  if (!(await access(dir).then(() => true, () => false))) return { detection: () => undefined, mail: () => undefined };
  const report = (err: Error): void => io.err(`warning: ${err.message}\n`);
  // Keys are evicted only when one is added: reading never drops one, whatever the cap.
  const detections = await StateStore.open<KeyState>({ dir, maxKeys: Number.MAX_SAFE_INTEGER, report });
  const mails = await StateStore.open<MailKeyState>({ dir, file: MAIL_STATE_FILE, maxKeys: Number.MAX_SAFE_INTEGER, report });
  return { detection: (key) => detections.get(key), mail: (key) => mails.get(key) };
}

interface MailInput {
  readonly name: string;
  /** The raw mail; rejects with the reason it cannot be read (a string reason for "too large"). */
  read(): Promise<Buffer | string>;
}

/** The mails a path stands for: itself, or the `*.eml` files directly in a directory, in name order. */
async function expand(path: string, maxBytes: number): Promise<MailInput[]> {
  const one = (file: string): MailInput => ({ name: file, read: () => readFileBounded(file, maxBytes) });
  const st = await stat(path).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) return [one(path)];
  const names = (await readdir(path, { withFileTypes: true })).filter((e) => !e.isDirectory() && /\.eml$/i.test(e.name)).map((e) => e.name);
  if (names.length === 0) return [{ name: path, read: () => Promise.resolve('the directory holds no .eml file') }];
  return names.sort().map((n) => one(join(path, n)));
}

async function readFileBounded(file: string, maxBytes: number): Promise<Buffer | string> {
  const handle = await open(resolve(file), 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) return tooLarge(size, maxBytes);
    const raw = await handle.readFile();
    return raw.length > maxBytes ? tooLarge(raw.length, maxBytes) : raw;
  } finally {
    await handle.close();
  }
}

async function readStream(stream: Readable, maxBytes: number): Promise<Buffer | string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    bytes += buf.length;
    if (bytes <= maxBytes) chunks.push(buf);
    else chunks.length = 0;
  }
  if (bytes > maxBytes) return tooLarge(bytes, maxBytes);
  if (bytes === 0) return 'no mail on stdin';
  return Buffer.concat(chunks, bytes);
}

/** As serve refuses it (SMTP 552; ingest exit 65): it never becomes an alert. */
function tooLarge(bytes: number, maxBytes: number): string {
  return `ERR_MAIL_TOO_BIG: ${bytes} bytes, more than email.smtp.maxBytes (${maxBytes}): serve would refuse this mail`;
}
