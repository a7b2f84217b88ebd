/**
 * A batch of lines as it crosses to the map worker: the lines' UTF-8 in one buffer and their
 * lengths (in UTF-16 code units) in another, both transferred, not cloned (issue 15, point 3).
 * A line may hold any character (an octet-counted frame may hold a newline), so lengths, not a
 * separator, cut the text.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface PackedLines {
  readonly bytes: Uint8Array;
  readonly lengths: Uint32Array;
}

/** The lines in two transferable buffers. */
export function packLines(lines: readonly string[]): PackedLines {
  const lengths = new Uint32Array(lines.length);
  for (let i = 0; i < lines.length; i++) lengths[i] = (lines[i] as string).length;
  return { bytes: encoder.encode(lines.join('')), lengths };
}

/** {@link packLines} undone; throws when the lengths do not add up to the text. */
export function unpackLines(packed: PackedLines): string[] {
  const text = decoder.decode(packed.bytes);
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

/** A string as transferable UTF-8, and back. */
export const encodeText = (text: string): Uint8Array => encoder.encode(text);
export const decodeText = (bytes: Uint8Array): string => decoder.decode(bytes);
