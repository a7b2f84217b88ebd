/**
 * Where alerts stand in TheHive, as far as tracehive knows without asking: learned from TheHive's own
 * webhooks (`POST /webhooks/thehive`, when `http.thehiveWebhookToken` is set) and from the GETs it
 * made. Without webhooks nothing is fresh and every flush asks (`GET …/alert/{id}`); with them, an
 * alert seen open is trusted for {@link WEBHOOK_FRESH_MS} (a missed event costs at most that long of
 * updates to a closed alert), and one an event said was closed or deleted needs no GET at all.
 */
import type { AlertOps, AlertStatus, OpResult } from './types.js';

/** With webhooks, an `open` learned this long ago is still believed. */
export const WEBHOOK_FRESH_MS = 10 * 60_000;
/** Alerts remembered at most (oldest forgotten first): they are only a saving, never a truth. */
const MAX_ENTRIES = 100_000;

export class AlertStatusCache {
  readonly #freshMs: number;
  readonly #now: () => number;
  readonly #known = new Map<string, { readonly status: AlertStatus; readonly at: number; readonly fromEvent: boolean }>();

  /** `freshMs` 0: no webhooks, so an `open` is never trusted without asking. */
  constructor(freshMs: number, now: () => number = Date.now) {
    this.#freshMs = freshMs;
    this.#now = now;
  }

  /** What TheHive said of alert `id`, by a webhook event (`fromEvent`) or a GET. */
  learn(id: string, status: AlertStatus, fromEvent: boolean): void {
    // Without webhooks only events would be believed and a GET's answer never: nothing to keep.
    if (!fromEvent && this.#freshMs === 0) return;
    this.#known.delete(id); // re-inserted last: the Map's order is the age order
    this.#known.set(id, { status, at: this.#now(), fromEvent });
    if (this.#known.size > MAX_ENTRIES) {
      const oldest = this.#known.keys().next();
      if (!oldest.done) this.#known.delete(oldest.value);
    }
  }

  /** The status to go by without a request, if any. */
  fresh(id: string): AlertStatus | undefined {
    const k = this.#known.get(id);
    if (k === undefined) return undefined;
    if (k.status !== 'open') return k.fromEvent ? k.status : undefined;
    return this.#freshMs > 0 && this.#now() - k.at < this.#freshMs ? 'open' : undefined;
  }

  /** Where alert `id` stands: from the cache when fresh, else by `GET` (and remembered). */
  async statusOf(ops: AlertOps, id: string, signal: AbortSignal, organisation?: string): Promise<OpResult<AlertStatus>> {
    const known = this.fresh(id);
    if (known !== undefined) return { kind: 'ok', value: known };
    const found = await ops.get(id, signal, organisation);
    if (found.kind !== 'ok') return found;
    this.learn(id, found.value.status, false);
    return { kind: 'ok', value: found.value.status };
  }
}
