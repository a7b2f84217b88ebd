/**
 * The delivery queue: hands alerts to a {@link Sink} at most `ratePerSec` per second and `concurrency`
 * at a time, retries what the sink classifies as `retry`, dead-letters what it classifies as `drop`
 * (style.md: components classify, the runtime retries; vector RetryLogic, fluent-bit FLB_RETRY).
 *
 * - Each alert is serialised once, by the sink's `encode`, when it is queued: the queue holds one string
 *   per alert, not its object graph (which made the garbage collector a third of the CPU under load).
 * - Waiting alerts sit in two FIFOs of this class; p-queue only paces the sends (rate, concurrency,
 *   pause), so it holds at most one waiting task instead of one closure and promise per alert. A send
 *   takes its alerts when it starts: retried ones first, then new ones.
 * - A sink with `maxBatch` > 1 (the file sink) gets everything waiting, up to `maxBatch`, in one send:
 *   group commit, so a busy queue costs one write per batch, not per alert.
 * - A retried alert gives its slot back while it waits, then goes back in front of new alerts.
 * - One circuit for the whole queue: any retry outcome pauses the queue for the backoff delay, then lets
 *   one probe through at a time (half-open) until a send succeeds. An outage costs a few probes, not one
 *   request per pending alert (fluent-bit pause/resume).
 * - `push` resolves once the alert is held; at `maxPending` held alerts it waits: the backpressure point.
 * - The queue is the in-memory window of the disk spool (queue/spool.ts): every alert carries the
 *   spool records it came from (its `ticket`), which the hooks hand back when it is delivered or
 *   dead-lettered. What the queue still holds at close() is simply forgotten: it is still in the
 *   spool, unacknowledged, and is sent again at the next start.
 * - Besides alerts it runs jobs (lifecycle/lifecycle.ts: the flush of one key's sightings, a
 *   create or an update), with the same rate, concurrency, retries, circuit and dead letters; a
 *   job runs alone, never batched with alerts, and fills its ticket when it runs.
 */
import PQueue from 'p-queue';
import type { Alert, AlertMeta, Outcome, QueuedAlert, Sink } from '../types.js';
import { fullJitter } from './backoff.js';
import type { DeadLetterLog } from './dead-letter.js';
import type { LifecycleJob } from '../lifecycle/lifecycle.js';

/** An alert the queue holds, with the spool records it stands for (several when sightings are grouped). */
export interface TrackedAlert extends QueuedAlert {
  readonly ticket: readonly number[];
  /** Set for a lifecycle job: the runtime calls its `settled()` once the ticket is acknowledged. */
  readonly job?: LifecycleJob;
}

/** What the queue reports; the runtime logs, counts (telemetry) and acknowledges spool records. Hooks must not throw. */
export interface DeliveryHooks {
  delivered(alert: TrackedAlert, duplicate: boolean, attempts: number): void;
  retried(alert: TrackedAlert, reason: string, delayMs: number, attempt: number): void;
  /**
   * Called once the dead letter is written (not before: until then the spool keeps the alert).
   * `rule`: TheHive refused a value this rule of `alert.rules` set (ERR_RULE_REFUSED).
   */
  dead(alert: TrackedAlert, reason: string, status?: number, rule?: string): void;
  /** Called on changes only: false on an auth/configuration failure, true again on the next success. */
  readiness(ready: boolean, reason: string): void;
}

/** Options of {@link Delivery} (the `queue.*` config keys plus the parts it drives). */
export interface DeliveryOptions {
  readonly sink: Sink;
  readonly deadLetters: Pick<DeadLetterLog, 'write'>;
  /** Sends started per rolling second at most; 0 = unlimited. With a limit every send carries one alert. @default 20 */
  readonly ratePerSec: number;
  /** Sends in flight at most. @default 4 */
  readonly concurrency: number;
  /** Failed attempts (auth failures excepted) before dead-lettering; 0 = retry forever. @default 0 */
  readonly maxAttempts: number;
  /** Alerts held in memory (queued, in flight, waiting to retry) before `push` waits. @default 1000 */
  readonly maxPending: number;
  /**
   * Characters of encoded alerts held at most, whatever their number: a window of big mail alerts
   * (up to ~2 MB each) must not outgrow the heap. One alert is always taken. @default {@link MAX_PENDING_CHARS}
   */
  readonly maxPendingChars?: number;
  /** First backoff window. @default 500 */
  readonly retryBaseMs: number;
  /** Backoff cap; a server's `Retry-After` is honoured up to {@link RETRY_AFTER_CAP_FACTOR} times it. @default 60000 */
  readonly retryMaxMs: number;
  /** Wait after a 401/403 (or another configuration failure): slow, the operator has to act. @default 30000 */
  readonly authRetryMs: number;
  readonly hooks: DeliveryHooks;
  /** Uniform source in [0, 1) for the backoff jitter; injectable for tests. @default Math.random */
  readonly random?: () => number;
}

