/**
 * Retry delays. AWS "full jitter" (Exponential Backoff And Jitter, Marc Brooker, 2015): the delay of
 * attempt `n` is uniform in `[0, min(cap, base · 2^n)]`. Spreading retries over the whole window keeps
 * many clients (or many pending alerts) from waking up together after an outage (vector retries.rs).
 */

/**
 * Full-jitter backoff delay in whole milliseconds.
 *
 * @param attempt - 0 for the first retry, 1 for the second… Negative or fractional values are floored at 0.
 * @param baseMs - the window of the first retry (`queue` default 500 ms).
 * @param capMs - the cap: the window never grows beyond it, so no delay exceeds `capMs`
 *   (`queue` default 60 000 ms). A cap below `baseMs` wins.
 * @param random - a source of uniform numbers in [0, 1), injectable for tests.
 * @returns a delay in [0, min(capMs, baseMs · 2^attempt)], both ends included.
 */
export function fullJitter(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  if (!Number.isFinite(baseMs) || baseMs < 0) throw new TypeError(`Expected \`baseMs\` to be a finite number ≥ 0, got ${baseMs}.`);
  if (!Number.isFinite(capMs) || capMs < 0) throw new TypeError(`Expected \`capMs\` to be a finite number ≥ 0, got ${capMs}.`);
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 2 ** 1100 is Infinity, which Math.min turns back into the cap: no overflow to worry about.
  const ceiling = Math.floor(Math.min(capMs, baseMs * 2 ** n));
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  // floor(r · (ceiling + 1)) makes every integer of [0, ceiling] equally likely; r = 1 is clamped.
  return Math.min(ceiling, Math.floor(unit * (ceiling + 1)));
}
