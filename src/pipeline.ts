/**
 * One line's way through the bridge. On the way in (`handle`): count it, parse it, keep it in the
 * rejected log if it is no CyberTrace event, else spool it — accepted means on disk. On the way
 * out (`mapSpooled`): the feeder turns a spooled record back into an alert with the same parser
 * and mapper, using the time it was received as the clock, so the alert is the same whether it is
 * built a millisecond or a day (after an outage, after a restart) later.
 * `toAlert` (`toMapped`) is the one-step version for `tracehive map`.
 */
import { parseLine } from './parse/kv.js';
import { alertFromRecord } from './map/alert.js';
import { metaOf, type LineOutcome } from './map/line-batch.js';
import type { LineMapper } from './map-worker/client.js';
import { peerAddress } from './map/rules/match.js';
import { ruleSetOf, targetOf } from './map/rules/apply.js';
import { recordEvent } from './map/rules/fields.js';
import { MAIL_PREFIX } from './map/mail-alert.js';
import { decodeRecord } from './queue/spool-payload.js';
import { HEADER_BYTES } from './queue/spool-codec.js';
import type { Mapped } from './queue/feeder.js';
import type { SpoolEntry } from './queue/spool.js';
import type { Telemetry } from './telemetry.js';
import type { ErrorCode } from './errors.js';
import type { Alert, AlertPolicy, CyberTraceRecord } from './types.js';

/** Longest excerpt of a rejected line kept in the rejected log (the rest is cut, and said so). */
const REJECTED_KEEP_CHARS = 8192;

/** One entry of the rejected-line log. */
export interface RejectedEntry {
  readonly time: string;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly peer: string;
  readonly line: string;
  readonly truncated: boolean;
}

export interface LinePipelineOptions {
  readonly policy: AlertPolicy;
  readonly telemetry: Telemetry;
  readonly now: () => number;
  /**
   * Spools an accepted line; returns a promise only when the caller must pause (spool full).
   * `peer`: the sender's address, given only when a rule of `alert.rules` matches on it. `memo`:
   * what the feeder needs of it, kept in memory with the record (the parsed record, or the
   * {@link Encoded} alert when lines are mapped at accept).
   */
  readonly accept: (line: string, receivedAt: number, peer: string | undefined, memo?: CyberTraceRecord | Encoded) => void | Promise<void>;
  readonly keepRejected: (entry: RejectedEntry) => void;
  /**
   * Lines mapped at accept: asked as each line arrives, a promise when the sources must pause now
   * (spool full, a failing disk, a budget): the line is taken, the next waits. Without it a
   * source pauses only once a mapped batch is spooled.
   */
  readonly admit?: () => void | Promise<void>;
  /**
   * Lines mapped at accept: bytes the spool still takes. While the lines in flight would fill it,
   * the sources wait for them to be spooled (then `admit` tells), so the spool is not overrun.
   */
  readonly roomBytes?: () => number;
  /**
   * Lines mapped at accept: false while the spool's readers are behind (they read what is appended
   * now back from disk, without its memo): the mapper then only parses, and the line is mapped
   * once, when it is read back.
   */
  readonly memoUsed?: () => boolean;
}

/** A detection's alert, mapped and encoded at accept (issue 15): what the feeder hands the queue as is. */
export class Encoded {
  /** The v1 wire body (JSON.stringify(wireAlert(alert))). */
  readonly body: string;
  readonly sourceRef: string;
  /** The rules' meta as JSON, '' for none. */
  readonly meta: string;

  constructor(body: string, sourceRef: string, meta: string) {
    this.body = body;
    this.sourceRef = sourceRef;
    this.meta = meta;
  }
}

/**
 * The heap a memo holds besides its line, which the spool counts toward its memory tail
 * (TAIL_MAX_BYTES): an encoded alert's body (its other strings are short), or a parsed record's
 * pairs, each an object and two strings cut from the line (about 80 bytes), and the record
 * itself. Measured with `--expose-gc` on 20,000 generated lines of 344 characters and 16 pairs:
 * 1,714 bytes retained a line, the line included; the former guess, twice the line, was 688.
 */
export function memoBytes(memo: CyberTraceRecord | Encoded | undefined): number {
  if (memo === undefined) return 0;
  if (memo instanceof Encoded) return memo.body.length;
  return RECORD_MEMO_BYTES + PAIR_MEMO_BYTES * memo.pairs.length;
}

const PAIR_MEMO_BYTES = 80;
const RECORD_MEMO_BYTES = 100;

