/**
 * The durable disk spool: "accepted means on disk". Sources append a record per accepted item; a
 * group commit writes and fdatasyncs them; the feeder reads committed records in order and acks each
 * once its alert is delivered or dead-lettered, in any order. After `kill -9` at any moment, the next
 * open reads back every committed record not acked. Memory stays flat whatever the backlog: records
 * waiting on disk are read back in large sequential chunks, never held.
 *
 * Prior art: Kafka's log (segment files named after their first offset, deleted whole once
 * consumed), LevelDB/RocksDB's write-ahead log (checksummed records, a torn tail is skipped, not
 * fatal), PostgreSQL's and MySQL's group commit (one fdatasync for every transaction waiting),
 * fluent-bit's filesystem buffering (chunks on disk, `storage.total_limit_size`), and vector's disk
 * buffer v2 (out-of-order acks, a ledger of what was read and acknowledged).
 *
 * On disk, in `dir`:
 * - `seg-<first seq, 16 digits>.log`: records framed by queue/spool-codec.ts. Append-only; after
 *   open, appends always go to a new segment, never after a possibly torn tail. A segment file is
 *   created by the first commit that writes to it (not at open: an idle start leaves no empty file),
 *   and the directory is fsynced then, so the new name is as durable as the data.
 * - `ack.json`: `{version, cursor, ranges}`: every seq below `cursor` is acked, and so is every seq
 *   in the inclusive `[from, to]` ranges. Written atomically (tmp, fdatasync, rename) on a commit
 *   tick when it changed, not per ack.
 * - `FORMAT`: the spool format version (spool-format.ts); records and ack.json carry it too.
 * - `LOCK`: the pid of the process using the spool and the boot id; a stale one is taken over (see
 *   spool-lock.ts).
 * Other files are ignored. Files are created 0600 (the directory 0700) and never opened through a
 * symlink: they hold detections and mails.
 *
 * Decisions:
 * - Recovery marks every seq below the next seq that is on no disk record (cut short, corrupt, or in
 *   a deleted segment) as acked, so a lost record never holds the ack cursor back and an ack for it
 *   is recognised as unknown. The next seq is above every seq on disk and in the ack state, so an
 *   acked seq is never given to a new record. A seq can be given again after a crash that deleted
 *   the newest segment before ack.json caught up: nothing refers to it any more then (records are
 *   identified by their content, not their seq, everywhere past the spool). A record seen twice (a
 *   write retried after a failure) is read once.
 * - A segment whose every record is acked is deleted at the next tick, without waiting for
 *   ack.json: recovery counts a seq found on no disk record as acked anyway. So reclaiming a
 *   delivered segment never needs new space, which matters most when the disk is full. The
 *   directory is fsynced after the unlinks (no space needed either), so a power cut does not bring
 *   a delivered segment back to be sent again.
 * - A failed write or fdatasync keeps the batch in memory and rewrites it at the same file offset
 *   at the next try (after `fsyncIntervalMs`, at least {@link ERROR_RETRY_MS}): after a failed
 *   fsync the page cache cannot be trusted (PostgreSQL's "fsyncgate"), so the bytes are written again.
 *   Until a write succeeds the spool is `blocked` (and `full`): sources stop reading at the first
 *   failure, not when memory runs out. Retries write in chunks of {@link RETRY_CHUNK_BYTES}, each
 *   fsynced, so space freed partly is used at once; the first chunk that makes it unblocks input.
 * - `full` also holds while `commitBatchBytes` are appended but not durable yet, and a commit starts
 *   early once half of that waits: what a crash or a failing disk can cost stays one small batch,
 *   whatever the input rate.
 * - The reader serves just-committed records from memory while it keeps up (at most
 *   {@link TAIL_MAX_BYTES}); beyond that it drops them and reads them back from disk later.
 * - The active segment, once every record in it is acked, is deleted (and the next commit starts a
 *   new one) when the spool is full, the segment reached `segmentBytes`, or at close: else a full
 *   spool whose records are all delivered could never free the segment it writes to.
 * - Damaged records never stop start-up, but a segment file that cannot be read at all (EIO,
 *   EACCES) fails open() with `ERR_SPOOL_DIR`: counting it wrong could delete unsent records or
 *   reuse its seqs.
 *
 * Besides the spool API, `closed`, `memoryTailBytes` (tests, metrics), the `maxBufferedBytes`
 * option (above) and the constants are exported. This file is the orchestrator (the Spool class:
 * group commit, acks, segment deletion), longer than the usual 250 lines for that; the parts with
 * a concept of their own live beside it, only the spool uses them:
 * - spool-reader.ts: the read side (memory tail, disk cursor, rewind);
 * - spool-codec.ts: the record framing (pure);
 * - spool-acks.ts: the acked-seq set ({@link AckSet}) and loading ack.json;
 * - spool-segment-reader.ts: segment file names and the chunked segment reader;
 * - spool-inspect.ts: the read-only directory scan that open() recovers with, and `inspectSpool`;
 * - spool-lock.ts: the LOCK file;
 * - spool-errors.ts: the error codes.
 */
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ACK_FILE, ackFileText, type AckSet } from './spool-acks.js';
import { encodeBatch, HEADER_BYTES, MAX_PAYLOAD_BYTES, MAX_TIME } from './spool-codec.js';
import { describe, spoolError } from './spool-errors.js';
import { checkFormat } from './spool-format.js';
import { type Found, scanDir, type SpoolRecovery } from './spool-inspect.js';
import { releaseLock, takeLock } from './spool-lock.js';
import { type Segment, segmentName } from './spool-segment-reader.js';
import { SpoolReader, TAIL_MAX_BYTES, type ReaderSpool } from './spool-reader.js';
import { replaceFile, syncDir } from '../io/durable-file.js';

