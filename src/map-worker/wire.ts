/**
 * A batch of lines as it crosses to the map worker: the lines joined into one string and their
 * lengths (in UTF-16 code units) in a transferred buffer (issue 15, point 3). One flat string
 * crosses as one copy of its characters; as UTF-8 in a transferred buffer it cost an encode here
 * and a decode there, and the worker's outcomes the same on the way back: sending both as strings
 * took the worker's cost per line from 31 to 26.5 µs (README, Benchmarks). Not an object graph,
 * which would be cloned property by property. A line may hold any character (an octet-counted
 * frame may hold a newline), so lengths, not a separator, cut the text.
 */

export interface PackedLines {
  readonly text: string;
  readonly lengths: Uint32Array;
}

/** The lines as one string and a transferable buffer of their lengths. */
export function packLines(lines: readonly string[]): PackedLines {
  const lengths = new Uint32Array(lines.length);
  for (let i = 0; i < lines.length; i++) lengths[i] = (lines[i] as string).length;
  return { text: lines.join(''), lengths };
}

/** {@link packLines} undone; throws when the lengths do not add up to the text. */
export function unpackLines(packed: PackedLines): string[] {
  const text = packed.text;
  const lines = new Array<string>(packed.lengths.length);
  let at = 0;
  for (let i = 0; i < packed.lengths.length; i++) {
    const end = at + (packed.lengths[i] as number);
    lines[i] = text.slice(at, end);
    at = end;
  }
  if (at !== text.length) throw new Error(`Expected the line lengths to add up to ${text.length} characters, got ${at}.`);
  return lines;
}
