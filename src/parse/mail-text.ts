/**
 * Structures inside a mail's decoded text: inline-forwarded blocks (Gmail, Thunderbird, Apple
 * Mail, Outlook, Yandex/Mail.ru separators) and SIEM notification bodies (an incident-ID line such
 * as `Incident ID:`, `Offense ID:`, `ID алерта:` and `key: value` lines before a `Raw Events`
 * block, the KazDream EMAIL2THEHIVE shape), and the
 * text and link targets of HTML bodies. Pure and linear: lines are split once, every per-line pattern is bounded or anchored, and lines longer
 * than a separator or header could be are not matched at all.
 */
import type { KvPair } from '../types.js';
import { normaliseKey, type MailPolicy } from '../map/mail-policy.js';

/** A mailbox: the address (may be empty when only a display name was given) and the display name. */
export interface MailAddress {
  readonly address: string;
  readonly name: string;
}

/** A forwarded message pasted into the body after a separator line. */
export interface InlineForward {
  /** The pasted `From:`/`От:` line, when the block has one. */
  readonly from: MailAddress | null;
  readonly subject: string | null;
  /** The pasted `Date:`/`Sent:`/`Отправлено:` value as written (its zone is rarely stated). */
  readonly dateText: string | null;
  /** The pasted `To:`/`Кому:` value as written. */
  readonly to: string | null;
  /** The block's text after its header lines, up to the next separator. */
  readonly text: string;
}

/** A separator line or a header line is short; longer lines are body text and skipped unmatched. */
const SHORT_LINE = 200;
const HEADER_LINE_MAX = 2000;
/** A notification's table is short; more `key: value` lines are body text, not fields. */
const MAX_FIELDS = 200;
/** A key longer than this is a sentence with a colon, not a field name. */
const KEY_MAX = 64;

const SEPARATOR_WORDS =
  '(?:forwarded message|original message|пересылаемое сообщение|исходное сообщение|переадресованное сообщение|перенаправленное сообщение)';
const DASHED = new RegExp(`^[-=]{2,}[ \\t]{0,4}${SEPARATOR_WORDS}[ \\t]{0,4}[-=]{2,}$`, 'i');
const BEGIN = /^(?:begin forwarded message|начало пересылаемого сообщения|начало переадресованного сообщения)[ \t]{0,4}:?$/i;
/** Outlook's HTML rule turned into text: a line of underscores, then a `From:` line. */
const RULE = /^_{10,}$/;
const HEADER =
  /^[ \t>]{0,8}\*{0,2}(from|sent|date|to|cc|subject|от|отправлено|дата|кому|копия|тема)\*{0,2}[ \t]{0,4}:\*{0,2}[ \t]{0,4}(.*)$/i;
const FIELD_OF: Readonly<Record<string, 'from' | 'date' | 'to' | 'subject' | 'cc'>> = {
  from: 'from', от: 'from', sent: 'date', date: 'date', отправлено: 'date', дата: 'date',
  to: 'to', кому: 'to', cc: 'cc', копия: 'cc', subject: 'subject', тема: 'subject',
};

/**
 * The inline-forwarded blocks of `text`, at most `max`, in order. A block starts at a separator
 * line (`---------- Forwarded message ---------`, `-----Original Message-----`, `Begin forwarded
 * message:`, their Russian forms, or a rule of underscores followed by a `From:` line); its
 * pasted header lines (`From:`, `Date:`/`Sent:`, `To:`, `Subject:` and Russian `От:`, `Кому:`,
 * `Тема:`…) are read, and the rest up to the next separator is its text.
 */
export function findInlineForwards(text: string, max: number): InlineForward[] {
  const lines = text.split(/\r?\n/);
  const starts: number[] = [];
  for (let i = 0; i < lines.length && starts.length < max; i++) {
    if (isSeparator(lines, i)) starts.push(i);
  }
  return starts.map((start, k) => readBlock(lines, start + 1, starts[k + 1] ?? lines.length));
}