export type { SpoolErrorCode } from './spool-errors.js';
export { inspectSpool, type SpoolRecovery } from './spool-inspect.js';
export { READ_CHUNK_BYTES } from './spool-segment-reader.js';
export { TAIL_MAX_BYTES } from './spool-reader.js';

/** One record as the reader gets it. */
export interface SpoolEntry {
  readonly seq: number;
  readonly time: number;
  readonly payload: string;
  /**
   * What the writer already made of the payload (a parsed line), handed to readers that take the
   * record from memory so they need not make it again (issue 15: a line is parsed once). Never
   * written to disk: a record read back from a segment has none, and is parsed from its payload.
   */
  readonly memo?: unknown;
  /** Bytes of heap the memo holds (an encoded alert's body): the memory tail counts them with the payload. */
  readonly memoBytes?: number;
}

/** One more reader of the spool ({@link Spool.cursor}): what a delivery target's feeder reads. */
export interface SpoolCursor {
  read(max: number, maxChars?: number): Promise<SpoolEntry[]>;
  whenReadable(): Promise<void>;
  ack(seq: number): void;
  /** This cursor read `seq` and leaves it to the cursor that owns it. */
  release(seq: number): void;
  /** The next read() starts again from the oldest unacked record. */
  rewind(): void;
  /**
   * Spool bytes this cursor holds on disk: from the segment of the oldest record it read and has not
   * released nor seen acked (or, when none, of the next it has to read) to the newest. 0 when caught up.
   */
  heldBytes(): number;
}

/** What the spool holds and did since open. */
export interface SpoolStats {
  /** Bytes of segment files on disk plus appended-not-yet-written. */
  readonly bytes: number;
  /** Appended and not acked (committed or not). */
  readonly records: number;
  readonly segments: number;
  /** `time` of the oldest unacked record (ms epoch), exact within one record; null when empty. */
  readonly oldestTime: number | null;
  /** Since open. */
  readonly appended: number;
  /** Since open: records made durable (fsynced). */
  readonly committed: number;
  /** Since open. */
  readonly acked: number;
  readonly nextSeq: number;
}

/** What the spool reports; the runtime logs and counts (telemetry). Hooks must not throw. */
export interface SpoolHooks {
  /** A group commit finished: `records` made durable in `ms` (fsync latency incl. write). */
  committed?(records: number, bytes: number, ms: number): void;
  /** A write/fsync/ack-file error; the spool keeps the data in memory and retries at the next tick. Must not throw. */
  error?(err: Error, during: 'write' | 'fsync' | 'ack' | 'delete' | 'read'): void;
  /** Records could not be written: input must stop (`reason` names the file and errno). Once per outage. */
  blocked?(reason: string): void;
  /** A write succeeded again after {@link blocked}: input may resume. */
  unblocked?(): void;
}

/** Options of {@link Spool.open}. */
export interface SpoolOptions {
  /** The spool's own directory (created if missing). */
  readonly dir: string;
  /** `full` when `stats().bytes >= maxBytes`. */
  readonly maxBytes: number;
  /**
   * Group commit: appends are written and fdatasynced together at most this long after the first of
   * them; 0 = commit on the next macrotask (setImmediate). Ack state is persisted on the same tick.
   */
  readonly fsyncIntervalMs: number;
  /** Roll to a new segment file past this size. @default 67108864 (64 MiB) */
  readonly segmentBytes?: number;
  /**
   * Also `full` while this many bytes are appended but not yet durable (a slow or failing disk); a
   * commit starts early once half of it waits. Bounds what is read and not yet accepted for good.
   * @default 2097152 (2 MiB)
   */
  readonly commitBatchBytes?: number;
  readonly hooks?: SpoolHooks;
  /** Clock for the default record `time`. @default Date.now */
  readonly now?: () => number;
}