/** A spool record's bytes besides its line: the header and the payload's tag. */
const RECORD_OVERHEAD = HEADER_BYTES + 1;
/** Lines per batch at most (a batch is also sent at the end of the event-loop turn that started it)… */
const BATCH_LINES = 512;
/** …and characters: a batch of 1 MiB lines stays one line or so. */
const BATCH_CHARS = 512 * 1024;
/**
 * Characters sent to the mapper and not yet spooled before the sources are paused (~5 batches of
 * CyberTrace lines: enough to keep the worker busy). Each waits with its outcomes, 3.6 times its
 * size: at 4 MiB row (a) of `make bench` peaked 10 to 14 MiB higher at the same throughput.
 */
const MAX_IN_FLIGHT_CHARS = 1024 * 1024;

/** Lines waiting to be mapped, in arrival order. */
interface Batch {
  readonly lines: string[];
  readonly times: number[];
  readonly peers: string[];
  chars: number;
  outcomes?: LineOutcome[];
}

export class LinePipeline {
  readonly #o: LinePipelineOptions;

  /** A rule matches on the peer: its address is spooled with the line. */
  readonly #peerRules: boolean;

  /** Batches sent to the mapper, oldest first: their outcomes are spooled in this order. */
  readonly #inFlight: Batch[] = [];
  #inFlightChars = 0;
  #open: Batch | undefined;
  #sendScheduled = false;
  /** The spool asked to pause: sources wait for this. */
  #gate: Promise<void> | undefined;
  /** Too many lines in flight (for the mapper, or for the spool's room): sources wait for this, resolved as batches are spooled. */
  #room: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly #idle = new Set<() => void>();
  #mapper: LineMapper | undefined;

  constructor(options: LinePipelineOptions) {
    this.#o = options;
    this.#peerRules = rulesUsePeer(options.policy);
  }

  /**
   * From now on lines are mapped and encoded at accept, in batches, by `mapper` (the map worker;
   * issue 15). Only when no target runs the alert lifecycle, which needs the parsed record.
   */
  useMapper(mapper: LineMapper): void {
    this.#mapper = mapper;
  }

