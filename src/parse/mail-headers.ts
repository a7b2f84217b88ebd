/**
 * Header fields of a mail as mailparser hands them over, read the way an alert needs them: bare
 * Message-IDs, the `Date` header (never mailparser's "now" stand-in), addresses with groups
 * flattened, and the few headers worth keeping in the description. Pure.
 */
import { createHash } from 'node:crypto';
import type { AddressObject, HeaderValue, ParsedMail as MpMail } from 'mailparser';
import type { MailAddress } from './mail-text.js';

/** Headers copied into the alert description, when present. */
const KEPT_HEADERS = ['return-path', 'x-mailer', 'user-agent', 'x-originating-ip', 'in-reply-to'];

/** One raw header field as mailparser lists them: lower-case name, the whole (folded) line. */
export interface HeaderLine {
  readonly key: string;
  readonly line: string;
}

/**
 * Fields the author's mail program writes (RFC 5322 §3.6, and the MIME type with its boundary,
 * which a mail program draws anew for every mail). Never a field added on the way (Received,
 * Return-Path, Delivered-To, Authentication-Results…): the same mail fetched from another
 * mailbox or relayed again must keep its identity.
 */
const IDENTITY_HEADERS: ReadonlySet<string> = new Set([
  'date', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'subject', 'in-reply-to', 'references', 'comments', 'keywords', 'content-type',
]);

/**
 * SHA-256 (hex) of the {@link IDENTITY_HEADERS} fields in their order, values unfolded and
 * trimmed: with the body digest, what tells apart two mails that have no Message-ID.
 */
export function identityDigest(lines: readonly HeaderLine[]): string {
  const h = createHash('sha256');
  for (const { key, line } of lines) {
    if (!IDENTITY_HEADERS.has(key)) continue;
    h.update(key).update(':').update(line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim()).update('\n');
  }
  return h.digest('hex');
}

/** The header fields of a raw header block, for mails mailparser could not read; continuation lines join their field. */
export function rawHeaderLines(head: string): HeaderLine[] {
  const out: Array<{ key: string; line: string }> = [];
  for (const line of head.split(/\r?\n/)) {
    const last = out[out.length - 1];
    if (last !== undefined && /^[ \t]/.test(line)) last.line += `\n${line}`;
    else {
      const m = /^([!-9;-~]{1,76}):/.exec(line);
      if (m !== null) out.push({ key: (m[1] as string).toLowerCase(), line });
    }
  }
  return out;
}

export function bareId(id: string | undefined): string | null {
  const v = (id ?? '').trim().replace(/^<|>$/g, '').trim();
  return v === '' ? null : v;
}

/** The `Date` header read by us: mailparser puts "now" in place of an unreadable date, which no alert may depend on. */
export function headerDate(lines: MpMail['headerLines']): number | null {
  const value = dateValue(lines);
  if (value === null) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

/** The `Date` header's value, unfolded and trimmed; null without one. */
function dateValue(lines: MpMail['headerLines']): string | null {
  const line = lines.find((l) => l.key === 'date')?.line;
  return line === undefined ? null : line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
}

/**
 * The offset of the `Date` header (`+0500` → 300 minutes east of UTC, `-0330` → -210), or null
 * when absent, unparsable, or `-0000` (RFC 5322 §3.3: the zone is unknown).
 */
export function headerDateOffset(lines: MpMail['headerLines']): number | null {
  const value = dateValue(lines);
  if (value === null) return null;
  const m = /([+-])(\d{2})(\d{2})\s*(?:\([^)]*\)\s*)?$/.exec(value);
  if (m === null || (m[1] === '-' && m[2] === '00' && m[3] === '00')) return null;
  const hh = Number(m[2]);
  const mm = Number(m[3]);
  if (hh > 23 || mm > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (hh * 60 + mm);
}

export function addresses(v: AddressObject | AddressObject[] | undefined): MailAddress[] {
  const out: MailAddress[] = [];
  const walk = (list: AddressObject['value']): void => {
    for (const a of list) {
      if (a.group !== undefined) walk(a.group);
      else if ((a.address ?? '') !== '' || a.name !== '') out.push({ address: (a.address ?? '').trim(), name: a.name.trim() });
    }
  };
  for (const obj of v === undefined ? [] : Array.isArray(v) ? v : [v]) walk(obj.value);
  return out;
}

export function firstAddress(v: AddressObject | undefined): MailAddress | null {
  return addresses(v)[0] ?? null;
}

export function keptHeaders(mp: MpMail): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const text = headerText(mp.headers.get(name));
    if (text !== null) out[name] = text;
  }
  const date = mp.headerLines.find((l) => l.key === 'date')?.line;
  if (date !== undefined) out['date'] = date.slice(date.indexOf(':') + 1).replace(/\s+/g, ' ').trim();
  return out;
}

/** Received: fields kept per mail at most: a real chain has a dozen hops, a forged one may have thousands. */
const RECEIVED_MAX = 50;

/** The values of the `Received:` fields, unfolded, in header order (topmost, the last added, first). */
export function receivedValues(lines: readonly HeaderLine[]): string[] {
  return lines
    .filter((l) => l.key === 'received')
    .slice(0, RECEIVED_MAX)
    .map((l) => l.line.slice(l.line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim());
}

function headerText(v: HeaderValue | undefined): string | null {
  if (v === undefined) return null;
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return null;
  if (typeof first === 'string') return first.trim() || null;
  if (first instanceof Date) return Number.isNaN(first.getTime()) ? null : first.toISOString();
  if ('text' in first && typeof first.text === 'string') return first.text.trim() || null;
  if ('value' in first && typeof first.value === 'string') return first.value.trim() || null;
  return null;
}
