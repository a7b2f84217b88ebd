/**
 * Reading a spool directory without changing it: {@link scanDir} counts the segments and the ack
 * state, and {@link inspectSpool} is what `tracehive spool stats` shows while serve may be running.
 * Spool.open() recovers with the same scan (strict, under the lock), so what stats reports and what
 * open recovers cannot drift apart. Its own file because it never writes and takes no lock: it needs
 * nothing of the Spool class.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type AckSet, readAcks } from './spool-acks.js';
import { describe, spoolError } from './spool-errors.js';
import { newerFormat, SPOOL_FORMAT } from './spool-format.js';
import { type Segment, SEGMENT_NAME, SegmentCursor } from './spool-segment-reader.js';

/** What open found on disk. */
export interface SpoolRecovery {
  /** Good records not acked: they are read again. */
  readonly records: number;
  /** Segment files scanned. */
  readonly segments: number;
  /** Runs of damaged bytes (checksum mismatch, bad header) skipped; each may have held records. */
  readonly corrupt: number;
  /** Records cut short at the end of a segment (a crash during a write). */
  readonly torn: number;
  /** Bytes of the segment files. */
  readonly bytes: number;
  readonly oldestTime: number | null;
}

/** What {@link scanDir} found: the counts, and the state a Spool starts from. */
export interface Found {
  readonly recovery: SpoolRecovery;
  readonly segments: Segment[];
  readonly acks: AckSet;
  readonly nextSeq: number;
  /** Good records on disk that are acked. */
  readonly acked: number;
  /** The ack state differs from ack.json (gaps marked, or the file was unreadable). */
  readonly ackChanged: boolean;
}

/**
 * Read-only inspection for `tracehive spool stats` while serve may be running: no lock, never
 * writes. `acked`: good records still on disk that are acked (their segment is not deleted yet). A
 * record serve is writing at that moment may count as torn; a segment that cannot be read is skipped.
 */
export async function inspectSpool(dir: string): Promise<SpoolRecovery & { acked: number }> {
  const found = await scanDir(resolve(dir), () => undefined, false);
  return { ...found.recovery, acked: found.acked };
}

/**
 * Scans every segment in seq order, keeping per segment only its size and live count, never a
 * payload. Seqs on no good record below the next seq are marked acked (see spool.ts's header).
 * `strict` (open): a segment that cannot be read (EIO, EACCES) fails the scan, as counting it wrong
 * could delete it with records unsent or reuse its seqs; damaged records inside a readable file
 * never do.
 */
export async function scanDir(dir: string, report: (err: Error) => void, strict: boolean): Promise<Found> {
  const acks = await readAcks(dir, report);
  const before = JSON.stringify(acks.toJSON());
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
    else throw spoolError('ERR_SPOOL_DIR', `Spool directory ${dir} cannot be read (${describe(err)}): check its permissions.`, err);
  }
  const segments: Segment[] = [];
  let lastSeen = 0;
  let records = 0;
  let acked = 0;
  let corrupt = 0;
  let torn = 0;
  let bytes = 0;
  let oldestTime: number | null = null;
  for (const name of names) {
    const path = join(dir, name);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || !strict) continue; // deleted meanwhile (inspect while serve runs)
      throw unreadableSegment(path, err);
    }
    const segment: Segment = { firstSeq: Number((SEGMENT_NAME.exec(name) as RegExpExecArray)[1]), path, size, live: 0, deleted: false };
    const cursor = new SegmentCursor(segment, 0);
    let inDamage = false;
    try {
      for (;;) {
        const item = await cursor.next(size, false);
        if (item === null) break;
        if ('torn' in item) {
          torn++;
          break;
        }
        if ('corrupt' in item) {
          if (!inDamage) corrupt++;
          inDamage = true;
          continue;
        }
        inDamage = false;
        // A good record of a newer release: refuse rather than misread (inspect: counted as unreadable).
        if (item.version > SPOOL_FORMAT) throw newerFormat(`The record ${item.entry.seq} of ${path}`, item.version);
        const { seq, time } = item.entry;
        if (seq <= lastSeen) continue; // written twice (a retried write): read once
        if (seq > lastSeen + 1) acks.addRange(lastSeen + 1, seq - 1);
        lastSeen = seq;
        if (acks.has(seq)) {
          acked++;
        } else {
          segment.live++;
          records++;
          oldestTime ??= time;
        }
      }
    } catch (err) {
      if (strict) throw (err as { code?: string }).code === 'ERR_SPOOL_FORMAT' ? err : unreadableSegment(path, err);
      report(new Error(`Spool segment ${path} cannot be read (${describe(err)}); its records are not counted.`, { cause: err }));
    } finally {
      await cursor.close();
    }
    bytes += size;
    segments.push(segment);
  }
  const nextSeq = Math.max(lastSeen, acks.maxSeq) + 1;
  if (nextSeq - 1 > lastSeen) acks.addRange(lastSeen + 1, nextSeq - 1);
  return {
    recovery: { records, segments: segments.length, corrupt, torn, bytes, oldestTime },
    segments,
    acks,
    nextSeq,
    acked,
    ackChanged: JSON.stringify(acks.toJSON()) !== before,
  };
}

function unreadableSegment(path: string, err: unknown): Error {
  return spoolError('ERR_SPOOL_DIR', `Spool segment ${path} cannot be read (${describe(err)}): check the disk of spool.dir; to start without the records in it, move the file out of the directory.`, err);
}