  /** Handles one line from `peer`; a returned promise means "pause this source until it settles". */
  handle(line: string, peer: string): void | Promise<void> {
    const { telemetry } = this.#o;
    telemetry.lineReceived();
    if (this.#mapper !== undefined) return this.#batch(line, peer);
    return this.#accept(line, peer, this.#o.now());
  }

  /** Resolves once every line handed to {@link handle} was mapped and spooled (or refused by a closed spool). */
  drain(): Promise<void> {
    this.#send();
    if (this.#inFlight.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Parses a line here and spools it with its parsed record (the feeder maps it). */
  #accept(line: string, peer: string, receivedAt: number): void | Promise<void> {
    const record = this.#parse(line, peer);
    if (record === undefined || !becomesAlert(record, this.#o.policy)) return undefined;
    this.#o.telemetry.alertQueued();
    // The parsed record goes along: the feeder maps it from memory without parsing the line again.
    return this.#o.accept(line, receivedAt, this.#peerRules ? peerAddress(peer) : undefined, record);
  }

  #batch(line: string, peer: string): void | Promise<void> {
    const open = (this.#open ??= { lines: [], times: [], peers: [], chars: 0 });
    open.lines.push(line);
    open.times.push(this.#o.now());
    open.peers.push(peer);
    // What it takes in the spool: its characters (bytes, for the ASCII of CyberTrace), the record's tag and header.
    open.chars += line.length + RECORD_OVERHEAD;
    if (open.lines.length >= BATCH_LINES || open.chars >= BATCH_CHARS) this.#send();
    else if (!this.#sendScheduled) {
      this.#sendScheduled = true;
      setImmediate(() => {
        this.#sendScheduled = false;
        this.#send();
      });
    }
    if (this.#gate !== undefined) return this.#gate;
    const wait = this.#o.admit?.();
    if (wait !== undefined) return wait;
    const waiting = this.#inFlightChars + (this.#open?.chars ?? 0);
    if (waiting < MAX_IN_FLIGHT_CHARS && (this.#o.roomBytes === undefined || waiting < this.#o.roomBytes())) return undefined;
    if (this.#room === undefined) {
      let resolve = (): void => {};
      const promise = new Promise<void>((r) => (resolve = r));
      this.#room = { promise, resolve };
    }
    return this.#room.promise;
  }

  /** Sends the open batch to the mapper. */
  #send(): void {
    const batch = this.#open;
    if (batch === undefined) return;
    this.#open = undefined;
    this.#inFlight.push(batch);
    this.#inFlightChars += batch.chars;
    const peers = this.#peerRules ? batch.peers.map(peerAddress) : undefined;
    const request = { lines: batch.lines, times: batch.times, parseOnly: this.#o.memoUsed?.() === false, ...(peers ? { peers } : {}) };
    void (this.#mapper as LineMapper).map(request).then((outcomes) => {
      batch.outcomes = outcomes;
      // In order: a batch back early waits for the ones before it.
      while (this.#inFlight[0]?.outcomes !== undefined) this.#spool(this.#inFlight.shift() as Batch);
      // Some lines were spooled: the sources may look again (admit and the room decide).
      if (this.#room !== undefined) {
        this.#room.resolve();
        this.#room = undefined;
      }
      if (this.#inFlight.length === 0) {
        for (const done of [...this.#idle]) done();
        this.#idle.clear();
      }
    });
  }

  /** Spools a mapped batch's lines (counting and keeping the rejected ones), in order. */
  #spool(batch: Batch): void {
    this.#inFlightChars -= batch.chars;
    const { telemetry } = this.#o;
    const outcomes = batch.outcomes as LineOutcome[];
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i] as LineOutcome;
      const line = batch.lines[i] as string;
      const peer = batch.peers[i] as string;
      let wait: void | Promise<void> = undefined;
      if (o.kind === 'alert' || o.kind === 'detection') {
        telemetry.lineParsedAs('detection', o.glued);
        telemetry.alertQueued();
        // Parsed only (the readers are behind): spooled without a memo, mapped when read back.
        const memo = o.kind === 'alert' ? new Encoded(o.body, o.sourceRef, o.meta) : undefined;
        wait = this.#o.accept(line, batch.times[i] as number, this.#peerRules ? peerAddress(peer) : undefined, memo);
      } else if (o.kind === 'rejected') {
        this.#rejected(o.code, o.detail, line, peer);
      } else if (o.kind === 'none') {
        telemetry.lineParsedAs(o.recordKind as CyberTraceRecord['kind'], o.glued);
      } else {
        wait = this.#accept(line, peer, batch.times[i] as number);
      }
      if (wait !== undefined) this.#hold(wait);
    }
  }

  /** The spool asked to pause: sources get `wait` until it settles. */
  #hold(wait: Promise<void>): void {
    if (this.#gate === wait) return;
    this.#gate = wait;
    const clear = (): void => {
      if (this.#gate === wait) this.#gate = undefined;
    };
    wait.then(clear, clear);
  }

  /** Parses and maps one line; undefined when it becomes no alert (rejected, finished, logged service alert). */
  toAlert(line: string, peer: string): Alert | undefined {
    return this.toMapped(line, peer)?.alert;
  }

  /** {@link toAlert} with the record it was made from (what the lifecycle keys detections by). */
  toMapped(line: string, peer: string): { readonly record: CyberTraceRecord; readonly alert: Alert } | undefined {
    const record = this.#parse(line, peer);
    if (record === undefined || !becomesAlert(record, this.#o.policy)) return undefined;
    const alert = alertFromRecord(record, this.#o.policy, this.#o.now(), peerAddress(peer));
    return alert === null ? undefined : { record, alert };
  }

  #parse(line: string, peer: string): CyberTraceRecord | undefined {
    const { telemetry } = this.#o;
    const parsed = parseLine(line);
    if (!parsed.ok) {
      this.#rejected(parsed.code, parsed.detail, line, peer);
      return undefined;
    }
    telemetry.lineParsed(parsed.value);
    return parsed.value;
  }

  #rejected(code: ErrorCode, detail: string, line: string, peer: string): void {
    this.#o.telemetry.lineRejected(code, detail, peer, line);
    // A blank line carries nothing worth keeping for inspection.
    if (code === 'ERR_LINE_EMPTY') return;
    this.#o.keepRejected({
      time: new Date(this.#o.now()).toISOString(),
      code,
      detail,
      peer,
      line: line.slice(0, REJECTED_KEEP_CHARS),
      truncated: line.length > REJECTED_KEEP_CHARS,
    });
  }
}

/** Detections always; service alerts when `alert.serviceAlerts` is `alert`; `LookupFinished` never. */
function becomesAlert(record: CyberTraceRecord, policy: AlertPolicy): boolean {
  return record.kind === 'detection' || (record.kind === 'service' && policy.serviceAlerts === 'alert');
}

/**
 * What a spooled record becomes under the current policy: an alert, a sighting for the grouper
 * (`grouping`: detections only), or nothing (with the reason). Pure.
 */
export function mapSpooled(entry: SpoolEntry, policy: AlertPolicy, grouping: boolean): Mapped {
  // Mapped and encoded at accept (issue 15): handed on as is.
  if (entry.memo instanceof Encoded) return { kind: 'encoded', sourceRef: entry.memo.sourceRef, body: entry.memo.body, meta: metaOf(entry.memo) };
  const item = decodeRecord(entry.payload);
  if (item.kind === 'invalid') return { kind: 'skip', reason: `ERR_SPOOL_RECORD: ${item.reason}`, invalid: true };
  // A mail's alert (sourceRef mail-…): the lifecycle updates the alert of an incident notified again.
  if (item.kind === 'alert') return grouping && item.alert.sourceRef.startsWith(MAIL_PREFIX) ? { kind: 'mail', alert: item.alert, receivedAt: entry.time } : { kind: 'alert', alert: item.alert };
  const parsed = parsedOf(entry, item.line);
  if (!parsed.ok) return { kind: 'skip', reason: `ERR_SPOOL_RECORD: ${parsed.code}: ${parsed.detail}`, invalid: true };
  const record = parsed.value;
  if (!becomesAlert(record, policy)) return { kind: 'skip', reason: `a ${record.kind} event is no alert under the current alert.serviceAlerts`, invalid: false };
  if (grouping && record.kind === 'detection') return { kind: 'sighting', sighting: { record, receivedAt: entry.time, ...(item.peer === undefined ? {} : { peer: item.peer }) } };
  const alert = alertFromRecord(record, policy, entry.time, item.peer);
  return alert === null ? { kind: 'skip', reason: 'no alert for this record', invalid: false } : { kind: 'alert', alert };
}

/**
 * Records read back from disk (no memo: a backlog, a restart) mapped on the map worker, in one
 * batch (issue 15): each line that becomes an alert gets the {@link Encoded} memo a line mapped at
 * accept has, so that the feeder hands it on as is and the main thread maps none. Returns the
 * entries with those memos; the others as they were (mapSpooled handles them as always).
 */
export async function premapSpooled(entries: readonly SpoolEntry[], mapper: LineMapper, policy: AlertPolicy): Promise<SpoolEntry[]> {
  const peerRules = rulesUsePeer(policy);
  const at: number[] = [];
  const lines: string[] = [];
  const times: number[] = [];
  const peers: string[] = [];
  entries.forEach((entry, i) => {
    if (entry.memo !== undefined) return;
    const item = decodeRecord(entry.payload);
    if (item.kind !== 'line') return;
    at.push(i);
    lines.push(item.line);
    times.push(entry.time);
    peers.push(item.peer ?? '');
  });
  if (at.length === 0) return [...entries];
  const outcomes = await mapper.map({ lines, times, ...(peerRules ? { peers } : {}) });
  const out = [...entries];
  at.forEach((i, k) => {
    const o = outcomes[k];
    // What the peer-less path gives for a line spooled without a peer: the same peer, undefined.
    if (o?.kind === 'alert' && (peers[k] !== '' || !peerRules)) out[i] = { ...(entries[i] as SpoolEntry), memo: new Encoded(o.body, o.sourceRef, o.meta) };
  });
  return out;
}

/**
 * The `thehive.targets` name a spooled record goes to (issue 14): a mail alert's `meta.target`, or
 * what the rules say of a line (`set.target`); undefined for thehive.url's. A line is only parsed
 * when a rule names a target at all. An unreadable record is thehive.url's to skip. Pure.
 */
export function routeSpooled(entry: SpoolEntry, policy: AlertPolicy): string | undefined {
  const tag = entry.payload.charCodeAt(0);
  if (tag === 65 /* A */) {
    const item = decodeRecord(entry.payload);
    return item.kind === 'alert' ? item.alert.meta?.target : undefined;
  }
  if (!rulesRoute(policy)) return undefined;
  if (entry.memo instanceof Encoded) return metaOf(entry.memo)?.target;
  const item = decodeRecord(entry.payload);
  if (item.kind !== 'line') return undefined;
  const parsed = parsedOf(entry, item.line);
  if (!parsed.ok || parsed.value.kind === 'finished') return undefined;
  return targetOf(recordEvent(parsed.value, entry.time, item.peer), ruleSetOf(policy));
}

/**
 * The line's record: the one parsed at accept when the entry comes from the spool's memory (its
 * memo), else parsed from the payload now (a record read back from disk). The same either way.
 */
function parsedOf(entry: SpoolEntry, line: string): ReturnType<typeof parseLine> {
  const memo = entry.memo as CyberTraceRecord | undefined;
  return memo !== undefined && typeof memo === 'object' && typeof (memo as { kind?: unknown }).kind === 'string' ? { ok: true, value: memo } : parseLine(line);
}

const routing = new WeakMap<AlertPolicy, boolean>();

/** True when a rule of `alert.rules` sets a target (computed once per policy). */
function rulesRoute(policy: AlertPolicy): boolean {
  let routes = routing.get(policy);
  if (routes === undefined) {
    routes = ruleSetOf(policy).rules.some((r) => r.set.target !== undefined);
    routing.set(policy, routes);
  }
  return routes;
}

/** True when a rule of `alert.rules` has a `match.peer` condition (the rules were validated at load). */
export function rulesUsePeer(policy: AlertPolicy): boolean {
  return (policy.rules ?? []).some((r) => {
    const match = (r as { match?: { peer?: unknown } } | null)?.match;
    return match !== undefined && match !== null && match.peer !== undefined;
  });
}