/** Default of {@link DeliveryOptions.maxPendingChars}: 32 Mi characters (32 to 64 MiB of heap). */
export const MAX_PENDING_CHARS = 32 * 1024 * 1024;

/**
 * `Retry-After` is honoured up to `retryMaxMs` × this (4 min by default): long enough for a planned
 * restart, short enough that a bogus header (`Retry-After: 86400`) cannot stall delivery for a day.
 */
export const RETRY_AFTER_CAP_FACTOR = 4;

/** One alert held by the queue: the sink gets it as a {@link QueuedAlert}. */
class Held implements TrackedAlert {
  readonly sourceRef: string;
  readonly body: string;
  readonly ticket: readonly number[];
  readonly job: LifecycleJob | undefined;
  readonly meta: AlertMeta | undefined;
  /** Sends made. */
  attempts = 0;
  /** Retry outcomes that count toward `maxAttempts` (auth failures do not: a wrong key loses nothing). */
  failures = 0;

  constructor(sourceRef: string, body: string, ticket: readonly number[], job?: LifecycleJob, meta?: AlertMeta) {
    this.sourceRef = sourceRef;
    this.body = body;
    this.ticket = ticket;
    this.job = job;
    this.meta = meta;
  }
}

/** The rate-limited, retrying delivery queue. */
export class Delivery {
  readonly #opts: DeliveryOptions;
  readonly #queue: PQueue;
  /** Alerts per send: the sink's `maxBatch`, or 1 under a rate limit (which counts alerts, not sends). */
  readonly #maxBatch: number;
  readonly #abort = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #spaceWaiters = new Set<() => void>();
  readonly #idleWaiters = new Set<() => void>();
  /** Every alert held, whatever its state: what close() must not lose. */
  readonly #held = new Set<Held>();
  /** Alerts back from a retry delay: sent before any new one. */
  #retrying: Held[] = [];
  /** New alerts, oldest first. */
  #waiting: Held[] = [];
  /** A send task is in p-queue and has not started yet (it takes its alerts when it starts). */
  #scheduled = false;
  #pending = 0;
  /** Characters of the held alerts' bodies. */
  #pendingChars = 0;
  readonly #maxPendingChars: number;
  #accepting = true;
  #closed = false;
  #ready = true;
  /** Consecutive retry outcomes: the circuit's backoff exponent. */
  #failures = 0;
  #circuitUntil = 0;
  #circuitTimer: NodeJS.Timeout | null = null;

  constructor(opts: DeliveryOptions) {
    checkInteger('concurrency', opts.concurrency, 1);
    checkInteger('ratePerSec', opts.ratePerSec, 0);
    checkInteger('maxAttempts', opts.maxAttempts, 0);
    checkInteger('maxPending', opts.maxPending, 1);
    checkInteger('maxPendingChars', opts.maxPendingChars ?? MAX_PENDING_CHARS, 1);
    this.#maxPendingChars = opts.maxPendingChars ?? MAX_PENDING_CHARS;
    checkInteger('retryBaseMs', opts.retryBaseMs, 0);
    checkInteger('retryMaxMs', opts.retryMaxMs, 0);
    checkInteger('authRetryMs', opts.authRetryMs, 0);
    checkInteger('sink.maxBatch', opts.sink.maxBatch, 1);
    this.#opts = opts;
    this.#maxBatch = opts.ratePerSec > 0 ? 1 : opts.sink.maxBatch;
    // strict = sliding window: never more than ratePerSec starts in any 1 s, even across window edges.
    const rate = opts.ratePerSec > 0 ? { intervalCap: opts.ratePerSec, interval: 1000, strict: true } : {};
    this.#queue = new PQueue({ concurrency: opts.concurrency, ...rate });
  }

