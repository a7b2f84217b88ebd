/**
 * The feeder moves alerts from the disk spool into the delivery queue's in-memory window: it reads
 * records in order while the queue has room, turns each into an alert (or a sighting for the alert
 * lifecycle), and hands it over with its spool sequence numbers. Acknowledging is not its job: the
 * delivery hooks ack a record once its alert is delivered or dead-lettered (app.ts).
 *
 * Only a window of the spool is ever in memory (`queue.maxPending` alerts plus the sightings the
 * lifecycle holds), whatever the backlog on disk: a day of TheHive outage costs disk, not RAM.
 */
import type { Alert, DetectionRecord } from '../types.js';
import type { SpoolEntry } from './spool.js';

/** A detection for the alert lifecycle, with the time it was received (the mapping clock). */
export interface SpooledSighting {
  readonly record: DetectionRecord;
  readonly receivedAt: number;
  /** The sender's address, when it was spooled (a rule matches on it). */
  readonly peer?: string;
}

/** What one spool record becomes. */
export type Mapped =
  | { readonly kind: 'alert'; readonly alert: Alert }
  /** A detection for the lifecycle (only produced when it is on). */
  | { readonly kind: 'sighting'; readonly sighting: SpooledSighting }
  /** A mail's alert for the lifecycle, which updates the alert of an incident notified again (only when it is on). */
  | { readonly kind: 'mail'; readonly alert: Alert; readonly receivedAt: number }
  /** Nothing to send (a record the current policy makes no alert of, or one that cannot be read): acked at once. */
  | { readonly kind: 'skip'; readonly reason: string; readonly invalid: boolean };

/** The parts of the spool the feeder reads. */
export interface FeedSource {
  read(max: number, maxChars?: number): Promise<SpoolEntry[]>;
  whenReadable(): Promise<void>;
  ack(seq: number): void;
}

/** Where sightings go: the alert lifecycle (lifecycle/lifecycle.ts). */
export interface SightingTarget {
  readonly room: number;
  whenRoom(): Promise<void>;
  add(seq: number, record: DetectionRecord, receivedAt: number, peer?: string): void;
  addMail(seq: number, alert: Alert, receivedAt: number): void;
}

/** The parts of the delivery queue the feeder fills. */
export interface FeedTarget {
  readonly room: number;
  /** False once the queue stopped taking alerts (shutdown). */
  readonly accepting: boolean;
  whenRoom(): Promise<void>;
  offer(alert: Alert, ticket: readonly number[]): boolean;
}

export interface FeederOptions {
  readonly spool: FeedSource;
  readonly delivery: FeedTarget;
  readonly map: (entry: SpoolEntry) => Mapped;
  readonly lifecycle?: SightingTarget;
  /** A record that became no alert; `invalid` when it could not be read at all. Must not throw. */
  readonly skipped?: (entry: SpoolEntry, reason: string, invalid: boolean) => void;
  /** The loop failed (a spool read error): it waits and tries again. Must not throw. */
  readonly failed?: (err: Error) => void;
}

/** Records read per spool read at most: big enough for one file-sink batch, small enough to keep turns short. */
const READ_MAX = 1024;
/** Payload characters per spool read at most (one record at least): ~10,000 lines, or a few big mail alerts. */
const READ_MAX_CHARS = 4 * 1024 * 1024;
/** How long the loop waits after a failed spool read. */
const READ_RETRY_MS = 1000;

export class Feeder {
  readonly #o: FeederOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(options: FeederOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops reading; alerts already handed over stay with the queue, sightings with the lifecycle (and the spool). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { spool, delivery, lifecycle } = this.#o;
    while (this.#running) {
      if (delivery.room === 0) {
        if (!delivery.accepting) return;
        await this.#until(delivery.whenRoom());
        continue;
      }
      let entries: SpoolEntry[];
      try {
        entries = await spool.read(Math.min(delivery.room, READ_MAX), READ_MAX_CHARS);
      } catch (err) {
        this.#o.failed?.(err instanceof Error ? err : new Error(String(err)));
        await this.#until(sleep(READ_RETRY_MS));
        continue;
      }
      if (entries.length === 0) {
        await this.#until(spool.whenReadable());
        continue;
      }
      for (const entry of entries) {
        const mapped = this.#map(entry);
        if (mapped.kind === 'skip') {
          spool.ack(entry.seq);
          this.#o.skipped?.(entry, mapped.reason, mapped.invalid);
        } else if (mapped.kind === 'alert') {
          if (!(await this.#hand(mapped.alert, [entry.seq]))) return;
        } else if (lifecycle) {
          while (lifecycle.room === 0) {
            if (!this.#running) return;
            await this.#until(lifecycle.whenRoom());
          }
          if (mapped.kind === 'mail') lifecycle.addMail(entry.seq, mapped.alert, mapped.receivedAt);
          else lifecycle.add(entry.seq, mapped.sighting.record, mapped.sighting.receivedAt, mapped.sighting.peer);
        }
      }
    }
  }

  #map(entry: SpoolEntry): Mapped {
    try {
      return this.#o.map(entry);
    } catch (err) {
      // A mapper bug must not wedge the spool behind one record.
      return { kind: 'skip', reason: `mapping failed: ${err instanceof Error ? err.message : String(err)}`, invalid: true };
    }
  }

  /** Hands an alert to the queue, waiting for room; false when the queue stopped taking them. */
  async #hand(alert: Alert, ticket: readonly number[]): Promise<boolean> {
    while (!this.#o.delivery.offer(alert, ticket)) {
      // Not taken: the queue is full (wait for room) or stopping (the spool keeps the records).
      if (!this.#running || !this.#o.delivery.accepting) return false;
      await this.#until(this.#o.delivery.whenRoom());
    }
    return true;
  }

  /** Waits for `p` or for stop(). */
  async #until(p: Promise<unknown>): Promise<void> {
    if (!this.#running) return;
    await Promise.race([p, new Promise<void>((resolve) => (this.#wake = resolve))]);
    this.#wake = undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
