/**
 * The CyberTrace line parser: one output line in, one {@link CyberTraceRecord} or a coded refusal
 * out (cybertrace-format §2 and §4, contract §4). Pure: no I/O, no logger, never throws.
 *
 * CyberTrace substitutes values verbatim, with no quoting or escaping, so the only reliable
 * delimiter is a key token: `[A-Za-z_][A-Za-z0-9_./-]*=` at the start of the text or right after
 * a blank. A value runs up to the blanks before the next key token and may hold spaces, `=`, `:`,
 * `;`, `,` and `|` (`geo=vn, in, mx`, `url=…?id=7&lang=en`). The scanner below walks char codes
 * once and only tries a key where a blank precedes, so it is linear in the line length and no
 * regex can backtrack on hostile input.
 */
import type { CyberTraceRecord, KvPair, LineFormat, ParseResult } from '../types.js';
import type { ErrorCode } from '../errors.js';
import { CEF_HEADER_FIELDS, cefMatchedIndicator, readCefHeader } from './cef.js';
import { dateTextOf } from './date-text.js';
import { unglue } from './glue.js';
import { isBlank, keyEqAt } from './key-token.js';
import { canonicalKey, isPiped, pipedPairs, plainLineOf } from './kuma.js';
import { leefPairs, readLeefHeader } from './leef.js';
import { unframe } from './syslog.js';

/** The finished-event marker, either as the bare line or as any pair's value (§2.6). */
const FINISHED = 'LookupFinished';
/** Prefix of every service alert name; unknown names after it are accepted (§2.3). */
const ALERT_PREFIX = 'KL_ALERT_';
/** How the McAfee ESM recipe's header ends (§2.5). */
const ESM_HEADER_END = 'Detection Event|';
/** In the ESM recipe `msg:` (not `msg=`) introduces the record context, glued to its first key. */
const ESM_MSG = 'msg:';
/**
 * Keys naming the detection category in the plain key=value family, in any order: `category` is
 * the 5.x EventFormat (§2.2), `event_name` the second documented 5.0 format of the same section.
 */
const KV_CATEGORY_KEYS: readonly string[] = ['category', 'event_name'];
/** ESM and CEF put the category in `reason`, which CEF also uses for service alert names. */
const REASON_KEYS: readonly string[] = ['reason'];

