/**
 * Parsed mails → TheHive alerts (contract §5). A SIEM notification (an incident-ID line and
 * `key: value` lines before `Raw Events`) becomes the incident's alert, its observables tagged
 * with the role their field names; a mail forwarding exactly one other (a reported phish) becomes
 * an alert about the forwarded mail, the reporter named in its description; any other mail becomes
 * an alert about the mail, with the indicators of its text, HTML links, attachments and forwarded
 * mails (mail-collect.ts). Pure and deterministic: the same mail, policies and receive time give the same alert,
 * so a mail fetched twice is one alert in TheHive.
 */
import { hash } from 'node:crypto';
import type { ParsedMail } from '../parse/email.js';
import { firstBySynonym, htmlToText, inlineForwardStart, parseNotification, type Notification } from '../parse/mail-text.js';
import type { MailEnvelope } from '../sources/mail-intake.js';
import type { Alert, AlertPolicy, KvPair, Observable } from '../types.js';
import { inlineCode, markdownDescription } from './description.js';
import { parseEventDate, type Zone } from './event-date.js';
import { zoneForSender, zoneOffset } from './time-zones.js';
import { MAX_PER_KIND, extractIocs } from './ioc.js';
import { visibleControls } from './controls.js';
import { DESCRIPTION_MAX, OBSERVABLE_DATA_MAX, SOURCE_MAX, SOURCE_REF_MAX, TYPE_MAX, cleanTags, cleanTitle, cut, truncate } from './limits.js';
import { DEFAULT_MAIL_POLICY, ROLE_FIELDS, normaliseKey, severityOfField, type MailField, type MailPolicy } from './mail-policy.js';
import { envelopePairs, mailPairs, who } from './mail-table.js';
import { markingsOf, withFloor } from './markings.js';
import { ruleTags } from './mail-knobs.js';
import { addAttachments, addIocs, addMail, collector, type Collect } from './mail-collect.js';
import { mailFiles } from './mail-files.js';
import { phishSourceRef } from './phish-ref.js';
import { shapeAlert } from './rules/apply.js';
import { mailEvent } from './rules/fields.js';

/** Every mail alert's sourceRef starts so: how the lifecycle tells a mail's alert from others. */
export const MAIL_PREFIX = 'mail-';
const PREFIX = MAIL_PREFIX;
/** 20 hex chars = 80 bits, as for `ct-` refs: collisions stay negligible, the ref short. */
const HEX_CHARS = 20;
/** The text excerpt of an ordinary mail's description: enough to triage, short enough to read. */
const EXCERPT_MAX = 4000;
/** A mail's Date may run ahead of our clock by clock skew, never by more than this. */
const FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;
/** References listed in a description at most. */
const REFERENCES_SHOWN = 20;

/** What the caller knows about the mail besides its content. */
export interface MailAlertOptions {
  /**
   * Why the sender may not speak as a SIEM (mail-trust.ts), when it may not: a notification is
   * then mapped as an ordinary mail, tagged `untrusted-notification`, the reasons in its description.
   */
  readonly untrusted?: readonly string[];
  /** The IMAP mailbox the mail was taken from: what `match.mail.mailbox` of `alert.rules` matches. */
  readonly mailbox?: string;
}

/** Whether {@link alertFromMail} would map the mail as a SIEM notification (trust aside). */
export function isNotificationMail(mail: ParsedMail, mailPolicy: MailPolicy): boolean {
  return parseNotification(mail.text, mailPolicy) !== null;
}

/**
 * The alert of a parsed mail: a SIEM notification's incident, or the mail itself. `envelope`
 * (SMTP only) adds the envelope and the client to the description table; it is never part of the
 * `sourceRef` nor an observable: the client is usually our own MTA, and the same mail fetched
 * over IMAP must be the same alert. A notification from an untrusted sender is never an incident:
 * a forged "Incident Severity: Critical" must not page anyone.
 */
