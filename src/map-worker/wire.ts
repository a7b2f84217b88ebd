/**
 * A batch of lines as it crosses to the map worker: the lines joined into one string and their
 * lengths (in UTF-16 code units) in a transferred buffer (issue 15, point 3). One flat string
 * crosses as one copy of its characters; as UTF-8 in a transferred buffer it cost an encode here
 * and a decode there, and the worker's outcomes the same on the way back: sending both as strings
 * took the worker's cost per line from 31 to 26.5 µs (README, Benchmarks). Not an object graph,
 * which would be cloned property by property. A line may hold any character (an octet-counted
 * frame may hold a newline), so lengths, not a separator, cut the text.
 *
 * A line with a character above U+00FF travels apart, in `wide`, its length marked
 * {@link WIDE_LINE}: joined in, it would make the whole text two-byte, and every line the worker
 * cuts from it, and every alert body built from those, twice as costly to handle (map/wide-text.ts).
 */
import { isWide } from '../map/wide-text.js';

export interface PackedLines {
  readonly text: string;
  readonly lengths: Uint32Array;
  /** The lines marked {@link WIDE_LINE} in `lengths`, in order. */
  readonly wide: readonly string[];
}

/** The length of a line that is not in `text` but next in `wide` (no line is 2^32 - 1 characters long). */
export const WIDE_LINE = 0xffff_ffff;

/** The lines as one string, a transferable buffer of their lengths and the wide lines apart. */
export function packLines(lines: readonly string[]): PackedLines {
  const lengths = new Uint32Array(lines.length);
  const narrow: string[] = [];
  const wide: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (isWide(line)) {
      lengths[i] = WIDE_LINE;
      wide.push(line);
    } else {
      lengths[i] = line.length;
      narrow.push(line);
    }
  }
  return { text: narrow.join(''), lengths, wide };
}

/** {@link packLines} undone; throws when the lengths do not add up to the text or the wide lines. */
export function unpackLines(packed: PackedLines): string[] {
  const { text, wide } = packed;
  const lines = new Array<string>(packed.lengths.length);
  let at = 0;
  let w = 0;
  for (let i = 0; i < packed.lengths.length; i++) {
    const length = packed.lengths[i] as number;
    if (length === WIDE_LINE) {
      if (w >= wide.length) throw new Error(`Expected more than ${wide.length} wide lines.`);
      lines[i] = wide[w++] as string;
      continue;
    }
    const end = at + length;
    lines[i] = text.slice(at, end);
    at = end;
  }
  if (at !== text.length) throw new Error(`Expected the line lengths to add up to ${text.length} characters, got ${at}.`);
  if (w !== wide.length) throw new Error(`Expected ${wide.length} wide lines, got ${w} marked.`);
  return lines;
}
