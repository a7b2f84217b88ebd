/**
 * The spool's ack state: which seqs are done (delivered or dead-lettered). {@link AckSet} is what
 * ack.json holds; {@link readAcks} loads it at open and for inspection. Its own file because it is a
 * self-contained data structure with its own invariants (and unit tests); the spool decides when it
 * is written (see spool.ts, `#persistAcks`).
 */
import { constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe } from './spool-errors.js';
import { newerFormat, SPOOL_FORMAT } from './spool-format.js';

/** The ack state's file in the spool directory, written atomically through `${ACK_FILE}.tmp`. */
export const ACK_FILE = 'ack.json';

/**
 * Acked seqs: every seq below `cursor`, plus sorted, disjoint, non-adjacent inclusive ranges above
 * it. Acks arrive nearly in order, so the ranges stay few (about the records in flight) and the
 * common ack just moves the cursor.
 */
export class AckSet {
  cursor = 1;
  readonly ranges: [number, number][] = [];

  /** Parses ack.json's `{cursor, ranges}`; throws on anything else. */
  static fromJSON(value: unknown): AckSet {
    const { cursor, ranges } = (value ?? {}) as { cursor?: unknown; ranges?: unknown };
    if (!Number.isSafeInteger(cursor) || (cursor as number) < 1 || !Array.isArray(ranges)) throw new Error('expected {cursor, ranges}');
    const set = new AckSet();
    set.addRange(1, (cursor as number) - 1);
    for (const range of ranges) {
      const [from, to] = Array.isArray(range) ? (range as unknown[]) : [];
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || (from as number) < 1 || (to as number) < (from as number)) throw new Error(`bad range ${JSON.stringify(range)}`);
      set.addRange(from as number, to as number);
    }
    return set;
  }

  /** The set as ack.json holds it (the file adds `version`: see {@link ackFileText}). */
  toJSON(): { cursor: number; ranges: [number, number][] } {
    return { cursor: this.cursor, ranges: this.ranges };
  }

  /** The highest acked seq (0 when none). */
  get maxSeq(): number {
    const last = this.ranges[this.ranges.length - 1];
    return last ? last[1] : this.cursor - 1;
  }

  /** True when `seq` is acked. */
  has(seq: number): boolean {
    if (seq < this.cursor) return true;
    const i = this.#firstAfter(seq) - 1;
    const range = this.ranges[i];
    return range !== undefined && range[1] >= seq;
  }

  /** Adds one seq; false when it was acked already. */
  add(seq: number): boolean {
    if (seq < this.cursor) return false;
    if (seq === this.cursor) {
      this.cursor++;
      this.#absorb();
      return true;
    }
    const i = this.#firstAfter(seq);
    const prev = this.ranges[i - 1];
    const next = this.ranges[i];
    if (prev && prev[1] >= seq) return false;
    const joinsPrev = prev !== undefined && prev[1] === seq - 1;
    const joinsNext = next !== undefined && next[0] === seq + 1;
    if (joinsPrev && joinsNext) {
      prev[1] = next[1];
      this.ranges.splice(i, 1);
    } else if (joinsPrev) {
      prev[1] = seq;
    } else if (joinsNext) {
      next[0] = seq;
    } else {
      this.ranges.splice(i, 0, [seq, seq]);
    }
    return true;
  }

  /** Adds every seq in [from, to]. */
  addRange(from: number, to: number): void {
    const start = Math.max(from, this.cursor);
    if (to < start) return;
    if (start === this.cursor) {
      this.cursor = to + 1;
      while (this.ranges.length > 0 && (this.ranges[0] as [number, number])[1] < this.cursor) this.ranges.shift();
      this.#absorb();
      return;
    }
    // Ranges that overlap or touch [start, to] merge into one.
    let i = this.#firstAfter(start - 1);
    if (i > 0 && (this.ranges[i - 1] as [number, number])[1] >= start - 1) i--;
    let j = i;
    let lo = start;
    let hi = to;
    while (j < this.ranges.length && (this.ranges[j] as [number, number])[0] <= to + 1) {
      const range = this.ranges[j] as [number, number];
      lo = Math.min(lo, range[0]);
      hi = Math.max(hi, range[1]);
      j++;
    }
    this.ranges.splice(i, j - i, [lo, hi]);
  }

  /** Moves the cursor over a first range that now touches it. */
  #absorb(): void {
    const first = this.ranges[0];
    if (first && first[0] <= this.cursor) {
      this.cursor = Math.max(this.cursor, first[1] + 1);
      this.ranges.shift();
    }
  }

  /** Index of the first range starting above `seq`. */
  #firstAfter(seq: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ranges[mid] as [number, number])[0] <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** ack.json's text for `set`: its format version, cursor and ranges (tracehive 0.1.0 wrote no version). */
export function ackFileText(set: AckSet): string {
  return JSON.stringify({ version: SPOOL_FORMAT, ...set.toJSON() });
}

/**
 * Loads `dir/ack.json`. A missing file is an empty set; an unreadable or damaged one is reported
 * and also read as empty (every record on disk is sent again: at least once, never lost). One
 * written by a newer tracehive throws ERR_SPOOL_FORMAT: its ranges may not mean what they say here.
 */
export async function readAcks(dir: string, report: (err: Error) => void): Promise<AckSet> {
  const path = join(dir, ACK_FILE);
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report(new Error(`Spool ack file ${path} cannot be read (${describe(err)}): every record on disk is sent again.`, { cause: err }));
    return new AckSet();
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (version !== undefined && (!Number.isSafeInteger(version) || (version as number) > SPOOL_FORMAT)) throw newerFormat(`The spool ack file ${path}`, version);
  try {
    return AckSet.fromJSON(value);
  } catch (err) {
    report(new Error(`Spool ack file ${path} is damaged (${describe(err)}): every record on disk is sent again; it is rewritten at the next ack.`, { cause: err }));
    return new AckSet();
  }
}
