/**
 * Where a newline-framed chunk is cut before split2 decodes it, so that each line's string is as
 * narrow as its own characters (issue 15). V8 keeps a string one byte a character when every
 * character is below U+0100, two bytes otherwise, and a line split2 cuts out of a decoded chunk
 * shares the chunk's width. One `€` in a 64 KiB read made the 170 lines around it two-byte
 * strings, and every copy, join, regex and UTF-8 encode of them downstream (the map worker's
 * wire, the parser, the spool's records, the alert bodies) ran at half speed or worse: with the
 * load generator's one line in 170 holding such a character, the map worker spent 27 µs a line
 * instead of 22.
 *
 * A chunk that is all ASCII (the common case, one SIMD check) is cut once, after its first line
 * end: that line completes the partial line split2 kept from the previous read, which may be
 * wide. Otherwise each line holding a non-ASCII byte is a piece of its own and the ASCII lines
 * between them are grouped. Cuts fall only after a newline byte, never inside a UTF-8 sequence,
 * and split2 is built to take a stream cut anywhere, so the lines it hands on are the same.
 */
import { isAscii } from 'node:buffer';

const NEWLINE = 0x0a;

/** `chunk` cut after newlines into pieces to hand to split2 one after another; they add up to `chunk`. */
export function linePieces(chunk: Buffer): Buffer[] {
  const first = chunk.indexOf(NEWLINE);
  if (first < 0 || first === chunk.length - 1) return [chunk];
  const pieces = [chunk.subarray(0, first + 1)];
  const restAt = first + 1;
  if (isAscii(chunk.subarray(restAt))) {
    pieces.push(chunk.subarray(restAt));
    return pieces;
  }
  let start = restAt;
  for (let at = restAt; at < chunk.length; ) {
    const newline = chunk.indexOf(NEWLINE, at);
    const end = newline < 0 ? chunk.length : newline + 1;
    if (!isAscii(chunk.subarray(at, end))) {
      if (at > start) pieces.push(chunk.subarray(start, at));
      pieces.push(chunk.subarray(at, end));
      start = end;
    }
    at = end;
  }
  if (start < chunk.length) pieces.push(chunk.subarray(start));
  return pieces;
}
