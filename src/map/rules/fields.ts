/**
 * What a rule sees of an event (issue 14): a {@link RuleEvent} built from a CyberTrace record or a
 * mail, and the names a rule may use ({@link isKnownField}). A field resolves only to the event's
 * own values, held in a Map (never an object: a key such as `__proto__` or `constructor` must not
 * reach a prototype); the names of Object.prototype's members always resolve to nothing. Pure.
 */
import type { CyberTraceRecord, KvPair } from '../../types.js';
import type { MailKind } from './spec.js';

/** The event a rule matches and its templates read. */
export interface RuleEvent {
  readonly kind: 'detection' | 'service' | 'mail';
  /** The CyberTrace category (`KL_BotnetCnC_URL`); null for a service alert or a mail. */
  readonly category: string | null;
  /** The event's own fields: the first non-empty value of each key, keys as written. */
  readonly fields: ReadonlyMap<string, string>;
  /** The address of the peer that sent the line, when known. */
  readonly peer?: string;
  readonly mailKind?: MailKind;
  /** The mail's sender address, lower case. */
  readonly sender?: string;
  /** The IMAP mailbox the mail was taken from (`INBOX/tenant-b`); absent for other mail sources. */
  readonly mailbox?: string;
  /** The event's date (epoch ms): the `occurDate` of its procedures. */
  readonly date: number;
}

/**
 * Fields of CyberTrace records the mapper knows (cybertrace-format: the default EventFormat, the
 * record-context fields of Kaspersky's feeds, the ESM/CEF recipes' keys), as a rule writes them.
 */
const CYBERTRACE_FIELDS = [
  ...['category', 'matchedIndicator', 'alert', 'date', 'reason', 'detected', 'msg', 'records', 'sourceServiceName'],
  ...['url', 'request', 'src', 'dst', 'ip', 'hostname', 'usrName', 'suser', 'dvc', 'act', 'sproc', 'dhost', 'shost'],
  ...['md5', 'sha1', 'sha256', 'hash', 'fileHash', 'MD5', 'SHA1', 'SHA256', 'file_size', 'file_type', 'file_names'],
  ...['threat', 'threat_score', 'popularity', 'first_seen', 'last_seen', 'mask', 'feed', 'type', 'id', 'externalId'],
  ...['confidence', 'geo', 'ip_geo', 'users_geo', 'detection_date', 'publication_name', 'note', 'category_reputation'],
  ...['targeted_organization', 'industry', 'stolen_data_type', 'attack_type', 'event_name', 'source', 'lang', 'indicatorInfo'],
  ...['cs1', 'cs1Label', 'cs2', 'cs2Label', 'cs3', 'cs3Label', 'cs4', 'cs4Label', 'cs5', 'cs5Label', 'cs6', 'cs6Label'],
];
/** Record-context fields come in families (`whois/org`, `files/MD5`): any name under these is known. */
const CYBERTRACE_PREFIXES = ['whois/', 'ip_whois/', 'files/', 'urls/', 'domains/', 'ips/', 'certificates/', 'users_geo/'];
/** Fields of a mail's event: who sent it, its subject, its kind, and a SIEM notification's fields (mail-policy.ts). */
const MAIL_FIELDS = [
  ...['subject', 'sender', 'mailbox', 'mailKind', 'incidentId', 'title', 'severity', 'status', 'description'],
  ...['attacker', 'victim', 'destination', 'user'],
];
const KNOWN = new Set([...CYBERTRACE_FIELDS, ...MAIL_FIELDS]);

/** Object.prototype's members: never a field, whatever an event carries. */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/** True when a rule may name `field`: a known field, or one of `extra` (`alert.ruleFields`). */
export function isKnownField(field: string, extra: ReadonlySet<string> = new Set()): boolean {
  if (PROTOTYPE_NAMES.has(field)) return false;
  return KNOWN.has(field) || extra.has(field) || CYBERTRACE_PREFIXES.some((p) => field.startsWith(p) && field.length > p.length);
}

/** A known field spelled with other capitals (`usrname` → `usrName`), for a hint; null when none. */
export function knownSpelling(field: string): string | null {
  const lower = field.toLowerCase();
  for (const k of KNOWN) if (k.toLowerCase() === lower) return k;
  return null;
}

/** The value of `field` in `event`, or null: own fields only, nothing for a prototype member's name. */
export function fieldOf(event: RuleEvent, field: string): string | null {
  if (PROTOTYPE_NAMES.has(field)) return null;
  return event.fields.get(field) ?? null;
}

/** The first non-empty value of each key, in line order. */
function firstValues(pairs: readonly KvPair[], into = new Map<string, string>()): Map<string, string> {
  for (const p of pairs) if (p.value !== null && !into.has(p.key)) into.set(p.key, p.value);
  return into;
}

/** The event of a CyberTrace record (`peer`: the sending address, when the rules need it). */
export function recordEvent(rec: Exclude<CyberTraceRecord, { kind: 'finished' }>, date: number, peer?: string): RuleEvent {
  const fields = new Map<string, string>();
  if (rec.kind === 'detection') {
    fields.set('category', rec.category);
    if (rec.matchedIndicator !== null) fields.set('matchedIndicator', rec.matchedIndicator);
  } else fields.set('alert', rec.alert);
  firstValues(rec.pairs, fields);
  return { kind: rec.kind, category: rec.kind === 'detection' ? rec.category : null, fields, date, ...(peer === undefined ? {} : { peer }) };
}

/** The event of a mail: its subject and sender, its kind, its IMAP mailbox, and a notification's fields under their names. */
export function mailEvent(o: { readonly kind: MailKind; readonly subject: string | null; readonly sender: string | null; readonly date: number; readonly notification?: ReadonlyMap<string, string>; readonly mailbox?: string }): RuleEvent {
  const fields = new Map<string, string>(o.notification ?? []);
  fields.set('mailKind', o.kind);
  if (o.subject !== null) fields.set('subject', o.subject);
  if (o.sender !== null) fields.set('sender', o.sender.toLowerCase());
  if (o.mailbox !== undefined) fields.set('mailbox', o.mailbox);
  return { kind: 'mail', category: null, fields, mailKind: o.kind, ...(o.sender === null ? {} : { sender: o.sender.toLowerCase() }), ...(o.mailbox === undefined ? {} : { mailbox: o.mailbox }), date: o.date };
}
