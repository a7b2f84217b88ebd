/**
 * The spool's read side: committed records in seq order, each once, acked ones skipped. While the
 * reader keeps up it takes them from memory (the tail the commit hands it, at most
 * {@link TAIL_MAX_BYTES}); once it falls behind it drops the tail and reads the segment files in
 * large sequential chunks from where the tail began, then switches back to memory when caught up.
 * So a backlog costs disk, not memory. Only the spool uses it (spool.ts owns segments and acks).
 */
import type { ScanResult } from './spool-codec.js';
import { describe } from './spool-errors.js';
import { type Segment, SegmentCursor } from './spool-segment-reader.js';
import type { SpoolEntry } from './spool.js';

/**
 * Committed-unread records kept in memory for the reader at most, their memos' heap included
 * (an alert encoded at accept is ~3 times its line); beyond, it reads them from disk. Above four
 * early commits' worth (spool.commitBatchBytes / 2 of payload, and their memos), so a reader that
 * keeps up never falls to the disk path, where each record must be mapped again.
 */
export const TAIL_MAX_BYTES = 24 * 1024 * 1024;

/**
 * A reader that has not asked for records for this long while a commit finds unread ones waiting
 * does not keep up (its TheHive is down, its queue is full): the tail is dropped for the disk
 * then, not after it has grown to {@link TAIL_MAX_BYTES}. A backlog building up while TheHive was
 * down held 24 MiB of lines first (row (d) of `make bench` peaked 20 to 30 MiB above its steady
 * state); a reader that keeps up asks again within milliseconds of a delivery.
 */
export const TAIL_STALL_MS = 100;

/**
 * A reader that asks but reads more slowly than lines come (one POST per alert under a flood) has
 * a tail that only grows: once it has stayed above {@link TAIL_BEHIND_BYTES} for
 * {@link TAIL_BEHIND_MS}, the tail is dropped for the disk then, not after it has grown to
 * {@link TAIL_MAX_BYTES}. Those 24 MiB of records cost 35 to 40 MiB of heap, which row (c) of
 * `make bench` peaked with (issue 15). A reader that keeps up empties its tail within
 * milliseconds of each commit, however large the commit.
 */
export const TAIL_BEHIND_BYTES = 8 * 1024 * 1024;
export const TAIL_BEHIND_MS = 250;

/** What the reader needs of the spool. */
export interface ReaderSpool {
  /** Segment files by first seq, the active one last (the spool's own array: it adds and removes). */
  readonly segments: readonly Segment[];
  isAcked(seq: number): boolean;
  /** True once the spool is closing: reads stop. */
  isClosing(): boolean;
  /** Milliseconds, for {@link TAIL_STALL_MS}. */
  now(): number;
}

/** Committed records the reader may take from memory, with where they start on disk. */
interface TailBatch {
  readonly segment: Segment;
  readonly offset: number;
  readonly entries: readonly SpoolEntry[];
  readonly bytes: number;
  index: number;
}

/** One read() call: what it has gathered and its bounds. */
interface ReadBatch {
  readonly max: number;
  readonly maxChars: number;
  chars: number;
  readonly out: SpoolEntry[];
}

function wants(batch: ReadBatch): boolean {
  return batch.out.length < batch.max && batch.chars < batch.maxChars;
}

export class SpoolReader {
  readonly #spool: ReaderSpool;
  // From memory ('tail') while it keeps up, else from disk at #cursor.
  #mode: 'tail' | 'disk';
  #tail: TailBatch[] = [];
  #tailBytes = 0;
  /** Since when the tail has been above {@link TAIL_BEHIND_BYTES} (spool clock), or null. */
  #behindSince: number | null = null;
  #cursor: SegmentCursor | null = null;
  /** Every record below it was returned by read() (since open or the last rewind). */
  #readNext = 0;
  /** `time` of read, unacked records by seq, in seq order: the oldest is the first. */
  readonly #readTimes = new Map<number, number>();
  /** A time no later than the next unread record on disk (the last one read, or recovery's oldest). */
  #diskTimeHint: number | null;
  #rewindAsked = false;
  #reading: Promise<unknown> = Promise.resolve();
  /** When read() was last called. */
  #askedAt: number;