  /** Alerts held: queued, in flight or waiting to be retried. */
  get pending(): number {
    return this.#pending;
  }

  /** False once drain() or close() was called. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** Alerts push() takes at once, without waiting. */
  get room(): number {
    return this.#accepting && !this.#fullOfChars() ? Math.max(0, this.#opts.maxPending - this.#pending) : 0;
  }

  /** False after an auth/configuration failure until the next success. */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Resolves true once the queue holds the alert; waits while `maxPending` alerts are held. Resolves
   * false, without taking it, once `drain` or `close` was called: the alert stays in the spool (not
   * acknowledged) and is sent after the next start.
   */
  async push(alert: Alert, ticket: readonly number[] = []): Promise<boolean> {
    while (this.#accepting && this.#full()) {
      await new Promise<void>((resolve) => this.#spaceWaiters.add(resolve));
    }
    if (!this.#accepting) return false;
    this.#take(alert, ticket);
    return true;
  }

  /** Resolves once push() would take an alert at once, or the queue stops taking any. */
  async whenRoom(): Promise<void> {
    if (!this.#accepting || !this.#full()) return;
    await new Promise<void>((resolve) => this.#spaceWaiters.add(resolve));
  }

  /**
   * The fast path of push(): takes the alert at once when there is room and returns true; false
   * when the caller must wait (whenRoom) or the queue is stopping.
   */
  offer(alert: Alert, ticket: readonly number[] = []): boolean {
    if (!this.#accepting || this.#full()) return false;
    this.#take(alert, ticket);
    return true;
  }

  /** {@link offer} for an alert the sink's `encode` already made (mapped at accept, issue 15: `Sink.wire`). */
  offerEncoded(sourceRef: string, body: string, meta: AlertMeta | undefined, ticket: readonly number[] = []): boolean {
    if (!this.#accepting || this.#full()) return false;
    this.#hold(new Held(sourceRef, body, ticket, undefined, meta));
    return true;
  }

  /** Takes a lifecycle job when there is room (it counts as one alert held); false when the caller must wait or the queue stops. */
  offerJob(job: LifecycleJob): boolean {
    if (!this.#accepting || this.#full()) return false;
    this.#pending++;
    const held = new Held(job.sourceRef, '', job.ticket, job);
    this.#held.add(held);
    this.#waiting.push(held);
    this.#schedule();
    return true;
  }

  /** No room: `maxPending` alerts held, or `maxPendingChars` (while at least one is held). */
  #full(): boolean {
    return this.#pending >= this.#opts.maxPending || this.#fullOfChars();
  }

  #fullOfChars(): boolean {
    return this.#pending > 0 && this.#pendingChars >= this.#maxPendingChars;
  }

  #take(alert: Alert, ticket: readonly number[]): void {
    this.#hold(new Held(alert.sourceRef, this.#opts.sink.encode(alert), ticket, undefined, alert.meta));
  }

  #hold(held: Held): void {
    this.#pending++;
    this.#pendingChars += held.body.length;
    this.#held.add(held);
    this.#waiting.push(held);
    this.#schedule();
  }

  /**
   * Stops taking alerts and waits until every held alert is delivered or dead, or `deadlineMs`
   * (a duration from now) passes. Retries go on meanwhile. `left` alerts were not confirmed.
   */
  async drain(deadlineMs: number): Promise<{ delivered: boolean; left: number }> {
    this.#stopAccepting();
    if (this.#pending > 0 && !this.#closed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#idleWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, deadlineMs));
        this.#idleWaiters.add(done);
      });
    }
    return { delivered: this.#pending === 0, left: this.#pending };
  }

  /**
   * Stops everything: aborts sends in flight and waits for them to settle. Alerts still held are
   * forgotten, not dead-lettered: the spool still has them and sends them after the next start.
   * Returns how many. Does not close the sink or the dead-letter log.
   */
  async close(): Promise<number> {
    if (this.#closed) return 0;
    this.#closed = true;
    this.#stopAccepting();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#circuitTimer) clearTimeout(this.#circuitTimer);
    this.#queue.clear();
    this.#retrying = [];
    this.#waiting = [];
    this.#abort.abort();
    await this.#queue.onPendingZero();
    const left = this.#held.size;
    this.#held.clear();
    this.#pending = 0;
    this.#pendingChars = 0;
    for (const done of [...this.#idleWaiters]) done();
    return left;
  }

  #stopAccepting(): void {
    this.#accepting = false;
    this.#wakeSpaceWaiters();
  }

  /** Puts one send task in p-queue when alerts wait and none is there yet. */
  #schedule(): void {
    if (this.#scheduled || this.#closed || this.#retrying.length + this.#waiting.length === 0) return;
    this.#scheduled = true;
    // #send never rejects; the catch only keeps a bug from becoming an unhandled rejection.
    this.#queue.add(this.#send).catch(() => undefined);
  }

  /** A p-queue task: takes the next alerts when it starts (so retries placed meanwhile go first) and sends them. */
  readonly #send = async (): Promise<void> => {
    this.#scheduled = false;
    const batch = this.#nextBatch();
    // Whatever still waits gets the next slot p-queue grants (concurrency, rate).
    this.#schedule();
    if (batch.length === 0) return;
    await this.#attempt(batch);
    this.#schedule();
  };

  #nextBatch(): Held[] {
    const retries = this.#retrying.length > 0;
    const from = retries ? this.#retrying : this.#waiting;
    // A job runs alone; alerts batch up to the first job.
    if (from[0]?.job !== undefined) return [from.shift() as Held];
    let max = this.#maxBatch;
    if (max > 1) {
      const firstJob = from.findIndex((h) => h.job !== undefined);
      if (firstJob > 0) max = Math.min(max, firstJob);
    }
    if (from.length <= max) {
      if (retries) this.#retrying = [];
      else this.#waiting = [];
      return from;
    }
    // shift() is O(1) in V8, splice(0, n) moves all the rest: 9 µs a send with 10,000 waiting.
    return max === 1 ? [from.shift() as Held] : from.splice(0, max);
  }

  async #attempt(batch: Held[]): Promise<void> {
    for (const held of batch) held.attempts++;
    let outcome: Outcome;
    try {
      const job = batch[0]?.job;
      outcome = job !== undefined ? await job.run(this.#abort.signal) : await this.#opts.sink.send(batch, this.#abort.signal);
    } catch (err) {
      // A sink should classify, not throw; if it does, keep the alerts.
      outcome = { kind: 'retry', reason: `sink ${this.#opts.sink.name} threw: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (outcome.kind === 'delivered') {
      this.#closeCircuit();
      this.#setReady(true, `sink ${this.#opts.sink.name} accepted an alert`);
      const duplicate = outcome.duplicate === true;
      for (const held of batch) {
        this.#hook(() => this.#opts.hooks.delivered(held, duplicate, held.attempts));
        this.#release(held);
      }
    } else if (outcome.kind === 'drop') {
      this.#closeCircuit(); // the server answered: it is up
      const code = outcome.rule === undefined ? 'ERR_SINK_REJECTED' : 'ERR_RULE_REFUSED';
      for (const held of batch) await this.#deadLetter(held, `${code}: ${outcome.reason}`, outcome.status, outcome.body, outcome.rule);
    } else if (!this.#closed) {
      await this.#failed(batch, outcome);
    }
  }

  /** A retry outcome: open the circuit (once per failed send), then retry each alert or give up on it. */
  async #failed(batch: Held[], outcome: Extract<Outcome, { kind: 'retry' }>): Promise<void> {
    this.#failures++;
    let most = 0;
    for (const held of batch) {
      // A wrong key (401) never costs an alert; a missing permission (403) counts like any failure.
      if (!outcome.auth || outcome.forbidden) held.failures++;
      most = Math.max(most, held.failures);
    }
    const { retryBaseMs, retryMaxMs, authRetryMs, maxAttempts } = this.#opts;
    const delay = outcome.auth
      ? authRetryMs
      : outcome.afterMs !== undefined
        ? Math.min(Math.max(0, outcome.afterMs), retryMaxMs * RETRY_AFTER_CAP_FACTOR)
        : fullJitter(Math.max(this.#failures, most) - 1, retryBaseMs, retryMaxMs, this.#opts.random);
    if (outcome.auth) this.#setReady(false, outcome.reason);
    const giveUp = maxAttempts > 0 ? batch.filter((held) => held.failures >= maxAttempts) : [];
    const retry = giveUp.length > 0 ? batch.filter((held) => held.failures < maxAttempts) : batch;
    // The alerts' timer is armed before the circuit's: same delay, so they are back in the queue (in
    // front) when the circuit lets the next probe through.
    if (retry.length > 0) this.#retryLater(retry, outcome.reason, delay);
    this.#openCircuit(delay);
    for (const held of giveUp) {
      await this.#deadLetter(held, `ERR_SINK_ATTEMPTS: gave up after ${plural(held.failures, 'failed attempt')}; last: ${outcome.reason}`);
    }
  }

  #retryLater(batch: Held[], reason: string, delayMs: number): void {
    for (const held of batch) this.#hook(() => this.#opts.hooks.retried(held, reason, delayMs, held.attempts));
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#retrying.push(...batch);
      this.#schedule();
    }, delayMs);
    this.#timers.add(timer);
  }

  async #deadLetter(held: Held, reason: string, status?: number, body?: string, rule?: string): Promise<void> {
    try {
      const decoded = held.job !== undefined ? held.job.deadAlert() : this.#opts.sink.decode(held.body);
      // The rules' meta goes with it: a requeued dead letter keeps its organisation.
      const alert = held.meta === undefined ? decoded : { ...decoded, meta: held.meta };
      await this.#opts.deadLetters.write({ alert, reason, status, body, attempts: held.attempts });
    } catch (err) {
      // Never lose an alert: keep it and retry the write (not the send) after the longest backoff.
      const why = err instanceof Error ? err.message : String(err);
      if (this.#closed) return; // the spool still has it
      const delay = this.#opts.retryMaxMs;
      this.#hook(() => this.#opts.hooks.retried(held, `dead-letter write failed (${why}); ${reason}`, delay, held.attempts));
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        void this.#deadLetter(held, reason, status, body, rule);
      }, delay);
      this.#timers.add(timer);
      return;
    }
    this.#hook(() => this.#opts.hooks.dead(held, reason, status, rule));
    this.#release(held);
  }