export function alertFromMail(mail: ParsedMail, policy: AlertPolicy, mailPolicy: MailPolicy, receivedAt: number, envelope?: MailEnvelope, options: MailAlertOptions = {}): Alert {
  const notification = parseNotification(mail.text, mailPolicy);
  const extra = envelope === undefined ? [] : envelopePairs(envelope);
  const untrusted = options.untrusted ?? [];
  const incident = notification !== null && untrusted.length === 0 ? notification : null;
  const alert = incident === null ? mailAlert(mail, policy, mailPolicy, receivedAt, extra, untrusted) : notificationAlert(mail, incident, policy, mailPolicy, receivedAt, extra);
  // `alert.rules` (rules/apply.ts): the one place rules meet mails.
  const kind = incident !== null ? 'notification' : reportedPhish(mail, untrusted) !== undefined ? 'reported' : 'mail';
  const fields = new Map<string, string>();
  if (incident !== null) {
    fields.set('incidentId', incident.incidentId);
    for (const f of NOTIFICATION_RULE_FIELDS) {
      const value = firstBySynonym(incident.fields, mailPolicy.fieldNames[f])?.value;
      if (value !== undefined && value !== null) fields.set(f, value);
    }
  }
  return shapeAlert(alert, () => mailEvent({ kind, subject: mail.subject, sender: mail.from?.address ?? null, date: alert.date, notification: fields, ...(options.mailbox === undefined ? {} : { mailbox: options.mailbox }) }), policy);
}

/** The fields of a SIEM notification a rule may read, by their `email.fieldNames` name. */
const NOTIFICATION_RULE_FIELDS = ['title', 'severity', 'status', 'description', 'attacker', 'victim', 'destination', 'user'] as const satisfies readonly MailField[];

/**
 * The mail a mail reports (a phish forwarded to us), when it forwards exactly one, not as a reply,
 * from a sender who is not posing as an untrusted SIEM.
 */
function reportedPhish(mail: ParsedMail, untrusted: readonly string[]): ParsedMail | undefined {
  // One forwarded mail: someone reports a phish, and the alert is about the phish. With several,
  // which one is "the" phish is a guess: the alert stays about the forwarding mail.
  const only = mail.forwarded.length === 1 ? mail.forwarded[0] : undefined;
  // Outlook quotes the mail replied to under the same `From:/Sent:/To:/Subject:` block as one it
  // forwards: an inline block under a reply's subject (`RE:`, `Ответ:`) is correspondence, not a report.
  const reply = only?.origin === 'inline' && isReplySubject(mail.subject ?? '');
  return only !== undefined && !reply && untrusted.length === 0 ? only : undefined;
}

/** The tag of a mail that reads as a SIEM notification from a sender not trusted to send one. */
export const UNTRUSTED_NOTIFICATION_TAG = 'untrusted-notification';

function mailAlert(mail: ParsedMail, policy: AlertPolicy, mp: MailPolicy, receivedAt: number, extra: readonly KvPair[], untrusted: readonly string[] = []): Alert {
  const phish = reportedPhish(mail, untrusted);
  if (phish !== undefined) return reportedAlert(mail, phish, policy, mp, receivedAt, extra);
  const c = collector(mail, mp);
  addMail(c, mail, [], true, false);
  const tags = ['mail', ...(mail.forwarded.length > 0 ? ['forwarded'] : []), ...(untrusted.length > 0 ? [UNTRUSTED_NOTIFICATION_TAG] : []), ...ruleTags(mail.subject ?? '', mail.text, mp.keywordTags, mp.subjectTags), ...policy.tags];
  const parts = `${plural(mail.attachments.length, 'attachment')} and ${plural(mail.forwarded.length, 'forwarded mail')}`;
  const summary = `Mail from ${inlineCode(who(mail.from))} with ${parts}.`;
  const text = mail.text.trim();
  const excerptTitle = `**Text** (${text.length > EXCERPT_MAX ? `first ${EXCERPT_MAX} of ${text.length}` : text.length} characters)`;
  const trustNote = untrusted.length === 0 ? [] : [`It reads as a SIEM notification, but its sender is not trusted to send one (${untrusted.join('; ')}): mapped as an ordinary mail, its severity and fields not taken.`];
  const files = mailFiles(mail, mail, true, mp.files);
  return {
    type: identifier(mp.type, DEFAULT_MAIL_POLICY.type, TYPE_MAX),
    source: identifier(mp.source, DEFAULT_MAIL_POLICY.source, SOURCE_MAX),
    sourceRef: mailSourceRef(mail),
    title: cleanTitle(mail.subject ?? '') || '(no subject)',
    description: describe(summary, mailPairs(mail, extra), [...trustNote, ...notes(mail, c), ...files.notes], excerptTitle, truncate(text, EXCERPT_MAX)),
    severity: policy.defaultSeverity,
    date: mailDate(mail, receivedAt),
    tags: cleanTags(tags),
    ...marked([mail.subject, mail.text], policy, [...c.set.toArray(), ...files.observables]),
  };
}

