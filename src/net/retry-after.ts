/** `Retry-After` (RFC 9110 §10.2.3), read alike for TheHive and for notification webhooks. */

/** `Retry-After` as delay-seconds or an HTTP-date, in ms from `nowMs`; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // HTTP-dates start with a day name (IMF-fixdate, RFC 850, asctime); Date.parse alone reads `-5` as a year.
  const at = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
