/**
 * Header fields of a mail as mailparser hands them over, read the way an alert needs them: bare
 * Message-IDs, the `Date` header (never mailparser's "now" stand-in), addresses with groups
 * flattened, and the few headers worth keeping in the description. Pure.
 */
import type { AddressObject, HeaderValue, ParsedMail as MpMail } from 'mailparser';
import type { MailAddress } from './mail-text.js';

/** Headers copied into the alert description, when present. */
const KEPT_HEADERS = ['return-path', 'x-mailer', 'user-agent', 'x-originating-ip', 'in-reply-to'];

export function bareId(id: string | undefined): string | null {
  const v = (id ?? '').trim().replace(/^<|>$/g, '').trim();
  return v === '' ? null : v;
}

/** The `Date` header read by us: mailparser puts "now" in place of an unreadable date, which no alert may depend on. */
export function headerDate(lines: MpMail['headerLines']): number | null {
  const line = lines.find((l) => l.key === 'date')?.line;
  if (line === undefined) return null;
  const t = Date.parse(line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim());
  return Number.isNaN(t) ? null : t;
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
