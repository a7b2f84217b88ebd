/**
 * The drop file `tracehive ingest` leaves in `ingest.dropDir` for serve: one mail per file, the raw
 * RFC 5322 bytes behind a one-line versioned header,
 *
 *     tracehive-drop/1 {"receivedAt":"2026-12-04T16:40:33.012Z","via":"stdin","origin":"stdin","bytes":2206}\n
 *     <2206 bytes of mail>
 *
 * named `<receive ms, 15 digits>-<pid>-<12 hex>.mail`. A drop carries a mail, never an alert: serve
 * parses and maps it like any other mail, so whoever can write the directory (the MTA's group) can
 * at most send a mail, which they could over SMTP too. The reader is strict — exact header fields,
 * version, bounds, and a byte count that matches — because the directory is not private. Pure.
 */

/** The format this release writes; a reader refuses a higher one (ERR_FORMAT_NEWER). */
export const DROP_VERSION = 1;
/** Drop file names end so; serve leaves `.`-names alone (an ingest still writing its temp file). */
export const DROP_SUFFIX = '.mail';
/** The header line's first bytes. */
const MAGIC = 'tracehive-drop/';
/** A header is about 120 bytes plus the origin path; more is not a header. */
export const DROP_HEADER_MAX = 8192;
/** An origin (a file path) longer than this is not one ingest wrote. */
const ORIGIN_MAX = 4096;

/** What the header says about the mail. */
export interface DropHeader {
  /** Epoch ms when ingest read the mail. */
  readonly receivedAt: number;
  readonly via: 'stdin' | 'file';
  /** `stdin`, or the path of the `.eml` file. */
  readonly origin: string;
  /** The mail's length in bytes. */
  readonly bytes: number;
}

export type DropDecoded = { readonly ok: true; readonly header: DropHeader; readonly mail: Buffer } | { readonly ok: false; readonly reason: string };

const NAME = /^\d{15}-\d{1,10}-[0-9a-f]{12}\.mail$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const FIELDS = ['receivedAt', 'via', 'origin', 'bytes'] as const;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The name of a new drop file. */
export function dropName(receivedAt: number, pid: number, random: string): string {
  return `${String(receivedAt).padStart(15, '0')}-${pid}-${random}${DROP_SUFFIX}`;
}

/** Whether `name` is one ingest could have written. */
export function isDropName(name: string): boolean {
  return NAME.test(name);
}

/** The whole drop file for one mail. */
export function encodeDrop(header: DropHeader, mail: Buffer): Buffer {
  const fields = { receivedAt: new Date(header.receivedAt).toISOString(), via: header.via, origin: header.origin, bytes: mail.length };
  return Buffer.concat([Buffer.from(`${MAGIC}${DROP_VERSION} ${JSON.stringify(fields)}\n`, 'utf8'), mail]);
}

/** The largest drop file a mail of at most `maxBytes` makes: more is refused before it is read. */
export function dropFileMax(maxBytes: number): number {
  return DROP_HEADER_MAX + maxBytes;
}

/** Reads a drop file's bytes, or says why they are none; `maxBytes` is the mail size limit. */
export function decodeDrop(data: Buffer, maxBytes: number): DropDecoded {
  const invalid = (why: string): DropDecoded => ({ ok: false, reason: `ERR_DROP_INVALID: ${why}` });
  const eol = data.subarray(0, DROP_HEADER_MAX).indexOf(0x0a);
  if (eol === -1 || data.toString('latin1', 0, MAGIC.length) !== MAGIC) return invalid(`no "${MAGIC}N {…}" header line: not a drop file tracehive ingest wrote`);
  const line = data.toString('utf8', MAGIC.length, eol);
  const m = /^(\d{1,6}) (\{.*\})$/.exec(line);
  if (!m) return invalid('the header line is not "tracehive-drop/<version> <JSON object>"');
  const version = Number(m[1]);
  if (version < 1) return invalid(`format version ${version} does not exist`);
  if (version > DROP_VERSION) return { ok: false, reason: `ERR_FORMAT_NEWER: a drop file of format version ${version}, newer than this tracehive reads (${DROP_VERSION}): upgrade tracehive serve` };
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(m[2] as string) as Record<string, unknown>;
  } catch {
    return invalid('the header is not JSON');
  }
  const checked = checkFields(fields, maxBytes);
  if (typeof checked === 'string') return invalid(checked);
  const mail = data.subarray(eol + 1);
  if (mail.length !== checked.bytes) return invalid(`the header says ${checked.bytes} bytes of mail, the file holds ${mail.length}: cut short or tampered with`);
  return { ok: true, header: checked, mail };
}

/** The header's fields, or what is wrong with them. */
function checkFields(fields: Record<string, unknown>, maxBytes: number): DropHeader | string {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return 'the header is not a JSON object';
  const extra = Object.keys(fields).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (extra.length > 0) return `the header has fields a drop never has: ${extra.slice(0, 5).join(', ')}`;
  const { receivedAt, via, origin, bytes } = fields;
  if (typeof receivedAt !== 'string' || !ISO_MS.test(receivedAt) || Number.isNaN(Date.parse(receivedAt))) return `Expected \`receivedAt\` to be an ISO time with milliseconds, got ${JSON.stringify(receivedAt)}`;
  if (via !== 'stdin' && via !== 'file') return `Expected \`via\` to be "stdin" or "file", got ${JSON.stringify(via)}`;
  if (typeof origin !== 'string' || origin.length === 0 || origin.length > ORIGIN_MAX || CONTROL.test(origin)) return `Expected \`origin\` to be "stdin" or a file path of at most ${ORIGIN_MAX} characters, got ${JSON.stringify(String(origin).slice(0, 80))}`;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 1 || bytes > maxBytes) return `Expected \`bytes\` to be an integer from 1 to ${maxBytes} (the mail size limit), got ${JSON.stringify(bytes)}`;
  return { receivedAt: Date.parse(receivedAt), via, origin, bytes };
}