/** The tag of an alert about a mail someone forwarded to us (a reported phish). */
export const REPORTED_TAG = 'reported';
/** The reporter's own words shown in the description, at most. */
const NOTE_MAX = 500;

/**
 * The alert of a report: a mail forwarding exactly one other (inline, `message/rfc822` or an
 * `.eml`). It is about the forwarded mail — its subject, its sender, its transport headers
 * (mail-phish.ts), its text, links and attachments — and the report only names who reported it:
 * the report's headers, text and links are our own people and servers, never indicators. Files
 * the reporter attached besides the forwarded mail (Outlook keeps an inline-forwarded mail's
 * attachments on the forward) are hashed. The sourceRef is the phish's (phish-ref.ts): every report
 * of one phish names one alert, which the lifecycle updates with each new reporter.
 */
function reportedAlert(report: ParsedMail, phish: ParsedMail, policy: AlertPolicy, mp: MailPolicy, receivedAt: number, extra: readonly KvPair[]): Alert {
  const reporter = report.from?.address.toLowerCase() ?? '';
  // The reporter and the phish's recipients are our own people: never `mail` observables.
  const c = collector(report, mp, [reporter, ...[...phish.to, ...phish.cc].map((a) => a.address)]);
  addMail(c, phish, [], true, false, true);
  addAttachments(c, report.attachments, []);
  const tags = [
    'mail', REPORTED_TAG,
    ...ruleTags(phish.subject ?? '', phish.text, mp.keywordTags, mp.subjectTags),
    ...ruleTags(report.subject ?? '', report.text, mp.keywordTags, mp.subjectTags),
    ...policy.tags,
  ];
  const note = reporterNote(report, phish);
  const summary =
    `Reported by ${inlineCode(who(report.from))} (${inlineCode(report.subject?.trim() || '(no subject)')}): ` +
    `a mail from ${inlineCode(who(phish.from))}, forwarded ${SHAPES[phish.origin]}, with ${plural(phish.attachments.filter((a) => a.forwardedMail !== true).length, 'attachment')}.`;
  const reportPairs: KvPair[] = [
    { key: 'Reported by', value: who(report.from) },
    { key: 'Report subject', value: report.subject },
    { key: 'Report date', value: report.headers['date'] ?? null },
    ...(note === '' ? [] : [{ key: 'Reporter note', value: note }]),
    ...report.attachments.map((a) => ({ key: a.forwardedMail === true ? 'Forwarded as' : 'Report attachment', value: `${a.filename ?? '(no name)'} (${a.contentType}, ${a.size} bytes, sha256 ${a.sha256})` })),
  ];
  const hops = (phish.received ?? []).map((v, i) => `hop${i + 1}: ${v}`);
  const text = phish.text.trim();
  const excerptTitle = `**Text of the reported mail** (${text.length > EXCERPT_MAX ? `first ${EXCERPT_MAX} of ${text.length}` : text.length} characters)`;
  const phishDate = phish.date !== null && phish.date >= 0 && phish.date <= receivedAt + FUTURE_TOLERANCE_MS ? phish.date : null;
  const files = mailFiles(report, phish, true, mp.files, report.attachments);
  return {
    type: identifier(mp.type, DEFAULT_MAIL_POLICY.type, TYPE_MAX),
    source: identifier(mp.source, DEFAULT_MAIL_POLICY.source, SOURCE_MAX),
    sourceRef: phishSourceRef(phish),
    title: cleanTitle(phish.subject ?? '') || cleanTitle(withoutForwardPrefix(report.subject ?? '')) || '(no subject)',
    description: describe(summary, [...mailPairs(phish), ...hops.map((h) => ({ key: 'Received', value: h })), ...reportPairs, ...extra], [...notes(report, c), ...files.notes], excerptTitle, truncate(text, EXCERPT_MAX)),
    severity: policy.defaultSeverity,
    // When the phish was sent, when its Date says so (an inline-forwarded block's rarely reads): else the report's.
    date: phishDate ?? mailDate(report, receivedAt),
    tags: cleanTags(tags),
    ...marked([report.subject, report.text, phish.subject, phish.text], policy, [...c.set.toArray(), ...files.observables]),
  };
}