  /** Pauses the whole queue until `delayMs` from now (or later, if already paused longer). */
  #openCircuit(delayMs: number): void {
    const until = Date.now() + delayMs;
    this.#queue.pause();
    // Only a timer still to come may stand in for this one: once fired, its time is history.
    if (this.#circuitTimer && until <= this.#circuitUntil) return;
    this.#circuitUntil = until;
    if (this.#circuitTimer) clearTimeout(this.#circuitTimer);
    this.#circuitTimer = setTimeout(() => {
      this.#circuitTimer = null;
      // Half-open: one probe at a time until a success restores the configured concurrency.
      this.#queue.concurrency = 1;
      this.#queue.start();
    }, delayMs);
  }

  #closeCircuit(): void {
    this.#failures = 0;
    this.#circuitUntil = 0;
    if (this.#circuitTimer) clearTimeout(this.#circuitTimer);
    this.#circuitTimer = null;
    if (this.#queue.concurrency !== this.#opts.concurrency) this.#queue.concurrency = this.#opts.concurrency;
    if (this.#queue.isPaused && !this.#closed) this.#queue.start();
  }

  #setReady(ready: boolean, reason: string): void {
    if (this.#ready === ready) return;
    this.#ready = ready;
    this.#hook(() => this.#opts.hooks.readiness(ready, reason));
  }

  #release(held: Held): void {
    if (!this.#held.delete(held)) return; // already released (a write retried at close)
    this.#pending--;
    this.#pendingChars -= held.body.length;
    if (this.#spaceWaiters.size > 0) this.#wakeSpaceWaiters();
    if (this.#pending === 0) for (const done of [...this.#idleWaiters]) done();
  }

  #wakeSpaceWaiters(): void {
    const waiters = [...this.#spaceWaiters];
    this.#spaceWaiters.clear();
    for (const wake of waiters) wake();
  }

  /** A throwing hook must not leave an alert half-handled: report it as a process warning instead. */
  #hook(call: () => void): void {
    try {
      call();
    } catch (err) {
      process.emitWarning(err instanceof Error ? err : String(err), { code: 'TRACEHIVE_HOOK' });
    }
  }
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`Expected \`${name}\` to be an integer ≥ ${min}, got ${String(value)}.`);
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
