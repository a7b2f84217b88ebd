/**
 * The syslog header a relay puts before a CyberTrace line. CyberTrace writes none itself
 * (cybertrace-format §1), but its output often reaches us through rsyslog or syslog-ng, which
 * add an RFC 3164 (`<13>Dec  5 10:00:00 host tag: …`) or RFC 5424
 * (`<13>1 2026-12-05T10:00:00Z host app - - - …`) header. The header says how the line
 * travelled, not what happened: it is removed so that the payload, and only the payload, is
 * parsed and hashed into `sourceRef`, and a relayed line is the same alert as a direct one.
 *
 * Pure. Only the first few dozen characters are looked at with anchored, bounded patterns; the
 * structured data of RFC 5424 is walked once, so hostile input cannot make this slow.
 */
import type { LineFraming } from '../types.js';
import { isBlank } from './key-token.js';

/** A line with its syslog header removed. */
export interface Unframed {
  readonly framing: LineFraming;
  /** The message after the header, leading blanks (and a UTF-8 byte-order mark) removed. */
  readonly payload: string;
  /** The header's timestamp, for an event whose payload carries none; null for `-`. */
  readonly dateText: string | null;
}

/** `<PRI>`: 1–3 digits, at most 191 (facility 23, severity 7). */
const PRI = /^<(\d{1,3})>/;
/** RFC 5424 after the PRI: VERSION (1–2 digits, not 0) and a space. */
const VERSION = /^[1-9]\d?(?= )/;
/** RFC 3164 timestamp: `Mmm dd hh:mm:ss` (day space-padded or not), optional fraction. */
const BSD_DATE = /^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,9})?(?= )/;
/** An RFC 3339 timestamp in a 3164-style header (rsyslog's RSYSLOG_ForwardFormat writes one). */
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)(?= )/;
/** A 3164 TAG: program name, optional `[pid]`, then `:`. */
const TAG = /^[A-Za-z0-9_./-]{1,64}(?:\[\d{1,10}\])?:$/;
/** Only this much of the line is handed to the patterns above: they are anchored and need less. */
const HEAD_WINDOW = 64;

/**
 * The line from `start` without its syslog header, or null when no header starts there (then
 * the line is parsed as it is). RFC 3164: `<PRI>TIMESTAMP HOST TAG: MSG`, where HOST may be
 * missing (the token after the timestamp ends with `:`) and TAG may be missing (the token after
 * HOST does not end with `:`: the message starts there). RFC 5424:
 * `<PRI>VERSION TIMESTAMP HOST APP PROCID MSGID SD MSG` with SD `-` or `[…]` elements.
 */
export function unframe(line: string, start: number): Unframed | null {
  const pri = PRI.exec(line.slice(start, start + 6));
  if (pri === null || Number(pri[1]) > 191) return null;
  const at = start + pri[0].length;
  const head = line.slice(at, at + HEAD_WINDOW);
  const version = VERSION.exec(head);
  if (version !== null) return rfc5424(line, at + version[0].length);
  const date = BSD_DATE.exec(head) ?? ISO_DATE.exec(head);
  if (date === null) return null;
  return rfc3164(line, at + date[0].length, date[0]);
}

function rfc3164(line: string, afterDate: number, dateText: string): Unframed | null {
  const first = token(line, afterDate);
  if (first === null) return null;
  if (TAG.test(first.text)) return framed('rfc3164', line, first.end, dateText);
  const second = token(line, first.end);
  if (second === null) return framed('rfc3164', line, line.length, dateText);
  // No TAG: the message starts right after HOST.
  return framed('rfc3164', line, TAG.test(second.text) ? second.end : second.start, dateText);
}

function rfc5424(line: string, from: number): Unframed | null {
  let at = from;
  let timestamp = '';
  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID: five fields of one token each (`-` when empty).
  for (let field = 0; field < 5; field++) {
    if (line.charCodeAt(at) !== 0x20) return null;
    const t = token(line, at);
    if (t === null || t.start !== at + 1) return null;
    if (field === 0) timestamp = t.text;
    at = t.end;
  }
  if (line.charCodeAt(at) !== 0x20) return null;
  at++;
  const sdEnd = structuredDataEnd(line, at);
  if (sdEnd < 0) return null;
  return framed('rfc5424', line, sdEnd, timestamp === '-' ? null : timestamp);
}

/** Index just past the STRUCTURED-DATA at `at` (`-` or one or more `[…]`), or -1 when malformed. */
function structuredDataEnd(line: string, at: number): number {
  if (line.charCodeAt(at) === 0x2d) return at + 1;
  let i = at;
  if (line.charCodeAt(i) !== 0x5b) return -1;
  while (line.charCodeAt(i) === 0x5b) {
    let quoted = false;
    i++;
    for (; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (quoted && c === 0x5c) i++; // `\"`, `\\`, `\]` inside a PARAM-VALUE
      else if (c === 0x22) quoted = !quoted;
      else if (!quoted && c === 0x5d) break;
    }
    if (i >= line.length) return -1;
    i++;
  }
  return i;
}

/** The next run of non-blanks after `from` (blanks skipped), or null at the end of the line. */
function token(line: string, from: number): { text: string; start: number; end: number } | null {
  let a = from;
  while (a < line.length && isBlank(line.charCodeAt(a))) a++;
  if (a === line.length) return null;
  let b = a;
  while (b < line.length && !isBlank(line.charCodeAt(b))) b++;
  return { text: line.slice(a, b), start: a, end: b };
}

function framed(framing: LineFraming, line: string, from: number, dateText: string | null): Unframed {
  let a = from;
  while (a < line.length && (isBlank(line.charCodeAt(a)) || line.charCodeAt(a) === 0xfeff)) a++;
  return { framing, payload: line.slice(a), dateText };
}