/** Least wait before retrying a failed write, fsync, ack-file write or delete: disks do not heal in microseconds. */
export const ERROR_RETRY_MS = 500;
/**
 * After a failed write, records are written again in chunks of about this size, each fsynced: on a
 * disk where a little space came back, some records become durable (and input resumes) at once,
 * instead of the whole batch failing again and again for want of its last bytes.
 */
export const RETRY_CHUNK_BYTES = 64 * 1024;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_COMMIT_BATCH_BYTES = 2 * 1024 * 1024;
/** Files of the spool hold detections and mails: only its own user reads them. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** A new segment: created or truncated, never through a symlink planted at its name. */
const SEGMENT_OPEN_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW;

/** The durable disk spool (see the file header). */
export class Spool {
  /** What open found on disk. */
  readonly recovery: SpoolRecovery;
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #intervalMs: number;
  readonly #segmentBytes: number;
  readonly #batchBytes: number;
  readonly #hooks: SpoolHooks;
  readonly #now: () => number;
  readonly #acks: AckSet;
  /** Segment files by first seq, the active one (being written) last. */
  readonly #segments: Segment[];
  #active: { readonly segment: Segment; readonly handle: FileHandle } | null = null;

  #nextSeq: number;
  /** First seq not yet durable. */
  #durableNext: number;
  #pending: SpoolEntry[] = [];
  #pendingSince = 0;
  /** Encoded bytes of the pending records. */
  #pendingBytes = 0;
  #inflight: SpoolEntry[] = [];
  /** Encoded bytes of pending and in-flight records. */
  #bufferedBytes = 0;
  /** Why records cannot be written (file and errno), from the first failed write until one succeeds. */
  #blocked: string | null = null;
  #diskBytes: number;
  #unacked: number;
  #appended = 0;
  #committed = 0;
  #ackedCount = 0;
  #ackVersion = 0;
  #persistedAckVersion = 0;
  #ackSince = 0;
  readonly #dead = new Set<Segment>();

  #timer: (() => void) | null = null;
  /** The armed timer fires on the next turn (setImmediate): a batch that became due needs no rearming. */
  #timerImmediate = false;
  #ticking: Promise<void> | null = null;
  #retryAt = 0;
  #commitWaiters: { target: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  readonly #readWaiters = new Set<() => void>();
  readonly #spaceWaiters = new Set<() => void>();

  readonly #reader: SpoolReader;
  /** The primary reader and every {@link cursor} (one per delivery target, issue 14): commits and acks reach all. */
  readonly #readers: SpoolReader[] = [];

  #closing = false;
  #closed = false;
  #closingPromise: Promise<void> | null = null;

