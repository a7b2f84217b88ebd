/**
 * The spool's record framing: pure functions over buffers, no I/O. A segment file is records back to
 * back, each a fixed 28-byte little-endian header followed by the UTF-8 payload:
 *
 * | offset | bytes | field                                                        |
 * | -----: | ----: | ------------------------------------------------------------ |
 * |      0 |     4 | magic `FF 53 50 31` (`\xFFSP1`)                              |
 * |      4 |     4 | CRC-32 of bytes 8 … end of payload (header fields + payload) |
 * |      8 |     4 | payload length in bytes                                      |
 * |     12 |     8 | seq (an integer below 2^53)                                  |
 * |     20 |     6 | time, ms since the epoch                                     |
 * |     26 |     2 | format version of the record (0 = tracehive 0.1.0, which wrote zero here) |
 *
 * The layout follows the write-ahead logs of LevelDB/RocksDB (log_format.md: checksum, length, type,
 * payload) and Kafka's record batches (length + CRC ahead of the data): the length lets a reader
 * skip a record without decoding it, the checksum tells a record cut short by a crash (torn) or
 * damaged on disk (corrupt) from a good one. Unlike LevelDB's fixed 32 KiB blocks, a reader that
 * meets a bad record resynchronises on the next magic, so one bad record never hides the ones after
 * it. The magic starts with 0xFF, a byte that never occurs in UTF-8, so it cannot appear inside a
 * payload; only a damaged header can fake one, and the checksum then rejects it. The CRC sits
 * before the fields it covers so that one `zlib.crc32` call checks a record.
 *
 * Payloads are JS strings stored as UTF-8, so any character (newlines included) survives; a lone
 * surrogate, which UTF-8 cannot encode, comes back as U+FFFD.
 *
 * The version field says how to read the payload (spool-payload.ts): 0.1.0 wrote 0 there (then a
 * reserved zero), this release writes {@link RECORD_VERSION}. It is covered by the checksum, so a
 * good record with a higher version was written by a newer tracehive: the reader reports it and
 * the spool refuses to open rather than misread it.
 */
import { crc32 } from 'node:zlib';

/** The four bytes every record starts with. */
export const MAGIC: Buffer = Buffer.from([0xff, 0x53, 0x50, 0x31]);
/** Bytes before the payload. */
export const HEADER_BYTES = 28;
/**
 * Largest payload a record may carry. A length field above it is damage, not a record; 256 MiB is
 * far above any line or mail tracehive accepts and keeps a damaged length from making a reader
 * allocate gigabytes.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;
/** Largest time a record can carry (48 bits: the year 10889). */
export const MAX_TIME = 2 ** 48 - 1;
/** The record format this release writes (0 = tracehive 0.1.0; 2 = this release, spool format 2). */
export const RECORD_VERSION = 2;
/** A version field above this is damage, not a version (versions grow by one per release at most). */
const MAX_VERSION_FIELD = 255;

/** One record. */
export interface SpoolRecord {
  readonly seq: number;
  readonly time: number;
  readonly payload: string;
}

/** What {@link scan} found at an offset. */
export type ScanResult =
  /** A good record, written with format `version`; the next one starts at `next`. */
  | { readonly entry: SpoolRecord; readonly next: number; readonly version: number }
  /**
   * The record at the offset does not end inside the buffer: `need` bytes from the offset would
   * hold it (or at least its header). With `final`, the data ends there: the record was cut short.
   */
  | { readonly torn: true; readonly need: number }
  /** The bytes at the offset are no good record; go on scanning at `resyncAt` (the next magic). */
  | { readonly corrupt: true; readonly resyncAt: number };

/** Options of {@link scan}. */
export interface ScanOptions {
  /**
   * The buffer ends where the data ends (the end of the file). A record running past the end is
   * then torn if nothing good follows it, else corrupt (a damaged length field). Without it, such a
   * record is reported as `torn` with the bytes needed, and the caller reads more.
   * @default true
   */
  readonly final?: boolean;
  /** Decode the payload; false returns `payload: ''` (recovery counts records without keeping them). @default true */
  readonly decode?: boolean;
}

