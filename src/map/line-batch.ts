/**
 * A batch of listener lines made into what the spool keeps of them (issue 15, points 1 to 3): each
 * line parsed once, mapped and encoded at accept, so that what waits for the spool's fsync and
 * the feeder is one flat string per alert (its wire body), not the parsed record's object graph.
 * This is the work the map worker (src/map-worker/) does off the main thread; it is pure, so the
 * main thread runs the very same function when there is no worker.
 *
 * The outcomes travel between threads as a flat array of strings, {@link FIELDS_PER_LINE} a line
 * ({@link PackedOutcomes}).
 */
import { parseLine } from '../parse/kv.js';
import { alertFromRecord } from './alert.js';
import { wireAlert } from '../sinks/rule-refusal.js';
import type { ErrorCode } from '../errors.js';
import type { AlertMeta, AlertPolicy } from '../types.js';

/** What one line became. */
export type LineOutcome =
  /** A detection's alert, encoded as the v1 wire body; `meta` is the rules' meta as JSON ('' for none). */
  | { readonly kind: 'alert'; readonly body: string; readonly sourceRef: string; readonly meta: string; readonly glued: number }
  /** A detection parsed but not mapped (the batch was `parseOnly`): spooled without a memo, mapped when read back. */
  | { readonly kind: 'detection'; readonly glued: number }
  /** No CyberTrace event: the code and detail the main thread counts and keeps in the rejected log. */
  | { readonly kind: 'rejected'; readonly code: ErrorCode; readonly detail: string }
  /** A `finished` marker or a detection the mapper makes no alert of: only counted. */
  | { readonly kind: 'none'; readonly recordKind: string; readonly glued: number }
  /** A service alert (logged, maybe an alert, rare): the main thread handles it the way it always did. */
  | { readonly kind: 'main' };

/** One batch of lines with their receive times (the mapping clock) and, when a rule matches on it, each line's peer address. */
export interface LineBatch {
  readonly lines: readonly string[];
  readonly times: ArrayLike<number>;
  readonly peers?: readonly string[];
  /**
   * Parse only, do not map: the spool's readers are behind and will read these lines back from
   * disk, where a memo is not kept, so mapping now would be wasted (issue 15).
   */
  readonly parseOnly?: boolean;
}

/** Maps each line of the batch under `policy`. Pure. Never throws for a line: a mapper failure is that line's rejection. */
export function mapLineBatch(batch: LineBatch, policy: AlertPolicy): LineOutcome[] {
  const out: LineOutcome[] = new Array<LineOutcome>(batch.lines.length);
  const parseOnly = batch.parseOnly === true;
  for (let i = 0; i < batch.lines.length; i++) out[i] = mapLine(batch.lines[i] as string, batch.times[i] as number, batch.peers?.[i], policy, parseOnly);
  return out;
}

function mapLine(line: string, receivedAt: number, peer: string | undefined, policy: AlertPolicy, parseOnly: boolean): LineOutcome {
  const parsed = parseLine(line);
  if (!parsed.ok) return { kind: 'rejected', code: parsed.code, detail: parsed.detail };
  const record = parsed.value;
  if (record.kind === 'service') return { kind: 'main' };
  const glued = record.glued ?? 0;
  if (record.kind !== 'detection') return { kind: 'none', recordKind: record.kind, glued };
  if (parseOnly) return { kind: 'detection', glued };
  const alert = alertFromRecord(record, policy, receivedAt, peer);
  if (alert === null) return { kind: 'none', recordKind: record.kind, glued };
  return { kind: 'alert', body: JSON.stringify(wireAlert(alert)), sourceRef: alert.sourceRef, meta: alert.meta === undefined ? '' : JSON.stringify(alert.meta), glued };
}

export const FIELDS_PER_LINE = 5;

/**
 * A batch's outcomes for the trip back to the main thread: their fields, {@link FIELDS_PER_LINE}
 * strings a line, in one flat array. Each string is cloned on its own by `postMessage`: a string
 * with a character above U+00FF stays two-byte alone (see worker.ts) and widens nothing else,
 * and nothing is joined or cut. One joined string cost more: the join and, on the receiving
 * side, a string of about 1 MB allocated anew for every batch (`bench-map-worker`: 25.4–27.8 µs of
 * CPU a line through the worker with the joined string, 21.5–22.4 with the array; issue 15).
 */
export type PackedOutcomes = readonly string[];

/** The outcomes packed. */
export function packOutcomes(outcomes: readonly LineOutcome[]): PackedOutcomes {
  const fields = new Array<string>(outcomes.length * FIELDS_PER_LINE);
  let at = 0;
  const put = (a: string, b: string, c: string, d: string, e: string): void => {
    fields[at] = a;
    fields[at + 1] = b;
    fields[at + 2] = c;
    fields[at + 3] = d;
    fields[at + 4] = e;
    at += FIELDS_PER_LINE;
  };
  for (const o of outcomes) {
    switch (o.kind) {
      case 'alert':
        put('A', o.body, o.sourceRef, o.meta, String(o.glued));
        break;
      case 'detection':
        put('D', String(o.glued), '', '', '');
        break;
      case 'rejected':
        put('R', o.code, o.detail, '', '');
        break;
      case 'none':
        put('N', o.recordKind, String(o.glued), '', '');
        break;
      case 'main':
        put('M', '', '', '', '');
        break;
    }
  }
  return fields;
}

/** {@link packOutcomes} undone; throws when the fields are not `count` lines' worth of outcomes. */
export function unpackOutcomes(fields: PackedOutcomes, count: number): LineOutcome[] {
  if (fields.length !== count * FIELDS_PER_LINE) throw new Error(`Expected ${count * FIELDS_PER_LINE} fields for ${count} lines, got ${fields.length}.`);
  const out = new Array<LineOutcome>(count);
  for (let i = 0, at = 0; i < count; i++, at += FIELDS_PER_LINE) out[i] = outcomeOf(fields, at, i);
  return out;
}

/** The outcome whose fields start at `f[at]`. */
function outcomeOf(f: PackedOutcomes, at: number, line: number): LineOutcome {
  const tag = f[at] as string;
  const a = f[at + 1] as string;
  const b = f[at + 2] as string;
  if (tag === 'A') return { kind: 'alert', body: a, sourceRef: b, meta: f[at + 3] as string, glued: Number(f[at + 4]) };
  if (tag === 'D') return { kind: 'detection', glued: Number(a) };
  if (tag === 'R') return { kind: 'rejected', code: a as ErrorCode, detail: b };
  if (tag === 'N') return { kind: 'none', recordKind: a, glued: Number(b) };
  if (tag === 'M') return { kind: 'main' };
  throw new Error(`Unknown outcome tag ${JSON.stringify(tag)} for line ${line}.`);
}

/** The rules' meta of an alert outcome, or undefined. */
export function metaOf(outcome: { readonly meta: string }): AlertMeta | undefined {
  return outcome.meta === '' ? undefined : (JSON.parse(outcome.meta) as AlertMeta);
}
