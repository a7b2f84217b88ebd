/**
 * `email.timeZones` (`domain=zone` entries): the zone a SIEM writes its times in, per sender domain. A notification's time
 * without an offset is read in its sender's zone (this domain or the nearest parent listed), before
 * the mail's own `Date:` offset, which is often a relay's and not the SIEM's. A zone is an IANA name
 * (`Asia/Almaty`, following its summer time) or a fixed offset (`+05:00`, `-0330`).
 * Pure: Intl's time-zone data only.
 */

/** `domain=zone` → [domain, zone], both trimmed (the first `=` splits: a zone has none). */
export function splitPair(entry: string): [string, string] {
  const at = entry.indexOf('=');
  return at < 0 ? [entry.trim(), ''] : [entry.slice(0, at).trim(), entry.slice(at + 1).trim()];
}

/** The `email.timeZones` entries (`domain=zone`, checked at load) as the mapper takes them: domain → zone. */
export function zoneTable(entries: readonly string[]): Record<string, string> {
  return Object.fromEntries(entries.map(splitPair));
}

/** A fixed offset: `±HH:MM`, `±HHMM` or `±HH`. */
const FIXED = /^([+-])(\d{2})(?::?(\d{2}))?$/;

/** Minutes east of UTC of a fixed offset, or null when `zone` is not one (or out of range). */
function fixedOffset(zone: string): number | null {
  const m = FIXED.exec(zone.trim());
  if (!m) return null;
  const hh = Number(m[2]);
  const mm = Number(m[3] ?? '0');
  if (hh > 18 || mm > 59 || hh * 60 + mm > 18 * 60) return null;
  return (m[1] === '-' ? -1 : 1) * (hh * 60 + mm);
}

/** Why `zone` is not a time zone, or null when it is one. */
export function zoneProblem(zone: unknown): string | null {
  if (typeof zone !== 'string' || zone.trim() === '') return 'expected an IANA time zone such as Asia/Almaty or an offset such as +05:00';
  if (fixedOffset(zone) !== null) return null;
  if (/^[+-]\d/.test(zone.trim())) return `${JSON.stringify(zone)} is no offset from -18:00 to +18:00 (such as +05:00)`;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone.trim() });
    return null;
  } catch {
    return `${JSON.stringify(zone)} is neither an IANA time zone (such as Asia/Almaty) nor an offset (such as +05:00)`;
  }
}

/** The zone configured for the sender address `from` (its domain or the nearest parent domain), if any. */
export function zoneForSender(from: string | null | undefined, zones: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!from || zones === undefined) return undefined;
  const at = from.lastIndexOf('@');
  let domain = (at < 0 ? from : from.slice(at + 1)).trim().toLowerCase().replace(/[>\s].*$/, '').replace(/\.$/, '');
  const byDomain = new Map(Object.entries(zones).map(([d, z]) => [d.trim().toLowerCase().replace(/\.$/, ''), z]));
  for (;;) {
    const zone = byDomain.get(domain);
    if (zone !== undefined) return zone;
    const dot = domain.indexOf('.');
    if (dot < 0) return undefined;
    domain = domain.slice(dot + 1);
  }
}

/**
 * The zone as the date parser takes it: minutes east of UTC for a fixed offset, else a function
 * giving the offset in force at an instant (IANA zones change with summer time).
 */
export function zoneOffset(zone: string): number | ((epochMs: number) => number) {
  const fixed = fixedOffset(zone);
  if (fixed !== null) return fixed;
  const format = new Intl.DateTimeFormat('en-US', { timeZone: zone.trim(), hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  return (epochMs) => {
    const p: Record<string, number> = {};
    for (const part of format.formatToParts(new Date(epochMs))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const wall = Date.UTC(p['year'] ?? 1970, (p['month'] ?? 1) - 1, p['day'] ?? 1, p['hour'] ?? 0, p['minute'] ?? 0, p['second'] ?? 0);
    return Math.round((wall - (epochMs - (epochMs % 1000))) / 60_000);
  };
}
