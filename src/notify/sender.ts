/**
 * Sends what the outbox holds, on its own timer: alert delivery never waits for it. Each channel
 * of a notification is tried on its own (a webhook that worked is not called again because the
 * mail failed), one attempt at a time, retried with backoff (1 s, doubling, up to 10 min;
 * `Retry-After` when a webhook gives one), and in the end dead-lettered: refused for good
 * (ERR_NOTIFY_REJECTED), {@link MAX_ATTEMPTS} failures or 24 h (ERR_NOTIFY_ATTEMPTS). Every change
 * is written to the record before the next attempt, so a restart goes on where it stood.
 */
import type { NotifyDeadLetters } from './dead-letters.js';
import type { Outbox } from './outbox.js';
import { afterFailure, withChannel, type Channel, type ChannelName, type ChannelState, type NotifyRecord } from './record.js';

export interface SenderHooks {
  sent(channel: ChannelName, key: string, attempts: number): void;
  retried(channel: ChannelName, key: string, reason: string, nextAt: number): void;
  dead(channel: ChannelName, key: string, reason: string): void;
  /** A record or a dead letter could not be written: retried at the next pass. */
  failed(err: Error): void;
}

export interface SenderOptions {
  readonly outbox: Outbox;
  readonly channels: readonly Channel[];
  readonly dead: NotifyDeadLetters;
  readonly now: () => number;
  readonly hooks: SenderHooks;
  readonly random?: () => number;
}

/** The longest sleep between passes (a clock change or a lost wake-up costs at most this). */
const MAX_SLEEP_MS = 60_000;
/** After a disk error the pass is tried again this much later. */
const ERROR_RETRY_MS = 5_000;

export class Sender {
  readonly #o: SenderOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(o: SenderOptions) {
    this.#o = o;
  }

  /** Starts a pass now (a new notification, a requeue). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = this.#pass().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
  }

  /** No pass after this one; waits for the attempt in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  async #pass(): Promise<void> {
    let next = Infinity;
    try {
      for (const record of this.#o.outbox.waiting()) {
        if (this.#stopped) return;
        next = Math.min(next, await this.#sendDue(record));
      }
    } catch (err) {
      this.#o.hooks.failed(err as Error);
      next = this.#o.now() + ERROR_RETRY_MS;
    }
    if (this.#stopped || next === Infinity) return;
    const sleep = Math.min(MAX_SLEEP_MS, Math.max(0, next - this.#o.now()));
    this.#timer = setTimeout(() => this.wake(), sleep);
    this.#timer.unref();
  }

  /** Tries each due channel of `record`; resolves with when the record is due next (Infinity when done). */
  async #sendDue(start: NotifyRecord): Promise<number> {
    let record = start;
    let next = Infinity;
    for (const name of Object.keys(record.channels) as ChannelName[]) {
      const state = record.channels[name];
      if (state?.state !== 'pending') continue;
      if (state.nextAt > this.#o.now()) {
        next = Math.min(next, state.nextAt);
        continue;
      }
      const event = record.event;
      if (!event) continue;
      const channel = this.#o.channels.find((c) => c.name === name);
      const result = channel
        ? await channel.send(event, record.key)
        : { kind: 'rejected' as const, reason: `ERR_NOTIFY_REJECTED: the ${name} channel is no longer configured (${name === 'mail' ? 'notify.smtp.host' : 'notify.webhook.url'} is empty)` };
      const now = this.#o.now();
      let nextState: ChannelState;
      if (result.kind === 'sent') {
        nextState = { state: 'sent', attempts: state.attempts + 1, nextAt: now };
        record = withChannel(record, name, nextState, now);
        await this.#o.outbox.write(record);
        this.#o.hooks.sent(name, record.key, nextState.attempts);
        continue;
      }
      const outcome = result.kind === 'rejected' ? { giveUp: result.reason.startsWith('ERR_') ? result.reason : `ERR_NOTIFY_REJECTED: ${result.reason}` } : afterFailure(record, state, result.reason, now, result.retryAfterMs, this.#o.random);
      if ('retry' in outcome) {
        record = withChannel(record, name, outcome.retry, now);
        await this.#o.outbox.write(record);
        this.#o.hooks.retried(name, record.key, result.reason, outcome.retry.nextAt);
        next = Math.min(next, outcome.retry.nextAt);
        continue;
      }
      const attempts = state.attempts + (channel ? 1 : 0);
      // The dead letter first: a crash in between sends it once more rather than losing it.
      await this.#o.dead.write({ key: record.key, channel: name, reason: outcome.giveUp, ...(result.kind === 'rejected' && result.status !== undefined ? { status: result.status } : {}), attempts, event });
      record = withChannel(record, name, { state: 'dead', attempts, nextAt: now, lastError: outcome.giveUp }, now);
      await this.#o.outbox.write(record);
      this.#o.hooks.dead(name, record.key, outcome.giveUp);
    }
    return next;
  }
}
