/**
 * `queue.ratePerSec` as TheHive sees it: at most N requests start in any 1 s (a sliding window, so
 * no burst of 2N across a second's edge), whatever they are: creates, GETs, PATCHes, observables,
 * queries. Callers wait in arrival order; a caller whose signal aborts leaves the line.
 */
import { sleepUnlessAborted } from '../sleep.js';

export class RequestRate {
  readonly #perSec: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Start times of the last `perSec` requests, oldest first. */
  readonly #starts: number[] = [];
  #line: Promise<void> = Promise.resolve();

  /** `perSec` 0 = unlimited. */
  constructor(perSec: number, now: () => number = Date.now, windowMs = 1000) {
    this.#perSec = perSec;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Resolves when one more request may start (true), or false once `signal` aborts first. */
  take(signal: AbortSignal): Promise<boolean> {
    if (this.#perSec === 0) return Promise.resolve(!signal.aborted);
    const turn = this.#line.then(() => this.#wait(signal));
    this.#line = turn.then(() => undefined);
    return turn;
  }

  async #wait(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      const now = this.#now();
      while (this.#starts.length > 0 && now - (this.#starts[0] as number) >= this.#windowMs) this.#starts.shift();
      if (this.#starts.length < this.#perSec) {
        this.#starts.push(now);
        return true;
      }
      const waitMs = (this.#starts[0] as number) + this.#windowMs - now;
      await sleepUnlessAborted(Math.max(1, waitMs), signal);
    }
  }
}