const SHAPES: Readonly<Record<ParsedMail['origin'], string>> = {
  top: 'as is',
  inline: 'inline',
  rfc822: 'as an attached message (message/rfc822)',
  attachment: 'as an attached .eml file',
};

/** `FW: `, `Fwd: `, `TR: `, `WG: `, `ПЕРЕСЛ: `, `Пересл: ` prefixes off a report's subject, repeated. */
function withoutForwardPrefix(subject: string): string {
  return subject.replace(/^(?:\s*(?:fwd?|tr|wg|пересл|fw\[\d+\])\s*:)+\s*/iu, '');
}

/** `RE:`, `Re[2]:`, `AW:`, `SV:`, `Ответ:`, `Отв:` at the start of a subject. */
function isReplySubject(subject: string): boolean {
  return /^\s*(?:re|aw|sv|vs|отв|ответ)(?:\[\d+\])?\s*:/iu.test(subject);
}

/** What the reporter wrote: the report's text, before the forwarded block when it is inline; on one line, cut. */
function reporterNote(report: ParsedMail, phish: ParsedMail): string {
  let text = report.text;
  if (phish.origin === 'inline') {
    let at = inlineForwardStart(text);
    // An HTML-only report: the forward was found in its HTML read as Outlook's text (email.ts).
    if (at === null && report.html !== null) {
      text = htmlToText(report.html, true);
      at = inlineForwardStart(text);
    }
    text = at === null ? '' : text.slice(0, at);
  }
  return truncate(text.replace(/\s+/g, ' ').trim(), NOTE_MAX);
}

function notificationAlert(mail: ParsedMail, n: Notification, policy: AlertPolicy, mp: MailPolicy, receivedAt: number, extra: readonly KvPair[]): Alert {
  const field = (f: MailField): string | null => firstBySynonym(n.fields, mp.fieldNames[f])?.value ?? null;
  const c = collector(mail, mp);
  addRoles(c, n.fields);
  // The SIEM is the sender and the subject is a template: the incident's indicators are in the body.
  // Links to the SIEM's own console (its domain) are references, not indicators.
  addMail(c, mail, [], false, true);
  const tags = ['mail', 'siem-notification', ...ruleTags(mail.subject ?? '', mail.text, mp.keywordTags, mp.subjectTags)];
  for (const f of ['status', 'type', 'source'] as const) {
    const v = field(f);
    if (v !== null) tags.push(`${f}:${v}`);
  }
  const description = field('description');
  const summary =
    `SIEM incident ${inlineCode(n.incidentId)} reported by mail from ${inlineCode(who(mail.from))}.` +
    (description === null ? '' : `\n\n${inlineCode(description)}`);
  const date = field('date');
  const files = mailFiles(mail, mail, false, mp.files);
  return {
    type: identifier(mp.notificationType, DEFAULT_MAIL_POLICY.notificationType, TYPE_MAX),
    source: identifier(mp.source, DEFAULT_MAIL_POLICY.source, SOURCE_MAX),
    sourceRef: notificationSourceRef(n.incidentId),
    title: cleanTitle(field('title') ?? (mail.subject?.trim() || '')) || cleanTitle(`Incident ${n.incidentId}`),
    description: describe(summary, [...n.fields, ...extra], [...notes(mail, c), ...files.notes], '**Raw Events**', n.rawEvents ?? ''),
    severity: notificationSeverity(n, mp) ?? policy.defaultSeverity,
    // A time without an offset is in the SIEM's zone: configured for its domain, else its mail's Date: header's.
    date: (date === null ? null : textDate(date, receivedAt, siemZone(mail, mp))) ?? mailDate(mail, receivedAt),
    tags: cleanTags([...tags, ...policy.tags]),
    ...marked([mail.subject, mail.text], policy, [...c.set.toArray(), ...files.observables]),
  };
}