  private constructor(opts: Required<Omit<SpoolOptions, 'hooks'>> & { hooks: SpoolHooks }, found: Found) {
    this.#dir = opts.dir;
    this.#maxBytes = opts.maxBytes;
    this.#intervalMs = opts.fsyncIntervalMs;
    this.#segmentBytes = opts.segmentBytes;
    this.#batchBytes = opts.commitBatchBytes;
    this.#hooks = opts.hooks;
    this.#now = opts.now;
    this.#acks = found.acks;
    this.#segments = found.segments;
    this.#nextSeq = found.nextSeq;
    this.#durableNext = found.nextSeq;
    this.#diskBytes = found.segments.reduce((sum, s) => sum + s.size, 0);
    this.#unacked = found.recovery.records;
    this.#reader = new SpoolReader(
      this.#readerSpool(),
      found.recovery.records > 0,
      found.recovery.oldestTime,
    );
    this.#readers.push(this.#reader);
    this.recovery = found.recovery;
  }

  /** What a reader sees of the spool (its segments, acks, closing and clock). */
  #readerSpool(): ReaderSpool {
    return { segments: this.#segments, isAcked: (seq) => this.#acks.has(seq), isClosing: () => this.#closing, now: () => this.#now() };
  }

  /** Takes the lock, recovers what is on disk (deleting fully acked segments), and gets ready for appends. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    checkNumber('maxBytes', opts.maxBytes, 1);
    checkNumber('fsyncIntervalMs', opts.fsyncIntervalMs, 0);
    checkNumber('segmentBytes', opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES, 1);
    checkNumber('commitBatchBytes', opts.commitBatchBytes ?? DEFAULT_COMMIT_BATCH_BYTES, 1);
    const dir = resolve(opts.dir);
    const hooks = opts.hooks ?? {};
    try {
      await mkdir(dir, { recursive: true, mode: DIR_MODE });
    } catch (err) {
      throw spoolError('ERR_SPOOL_DIR', `Spool directory ${dir} cannot be created (${describe(err)}): point spool.dir at a writable directory.`, err);
    }
    await takeLock(dir);
    try {
      await checkFormat(dir, (err) => safeHook(() => hooks.error?.(err, 'write')));
      const found = await recover(dir, (err) => safeHook(() => hooks.error?.(err, 'read')));
      const spool = new Spool(
        {
          dir,
          maxBytes: opts.maxBytes,
          fsyncIntervalMs: opts.fsyncIntervalMs,
          segmentBytes: opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
          commitBatchBytes: opts.commitBatchBytes ?? DEFAULT_COMMIT_BATCH_BYTES,
          hooks,
          now: opts.now ?? Date.now,
        },
        found,
      );
      if (found.ackChanged) spool.#ackVersion++;
      for (const segment of found.segments) if (segment.live === 0) spool.#markDead(segment);
      spool.#schedule();
      return spool;
    } catch (err) {
      await releaseLock(dir);
      throw err;
    }
  }

  /**
   * True once `stats().bytes >= maxBytes`, while `commitBatchBytes` wait to be made durable, or
   * while writes fail ({@link blocked}): callers pause their input (append still takes records).
   */
  get full(): boolean {
    return this.#blocked !== null || this.#diskBytes + this.#bufferedBytes >= this.#maxBytes || this.#bufferedBytes >= this.#batchBytes;
  }

  /** Bytes that may still be appended before `maxBytes` (0 when at or over it). */
  get roomBytes(): number {
    return Math.max(0, this.#maxBytes - this.#diskBytes - this.#bufferedBytes);
  }

  /** True once `stats().bytes >= maxBytes` (the configured size, not a transient batch). */
  get atMaxBytes(): boolean {
    return this.#diskBytes + this.#bufferedBytes >= this.#maxBytes;
  }

  /**
   * Why records cannot be written now (`cannot write <file>: ENOSPC (…)`), or null. Set by the first
   * failed write or fsync, cleared by the first one that succeeds.
   */
  get blocked(): string | null {
    return this.#blocked;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closing;
  }

  /**
   * True while every reader takes records from memory and keeps up (its memory tail under half
   * full): what is appended now is likely read with its memo. False while one reads a backlog from
   * disk, where memos are not kept, or is falling behind (TheHive down, slow): a memo made now
   * would likely be dropped with the tail.
   */
  get tailing(): boolean {
    return this.#readers.every((r) => r.tailing && r.tailBytes < TAIL_MAX_BYTES / 2);
  }

  /** Bytes of committed-unread records the reader holds in memory (at most {@link TAIL_MAX_BYTES}). */
  get memoryTailBytes(): number {
    return this.#reader.tailBytes;
  }

  /**
   * Appends one record (never refuses: the caller already read the item; callers check `full`) and
   * returns its seq. It is durable after the next group commit (see commit()). `time` (ms epoch,
   * default `now()`) is floored and clamped to [0, 2^48); a non-finite one becomes `now()`. Throws an
   * Error with code `ERR_SPOOL_CLOSED` after close(), and a TypeError for a payload over 256 MiB
   * (no line or mail tracehive accepts comes near).
   */
  append(payload: string, time?: number, memo?: unknown, memoBytes = 0): number {
    if (this.#closing) throw spoolError('ERR_SPOOL_CLOSED', `The spool in ${this.#dir} is closed: nothing more can be appended (tracehive is shutting down).`);
    const at = clampTime(time === undefined || !Number.isFinite(time) ? this.#now() : time);
    const bytes = Buffer.byteLength(payload, 'utf8');
    if (bytes > MAX_PAYLOAD_BYTES) throw new TypeError(`Expected \`payload\` to be at most ${MAX_PAYLOAD_BYTES} bytes, got ${bytes}.`);
    const seq = this.#nextSeq++;
    if (this.#pending.length === 0) this.#pendingSince = performance.now();
    this.#pending.push(memo === undefined ? { seq, time: at, payload } : { seq, time: at, payload, memo, memoBytes });
    this.#pendingBytes += HEADER_BYTES + bytes;
    this.#bufferedBytes += HEADER_BYTES + bytes;
    this.#unacked++;
    this.#appended++;
    if (this.#ticking === null && (this.#timer === null || (!this.#timerImmediate && this.#retryAt === 0 && this.#batchDue()))) this.#schedule(true);
    return seq;
  }

  /** Resolves once `full` is false (immediately if not full: acks freed a segment, or a commit emptied the buffer), or when the spool closes. */
  whenSpace(): Promise<void> {
    if (!this.full || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#spaceWaiters.add(resolve));
  }

  /**
   * Resolves once every record appended before the call is fsynced; rejects if the spool closes
   * before that could happen. It waits for the regular tick (at most `fsyncIntervalMs`), it does not
   * force an early one: many callers waiting share one fdatasync.
   */
  commit(): Promise<void> {
    const target = this.#nextSeq - 1;
    if (target < this.#durableNext) return Promise.resolve();
    if (this.#closed) return Promise.reject(spoolError('ERR_SPOOL_CLOSED', `The spool in ${this.#dir} closed before records up to seq ${target} were written.`));
    return new Promise((resolve, reject) => this.#commitWaiters.push({ target, resolve, reject }));
  }

  /**
   * Up to `max` committed, not-yet-read records in seq order, acked ones skipped; never records that
   * are not durable yet. Empty when none (or after close). From memory while the reader keeps up,
   * else from disk in {@link READ_CHUNK_BYTES} sequential reads. Calls run one after another.
   * `maxChars` bounds the payload characters returned (one record at least), so a run of big
   * records (mail alerts) cannot load the heap by count alone.
   */
  read(max: number, maxChars = Infinity): Promise<SpoolEntry[]> {
    return this.#reader.read(max, maxChars);
  }

  /** Resolves when read() has records to look at (immediately if so), or when the spool closes. */
  whenReadable(): Promise<void> {
    return this.#whenReadableBy(this.#reader);
  }

  /**
   * Another reader of the same records, with its own position (issue 14: one per delivery target).
   * It starts at the oldest unacked record, reads every committed record once like read(), and sees
   * every ack, whoever gives it. A record one cursor reads and leaves to another is released with
   * {@link SpoolCursor.release} (it no longer counts for that cursor's oldest time). Acks are
   * shared: a record is acked once, by the cursor that owns it, and a segment goes once every
   * record in it is acked, so once every cursor is past it.
   */
  cursor(): SpoolCursor {
    const reader = new SpoolReader(this.#readerSpool(), true, this.#reader.oldestTime() ?? this.#reader.diskTimeHint);
    this.#readers.push(reader);
    return {
      read: (max, maxChars = Infinity) => reader.read(max, maxChars),
      whenReadable: () => this.#whenReadableBy(reader),
      ack: (seq) => this.ack(seq),
      release: (seq) => reader.acked(seq),
      rewind: () => {
        reader.rewind();
        this.#wake(this.#readWaiters);
      },
      heldBytes: () => this.#bytesFrom(reader.oldestSeq()),
    };
  }

  /** What the primary reader holds back (see {@link SpoolCursor.heldBytes}). */
  heldBytes(): number {
    return this.#bytesFrom(this.#reader.oldestSeq());
  }

  /** Releases `seq` from the primary reader (see {@link SpoolCursor.release}). */
  release(seq: number): void {
    this.#reader.acked(seq);
  }

  #whenReadableBy(reader: SpoolReader): Promise<void> {
    if (this.#closed || this.#readableBy(reader)) return Promise.resolve();
    return new Promise((resolve) => this.#readWaiters.add(resolve));
  }

  /** Bytes of the segments from the one holding `seq` to the newest, plus what waits for its commit; 0 for null. */
  #bytesFrom(seq: number | null): number {
    if (seq === null) return 0;
    let bytes = this.#bufferedBytes;
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const segment = this.#segments[i] as Segment;
      bytes += segment.size;
      if (segment.firstSeq <= seq) break;
    }
    return bytes;
  }

  /** Marks `seq` done (delivered or dead-lettered), in any order; acking twice, after close, or an unknown seq is harmless. */
  ack(seq: number): void {
    if (this.#closed || !Number.isSafeInteger(seq) || seq < 1 || seq >= this.#durableNext) return;
    const segment = this.#segmentOf(seq);
    if (segment === undefined || segment.live === 0 || !this.#acks.add(seq)) return;
    for (const reader of this.#readers) reader.acked(seq);
    this.#unacked--;
    this.#ackedCount++;
    if (this.#ackVersion === this.#persistedAckVersion) this.#ackSince = performance.now();
    this.#ackVersion++;
    if (--segment.live === 0) this.#markDead(segment);
    if (this.#timer === null && this.#ticking === null) this.#schedule();
  }

  /** Makes the next read() start again from the oldest unacked record (a consumer restarted). */
  rewind(): void {
    this.#reader.rewind();
    this.#wake(this.#readWaiters);
  }

  stats(): SpoolStats {
    return {
      bytes: this.#diskBytes + this.#bufferedBytes,
      records: this.#unacked,
      segments: this.#segments.length,
      oldestTime: this.#oldestTime(),
      appended: this.#appended,
      committed: this.#committed,
      acked: this.#ackedCount,
      nextSeq: this.#nextSeq,
    };
  }

  /**
   * Commits what is appended, persists the ack state, deletes fully acked segments and releases the
   * lock. Unacked records stay for the next open. Rejects (code `ERR_SPOOL_DIR`) when the last
   * commit failed: the records it held are lost, and the message says how many.
   */
  close(): Promise<void> {
    this.#closingPromise ??= this.#close();
    return this.#closingPromise;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    this.#timer?.();
    this.#timer = null;
    await this.#ticking;
    const failure = await this.#tick(true);
    this.#closed = true;
    const lost = this.#pending.length;
    for (const waiter of this.#commitWaiters.splice(0)) {
      waiter.reject(spoolError('ERR_SPOOL_CLOSED', `The spool in ${this.#dir} closed before records up to seq ${waiter.target} could be written${failure ? ` (${failure.message})` : ''}.`));
    }
    await Promise.all(this.#readers.map((r) => r.close()));
    await this.#active?.handle.close().catch(() => undefined);
    this.#active = null;
    await releaseLock(this.#dir);
    this.#wake(this.#readWaiters);
    this.#wake(this.#spaceWaiters);
    if (failure && lost > 0) {
      throw spoolError('ERR_SPOOL_DIR', `The last ${lost} records appended to the spool in ${this.#dir} could not be written at close (${failure.message}): they are lost. Check the disk of spool.dir.`, failure);
    }
  }

  // ---- group commit ------------------------------------------------------------------------------

  /** Half of `commitBatchBytes` waits: commit now rather than at the end of the interval. */
  #batchDue(): boolean {
    return this.#pendingBytes * 2 >= this.#batchBytes;
  }

  /**
   * Arms the tick timer when there is work: records to commit, acks to persist, segments to delete.
   * `rearm` replaces an armed timer (a batch became due early).
   */
  #schedule(rearm = false): void {
    if (this.#ticking !== null || this.#closing) return;
    if (this.#timer !== null) {
      if (!rearm) return;
      this.#timer();
      this.#timer = null;
    }
    const now = performance.now();
    let due = Number.POSITIVE_INFINITY;
    if (this.#pending.length > 0) due = this.#batchDue() ? now : this.#pendingSince + this.#intervalMs;
    if (this.#ackVersion !== this.#persistedAckVersion) due = Math.min(due, this.#ackSince + this.#intervalMs);
    if (this.#deletable().length > 0) due = Math.min(due, now);
    if (due === Number.POSITIVE_INFINITY) return;
    const delay = Math.max(due, this.#retryAt) - now;
    const run = (): void => {
      this.#timer = null;
      this.#timerImmediate = false;
      this.#ticking = this.#tick(false).then(() => {
        this.#ticking = null;
        this.#schedule();
      });
    };
    if (delay <= 0 && (this.#intervalMs === 0 || this.#batchDue())) {
      const immediate = setImmediate(run);
      this.#timer = () => clearImmediate(immediate);
      this.#timerImmediate = true;
    } else {
      const timeout = setTimeout(run, Math.max(0, delay));
      this.#timer = () => clearTimeout(timeout);
      this.#timerImmediate = false;
    }
  }

  /**
   * One tick: delete dead segments first (that frees space, and needs none), commit, persist acks,
   * delete what the commit or a seal made deletable; after a failure the next tick waits at least
   * {@link ERROR_RETRY_MS}. Never rejects; returns the commit error, if any (for close()).
   */
  async #tick(final: boolean): Promise<Error | null> {
    let commitError: Error | null = null;
    let failed = false;
    try {
      if (!(await this.#deleteSegments())) failed = true;
      if (this.#pending.length > 0) commitError = await this.#commitBatch();
      failed ||= commitError !== null;
      const active = this.#active?.segment;
      if (final || (active && active.live === 0 && (this.full || active.size >= this.#segmentBytes))) await this.#seal();
      if (this.#ackVersion !== this.#persistedAckVersion && !(await this.#persistAcks())) failed = true;
      if (!(await this.#deleteSegments())) failed = true;
    } catch (err) {
      // A bug, not an I/O error (those are caught where they happen): report it and retry later.
      failed = true;
      safeHook(() => this.#hooks.error?.(asError(err), 'write'));
    }
    this.#retryAt = failed ? performance.now() + Math.max(this.#intervalMs, ERROR_RETRY_MS) : 0;
    return commitError;
  }

  /**
   * Writes and fdatasyncs everything pending: as one batch normally, in fsynced chunks of
   * {@link RETRY_CHUNK_BYTES} while blocked. What could not be written goes back in front of the
   * pending records; the spool is blocked until a write succeeds.
   */
  async #commitBatch(): Promise<Error | null> {
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    let done = 0;
    let during: 'write' | 'fsync' = 'write';
    let path = this.#dir;
    try {
      while (done < batch.length) {
        const end = this.#blocked === null ? batch.length : chunkEnd(batch, done, RETRY_CHUNK_BYTES);
        this.#inflight = batch.slice(done);
        const part = done === 0 && end === batch.length ? batch : batch.slice(done, end);
        const started = performance.now();
        const buf = encodeBatch(part);
        const first = (part[0] as SpoolEntry).seq;
        path = this.#active?.segment.path ?? join(this.#dir, segmentName(first));
        const { segment, handle } = await this.#segmentFor(first);
        path = segment.path;
        during = 'write';
        try {
          for (let written = 0; written < buf.length; ) {
            const { bytesWritten } = await handle.write(buf, written, buf.length - written, segment.size + written);
            written += bytesWritten;
          }
          during = 'fsync';
          await handle.datasync();
        } catch (err) {
          // Give back what a partial write took: on a full disk every byte counts.
          await handle.truncate(segment.size).catch(() => undefined);
          throw err;
        }
        this.#committedBatch(part, segment, buf.length, performance.now() - started);
        done = end;
        if (this.#blocked !== null) this.#unblock();
      }
      this.#inflight = [];
      return null;
    } catch (err) {
      const error = asError(err);
      const rest = batch.slice(done);
      this.#pending = rest.concat(this.#pending);
      for (const e of rest) this.#pendingBytes += HEADER_BYTES + Buffer.byteLength(e.payload, 'utf8');
      this.#inflight = [];
      safeHook(() => this.#hooks.error?.(error, during));
      if (this.#blocked === null) {
        const code = (error as NodeJS.ErrnoException).code;
        this.#blocked = `cannot ${during === 'fsync' ? 'fsync' : 'write'} ${path}: ${code ?? 'error'} (${error.message})`;
        safeHook(() => this.#hooks.blocked?.(this.#blocked as string));
      }
      return error;
    }
  }

  #unblock(): void {
    this.#blocked = null;
    safeHook(() => this.#hooks.unblocked?.());
    if (this.#spaceWaiters.size > 0 && !this.full) this.#wake(this.#spaceWaiters);
  }

  #committedBatch(batch: SpoolEntry[], segment: Segment, bytes: number, ms: number): void {
    const n = batch.length;
    segment.size += bytes;
    segment.live += n;
    this.#dead.delete(segment);
    this.#diskBytes += bytes;
    this.#bufferedBytes -= bytes;
    this.#durableNext = (batch[n - 1] as SpoolEntry).seq + 1;
    this.#committed += n;
    for (const reader of this.#readers) reader.committed(batch, segment, segment.size - bytes, bytes);
    // Readers first: once commit() resolves, read() already has the records.
    this.#wake(this.#readWaiters);
    if (this.#spaceWaiters.size > 0 && !this.full) this.#wake(this.#spaceWaiters);
    while (this.#commitWaiters.length > 0 && (this.#commitWaiters[0] as { target: number }).target < this.#durableNext) {
      (this.#commitWaiters.shift() as { resolve: () => void }).resolve();
    }
    safeHook(() => this.#hooks.committed?.(n, bytes, ms));
  }

  /** The segment a batch starting at `firstSeq` goes to: the active one, or a new one past `segmentBytes`. */
  async #segmentFor(firstSeq: number): Promise<{ segment: Segment; handle: FileHandle }> {
    if (this.#active && this.#active.segment.size >= this.#segmentBytes) await this.#seal();
    if (this.#active) return this.#active;
    const path = join(this.#dir, segmentName(firstSeq));
    const handle = await open(path, SEGMENT_OPEN_FLAGS, FILE_MODE);
    try {
      await syncDir(this.#dir);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    const segment: Segment = { firstSeq, path, size: 0, live: 0, deleted: false };
    this.#segments.push(segment);
    this.#active = { segment, handle };
    return this.#active;
  }

  /** Stops writing to the active segment (the next commit starts a new one). */
  async #seal(): Promise<void> {
    const active = this.#active;
    if (!active) return;
    this.#active = null;
    await active.handle.close().catch((err: unknown) => safeHook(() => this.#hooks.error?.(asError(err), 'write')));
    const { segment } = active;
    if (segment.size === 0) {
      // Created but never written (every write failed): forget it now, as the retry may create a
      // file of the same name, which a later delete of this one must not remove.
      segment.deleted = true;
      this.#segments.splice(this.#segments.indexOf(segment), 1);
      this.#dead.delete(segment);
      await unlink(segment.path).catch(() => undefined);
    } else if (segment.live === 0) {
      this.#markDead(segment);
    }
  }

  // ---- acks and deletion -------------------------------------------------------------------------

  #markDead(segment: Segment): void {
    this.#dead.add(segment);
  }

  /** Dead segments that may go: all but the active one. */
  #deletable(): Segment[] {
    const list: Segment[] = [];
    for (const segment of this.#dead) if (segment !== this.#active?.segment) list.push(segment);
    return list;
  }

  /** Writes ack.json atomically (tmp, fdatasync, rename); false on failure (reported). */
  async #persistAcks(): Promise<boolean> {
    const version = this.#ackVersion;
    try {
      await replaceFile(join(this.#dir, ACK_FILE), ackFileText(this.#acks), { mode: FILE_MODE });
      this.#persistedAckVersion = version;
      if (this.#ackVersion !== version) this.#ackSince = performance.now();
      return true;
    } catch (err) {
      safeHook(() => this.#hooks.error?.(asError(err), 'ack'));
      return false;
    }
  }

  /**
   * Unlinks the dead segments (see the file header: no need to persist the acks first, so this
   * needs no space); false when one could not be (reported).
   */
  async #deleteSegments(): Promise<boolean> {
    let freed = false;
    let ok = true;
    for (const segment of this.#deletable()) {
      // Every record in it is acked: a reader positioned there moves on, even if the unlink fails.
      segment.deleted = true;
      try {
        await unlink(segment.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          safeHook(() => this.#hooks.error?.(asError(err), 'delete'));
          ok = false;
          continue;
        }
      }
      this.#dead.delete(segment);
      this.#segments.splice(this.#segments.indexOf(segment), 1);
      this.#diskBytes -= segment.size;
      freed = true;
    }
    if (freed) {
      if (!this.full) this.#wake(this.#spaceWaiters);
      try {
        await syncDir(this.#dir);
      } catch (err) {
        // The unlinks stand; a power cut may only bring a delivered segment back (sent again, never lost).
        safeHook(() => this.#hooks.error?.(asError(err), 'delete'));
      }
    }
    return ok;
  }

  /** The segment holding `seq` (the last one whose first seq is not above it). */
  #segmentOf(seq: number): Segment | undefined {
    let lo = 0;
    let hi = this.#segments.length - 1;
    let found: Segment | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const segment = this.#segments[mid] as Segment;
      if (segment.firstSeq <= seq) {
        found = segment;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  #readableBy(reader: SpoolReader): boolean {
    if (reader.rewinding) return this.#unacked > this.#pending.length + this.#inflight.length;
    return reader.readable();
  }

  #oldestTime(): number | null {
    if (this.#unacked === 0) return null;
    let oldest: number | undefined;
    for (const reader of this.#readers) {
      const time = reader.oldestTime();
      if (time !== undefined && (oldest === undefined || time < oldest)) oldest = time;
    }
    return oldest ?? (this.#inflight[0] ?? this.#pending[0])?.time ?? this.#reader.diskTimeHint;
  }

  #wake(waiters: Set<() => void>): void {
    if (waiters.size === 0) return;
    const list = [...waiters];
    waiters.clear();
    for (const wake of list) wake();
  }
}

// ---- recovery ------------------------------------------------------------------------------------

/** Recovery for open(): scans, then removes a leftover ack tmp file. */
async function recover(dir: string, report: (err: Error) => void): Promise<Found> {
  const found = await scanDir(dir, report, true);
  await unlink(join(dir, `${ACK_FILE}.tmp`)).catch(() => undefined);
  return found;
}

// ---- small helpers -----------------------------------------------------------------------------

/** The index after the records from `from` that fit in about `bytes` (one record at least). */
function chunkEnd(batch: readonly SpoolEntry[], from: number, bytes: number): number {
  let size = 0;
  let i = from;
  do {
    size += HEADER_BYTES + Buffer.byteLength((batch[i] as SpoolEntry).payload, 'utf8');
    i++;
  } while (i < batch.length && size < bytes);
  return i;
}

function clampTime(time: number): number {
  return Number.isFinite(time) ? Math.min(MAX_TIME, Math.max(0, Math.floor(time))) : 0;
}

function checkNumber(name: string, value: number, min: number): void {
  if (!Number.isFinite(value) || value < min) throw new TypeError(`Expected \`${name}\` to be a number ≥ ${min}, got ${String(value)}.`);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** A throwing hook must not break a commit: report it as a process warning instead. */
function safeHook(call: () => void): void {
  try {
    call();
  } catch (err) {
    process.emitWarning(asError(err), { code: 'TRACEHIVE_HOOK' });
  }
}