/** The index in `text` where its first inline-forwarded block's separator line starts, or null: what comes before is the forwarder's own words. */
export function inlineForwardStart(text: string): number | null {
  const lines = text.split(/\r?\n/);
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    if (isSeparator(lines, i)) return text.indexOf(lines[i] as string, at);
    at += (lines[i] as string).length;
  }
  return null;
}

function isSeparator(lines: readonly string[], i: number): boolean {
  const line = (lines[i] as string).trim();
  if (line.length < 10 || line.length > SHORT_LINE) return false;
  if (DASHED.test(line) || BEGIN.test(line)) return true;
  if (!RULE.test(line)) return false;
  const next = lines.slice(i + 1, i + 3).find((l) => l.trim() !== '');
  return next !== undefined && next.length <= HEADER_LINE_MAX && /^(?:from|от)$/i.test(HEADER.exec(next)?.[1] ?? '');
}

function readBlock(lines: readonly string[], from: number, to: number): InlineForward {
  const got: Partial<Record<'from' | 'date' | 'to' | 'subject' | 'cc', string>> = {};
  let i = from;
  while (i < to && i < from + 2 && (lines[i] as string).trim() === '') i++;
  for (; i < to; i++) {
    const line = lines[i] as string;
    const m = line.length <= HEADER_LINE_MAX ? HEADER.exec(line) : null;
    if (m === null) break;
    const field = FIELD_OF[(m[1] as string).toLowerCase()];
    if (field !== undefined && got[field] === undefined) got[field] = (m[2] as string).trim();
  }
  return {
    from: got.from === undefined ? null : addressOf(got.from),
    subject: got.subject || null,
    dateText: got.date || null,
    to: got.to || null,
    text: lines.slice(i, to).join('\n').trim(),
  };
}

/**
 * The mailbox in a header value as people paste it: `Name <a@b.kz>`, `Name [mailto:a@b.kz]`,
 * `"Name" a@b.kz`, `a@b.kz`. Null when the value is empty.
 */
export function addressOf(value: string): MailAddress | null {
  const v = value.trim();
  if (v === '') return null;
  const m = /<([^<>\s]{1,320})>|\[mailto:([^\]\s]{1,320})\]|(?<![^\s"'(<[])([^\s"'<>()[\]]{1,64}@[^\s"'<>()[\]]{1,255})/i.exec(v);
  const address = (m?.[1] ?? m?.[2] ?? m?.[3] ?? '').replace(/^mailto:/i, '');
  const name = (m === null ? v : v.slice(0, m.index) + v.slice(m.index + m[0].length)).replace(/["']/g, '').trim();
  return { address: address.includes('@') ? address : '', name };
}

/** A SIEM notification found in a mail body. */
export interface Notification {
  /** The value of the incident-ID line of the highest-priority synonym (`Incident ID: INC-42`), trimmed. */
  readonly incidentId: string;
  /** Every `key: value` line before the raw events block, in order; `-` and empty values are null. */
  readonly fields: KvPair[];
  /** Everything after the raw events marker, verbatim (leading and trailing blank lines dropped), or null. */
  readonly rawEvents: string | null;
}

/** What {@link parseNotification} needs of the mail policy. */
export interface NotificationPolicy {
  readonly fieldNames: Pick<MailPolicy['fieldNames'], 'incidentId'>;
  readonly rawEventsMarkers: MailPolicy['rawEventsMarkers'];
}

/**
 * The SIEM notification in `text`, or null when no `key: value` line before the raw events
 * marker has an incident-ID key (`policy.fieldNames.incidentId`) with a value. Keys compare
 * case-insensitively with blanks and `_` collapsed; a line may carry a list bullet (`- `, `* `, `• `).
 * With several ID keys, the earliest synonym in the list wins, wherever its line is.
 */
export function parseNotification(text: string, policy: NotificationPolicy): Notification | null {
  const markers = policy.rawEventsMarkers.filter((m) => m.trim() !== '').map(markerPattern);
  const lines = text.split('\n');
  const fields: KvPair[] = [];
  let rawEvents: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    const raw = rawEventsStart(line, markers);
    if (raw !== null) {
      rawEvents = [raw, ...lines.slice(i + 1)].join('\n').replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd() || null;
      break;
    }
    const pair = fields.length < MAX_FIELDS ? fieldOf(line) : null;
    if (pair !== null) fields.push(pair);
  }
  const incidentId = firstBySynonym(fields, policy.fieldNames.incidentId)?.value ?? null;
  return incidentId === null ? null : { incidentId, fields, rawEvents };
}