/**
 * TLP and PAP of the alert and its observables: the mail's strictest marking (subject or text),
 * never below `alert.tlp` / `alert.pap`. Observables carry them only when a marking raised them.
 */
function marked(texts: ReadonlyArray<string | null>, policy: AlertPolicy, observables: Observable[]): Pick<Alert, 'tlp' | 'pap' | 'observables'> {
  const m = markingsOf(texts);
  const tlp = withFloor(policy.tlp, m.tlp);
  const pap = withFloor(policy.pap, m.pap);
  if (tlp === policy.tlp && pap === policy.pap) return { tlp, pap, observables };
  return { tlp, pap, observables: observables.map((o) => ({ ...o, tlp, pap })) };
}

/**
 * `mail-` + the first 20 hex of SHA-256 over the Message-ID and the body digest: both, because
 * real mail sets reuse Message-IDs across different mails (email-intake §0.2). Without a
 * Message-ID, over the body digest and the header digest (who wrote it to whom, when, about
 * what), so that two mails saying only "Please check." stay two alerts. A mail with a
 * Message-ID keeps the ref of earlier releases; one without gets a new one (new input only).
 */
export function mailSourceRef(mail: Pick<ParsedMail, 'messageId' | 'bodyDigest' | 'headerDigest'>): string {
  const identity = mail.messageId === null ? `\n${mail.bodyDigest}\n${mail.headerDigest}` : `${mail.messageId}\n${mail.bodyDigest}`;
  return PREFIX + hash('sha256', identity, 'hex').slice(0, HEX_CHARS);
}

/**
 * `mail-` + the incident ID when it is made of `A–Z a–z 0–9 . _ -` and fits TheHive's 128 chars;
 * otherwise the ID with every other run of characters as `-`, cut to fit, and 8 hex of its
 * SHA-256 so two IDs that clean up alike (`A/1`, `A 1`) stay two alerts.
 */
export function notificationSourceRef(incidentId: string): string {
  const id = incidentId.trim();
  const clean = trimDashes(id.replace(/[^A-Za-z0-9._-]+/g, '-'));
  const room = SOURCE_REF_MAX - PREFIX.length;
  if (clean === id && clean.length <= room && clean !== '') return PREFIX + clean;
  const suffix = hash('sha256', id, 'hex').slice(0, 8);
  const head = cut(clean, room - suffix.length - 1);
  return PREFIX + (head === '' ? suffix : `${head}-${suffix}`);
}

function trimDashes(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s[start] === '-') start++;
  while (end > start && s[end - 1] === '-') end--;
  return s.slice(start, end);
}

/** The severity of the highest-priority severity field, on that field's scale; null when none names one. */
function notificationSeverity(n: Notification, mp: MailPolicy): ReturnType<typeof severityOfField> {
  const f = firstBySynonym(n.fields, mp.fieldNames.severity);
  return f === null || f.value === null ? null : severityOfField(f.key, f.value, mp);
}

/** A user field's value that names no indicator but is one token (`CORP\\j.doe`, `svc_backup`): an `other` observable. */
const USER_TOKEN = /^[^\s]{1,256}$/;

/**
 * The observables of the role fields (attacker, source, victim, destination, user), each tagged
 * with its role, every line of a role counted, roles in {@link ROLE_FIELDS} order: they come first,
 * and the same values found again in the body keep their role tags.
 */
