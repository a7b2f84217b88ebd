/**
 * One named function per fact (vector's internal_events): each logs at the level the fact
 * deserves and counts it in the Prometheus registry served on /metrics. Levels: error =
 * data loss or an operator must act, warn = recoverable, info = lifecycle, debug = per line.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorCode } from './errors.js';
import { buildInfo } from './build-info.js';
import type { CyberTraceRecord, QueuedAlert } from './types.js';
import type { SpoolRecovery } from './queue/spool.js';
import type { KeptUsage, Removed } from './io/kept-files.js';
import type { ExchangeResult } from './sinks/thehive-client.js';
import { GlueTelemetry } from './glue-telemetry.js';

/** The directories of kept files that have a budget (spool.dead, spool.rejected, spool.quarantine). */
export type KeptDir = 'dead' | 'rejected' | 'quarantine';

/** What the spool gauges show. */
export interface SpoolGauges {
  readonly bytes: number;
  readonly maxBytes: number;
  readonly records: number;
  readonly oldestTime: number | null;
  readonly full: boolean;
  /** Writes fail (a full or broken disk): input is paused. */
  readonly blocked: boolean;
}

/** Longest excerpt of a bad line that goes into a log line. */
const EXCERPT_CHARS = 200;
/**
 * Longest text a peer controls (a service-alert line, a detail, a reason quoting TheHive, a mail
 * origin or warning) that goes whole into a log line: logs are for operators, the spool and the
 * rejected-line log keep the data. A 64 KiB line logged at info on every send filled disks.
 */
const LOGGED_TEXT_CHARS = 1000;
/** At most this many mail warnings are logged (the alert's description lists them all). */
const LOGGED_WARNINGS = 10;