/** Bytes a record with a payload of `payloadBytes` UTF-8 bytes takes on disk. */
export function recordBytes(payloadBytes: number): number {
  return HEADER_BYTES + payloadBytes;
}

/** Encodes records into one buffer, back to back: one allocation per group commit, not one per record. */
export function encodeBatch(entries: readonly SpoolRecord[]): Buffer {
  let total = 0;
  for (const e of entries) total += HEADER_BYTES + Buffer.byteLength(e.payload, 'utf8');
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of entries) {
    const length = buf.write(e.payload, at + HEADER_BYTES, 'utf8');
    MAGIC.copy(buf, at);
    buf.writeUInt32LE(length, at + 8);
    buf.writeUInt32LE(e.seq % 2 ** 32, at + 12);
    buf.writeUInt32LE(Math.floor(e.seq / 2 ** 32), at + 16);
    buf.writeUIntLE(e.time, at + 20, 6);
    buf.writeUInt16LE(RECORD_VERSION, at + 26);
    const end = at + HEADER_BYTES + length;
    buf.writeUInt32LE(crc32(buf.subarray(at + 8, end)), at + 4);
    at = end;
  }
  return buf;
}

/**
 * Reads the record at `offset` (which must be below `buf.length`). Never throws on bad data: it
 * tells a good record, a record that runs past the buffer, and bytes that are no record apart.
 */
export function scan(buf: Buffer, offset: number, options: ScanOptions = {}): ScanResult {
  const final = options.final ?? true;
  const avail = buf.length - offset;
  for (let i = 0; i < 4 && i < avail; i++) {
    if (buf[offset + i] !== MAGIC[i]) return corrupt(buf, offset, final);
  }
  if (avail < HEADER_BYTES) return final ? tornOrCorrupt(buf, offset) : { torn: true, need: HEADER_BYTES };
  const length = buf.readUInt32LE(offset + 8);
  const seqHigh = buf.readUInt32LE(offset + 16);
  if (length > MAX_PAYLOAD_BYTES || seqHigh >= 2 ** 21 || buf.readUInt16LE(offset + 26) > MAX_VERSION_FIELD) return corrupt(buf, offset, final);
  const end = offset + HEADER_BYTES + length;
  if (end > buf.length) return final ? tornOrCorrupt(buf, offset) : { torn: true, need: HEADER_BYTES + length };
  if (crc32(buf.subarray(offset + 8, end)) !== buf.readUInt32LE(offset + 4)) return corrupt(buf, offset, final);
  const seq = buf.readUInt32LE(offset + 12) + seqHigh * 2 ** 32;
  const time = buf.readUIntLE(offset + 20, 6);
  const payload = options.decode === false ? '' : buf.toString('utf8', offset + HEADER_BYTES, end);
  return { entry: { seq, time, payload }, next: end, version: buf.readUInt16LE(offset + 26) };
}

/** Where the next magic after `offset` starts, or -1. */
export function findMagic(buf: Buffer, from: number): number {
  return buf.indexOf(MAGIC, from);
}

/**
 * Bad bytes at `offset`: resume at the next magic. Without one in a non-final buffer, resume where a
 * magic cut by the buffer's end could start, so the caller reads on from there.
 */
function corrupt(buf: Buffer, offset: number, final: boolean): ScanResult {
  const next = findMagic(buf, offset + 1);
  if (next >= 0) return { corrupt: true, resyncAt: next };
  return { corrupt: true, resyncAt: final ? buf.length : Math.max(offset + 1, buf.length - (MAGIC.length - 1)) };
}

/**
 * A record running past the end of the data: torn if no good record follows (a crash cut the last
 * write short), else corrupt (its length field is damaged) and scanning resumes at the good one.
 */
function tornOrCorrupt(buf: Buffer, offset: number): ScanResult {
  for (let at = findMagic(buf, offset + 1); at >= 0; at = findMagic(buf, at + 1)) {
    if ('entry' in scan(buf, at, { final: false, decode: false })) return { corrupt: true, resyncAt: at };
  }
  return { torn: true, need: Math.max(HEADER_BYTES, buf.length - offset + 1) };
}
