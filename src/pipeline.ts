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
import { peerAddress } from './map/rules/match.js';
import { ruleSetOf, targetOf } from './map/rules/apply.js';
import { recordEvent } from './map/rules/fields.js';
import { MAIL_PREFIX } from './map/mail-alert.js';
import { decodeRecord } from './queue/spool-payload.js';
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
   * `peer`: the sender's address, given only when a rule of `alert.rules` matches on it.
   */
  readonly accept: (line: string, receivedAt: number, peer: string | undefined, record: CyberTraceRecord) => void | Promise<void>;
  readonly keepRejected: (entry: RejectedEntry) => void;
}

export class LinePipeline {
  readonly #o: LinePipelineOptions;

  /** A rule matches on the peer: its address is spooled with the line. */
  readonly #peerRules: boolean;

  constructor(options: LinePipelineOptions) {
    this.#o = options;
    this.#peerRules = rulesUsePeer(options.policy);
  }

  /** Handles one line from `peer`; a returned promise means "pause this source until it settles". */
  handle(line: string, peer: string): void | Promise<void> {
    const { telemetry } = this.#o;
    telemetry.lineReceived();
    const record = this.#parse(line, peer);
    if (record === undefined || !becomesAlert(record, this.#o.policy)) return undefined;
    telemetry.alertQueued();
    // The parsed record goes along: the feeder maps it from memory without parsing the line again.
    return this.#o.accept(line, this.#o.now(), this.#peerRules ? peerAddress(peer) : undefined, record);
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
      telemetry.lineRejected(parsed.code, parsed.detail, peer, line);
      // A blank line carries nothing worth keeping for inspection.
      if (parsed.code !== 'ERR_LINE_EMPTY') {
        this.#o.keepRejected({
          time: new Date(this.#o.now()).toISOString(),
          code: parsed.code,
          detail: parsed.detail,
          peer,
          line: line.slice(0, REJECTED_KEEP_CHARS),
          truncated: line.length > REJECTED_KEEP_CHARS,
        });
      }
      return undefined;
    }
    telemetry.lineParsed(parsed.value);
    return parsed.value;
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