/** `text` cut to {@link LOGGED_TEXT_CHARS}, saying how much was left out. */
export function clip(text: string, max = LOGGED_TEXT_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
/** The same spool error is logged at error level once per this interval, else at debug. */
const REPEAT_LOG_MS = 60_000;

export class Telemetry {
  readonly registry = new Registry();
  readonly #log: Logger;
  readonly #connections: Gauge;
  readonly #connectionsTotal: Counter<'result'>;
  readonly #linesReceived: Counter;
  readonly #linesParsed: Counter<'kind'>;
  readonly #linesRejected: Counter<'code'>;
  readonly #linesTooLong: Counter;
  readonly #alertsQueued: Counter;
  readonly #alertsDelivered: Counter<'duplicate'>;
  readonly #alertsRetried: Counter;
  readonly #alertsDead: Counter<'code'>;
  readonly #ready: Gauge;
  readonly #spoolCommitted: Counter;
  readonly #spoolFsync: Histogram;
  readonly #spoolRecovered: Gauge;
  readonly #spoolDamaged: Counter<'kind'>;
  readonly #spoolErrors: Counter<'during'>;
  readonly #spoolSkipped: Counter<'invalid'>;
  readonly #mails: Counter<'via' | 'outcome'>;
  readonly #lineTimeouts: Counter;
  readonly #framingErrors: Counter<'code'>;
  readonly #smtpRefused: Counter<'reason'>;
  #smtpInflight: (() => number) | undefined;
  #spool: (() => SpoolGauges) | undefined;
  readonly #spoolErrorLogged = new Map<string, number>();
  readonly #glue: GlueTelemetry;
  #open = 0;

  constructor(log: Logger, queueDepth: () => number) {
    this.#log = log;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tracehive_' });
    this.#connections = new Gauge({ name: 'tracehive_tcp_connections', help: 'Open CyberTrace connections.', registers });
    this.#connectionsTotal = new Counter({ name: 'tracehive_tcp_connections_total', help: 'Connections by result: accepted, refused_allowlist, refused_limit (tcp.maxConnections), refused_peer_limit (tcp.maxConnectionsPerPeer).', labelNames: ['result'], registers });
    this.#linesReceived = new Counter({ name: 'tracehive_lines_received_total', help: 'Lines handed on by the listener (too-long lines are counted only in tracehive_lines_too_long_total).', registers });
    this.#linesParsed = new Counter({ name: 'tracehive_lines_parsed_total', help: 'Lines parsed, by kind: detection, service, finished.', labelNames: ['kind'], registers });
    this.#linesRejected = new Counter({ name: 'tracehive_lines_rejected_total', help: 'Lines that match no known shape, by error code (kept in the rejected log, except blank lines: ERR_LINE_EMPTY).', labelNames: ['code'], registers });
    this.#linesTooLong = new Counter({ name: 'tracehive_lines_too_long_total', help: 'Lines longer than tcp.maxLineBytes, dropped.', registers });
    this.#alertsQueued = new Counter({ name: 'tracehive_alerts_queued_total', help: 'Lines accepted into the spool (each ends delivered or dead-lettered, also across restarts).', registers });
    this.#alertsDelivered = new Counter({ name: 'tracehive_alerts_delivered_total', help: 'Alerts confirmed by the sink (duplicate="true": TheHive already had it).', labelNames: ['duplicate'], registers });
    this.#alertsRetried = new Counter({ name: 'tracehive_alerts_retried_total', help: 'Delivery attempts that will be retried.', registers });
    this.#alertsDead = new Counter({ name: 'tracehive_alerts_dead_total', help: 'Alerts written to the dead-letter log, by code: ERR_SINK_REJECTED (TheHive refused it), ERR_SINK_ATTEMPTS (queue.maxAttempts reached).', labelNames: ['code'], registers });
    this.#ready = new Gauge({ name: 'tracehive_sink_ready', help: '1 when the sink accepts alerts, 0 while it rejects the key or is unreachable.', registers });
    new Gauge({ name: 'tracehive_queue_depth', help: 'Alerts held in memory for delivery (the window read from the spool).', registers, collect() { this.set(queueDepth()); } });
    const spool = (): SpoolGauges | undefined => this.#spool?.();
    new Gauge({ name: 'tracehive_spool_bytes', help: 'Bytes in the spool (segment files plus what awaits the group commit).', registers, collect() { this.set(spool()?.bytes ?? 0); } });
    new Gauge({ name: 'tracehive_spool_max_bytes', help: 'spool.maxBytes: input pauses when tracehive_spool_bytes reaches it.', registers, collect() { this.set(spool()?.maxBytes ?? 0); } });
    new Gauge({ name: 'tracehive_spool_records', help: 'Records in the spool not yet delivered or dead-lettered.', registers, collect() { this.set(spool()?.records ?? 0); } });
    new Gauge({ name: 'tracehive_spool_oldest_unacked_seconds', help: 'Age of the oldest record not yet delivered or dead-lettered (0 when none).', registers, collect() { const t = spool()?.oldestTime; this.set(t == null ? 0 : Math.max(0, (Date.now() - t) / 1000)); } });
    new Gauge({ name: 'tracehive_spool_full', help: '1 while the spool is full (spool.maxBytes) and input is paused.', registers, collect() { this.set(spool()?.full ? 1 : 0); } });
    new Gauge({ name: 'tracehive_spool_write_blocked', help: '1 while spool writes fail (a full or broken disk) and input is paused.', registers, collect() { this.set(spool()?.blocked ? 1 : 0); } });
    this.#spoolCommitted = new Counter({ name: 'tracehive_spool_committed_records_total', help: 'Records made durable (written and fsynced): what tracehive has accepted for good.', registers });
    this.#spoolFsync = new Histogram({ name: 'tracehive_spool_fsync_seconds', help: 'Group commit latency: one write plus fdatasync.', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers });
    this.#spoolRecovered = new Gauge({ name: 'tracehive_spool_recovered_records', help: 'Records found in the spool at start-up, to be sent again.', registers });
    this.#spoolDamaged = new Counter({ name: 'tracehive_spool_damaged_records_total', help: 'Records found damaged at start-up and skipped, by kind: torn (cut short by a crash), corrupt (checksum mismatch).', labelNames: ['kind'], registers });
    this.#spoolErrors = new Counter({ name: 'tracehive_spool_errors_total', help: 'Spool I/O errors by operation (the data stays in memory and the operation is retried).', labelNames: ['during'], registers });
    this.#mails = new Counter({ name: 'tracehive_mails_total', help: 'Mails taken in, by source (imap, smtp, file, stdin) and outcome: accepted (alert in the spool), quarantined (kept in spool.dir/quarantine/), dropped (email.dropSubjects).', labelNames: ['via', 'outcome'], registers });
    this.#lineTimeouts = new Counter({ name: 'tracehive_tcp_line_timeouts_total', help: 'Connections closed because a line did not end within tcp.lineTimeoutMs (its unfinished line is dropped).', registers });
    this.#framingErrors = new Counter({ name: 'tracehive_tcp_framing_errors_total', help: 'Octet-counted (RFC 6587) connections that broke their framing, by code: ERR_FRAME_MALFORMED (no valid MSG-LEN: the connection was closed), ERR_FRAME_TRUNCATED (it ended inside a frame: the partial frame was dropped).', labelNames: ['code'], registers });
    this.#smtpRefused = new Counter({ name: 'tracehive_smtp_refused_total', help: 'SMTP sessions or mails turned away by a client bound, by reason: peer_limit (421, email.smtp.maxClientsPerPeer), command_timeout and data_timeout (421 and closed), inflight_bytes (452, email.smtp.maxInflightBytes; the MTA retries).', labelNames: ['reason'], registers });
    const inflight = (): number => this.#smtpInflight?.() ?? 0;
    new Gauge({ name: 'tracehive_smtp_inflight_bytes', help: 'Bytes of mails being received over SMTP or waiting for the intake (bounded by email.smtp.maxInflightBytes).', registers, collect() { this.set(inflight()); } });
    const build = buildInfo();
    new Gauge({ name: 'tracehive_build_info', help: 'Always 1; its labels say what runs: the version, the commit it was built from, the Node.js version.', labelNames: ['version', 'commit', 'node'], registers }).set(build, 1);
    this.#glue = new GlueTelemetry(log, this.registry);
    this.#spoolSkipped = new Counter({ name: 'tracehive_spool_skipped_records_total', help: 'Spooled records that became no alert (invalid="true": unreadable).', labelNames: ['invalid'], registers });
  }

  /** Where the spool gauges read from (set once the spool is open). */
  attachSpool(gauges: () => SpoolGauges): void {
    this.#spool = gauges;
  }

  /** What `tracehive_input_ready` reads: whether input is accepted (`/readyz`). */
  attachInputReadiness(ready: () => boolean): void {
    new Gauge({ name: 'tracehive_input_ready', help: '1 while input is accepted (/readyz): the spool takes writes and has room, not shutting down.', registers: [this.registry], collect() { this.set(ready() ? 1 : 0); } });
  }

  spoolBlocked(reason: string): void {
    this.#log.error({ reason }, 'Spool writes fail: input paused at once (CyberTrace connections are held, SMTP answers 452, IMAP waits); what was read is kept in memory and written when the disk takes it. Free space on the disk of spool.dir.');
  }

  spoolUnblocked(): void {
    this.#log.info('Spool writes succeed again: input resumed.');
  }

  spoolRecovered(r: SpoolRecovery): void {
    this.#spoolRecovered.set(r.records);
    if (r.corrupt > 0) this.#spoolDamaged.inc({ kind: 'corrupt' }, r.corrupt);
    if (r.torn > 0) this.#spoolDamaged.inc({ kind: 'torn' }, r.torn);
    const oldest = r.oldestTime === null ? null : new Date(r.oldestTime).toISOString();
    if (r.records > 0) this.#log.info({ records: r.records, segments: r.segments, bytes: r.bytes, oldest }, 'Spool recovered: these alerts were accepted before the last stop and are sent again (TheHive answers "already exists" to any it has).');
    if (r.corrupt + r.torn > 0) this.#log.warn({ corrupt: r.corrupt, torn: r.torn }, 'Spool records damaged (a crash cut the last write short, or the disk corrupted a record): skipped, the others are sent.');
  }

  spoolCommitted(records: number, ms: number): void {
    this.#spoolCommitted.inc(records);
    this.#spoolFsync.observe(ms / 1000);
  }

  spoolError(err: Error, during: string): void {
    this.#spoolErrors.inc({ during });
    // A full disk fails every retry (twice a second): the first of a kind per minute at error, the rest at debug.
    const now = Date.now();
    const quiet = now - (this.#spoolErrorLogged.get(during) ?? -Infinity) < REPEAT_LOG_MS;
    if (!quiet) this.#spoolErrorLogged.set(during, now);
    this.#log[quiet ? 'debug' : 'error']({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, during }, 'Spool I/O error: the data is kept in memory and the write retried; input pauses while writes fail. Check the disk of spool.dir.');
  }

  spoolFull(full: boolean, bytes: number, maxBytes: number): void {
    if (full) this.#log.warn({ bytes, maxBytes }, 'Spool full: input paused (CyberTrace connections are held, mail is deferred) until deliveries free space or the disk catches up. Check TheHive (see /readyz), the disk of spool.dir, or raise spool.maxBytes.');
    else this.#log.info({ bytes, maxBytes }, 'Spool has room again: input resumed.');
  }

  spoolSkipped(reason: string, invalid: boolean, seq: number): void {
    this.#spoolSkipped.inc({ invalid: String(invalid) });
    this.#log[invalid ? 'warn' : 'debug']({ seq, reason }, 'Spooled record skipped: it becomes no alert.');
  }

  connectionOpened(peer: string): void {
    this.#open++;
    this.#connections.set(this.#open);
    this.#connectionsTotal.inc({ result: 'accepted' });
    this.#log.debug({ peer }, 'Connection accepted.');
  }

  connectionClosed(peer: string, lines: number): void {
    this.#open--;
    this.#connections.set(this.#open);
    this.#log.debug({ peer, lines }, 'Connection closed.');
  }

  connectionRefused(peer: string, reason: 'allowlist' | 'limit' | 'peer_limit'): void {
    this.#connectionsTotal.inc({ result: `refused_${reason}` });
    const why = {
      allowlist: 'the peer is not in tcp.allow',
      limit: 'tcp.maxConnections is reached',
      peer_limit: 'this address already holds tcp.maxConnectionsPerPeer connections',
    }[reason];
    this.#log.warn({ peer, reason }, `Connection refused: ${why}.`);
  }

  connectionIdle(peer: string, idleMs: number): void {
    this.#log.info({ peer, idleMs }, 'Connection closed after tcp.idleTimeoutMs without data.');
  }

  connectionError(peer: string, err: Error): void {
    this.#log.warn({ peer, err: { message: clip(err.message), code: (err as NodeJS.ErrnoException).code } }, 'Connection error; the lines read so far are kept.');
  }

  lineReceived(): void {
    this.#linesReceived.inc();
  }

  lineTooLong(peer: string, maxBytes: number): void {
    this.#linesTooLong.inc();
    this.#log.warn({ peer, maxBytes, code: 'ERR_LINE_TOO_LONG' }, 'Line dropped: longer than tcp.maxLineBytes; the connection goes on.');
  }

  /** An octet-counted frame over tcp.maxLineBytes was skipped: a line too long to the operator. */
  frameTooLong(peer: string, maxBytes: number, length: number): void {
    this.#linesTooLong.inc();
    this.#log.warn({ peer, maxBytes, length, code: 'ERR_FRAME_TOO_LONG' }, 'Octet-counted frame skipped: longer than tcp.maxLineBytes; the next frame is read.');
  }

  /** An octet-counted connection sent no valid MSG-LEN (the listener closes it) or ended inside a frame. */
  frameBroken(peer: string, code: 'ERR_FRAME_MALFORMED' | 'ERR_FRAME_TRUNCATED', detail: string): void {
    this.#framingErrors.inc({ code });
    const msg = code === 'ERR_FRAME_MALFORMED'
      ? 'Connection closed: its octet counting (RFC 6587) broke; the frames before were taken, the relay reconnects. Check its framing (rsyslog TCP_Framing, syslog-ng transport).'
      : 'Connection ended inside an octet-counted frame: the partial frame is dropped.';
    this.#log.warn({ peer, code, detail: clip(detail, EXCERPT_CHARS) }, msg);
  }

  lineRejected(code: ErrorCode, detail: string, peer: string, line: string): void {
    this.#linesRejected.inc({ code });
    this.#log.debug({ peer, code, detail: clip(detail, EXCERPT_CHARS), excerpt: line.slice(0, EXCERPT_CHARS) }, 'Line rejected: it matches no known CyberTrace shape.');
  }

  lineParsed(record: CyberTraceRecord): void {
    this.lineParsedAs(record.kind, record.glued ?? 0);
    if (record.kind === 'service') this.#log.info({ alert: clip(record.alert, EXCERPT_CHARS), line: clip(record.line) }, 'CyberTrace service alert.');
  }

  /** {@link lineParsed} of a line parsed on the map worker: its kind and glued fields are what came back. */
  lineParsedAs(kind: CyberTraceRecord['kind'], glued: number): void {
    this.#linesParsed.inc({ kind });
    this.#glue.parsed(glued);
  }

  alertQueued(): void {
    this.#alertsQueued.inc();
  }

  alertDelivered(alert: QueuedAlert, duplicate: boolean, attempts: number): void {
    this.#alertsDelivered.inc({ duplicate: String(duplicate) });
    this.#log.debug({ sourceRef: alert.sourceRef, duplicate, attempts }, 'Alert delivered.');
  }

  alertRetried(alert: QueuedAlert, reason: string, delayMs: number, attempt: number): void {
    this.#alertsRetried.inc();
    this.#log.warn({ sourceRef: alert.sourceRef, reason: clip(reason), delayMs, attempt }, 'Delivery failed; will retry.');
  }

  alertDead(alert: QueuedAlert, reason: string, status?: number): void {
    const code = /^(ERR_[A-Z_]+):/.exec(reason)?.[1] ?? 'ERR_SINK_REJECTED';
    this.#alertsDead.inc({ code });
    this.#log.error({ sourceRef: alert.sourceRef, reason: clip(reason), status }, 'Alert dead-lettered: see the dead/ log in spool.dir, fix the cause, then requeue it.');
  }

  /** Alerts written to the dead letters as a batch (a target's backlog over its share): counted, logged by the caller once. */
  alertsDeadBatch(code: string, n: number): void {
    this.#alertsDead.inc({ code }, n);
  }

  mailAccepted(origin: { via: string; id: string }, sourceRef: string): void {
    this.#mails.inc({ via: origin.via, outcome: 'accepted' });
    this.#log.info({ via: origin.via, origin: clip(origin.id), sourceRef }, 'Mail accepted: its alert is in the spool.');
  }

  mailDropped(origin: { via: string; id: string }, reason: string): void {
    this.#mails.inc({ via: origin.via, outcome: 'dropped' });
    this.#log.info({ via: origin.via, origin: clip(origin.id), reason: clip(reason) }, 'Mail dropped by policy: no alert.');
  }

  mailQuarantined(origin: { via: string; id: string }, reason: string): void {
    this.#mails.inc({ via: origin.via, outcome: 'quarantined' });
    this.#log.warn({ via: origin.via, origin: clip(origin.id), reason: clip(reason) }, 'Mail quarantined: it could not become an alert; see spool.dir/quarantine/.');
  }

  mailWarnings(origin: { via: string; id: string }, sourceRef: string, warnings: readonly string[]): void {
    const logged = warnings.slice(0, LOGGED_WARNINGS).map((w) => clip(w, EXCERPT_CHARS));
    this.#log.info({ via: origin.via, origin: clip(origin.id), sourceRef, warnings: logged, total: warnings.length }, 'Mail parsed with warnings (limits or broken MIME); the alert says what was left out.');
  }

  /** The sink became ready or not; `quiet` only sets the gauge (the initial state). */
  readiness(ready: boolean, reason: string, opts: { quiet?: boolean } = {}): void {
    this.#ready.set(ready ? 1 : 0);
    if (opts.quiet) return;
    if (ready) this.#log.info({ reason: clip(reason) }, 'Sink ready: alerts are being delivered.');
    else this.#log.error({ reason: clip(reason) }, 'Sink not ready: alerts are kept and retried.');
  }

  /** Current value of a counter (summed over the series matching `labels`), for tests and the shutdown summary. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await this.registry.getSingleMetric(name)?.get();
    const matches = (v: { labels: Record<string, unknown> }): boolean => Object.entries(labels).every(([k, want]) => v.labels[k] === want);
    return metric?.values.filter(matches).reduce((sum, v) => sum + v.value, 0) ?? 0;
  }

  /** A connection was closed because its line did not end within tcp.lineTimeoutMs. */
  lineTimedOut(peer: string, lineTimeoutMs: number): void {
    this.#lineTimeouts.inc();
    this.#log.warn({ peer, lineTimeoutMs }, 'Connection closed: a line did not end within tcp.lineTimeoutMs; its unfinished part is dropped. The peer reconnects and sends whole lines (raise the key for a slow link).');
  }

  /** Where the SMTP in-flight gauge reads from (set when the SMTP source is built). */
  attachSmtpInflight(bytes: () => number): void {
    this.#smtpInflight = bytes;
  }

  /** An SMTP client bound turned a session or a mail away; the SMTP source logs the details (peer, limit). */
  smtpRefused(reason: 'peer_limit' | 'command_timeout' | 'data_timeout' | 'inflight_bytes'): void {
    this.#smtpRefused.inc({ reason });
  }

  // Kept files (dead/, rejected/, quarantine/) and the ingest drop directory: issue 11's budgets.
  // Fields, so they register after `registry` without touching the constructor.
  readonly #kept = this.#keptGauges(new Map<KeptDir, () => KeptUsage>());
  readonly #keptDeleted = new Counter<'dir' | 'why'>({ name: 'tracehive_kept_deleted_total', help: 'Kept files deleted, by directory and why: retention (older than retentionDays), budget (over maxBytes, oldest first).', labelNames: ['dir', 'why'], registers: [this.registry] });
  readonly #rejectedNotKept = new Counter({ name: 'tracehive_rejected_lines_not_kept_total', help: 'Rejected lines only counted, not written to rejected/: spool.rejected.maxBytes was reached.', registers: [this.registry] });
  readonly #drops = new Counter<'outcome'>({ name: 'tracehive_drops_total', help: 'Files of the ingest drop directory, by outcome: taken (accepted or quarantined), invalid (moved aside), unremovable (taken, recorded so it is never taken again), legacy (0.1.0 incoming/ records).', labelNames: ['outcome'], registers: [this.registry] });
  #rejectedFull = false;
  #deadOver = false;

  /** Registers the kept-file gauges, which read from `kept`. */
  #keptGauges(kept: Map<KeptDir, () => KeptUsage>): Map<KeptDir, () => KeptUsage> {
    const registers = [this.registry];
    const each = (gauge: Gauge<'dir'>, value: (u: KeptUsage) => number): void => {
      gauge.reset();
      for (const [dir, usage] of kept) gauge.set({ dir }, value(usage()));
    };
    new Gauge({ name: 'tracehive_kept_bytes', help: 'Bytes of kept files by directory (dead, rejected, quarantine).', labelNames: ['dir'], registers, collect() { each(this, (u) => u.bytes); } });
    new Gauge({ name: 'tracehive_kept_max_bytes', help: 'The byte cap of each directory of kept files (spool.<dir>.maxBytes).', labelNames: ['dir'], registers, collect() { each(this, (u) => u.maxBytes); } });
    new Gauge({ name: 'tracehive_kept_files', help: 'Kept files by directory (a quarantined mail and its reason count as one).', labelNames: ['dir'], registers, collect() { each(this, (u) => u.files); } });
    new Gauge({ name: 'tracehive_kept_oldest_seconds', help: 'Age of the oldest kept file by directory (0 when none).', labelNames: ['dir'], registers, collect() { each(this, (u) => (u.oldest === null ? 0 : Math.max(0, (Date.now() - u.oldest) / 1000))); } });
    return kept;
  }

  /** Where a directory's kept-file gauges read from. */
  attachKept(dir: KeptDir, usage: () => KeptUsage): void {
    this.#kept.set(dir, usage);
  }

  keptDeleted(dir: KeptDir, why: 'retention' | 'budget', removed: Removed): void {
    if (removed.files === 0) return;
    this.#keptDeleted.inc({ dir, why }, removed.files);
    const what = why === 'retention' ? `older than spool.${dir}.retentionDays` : `over spool.${dir}.maxBytes, oldest first`;
    this.#log.info({ dir, files: removed.files, bytes: removed.bytes, why }, `Kept files deleted: ${what}.`);
  }

  /** A rejected line is only counted: rejected/ is at its cap. Warns once until a line fits again. */
  rejectedLineNotKept(usage: KeptUsage): void {
    this.#rejectedNotKept.inc();
    if (this.#rejectedFull) return;
    this.#rejectedFull = true;
    this.#log.warn({ bytes: usage.bytes, maxBytes: usage.maxBytes }, 'Rejected lines are only counted now: spool.dir/rejected/ is at spool.rejected.maxBytes (see tracehive_rejected_lines_not_kept_total). Read and delete old files, or raise the cap.');
  }

  rejectedLineKept(): void {
    this.#rejectedFull = false;
  }

  /** Dead letters went over (or back under) spool.dead.maxBytes; the reason is what /readyz says. */
  deadOverBudget(reason: string | null): void {
    if ((reason !== null) === this.#deadOver) return;
    this.#deadOver = reason !== null;
    if (reason !== null) this.#log.error({ reason }, 'Dead letters over their budget: input pauses until an operator requeues (tracehive spool requeue-dead) or deletes files in spool.dir/dead/.');
    else this.#log.info('Dead letters are within spool.dead.maxBytes again.');
  }

  /** A mail not kept for now (the source retries it), e.g. because the quarantine is full. */
  mailRefused(origin: { via: string; id: string }, reason: 'quarantine_full'): void {
    this.#mails.inc({ via: origin.via, outcome: `refused_${reason}` });
    this.#log.warn({ via: origin.via, origin: origin.id, reason }, 'Mail not kept for now: it would be quarantined and spool.dir/quarantine/ is at spool.quarantine.maxBytes; the sender retries.');
  }

  dropTaken(file: string, outcome: 'accepted' | 'quarantined' | 'dropped'): void {
    this.#drops.inc({ outcome: 'taken' });
    this.#log.debug({ file, outcome }, 'Drop file taken.');
  }

  dropInvalid(file: string, reason: string): void {
    this.#drops.inc({ outcome: 'invalid' });
    this.#log.error({ file: clip(file), reason: clip(reason) }, 'Invalid drop file: never sent; kept in spool.dir/quarantine/ with its reason (its bytes when it was a plain file within the size limit).');
  }

  dropUnremovable(file: string, err: Error): void {
    this.#drops.inc({ outcome: 'unremovable' });
    this.#log.warn({ file, err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'Drop file taken but not removable (another user owns it or the directory): recorded in spool.dir so it is never taken again. Give the drop directory to the user tracehive serve runs as (see the README).');
  }

  legacyIncoming(dir: string, taken: number, refused: number): void {
    this.#drops.inc({ outcome: 'legacy' }, taken);
    this.#log.warn({ dir, taken, refused }, 'Legacy drop directory spool.dir/incoming/ (tracehive 0.1.0) drained: its alerts are in the spool. tracehive ingest now writes to ingest.dropDir.');
  }

  // Every exchange with TheHive (creates, updates, lookups, the key check): latency and errors as TheHive
  // answers them, beside the per-alert counters above (an alert can take several exchanges).
  readonly #theHiveExchanges = new Histogram<'result'>({ name: 'tracehive_thehive_request_duration_seconds', help: 'Requests to TheHive by result: 2xx, 3xx, 4xx, 5xx (the answer\'s status class), network (no answer: refused, reset, TLS, proxy), timeout (thehive.timeoutMs).', labelNames: ['result'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });

  theHiveExchange(result: ExchangeResult, seconds: number): void {
    this.#theHiveExchanges.observe({ result }, seconds);
  }
}
