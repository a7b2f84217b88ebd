/**
 * The event's own timestamp. CyberTrace's `%Date%` is `Mon DD HH:MM:SS` with neither year nor
 * zone (cybertrace-format §4.5), so the year comes from the time we received the line and the
 * zone is the one this process runs in (we assume it is CyberTrace's).
 */

/** An event may run ahead of our clock by clock skew, but never by more than this. */
const FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** `Oct 12 16:14:02`, `Apr  6 09:05:41` (syslog pads the day with a space), optional fraction. */
const SYSLOG = /^([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?$/;
/** `2024-10-12T16:14:02`, `2024-10-12 16:14:02.123Z` (any blank run for `T`), `2024-10-12T16:14+03:00`, `2024-10-12`. */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:(?:T|\s+)(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
/** Feed dates: `10.07.2015 23:53`, also with seconds or without a time. */
const DOTTED = /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/** Where a time without its own offset is read: minutes east of UTC, or the offset a zone has at an instant (time-zones.ts). */
export type Zone = number | ((epochMs: number) => number);

interface Parts {
  year: number;
  month: number; // 0-based, as Date wants it
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

/**
 * Epoch ms of `text`, or null when it is absent, matches no known shape, names a day that does
 * not exist, or lies more than a day after `receivedAt`. Shapes:
 * - `Mon DD HH:MM:SS` / `Mon  D HH:MM:SS`: local time, in the latest year (of the one before,
 *   the one of and the one after `receivedAt`) that puts the event at most a day after
 *   `receivedAt`: Dec 31 received on Jan 1 is last year's;
 * - ISO-8601 date-time, with a zone (`Z`, `±HH:MM`, `±HHMM`, `±HH`) or without one (local time),
 *   or a bare ISO date (local midnight);
 * - `DD.MM.YYYY HH:MM[:SS]` or `DD.MM.YYYY`: local time.
 */
export function parseEventDate(text: string | null, receivedAt: number, offsetMinutes?: Zone): number | null {
  if (text === null) return null;
  if (text === lastSyslog.text && receivedAt >= lastSyslog.from && receivedAt < lastSyslog.until) return lastSyslog.result;
  const s = text.trim();
  const latest = receivedAt + FUTURE_TOLERANCE_MS;

  const syslog = SYSLOG.exec(s);
  if (syslog) {
    const answer = fromSyslog(syslog, receivedAt, latest);
    lastSyslog = { text, ...answer };
    return answer.result;
  }

  const iso = ISO.exec(s);
  if (iso) {
    const parts = {
      year: num(iso[1]),
      month: num(iso[2]) - 1,
      day: num(iso[3]),
      hour: num(iso[4]),
      minute: num(iso[5]),
      second: second(iso[6]),
      ms: num(((iso[7] ?? '') + '000').slice(0, 3)),
    };
    // Without a zone: the caller's (a sender's configured zone, a mail's own Date:), else this process's.
    const t = iso[8] !== undefined ? zoned(parts, iso[8]) : offsetMinutes !== undefined ? inZone(parts, offsetMinutes) : local(parts);
    return notFuture(t, latest);
  }

  const dotted = DOTTED.exec(s);
  if (dotted) {
    const parts = {
      year: num(dotted[3]),
      month: num(dotted[2]) - 1,
      day: num(dotted[1]),
      hour: num(dotted[4]),
      minute: num(dotted[5]),
      second: second(dotted[6]),
      ms: 0,
    };
    return notFuture(offsetMinutes !== undefined ? inZone(parts, offsetMinutes) : local(parts), latest);
  }
  return null;
}

/**
 * A syslog stamp's answer, and the receive times for which it is the same answer: the same local
 * year (which picks the candidate years) and the same side of each candidate's "a day ahead" limit.
 */
interface SyslogAnswer {
  readonly result: number | null;
  readonly from: number;
  readonly until: number;
}

/**
 * The last syslog stamp read and its {@link SyslogAnswer}. Consecutive events share their second
 * (CyberTrace stamps to the second), so most lines ask again for the stamp the line before asked
 * for, and get the same answer without a regex and five local-time `Date` conversions (issue 15).
 * It holds one answer, never a different one: `from`/`until` bound it to the receive times that
 * would compute it again.
 */
let lastSyslog: SyslogAnswer & { readonly text: string | null } = { text: null, result: null, from: 0, until: 0 };

function fromSyslog(m: RegExpExecArray, receivedAt: number, latest: number): SyslogAnswer {
  const always = (result: number | null): SyslogAnswer => ({ result, from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY });
  const month = MONTHS.indexOf((m[1] ?? '').toLowerCase());
  if (month < 0) return always(null);
  // The year is filled in below. One object with every field set, not `{ ...base, year }`:
  // V8 builds a spread-plus-property literal on a slow path (~1.5 µs, two thirds of this parse).
  const parts: Parts = { year: 0, month, day: num(m[2]), hour: num(m[3]), minute: num(m[4]), second: second(m[5]), ms: 0 };
  if (!timeOk(parts)) return always(null);
  const year = new Date(receivedAt).getFullYear();
  // The same local year gives the same candidate years below.
  let from = new Date(year, 0, 1).getTime();
  let until = new Date(year + 1, 0, 1).getTime();
  // The latest year that does not put the event more than a day ahead of us: next year covers
  // a CyberTrace clock slightly ahead across New Year, last year covers Dec 31 received on Jan 1.
  // Compare with the date as Date rolls it (Feb 29 of a common year → Mar 1), so a day that is
  // ahead even rolled moves back to a year where it may well exist.
  for (const y of [year + 1, year, year - 1]) {
    const rolled = new Date(y, month, parts.day, parts.hour, parts.minute, parts.second).getTime();
    if (rolled <= latest) {
      parts.year = y;
      // Received earlier, this year would be too far ahead as well.
      from = Math.max(from, rolled - FUTURE_TOLERANCE_MS);
      // `rolled` is already the event's local time (no milliseconds here): do not convert again.
      return { result: onExistingDay(parts, rolled), from, until };
    }
    // Received later, this year would no longer be too far ahead.
    until = Math.min(until, rolled - FUTURE_TOLERANCE_MS);
  }
  return { result: null, from, until };
}

/** Local wall-clock time → epoch ms, or null for a day that does not exist (Feb 30, Feb 29 of a common year). */
function local(p: Parts): number | null {
  if (!timeOk(p)) return null;
  return onExistingDay(p, new Date(p.year, p.month, p.day, p.hour, p.minute, p.second, p.ms).getTime());
}

/** `t`, the epoch ms of local wall-clock time `p`, or null when `p`'s day does not exist or is before 1970. */
function onExistingDay(p: Parts, t: number): number | null {
  // A DST gap shifts the hour (02:30 → 03:30), which is fine; a shifted day is not.
  const noon = new Date(p.year, p.month, p.day, 12);
  if (noon.getMonth() !== p.month || noon.getDate() !== p.day) return null;
  // Years 0–99 make Date add 1900; such stamps are nonsense for an event anyway.
  if (p.year < 1970) return null;
  return Number.isFinite(t) ? t : null;
}

/** Wall-clock time at a fixed offset (`Z`, `+03:00`, `-0500`, `+03`) → epoch ms. */
function zoned(p: Parts, zone: string): number | null {
  if (!timeOk(p) || p.year < 1970) return null;
  let offsetMin = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const hh = num(digits.slice(0, 2));
    const mm = num(digits.slice(2, 4));
    if (hh > 23 || mm > 59) return null;
    offsetMin = sign * (hh * 60 + mm);
  }
  return atOffset(p, offsetMin);
}

/**
 * Wall-clock time in `zone`: a fixed offset, or the offset an IANA zone has at an instant. The
 * offset at the wall-clock time read as UTC is a first guess; the offset at that guess settles it,
 * right on both sides of a summer-time change (a time in the skipped hour moves forward).
 */
function inZone(p: Parts, zone: Zone): number | null {
  if (typeof zone === 'number') return atOffset(p, zone);
  const wall = atOffset(p, 0);
  if (wall === null) return null;
  return wall - zone(wall - zone(wall) * 60_000) * 60_000;
}

/** Wall-clock time `offsetMin` minutes east of UTC → epoch ms, or null for a day that does not exist. */
function atOffset(p: Parts, offsetMin: number): number | null {
  if (!timeOk(p) || p.year < 1970) return null;
  const utc = Date.UTC(p.year, p.month, p.day, p.hour, p.minute, p.second, p.ms);
  const check = new Date(Date.UTC(p.year, p.month, p.day));
  if (check.getUTCMonth() !== p.month || check.getUTCDate() !== p.day) return null;
  return utc - offsetMin * 60_000;
}

function timeOk(p: Omit<Parts, 'year'>): boolean {
  return p.month >= 0 && p.month <= 11 && p.day >= 1 && p.day <= 31 && p.hour <= 23 && p.minute <= 59 && p.second <= 59;
}

/** Epoch-based time has no leap seconds: `23:59:60` counts as `23:59:59`, inside its own minute (and year). */
function second(digits: string | undefined): number {
  const n = num(digits);
  return n === 60 ? 59 : n;
}

/** Stamps with an explicit year cannot be moved back a year: too far ahead means unusable. */
function notFuture(t: number | null, latest: number): number | null {
  return t !== null && t <= latest ? t : null;
}

/** Digits of an optional capture group; an absent group is 0. */
function num(digits: string | undefined): number {
  // Every caller passes ASCII digits (`\d` captures), where `Number` equals `parseInt(…, 10)` and is faster.
  return digits === undefined || digits === '' ? 0 : Number(digits);
}