function trimBlankEnd(s: string): string {
  let end = s.length;
  while (end > 0 && isBlank(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

/**
 * The line as `sourceRef` hashes it and as records carry it: every `\r` removed (CyberTrace
 * ignores CR, §1), leading byte-order marks dropped and trailing blanks trimmed. Leading
 * blanks are kept.
 */
export function normaliseLine(raw: string): string {
  // A capture saved by a Windows editor starts with a byte-order mark: it is not part of the event.
  let start = 0;
  while (raw.charCodeAt(start) === 0xfeff) start++;
  const text = start === 0 ? raw : raw.slice(start);
  return trimBlankEnd(text.includes('\r') ? text.replaceAll('\r', '') : text);
}

/** Index of the first key token at or after `from` (which counts as a token start), or -1. */
function nextKeyAt(s: string, from: number): number {
  let canStart = true;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isBlank(c)) {
      canStart = true;
    } else if (canStart) {
      canStart = false;
      if (keyEqAt(s, i) >= 0) return i;
    }
  }
  return -1;
}

/** The trimmed value in `s[from, to)`; `-` and empty mean "no value" (§4.4). */
function valueOf(s: string, from: number, to: number): string | null {
  let a = from;
  let b = to;
  while (a < b && isBlank(s.charCodeAt(a))) a++;
  while (b > a && isBlank(s.charCodeAt(b - 1))) b--;
  if (a === b || (b - a === 1 && s.charCodeAt(a) === 0x2d)) return null;
  return s.slice(a, b);
}

/**
 * Every pair from `first` (a key token) to the end of the line, repeats kept, in order.
 *
 * With `esm`, the first blank-preceded `msg:` also ends a value and becomes a pair `msg` whose
 * value is whatever precedes the next key (null in the recipe, where the record context follows
 * at once): so `suser=UserName msg:popularity=5` yields `suser`, `msg`, `popularity`. Later
 * `msg:` texts belong to record-context values and stay in them.
 */
function scanPairs(s: string, first: number, esm: boolean): KvPair[] {
  const spaced = spacesOnly(s, first);
  const pairs: KvPair[] = [];
  let msgPending = esm;
  let key: string | null = null;
  let valueStart = first;
  let i = first;
  while (i < s.length) {
    // `i` starts a token: `first`, or the first non-blank after a blank.
    let sep = keyEqAt(s, i);
    let isMsg = false;
    if (sep < 0 && msgPending && s.startsWith(ESM_MSG, i)) {
      sep = i + ESM_MSG.length - 1;
      isMsg = true;
      msgPending = false;
    }
    if (sep >= 0) {
      if (key !== null) pairs.push({ key, value: valueOf(s, valueStart, i) });
      key = s.slice(i, sep);
      valueStart = sep + 1;
      i = sep + 1;
      // `msg:popularity=5`: a key may follow `msg:` with no blank.
      if (isMsg && i < s.length && !isBlank(s.charCodeAt(i))) continue;
    }
    i = nextTokenStart(s, i, spaced);
  }
  if (key !== null) pairs.push({ key, value: valueOf(s, valueStart, s.length) });
  return pairs;
}

/**
 * Whether the only blanks of `s` from `from` on are spaces (no TAB, LF, VT or FF; the normalised
 * line holds no CR): then the next token is found with `indexOf(' ')`.
 */
function spacesOnly(s: string, from: number): boolean {
  return s.indexOf('\t', from) < 0 && s.indexOf('\n', from) < 0 && s.indexOf('\v', from) < 0 && s.indexOf('\f', from) < 0;
}

/**
 * Where the next token starts: the first non-blank after the next blank at or after `i`, or the
 * line's end. With `spaced` ({@link spacesOnly}) it jumps from space to space with `indexOf`
 * instead of looking at every character of every value (issue 15: that loop was the parser's
 * largest cost).
 */
function nextTokenStart(s: string, i: number, spaced: boolean): number {
  const n = s.length;
  let j = i;
  if (spaced) {
    const space = s.indexOf(' ', i);
    if (space < 0) return n;
    j = space + 1;
    while (j < n && s.charCodeAt(j) === 0x20) j++;
    return j;
  }
  while (j < n && !isBlank(s.charCodeAt(j))) j++;
  while (j < n && isBlank(s.charCodeAt(j))) j++;
  return j;
}

function firstValue(pairs: readonly KvPair[], key: string): string | null {
  const hit = pairs.find((p) => p.key === key);
  return hit === undefined ? null : hit.value;
}

function fail(code: ErrorCode, detail: string): ParseResult<CyberTraceRecord> {
  return { ok: false, code, detail };
}

/**
 * Decides what the line is. The first deciding pair wins, because CyberTrace's own fields come
 * before the record context: a pair valued `LookupFinished` (finished), `alert=KL_ALERT_…` or a
 * category key valued `KL_ALERT_…` (service), or a category key (detection). So `category=spam`
 * from an IP-reputation record never overrides the detection category, and a later field that
 * happens to read `LookupFinished` cannot turn a detection into a dropped finished event.
 */
function classify(
  line: string,
  format: LineFormat,
  pairs: readonly KvPair[],
  dateText: string | null,
): ParseResult<CyberTraceRecord> {
  const byReason = format === 'esm' || format === 'cef';
  const categoryKeys = byReason ? REASON_KEYS : KV_CATEGORY_KEYS;
  for (const { key, value } of pairs) {
    // Records as plain literals, not `{ kind, ...base }`: V8 builds a spread literal on a slow path, once a line.
    if (value === FINISHED) return { ok: true, value: { kind: 'finished', line, format, dateText, pairs } };
    const isCategory = categoryKeys.includes(key);
    if (value !== null && value.startsWith(ALERT_PREFIX) && (isCategory || key === 'alert')) {
      return { ok: true, value: { kind: 'service', line, format, dateText, pairs, alert: value } };
    }
    if (isCategory) {
      if (value === null) return fail('ERR_KV_NO_CATEGORY', `The first \`${key}\` pair has no value.`);
      const matchedIndicator =
        format === 'cef'
          ? cefMatchedIndicator(pairs)
          : firstValue(pairs, format === 'esm' ? 'detected' : 'matchedIndicator');
      return { ok: true, value: { kind: 'detection', line, format, dateText, pairs, category: value, matchedIndicator } };
    }
  }
  const wanted = byReason ? '`reason`' : format === 'leef' ? 'a LEEF EventID, `category`' : '`category`';
  return fail(
    'ERR_KV_NO_CATEGORY',
    `None of the ${pairs.length} pairs is ${wanted}, \`alert=KL_ALERT_…\` or a \`LookupFinished\` marker.`,
  );
}

function parseCef(line: string, start: number): ParseResult<CyberTraceRecord> {
  const header = readCefHeader(line, start);
  if (!header.ok) {
    return fail(
      'ERR_CEF_MALFORMED',
      `The CEF header has ${header.fieldsFound} of the ${CEF_HEADER_FIELDS} \`|\`-terminated fields.`,
    );
  }
  const first = nextKeyAt(line, header.extensionStart);
  if (first < 0) return fail('ERR_KV_MALFORMED', 'The CEF extension has no `key=value` pair.');
  // The ArcSight recipe carries no event timestamp (§2.4), so dateText stays null.
  return classify(line, 'cef', scanPairs(line, first, false), null);
}

/**
 * A LEEF line (QRadar recipe): the EventID is the category (`KL_ALERT_…`: a service alert,
 * `LookupFinished`: a finished event) and comes first as `category=` (or `alert=`) unless the
 * attributes already start with it. Attributes are split on the header's delimiter; when the
 * delimiter never occurs but blanks separate keys (a recipe typed with blanks), on key tokens.
 */
function parseLeef(line: string, start: number): ParseResult<CyberTraceRecord> {
  const read = readLeefHeader(line, start);
  if (!read.ok) return fail('ERR_LEEF_MALFORMED', `The LEEF header has ${read.fieldsFound} of the 5 \`|\`-terminated fields.`);
  const { eventId, delimiter, attributesStart } = read.header;
  const text = line.slice(attributesStart);
  let attributes: KvPair[];
  if (text.includes(delimiter)) attributes = leefPairs(text, delimiter);
  else {
    const first = nextKeyAt(line, attributesStart);
    attributes = first < 0 ? [] : scanPairs(line, first, false).map((p) => ({ key: canonicalKey(p.key), value: p.value }));
  }
  const id = eventId === '' || eventId === '-' ? null : eventId;
  const lead = attributes.find((p) => KV_CATEGORY_KEYS.includes(p.key) || p.key === 'alert');
  const pairs = id === null || lead?.value === id ? attributes : [{ key: id.startsWith(ALERT_PREFIX) ? 'alert' : 'category', value: id }, ...attributes];
  if (pairs.length === 0) return fail('ERR_KV_MALFORMED', 'The LEEF line has no EventID and no `key=value` attribute.');
  const devTime = attributes.find((p) => p.key === 'devTime')?.value ?? null;
  return classify(plainLineOf(pairs), 'leef', pairs, devTime === null ? null : dateTextOf(devTime));
}

/** A KUMA pipe-format line: keys normalised, hashed as its plain equivalent. */
function parseKuma(line: string, start: number): ParseResult<CyberTraceRecord> {
  const pairs = pipedPairs(line, start);
  return classify(plainLineOf(pairs), 'kuma', pairs, null);
}

/**
 * A plain key=value line, with glued context fields put apart first: the fixed line is what the
 * record carries (and `sourceRef` hashes), the line CyberTrace writes with the documented format.
 */
function parseKv(line: string, first: number, header: string): ParseResult<CyberTraceRecord> {
  const fixed = unglue(line, first);
  const result = classify(fixed.line, 'kv', scanPairs(fixed.line, first, false), dateTextOf(header));
  if (!result.ok || fixed.splits === 0) return result;
  return { ok: true, value: { ...result.value, glued: fixed.splits } };
}

/** Parses a line without syslog header, from its first non-blank character `start`. */
function parsePayload(line: string, start: number): ParseResult<CyberTraceRecord> {
  if (line.length - start === FINISHED.length && line.startsWith(FINISHED, start)) {
    return { ok: true, value: { kind: 'finished', line, format: 'kv', dateText: null, pairs: [] } };
  }
  if (line.startsWith('CEF:', start)) return parseCef(line, start);
  if (line.startsWith('LEEF:', start)) return parseLeef(line, start);
  if (isPiped(line, start)) return parseKuma(line, start);
  const first = nextKeyAt(line, start);
  if (first < 0) return fail('ERR_KV_MALFORMED', 'The line has no `key=value` pair.');
  const header = trimBlankEnd(line.slice(start, first));
  if (header.endsWith(ESM_HEADER_END)) {
    const pairs = scanPairs(line, first, true);
    return classify(line, 'esm', pairs, firstValue(pairs, 'date'));
  }
  return parseKv(line, first, header);
}

/**
 * Parses one CyberTrace output line (with or without its `\r`) into a record.
 *
 * - A syslog header (RFC 3164 or 5424, added by a relay) is removed first; the payload is
 *   parsed as below and its `dateText` falls back to the header's timestamp.
 * - `CEF:…` lines: seven header fields, then extension pairs; category from `reason`, the
 *   indicator from the `csN` labelled `MatchedIndicator`.
 * - `LEEF:…` lines (QRadar recipe): the EventID is the category, then the attributes.
 * - `Category=…|MatchedIndicator=…|…` (KUMA pipe format): pairs split on `|` before a key.
 * - Lines whose header ends with `Detection Event|` (McAfee ESM recipe): category from `reason`,
 *   indicator from `detected`, `dateText` from `date`, `msg:` opens the record context.
 * - Anything else is the plain key=value family: category and indicator from the first
 *   `category` (or `event_name`) and `matchedIndicator`; `dateText` from the header before the
 *   first key when it is or ends with a syslog or ISO-8601 timestamp. Context fields glued to
 *   each other (RecordFieldContextFormat without its leading blank) are split (`glued`).
 *
 * Refusals: `ERR_LINE_EMPTY` (only blanks), `ERR_CEF_MALFORMED` (short CEF header),
 * `ERR_LEEF_MALFORMED` (short LEEF header), `ERR_KV_MALFORMED` (no key token),
 * `ERR_KV_NO_CATEGORY` (pairs, but no category, service alert or finished marker). `detail`
 * names what is missing, never the line itself.
 */
export function parseLine(raw: string): ParseResult<CyberTraceRecord> {
  const line = normaliseLine(raw);
  const start = skipBlanks(line, 0);
  if (start === line.length) return fail('ERR_LINE_EMPTY', 'The line holds only whitespace.');
  const framed = line.charCodeAt(start) === 0x3c ? unframe(line, start) : null;
  if (framed === null) return parsePayload(line, start);
  if (framed.payload === '') return fail('ERR_LINE_EMPTY', 'The line holds only a syslog header.');
  const inner = parsePayload(framed.payload, 0);
  if (!inner.ok) return inner;
  const dateText = inner.value.dateText ?? (framed.dateText === null ? null : dateTextOf(framed.dateText));
  return { ok: true, value: { ...inner.value, framing: framed.framing, dateText } };
}

function skipBlanks(s: string, from: number): number {
  let i = from;
  while (i < s.length && isBlank(s.charCodeAt(i))) i++;
  return i;
}
