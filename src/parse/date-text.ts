/**
 * Finds the event timestamp at the end of a CyberTrace line header (cybertrace-format §4.5).
 *
 * The header is whatever precedes the first `key=` token. CyberTrace adds no syslog header of
 * its own, so a date there comes from the configured format: `%Date%` renders as
 * `Mon DD HH:MM:SS` (no year, no zone; `Apr  6` keeps the double space) and `%RE_DATE%` is
 * whatever the source event carried, which we only recognise when it is ISO-8601. The text is
 * returned verbatim: turning it into epoch milliseconds (year inference, zone) is the mapper's
 * business, not the parser's.
 *
 * Pure and linear: the header is split into whitespace tokens from the right and at most three
 * tokens are checked with hand-written matchers (no regex, so nothing can backtrack).
 */

const MONTHS: ReadonlySet<string> = new Set([
  'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec',
]);

/** Same blank set as the key scanner in kv.ts (space, tab, LF, VT, FF, CR): ASCII only on purpose. */
function isBlank(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** Value of the `len` ASCII digits at `at`, or -1 when any of them is not a digit. */
function digits(s: string, at: number, len: number): number {
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const c = s.charCodeAt(i); // NaN past the end, which is no digit
    if (!isDigit(c)) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/** `HH:MM:SS` exactly: the `%Date%` clock. */
function isSyslogClock(t: string): boolean {
  return (
    t.length === 8 &&
    t[2] === ':' &&
    t[5] === ':' &&
    inRange(digits(t, 0, 2), 0, 23) &&
    inRange(digits(t, 3, 2), 0, 59) &&
    inRange(digits(t, 6, 2), 0, 60) // 60: a leap second is still a timestamp
  );
}

function inRange(n: number, lo: number, hi: number): boolean {
  return n >= lo && n <= hi;
}

/** Day of month as syslog writes it: `6` or `06` or `12`. */
function isSyslogDay(t: string): boolean {
  if (t.length === 1) return inRange(digits(t, 0, 1), 1, 9);
  return t.length === 2 && inRange(digits(t, 0, 2), 1, 31);
}

/** `YYYY-MM-DD`; returns the index after it, or -1. */
function isoDateEnd(t: string): number {
  const ok =
    digits(t, 0, 4) >= 0 &&
    t[4] === '-' &&
    inRange(digits(t, 5, 2), 1, 12) &&
    t[7] === '-' &&
    inRange(digits(t, 8, 2), 1, 31);
  return ok ? 10 : -1;
}

/** `HH:MM[:SS[.fff…]]` then an optional zone `Z`, `±HH`, `±HHMM` or `±HH:MM`, starting at `at`, filling `t`. */
function isIsoTimeFrom(t: string, at: number): boolean {
  if (!inRange(digits(t, at, 2), 0, 23) || t[at + 2] !== ':' || !inRange(digits(t, at + 3, 2), 0, 59)) {
    return false;
  }
  let i = at + 5;
  if (t[i] === ':') {
    if (!inRange(digits(t, i + 1, 2), 0, 60)) return false;
    i += 3;
    if (t[i] === '.' || t[i] === ',') {
      const fracStart = ++i;
      while (isDigit(t.charCodeAt(i))) i++;
      if (i === fracStart) return false;
    }
  }
  if (i === t.length) return true;
  const z = t[i];
  if (z === 'Z' || z === 'z') return i + 1 === t.length;
  if (z !== '+' && z !== '-') return false;
  if (!inRange(digits(t, i + 1, 2), 0, 23)) return false;
  const rest = t.length - (i + 3);
  if (rest === 0) return true;
  if (rest === 2) return inRange(digits(t, i + 3, 2), 0, 59);
  return rest === 3 && t[i + 3] === ':' && inRange(digits(t, i + 4, 2), 0, 59);
}

/** One token `YYYY-MM-DDTHH:MM…`: ISO-8601 extended form with a `T` separator. */
function isIsoDateTime(t: string): boolean {
  const end = isoDateEnd(t);
  return end > 0 && (t[end] === 'T' || t[end] === 't') && isIsoTimeFrom(t, end + 1);
}

interface Token {
  readonly text: string;
  readonly start: number;
}

/** The last `max` whitespace-separated tokens of `s`, last first. */
function lastTokens(s: string, max: number): Token[] {
  const out: Token[] = [];
  let end = s.length;
  while (out.length < max) {
    while (end > 0 && isBlank(s.charCodeAt(end - 1))) end--;
    if (end === 0) break;
    let start = end;
    while (start > 0 && !isBlank(s.charCodeAt(start - 1))) start--;
    out.push({ text: s.slice(start, end), start });
    end = start;
  }
  return out;
}

/**
 * The timestamp the header is or ends with, verbatim, else null.
 *
 * Recognised: `Mon DD HH:MM:SS` (syslog / CyberTrace `%Date%`, any run of blanks between
 * month and day), `YYYY-MM-DDTHH:MM[:SS[.f]][zone]` and the same with one blank run instead of
 * the `T` (RFC 3339 allows it). A year-less syslog date is kept as is.
 */
export function dateTextOf(header: string): string | null {
  // Consecutive lines share their header (CyberTrace stamps to the second): the last answer is kept.
  if (header === lastHeader.header) return lastHeader.dateText;
  const dateText = readDateText(header);
  lastHeader = { header, dateText };
  return dateText;
}

/** The last header {@link dateTextOf} read and its answer (issue 15: a tenth of the parse, asked again line after line). */
let lastHeader: { readonly header: string | null; readonly dateText: string | null } = { header: null, dateText: null };

function readDateText(header: string): string | null {
  const [t1, t2, t3] = lastTokens(header, 3);
  if (t1 === undefined) return null;
  const tail = (from: Token): string => header.slice(from.start, t1.start + t1.text.length);
  if (isIsoDateTime(t1.text)) return t1.text;
  if (t2 === undefined) return null;
  if (isoDateEnd(t2.text) === t2.text.length && isIsoTimeFrom(t1.text, 0)) return tail(t2);
  if (t3 !== undefined && MONTHS.has(t3.text) && isSyslogDay(t2.text) && isSyslogClock(t1.text)) {
    return tail(t3);
  }
  return null;
}
