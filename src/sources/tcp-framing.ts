/**
 * The framing of one listener connection, told from its first bytes: newline framing (split2,
 * as always) or RFC 6587 octet counting (src/sources/octet-frames.ts), as a relay with
 * `TCP_Framing="octet-counted"` sends. It is installed into the connection's split2 stream, so
 * that either framing hands its messages on through the one stream the listener already paces
 * (backpressure, turns, the line timeout, stop()). A frame's text then goes through the same
 * parsing as a line: its syslog header is removed and it is the alert the plain line makes.
 */
import type { Transform, TransformCallback } from 'node:stream';
import { OctetFrameDecoder, sniffFraming, type Framing } from './octet-frames.js';
import { linePieces } from './line-pieces.js';

/** What the listener does about a connection's frames. */
export interface FramingHooks {
  /** Octet counting only, after each chunk: it ends between frames (`ends`), or completed one (`crossed`). */
  progress(ends: boolean, crossed: boolean): void;
  /** A frame over the limit was skipped. */
  tooLong(length: number): void;
  /** No valid MSG-LEN where a frame starts: nothing after it can be framed (the listener closes). */
  malformed(detail: string): void;
  /** The connection ended inside a frame. */
  truncated(detail: string): void;
}

/**
 * Makes `lines` (a split2 stream) sniff its first bytes and keep newline framing or read
 * octet-counted frames from then on. Until the first bytes tell (at most 12), they are held;
 * a connection that ends before stays newline framed. Returns the framing chosen so far.
 */
export function frameByFirstBytes(lines: Transform, maxFrameBytes: number, hooks: FramingHooks): () => Framing | undefined {
  const splitChunk = lines._transform.bind(lines);
  // Each line decoded as narrow as its own characters (line-pieces.ts). split2's transform calls
  // back before it returns, so the pieces go through it in order, and an error stops them.
  const splitLines = (chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void => {
    const pieces = linePieces(chunk);
    const last = pieces.length - 1;
    for (let i = 0; i < last; i++) {
      let failed: Error | null | undefined;
      splitChunk(pieces[i] as Buffer, encoding, (err?: Error | null) => (failed = err));
      if (failed) return callback(failed);
    }
    splitChunk(pieces[last] as Buffer, encoding, callback);
  };
  const splitFlush = lines._flush.bind(lines);
  let framing: Framing | undefined;
  let head: Buffer[] = [];
  let decoder: OctetFrameDecoder | undefined;

  const frames = (d: OctetFrameDecoder, chunk: Buffer): void => {
    let crossed = false;
    for (const event of d.push(chunk)) {
      if (event.kind === 'frame') lines.push(event.text);
      else if (event.kind === 'too_long') hooks.tooLong(event.length);
      else if (event.kind === 'malformed') hooks.malformed(event.detail);
      crossed = true;
    }
    if (!d.stopped) hooks.progress(d.atBoundary, crossed);
  };

  lines._transform = (chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void => {
    if (framing === 'newline') return splitLines(chunk, encoding, callback);
    if (decoder !== undefined) {
      frames(decoder, chunk);
      return callback();
    }
    head.push(chunk);
    const start = head.length === 1 ? chunk : Buffer.concat(head);
    framing = sniffFraming(start);
    if (framing === undefined) return callback();
    head = [];
    if (framing === 'newline') return splitLines(start, encoding, callback);
    decoder = new OctetFrameDecoder(maxFrameBytes);
    frames(decoder, start);
    callback();
  };

  lines._flush = (done: TransformCallback): void => {
    if (decoder !== undefined) {
      for (const event of decoder.end()) {
        if (event.kind === 'truncated') hooks.truncated(event.length === null ? `ended after ${event.have} digits of MSG-LEN` : `ended after ${event.have} of ${event.length} bytes`);
      }
      return done();
    }
    if (framing === undefined && head.length > 0) {
      // A few bytes and the end: they are a (short) newline-framed line.
      framing = 'newline';
      const start = Buffer.concat(head);
      head = [];
      return splitLines(start, 'buffer' as BufferEncoding, (err?: Error | null) => (err ? done(err) : splitFlush(done)));
    }
    splitFlush(done);
  };
  return () => framing;
}