  /** `backlog`: open found unacked records on disk (reading starts there); `oldestTime`: recovery's oldest. */
  constructor(spool: ReaderSpool, backlog: boolean, oldestTime: number | null) {
    this.#spool = spool;
    this.#mode = backlog ? 'disk' : 'tail';
    this.#diskTimeHint = oldestTime;
    this.#askedAt = spool.now();
  }

  /** True while it takes records from memory (it keeps up); false while it reads a backlog from disk. */
  get tailing(): boolean {
    return this.#mode === 'tail';
  }

  /** Bytes of committed-unread records held in memory. */
  get tailBytes(): number {
    return this.#tailBytes;
  }

  /** True between rewind() and the next read(). */
  get rewinding(): boolean {
    return this.#rewindAsked;
  }

  /** See Spool.read. Calls run one after another. */
  read(max: number, maxChars: number): Promise<SpoolEntry[]> {
    this.#askedAt = this.#spool.now();
    const run = this.#reading.then(() => this.#read({ max, maxChars, chars: 0, out: [] }));
    this.#reading = run.catch(() => undefined);
    return run;
  }

  /** A commit made `batch` durable at `offset` of `segment`: keep it in memory while the reader keeps up. */
  committed(batch: readonly SpoolEntry[], segment: Segment, offset: number, bytes: number): void {
    if (this.#mode !== 'tail') return;
    // What the records hold in memory: their bytes on disk and what their memos hold (issue 15).
    let held = bytes;
    for (const entry of batch) held += entry.memoBytes ?? 0;
    const now = this.#spool.now();
    const stalled = this.#tail.length > 0 && now - this.#askedAt > TAIL_STALL_MS;
    const behind = this.#behindSince !== null && now - this.#behindSince > TAIL_BEHIND_MS;
    if (!stalled && !behind && this.#tailBytes + held <= TAIL_MAX_BYTES) {
      this.#tail.push({ segment, offset, entries: batch, bytes: held, index: 0 });
      this.#tailBytes += held;
      if (this.#tailBytes > TAIL_BEHIND_BYTES) this.#behindSince ??= now;
    } else {
      // The reader fell behind (or stopped asking): drop the tail and read it back from disk, where it starts.
      const from = this.#tail[0] ?? { segment, offset };
      this.#dropTail();
      this.#mode = 'disk';
      void this.#cursor?.close();
      this.#cursor = new SegmentCursor(from.segment, from.offset);
    }
  }

  /** `seq` was acked: it no longer counts for the oldest time. */
  acked(seq: number): void {
    this.#readTimes.delete(seq);
  }

  /** The next read() starts again from the oldest unacked record. */
  rewind(): void {
    this.#rewindAsked = true;
  }

  /** Whether read() has records to look at (not deciding while a rewind is pending: see rewinding). */
  readable(): boolean {
    if (this.#mode === 'tail') return this.#tail.length > 0;
    const cursor = this.#cursor;
    const { segments } = this.#spool;
    if (cursor === null) return segments.some((s) => s.live > 0);
    return cursor.offset < cursor.segment.size || segments.indexOf(cursor.segment) < segments.length - 1;
  }

  /**
   * A seq no later than the oldest record this reader still holds back: the oldest it read that is
   * neither acked nor released, else (when it has more to read) where its next read starts. Null
   * when it is caught up and holds nothing.
   */
  oldestSeq(): number | null {
    const read = this.#readTimes.keys().next();
    if (!read.done) return read.value;
    if (this.#rewindAsked) return this.#spool.segments.find((s) => s.live > 0)?.firstSeq ?? null;
    if (!this.readable()) return null;
    if (this.#mode === 'tail') {
      const batch = this.#tail[0];
      return batch?.entries[batch.index]?.seq ?? batch?.segment.firstSeq ?? null;
    }
    return this.#cursor?.segment.firstSeq ?? this.#spool.segments.find((s) => s.live > 0)?.firstSeq ?? null;
  }

  /** The time of the oldest unacked record the reader knows of; undefined when it knows none. */
  oldestTime(): number | undefined {
    const read = this.#readTimes.values().next();
    if (!read.done) return read.value;
    if (this.#mode === 'tail') {
      const batch = this.#tail[0];
      const entry = batch?.entries[batch.index];
      if (entry) return entry.time;
    } else if (this.#diskTimeHint !== null) {
      return this.#diskTimeHint;
    }
    return undefined;
  }

  /** A time no later than the next unread record on disk, if known. */
  get diskTimeHint(): number | null {
    return this.#diskTimeHint;
  }

  /** Waits for a read in progress, then lets go of the file and the tail. */
  async close(): Promise<void> {
    await this.#reading;
    await this.#cursor?.close();
    this.#cursor = null;
    this.#dropTail();
  }

  /** Lets go of the records held in memory (they stay on disk). */
  #dropTail(): void {
    this.#tail = [];
    this.#tailBytes = 0;
    this.#behindSince = null;
  }

  async #read(want: ReadBatch): Promise<SpoolEntry[]> {
    if (this.#spool.isClosing() || !(want.max >= 1)) return want.out;
    if (this.#rewindAsked) await this.#applyRewind();
    while (wants(want)) {
      if (this.#mode === 'tail') {
        this.#readTail(want);
        break;
      }
      await this.#readDisk(want);
      if (this.#spool.isClosing()) break;
    }
    return want.out;
  }

  #readTail(want: ReadBatch): void {
    while (wants(want)) {
      const batch = this.#tail[0];
      if (!batch) return;
      const entry = batch.entries[batch.index++];
      if (batch.index >= batch.entries.length) {
        this.#tail.shift();
        this.#tailBytes -= batch.bytes;
        if (this.#tailBytes <= TAIL_BEHIND_BYTES) this.#behindSince = null;
      }
      if (entry && entry.seq >= this.#readNext && !this.#spool.isAcked(entry.seq)) this.#take(entry, want);
    }
  }

  /** Reads records from disk until the batch is full or the reader is caught up (then it switches to the tail). */
  async #readDisk(want: ReadBatch): Promise<void> {
    while (wants(want) && this.#mode === 'disk' && !this.#spool.isClosing()) {
      const cursor = this.#cursor;
      if (cursor === null || cursor.segment.deleted) {
        // From the start (after open or rewind): the first segment with unacked records.
        const next = cursor === null ? this.#spool.segments.find((s) => s.live > 0) : this.#spool.segments.find((s) => s.firstSeq > cursor.segment.firstSeq);
        this.#cursor = next ? new SegmentCursor(next, 0) : null;
        if (!next) this.#mode = 'tail';
        await cursor?.close();
        continue;
      }
      if (cursor.offset >= cursor.segment.size) {
        const at = this.#spool.segments.indexOf(cursor.segment);
        const next = this.#spool.segments[at + 1];
        if (next === undefined) {
          // Caught up: from now on, commits feed the reader from memory. No await since the size check.
          this.#mode = 'tail';
          return;
        }
        this.#cursor = new SegmentCursor(next, 0);
        await cursor.close();
        continue;
      }
      let item: ScanResult | null;
      try {
        item = await cursor.next(cursor.segment.size, true);
      } catch (err) {
        if (cursor.segment.deleted) continue; // fully acked and gone meanwhile: nothing to read there
        throw new Error(`Spool segment ${cursor.segment.path} cannot be read (${describe(err)}): the reader retries; check the disk of spool.dir.`, { cause: err });
      }
      if (item === null || 'torn' in item) {
        cursor.offset = cursor.segment.size; // damage at the end of a recovered segment: skip the rest
      } else if ('entry' in item) {
        const { entry } = item;
        this.#diskTimeHint = entry.time;
        if (entry.seq >= this.#readNext && !this.#spool.isAcked(entry.seq)) this.#take(entry, want);
      }
    }
  }

  #take(entry: SpoolEntry, want: ReadBatch): void {
    want.out.push(entry);
    want.chars += entry.payload.length;
    this.#readNext = entry.seq + 1;
    this.#readTimes.set(entry.seq, entry.time);
  }

  async #applyRewind(): Promise<void> {
    this.#rewindAsked = false;
    const oldest = this.#readTimes.values().next();
    if (!oldest.done) this.#diskTimeHint = oldest.value;
    this.#readTimes.clear();
    this.#readNext = 0;
    this.#dropTail();
    const old = this.#cursor;
    this.#cursor = null;
    this.#mode = 'disk';
    await old?.close();
  }
}
