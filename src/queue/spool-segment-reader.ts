/**
 * Spool segment files: their names, the spool's bookkeeping for one ({@link Segment}), and
 * {@link SegmentCursor}, which reads a segment's records in order in large sequential chunks. Its own
 * file because both the live reader (spool.ts) and the directory scan at open and for inspection
 * (spool-inspect.ts) read segments this way, and the chunking is a concern of its own: memory stays
 * at one chunk whatever the backlog. The record framing it scans is in spool-codec.ts.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { HEADER_BYTES, scan, type ScanResult } from './spool-codec.js';

/** Size of the sequential reads of recovery and of a reader behind the live tail. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/** A segment file's name: `seg-<first seq, 16 digits>.log`. */
export const SEGMENT_NAME = /^seg-(\d{16})\.log$/;

/** The file name of the segment whose first record has seq `firstSeq` (matches {@link SEGMENT_NAME}). */
export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, '0')}.log`;
}

/** One segment file. `size` counts durable bytes only (a recovered file: its whole size). */
export interface Segment {
  readonly firstSeq: number;
  readonly path: string;
  size: number;
  /** Records in it not acked. */
  live: number;
  deleted: boolean;
}

/** Reads one segment file's records in order, in {@link READ_CHUNK_BYTES} (or larger) sequential reads. */
export class SegmentCursor {
  readonly segment: Segment;
  /** File offset of the next record. */
  offset: number;
  #handle: FileHandle | null = null;
  #buf: Buffer = Buffer.alloc(0);
  /** The bytes of the file from #start that #buf holds. */
  #view: Buffer = Buffer.alloc(0);
  #start = 0;
  /** The last read stopped at the end of the file (shorter than expected). */
  #eof = false;

  constructor(segment: Segment, offset: number) {
    this.segment = segment;
    this.offset = offset;
  }

  /** The record at `offset` within the first `end` bytes, or null at `end`; moves past it. */
  async next(end: number, decode: boolean): Promise<ScanResult | null> {
    for (;;) {
      if (this.offset >= end) return null;
      let rel = this.offset - this.#start;
      if (rel < 0 || rel >= this.#view.length) {
        await this.#fill(this.offset, HEADER_BYTES, end);
        rel = 0;
        if (this.#view.length === 0) return null; // the file is shorter than it was
      }
      const final = this.#eof || this.#start + this.#view.length >= end;
      const item = scan(this.#view, rel, { final, decode });
      if ('entry' in item) {
        this.offset = this.#start + item.next;
        return item;
      }
      if ('corrupt' in item) {
        this.offset = this.#start + item.resyncAt;
        return item;
      }
      if (final) {
        this.offset = end;
        return item;
      }
      await this.#fill(this.offset, item.need, end);
    }
  }

  /** Reads from `at` at least `need` bytes (fewer at `end`), and a whole chunk when there is one. */
  async #fill(at: number, need: number, end: number): Promise<void> {
    this.#handle ??= await open(this.segment.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const want = Math.min(Math.max(READ_CHUNK_BYTES, need), end - at);
    if (this.#buf.length < want) this.#buf = Buffer.allocUnsafe(Math.max(want, READ_CHUNK_BYTES));
    let got = 0;
    this.#eof = false;
    while (got < want) {
      const { bytesRead } = await this.#handle.read(this.#buf, got, want - got, at + got);
      if (bytesRead === 0) {
        this.#eof = true;
        break;
      }
      got += bytesRead;
    }
    this.#start = at;
    this.#view = this.#buf.subarray(0, got);
  }

  /** Closes the file, if open; never throws. */
  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close().catch(() => undefined);
  }
}