function addRoles(c: Collect, fields: readonly KvPair[]): void {
  for (const role of ROLE_FIELDS) {
    const names = new Set(c.mp.fieldNames[role].map(normaliseKey));
    for (const p of fields) {
      if (p.value === null || !names.has(normaliseKey(p.key))) continue;
      const iocs = extractIocs(p.value, c.mp);
      const found = iocs.urls.length + iocs.domains.length + iocs.ips.length + iocs.emails.length;
      addIocs(c, iocs, [role]);
      if (role === 'user' && found === 0 && USER_TOKEN.test(p.value)) c.set.add('other', p.value, { tags: [role] });
    }
  }
}

/** A notification's date text: the shapes of {@link parseEventDate}, else what `Date.parse` reads when a year is written. */
/** The zone of a notification's times: `email.timeZones` for its sender's domain, else its `Date:` offset. */
function siemZone(mail: ParsedMail, mp: MailPolicy): Zone | undefined {
  const zone = zoneForSender(mail.from?.address, mp.timeZones);
  return zone !== undefined ? zoneOffset(zone) : mail.dateOffset;
}

function textDate(text: string, receivedAt: number, offsetMinutes?: Zone): number | null {
  const known = parseEventDate(text, receivedAt, offsetMinutes);
  if (known !== null || !/\d{4}/.test(text)) return known;
  const t = Date.parse(text);
  return Number.isNaN(t) || t > receivedAt + FUTURE_TOLERANCE_MS || t < 0 ? null : t;
}

function mailDate(mail: ParsedMail, receivedAt: number): number {
  return mail.date !== null && mail.date >= 0 && mail.date <= receivedAt + FUTURE_TOLERANCE_MS ? mail.date : receivedAt;
}

function notes(mail: ParsedMail, c: Collect): string[] {
  const out = allWarnings(mail);
  if (c.set.oversized > 0) out.push(`${plural(c.set.oversized, 'value')} longer than ${OBSERVABLE_DATA_MAX} characters left out of the observables.`);
  if (c.overflow > 0) out.push(`${plural(c.overflow, 'indicator')} beyond ${MAX_PER_KIND} of one kind left out of the observables.`);
  if (c.endpoints.size > 0) out.push(`Endpoints (address:port, the port in the ip observable's tags): ${[...c.endpoints].slice(0, REFERENCES_SHOWN).join(', ')}.`);
  if (c.references.size > 0) {
    // Notes are escaped as text: the links read as they are, and are not made clickable here.
    const shown = [...c.references].slice(0, REFERENCES_SHOWN);
    const more = c.references.size > REFERENCES_SHOWN ? ` and ${c.references.size - REFERENCES_SHOWN} more` : '';
    out.push(`References, to read (not sent as observables): ${shown.join(', ')}${more}.`);
  }
  return out;
}

function allWarnings(mail: ParsedMail): string[] {
  return [...mail.warnings, ...mail.forwarded.flatMap(allWarnings)];
}

/**
 * Summary, notes and table (as for detections), then a titled code block of `text` cut to fit
 * TheHive's 1 MiB; no block for empty `text`.
 */
function describe(summary: string, pairs: readonly KvPair[], noteList: readonly string[], title: string, text: string): string {
  const head = markdownDescription({ summary, pairs, notes: noteList });
  if (text === '') return head;
  let section = `${title}\n\n${fenced(text)}`;
  const room = DESCRIPTION_MAX - head.length - 2;
  if (section.length > room) {
    // The fence of the cut text is never longer than that of the whole one.
    const spare = room - (section.length - text.length);
    if (spare < 100) return head;
    section = `${title}\n\n${fenced(truncate(text, spare))}`;
  }
  return `${head}\n\n${section}`;
}

/**
 * `text` as a fenced code block whose fence is longer than any backtick run inside: shown
 * verbatim, never closed early; control characters but TAB and line breaks shown as `<U+XXXX>`.
 */
export function fenced(raw: string): string {
  const text = visibleControls(raw, '\t\r\n');
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === '`' ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}\n${text}\n${fence}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `type`/`source` within TheHive's limit; an empty configured value falls back to the default. */
function identifier(value: string, fallback: string, max: number): string {
  return cut(value.trim(), max) || fallback;
}