/**
 * The field of the earliest synonym in `names` that some field with a value has (the first such
 * line of it), or null: the priority of a synonym list, not the order of the mail's lines.
 */
export function firstBySynonym(fields: readonly KvPair[], names: readonly string[]): KvPair | null {
  const byKey = new Map<string, KvPair>();
  for (const p of fields) {
    const key = normaliseKey(p.key);
    if (p.value !== null && !byKey.has(key)) byKey.set(key, p);
  }
  for (const name of names) {
    const hit = byKey.get(normaliseKey(name));
    if (hit !== undefined) return hit;
  }
  return null;
}

/** `Key: value` (also a full-width colon), bullet and blanks stripped; null for other lines and URLs. */
function fieldOf(line: string): KvPair | null {
  if (line.length > HEADER_LINE_MAX) return null;
  const colon = line.search(/[:：]/);
  if (colon < 0) return null;
  const key = line.slice(0, colon).replace(/^[ \t]{0,8}(?:[-*•][ \t]{1,4})?/, '').trim();
  const value = line.slice(colon + 1).trim();
  if (key === '' || key.length > KEY_MAX || value.startsWith('//')) return null;
  return { key, value: value === '' || value === '-' ? null : value };
}

/**
 * When `line` is a raw events marker (`Raw Events`, `Raw Events:`, `----- Raw Events -----`,
 * `Исходные события:`), what follows the marker on the same line; else null.
 */
function rawEventsStart(line: string, markers: readonly RegExp[]): string | null {
  if (line.length > HEADER_LINE_MAX) return null;
  for (const re of markers) {
    const m = re.exec(line);
    if (m !== null) return m[1] ?? '';
  }
  return null;
}

/**
 * A marker as a pattern: its words with any blank or `_` run between, decoration (`-`, `=`, `*`,
 * `#`) around, then nothing or a colon and the first raw line (captured). "Raw events are below" is prose.
 */
function markerPattern(marker: string): RegExp {
  const words = normaliseKey(marker).split(' ').map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^[ \\t\\-=*#_]{0,40}${words.join('[ \\t_]{1,4}')}[ \\t\\-=*#_]{0,40}(?::[ \\t]{0,4}(.*))?$`, 'iu');
}

/** Elements whose end is a line break in the text of an HTML mail. */
const BLOCK_TAG = /<\/?(?:br|p|div|tr|li|ul|ol|h[1-6]|table|blockquote|pre|hr)\b[^<>]{0,4096}>/gi;

/** Outlook's rule above a forwarded message's header block, as its own text part writes it. */
const OUTLOOK_RULE = '\n________________________________\n';
/** OWA's `<hr>` and Outlook desktop's `border-top:solid` div before the pasted `From:`/`Sent:` lines. */
const HTML_RULE = /<hr\b[^<>]{0,4096}>|<div\b[^<>]{0,4096}border-top:[ \t]{0,4}solid[^<>]{0,4096}>/gi;
/** A link and its label (no nested `<a`); the target in the attribute forms of {@link htmlLinks}. */
const ANCHOR = /<a\b[^<>]{0,4096}?\bhref[ \t\r\n]{0,5}=[ \t\r\n]{0,5}(?:"([^"]{0,8192})"|'([^']{0,8192})'|([^\s"'<>`=]{1,8192}))[^<>]{0,4096}>((?:(?!<a\b)[^]){0,4096}?)<\/a[ \t\r\n]{0,5}>/gi;

/**
 * Rough plain text of an HTML body, for mails whose only text is HTML inside a multipart
 * (mailparser converts only a top-level HTML part) or HTML its converter gave up on: `script`
 * and `style` contents dropped, block tags as line breaks, other tags removed, entities decoded,
 * blank runs collapsed. Link targets are not kept here: `htmlLinks` reads them. Linear.
 *
 * `asForward`: the text as Outlook's own text part would have it, where inline forwards are sought
 * in an HTML-only mail: the rule before a pasted header block as a line of underscores, and each
 * link's target after its label (`Pay now <https://…>`), so a forwarded phish keeps its links.
 */
export function htmlToText(html: string, asForward = false): string {
  // A line break in the HTML source is a space (only tags break lines): the pasted header lines stay together.
  if (asForward) html = html.replace(/[\r\n]+/g, ' ').replace(HTML_RULE, (tag) => `${OUTLOOK_RULE}${tag.startsWith('<d') || tag.startsWith('<D') ? tag : ''}`).replace(ANCHOR, linkWithTarget);
  let out = '';
  let pos = 0;
  const lower = html.toLowerCase();
  for (;;) {
    const s = nextOf(lower, ['<script', '<style'], pos);
    if (s === null) break;
    out += html.slice(pos, s.at);
    const close = lower.indexOf(`</${s.what.slice(1)}`, s.at);
    if (close < 0) {
      pos = html.length;
      break;
    }
    const end = lower.indexOf('>', close);
    pos = end < 0 ? html.length : end + 1;
  }
  out += html.slice(pos);
  return decodeEntities(out.replace(BLOCK_TAG, '\n').replace(/<[^<>]{0,4096}>/g, ''))
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ ?\n[ \t]*(?:\n[ \t]*)+/g, '\n\n')
    .trim();
}

function nextOf(text: string, needles: readonly string[], from: number): { at: number; what: string } | null {
  let best: { at: number; what: string } | null = null;
  for (const what of needles) {
    const at = text.indexOf(what, from);
    if (at >= 0 && (best === null || at < best.at)) best = { at, what };
  }
  return best;
}

/** The `href`, `src` and `action` targets of an HTML text, entities decoded; `data:`, `cid:` and `javascript:` left out. */
export function htmlLinks(html: string): string[] {
  const out = new Set<string>();
  for (const m of html.matchAll(/\b(?:href|src|action)[ \t\r\n]{0,5}=[ \t\r\n]{0,5}(?:"([^"]{0,8192})"|'([^']{0,8192})'|([^\s"'<>`=]{1,8192}))/gi)) {
    const value = decodeEntities(m[1] ?? m[2] ?? m[3] ?? '').trim();
    if (value !== '' && !/^(?:data|cid|javascript|about):/i.test(value)) out.add(value);
  }
  return [...out];
}

/** `label <target>` as Outlook writes a link in text; the label alone when it is the target or the target is no link. */
function linkWithTarget(_all: string, dq: string | undefined, sq: string | undefined, bare: string | undefined, label: string): string {
  const target = decodeEntities(dq ?? sq ?? bare ?? '').trim();
  const shown = decodeEntities(label.replace(/<[^<>]{0,4096}>/g, '')).trim();
  if (target === '' || /^(?:data|cid|javascript|about|#)/i.test(target) || shown === target) return label;
  // Escaped as entities: the text conversion that follows decodes them once.
  return `${label} &lt;${target.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}&gt;`;
}

/** `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;` and numeric references decoded. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
  return text.replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|amp|lt|gt|quot|apos|nbsp);/gi, (all, ref: string) => {
    const key = ref.toLowerCase();
    if (!key.startsWith('#')) return named[key] ?? all;
    const code = key.startsWith('#x') ? parseInt(key.slice(2), 16) : parseInt(key.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
  });
}
