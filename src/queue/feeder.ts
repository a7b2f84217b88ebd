/**
 * The feeder moves alerts from the disk spool into the delivery queue's in-memory window: it reads
 * records in order while the queue has room, turns each into an alert (or a sighting for the alert
 * lifecycle), and hands it over with its spool sequence numbers. Acknowledging is not its job: the
 * delivery hooks ack a record once its alert is delivered or dead-lettered (app.ts).
 *
 * Only a window of the spool is ever in memory (`queue.maxPending` alerts plus the sightings the
 * lifecycle holds), whatever the backlog on disk: a day of TheHive outage costs disk, not RAM.
 */
import type { Alert, AlertMeta, DetectionRecord } from '../types.js';
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
  /** An alert mapped and encoded at accept (issue 15): the queue takes its body as is. */
  | { readonly kind: 'encoded'; readonly sourceRef: string; readonly body: string; readonly meta: AlertMeta | undefined }
  /** A detection for the lifecycle (only produced when it is on). */
  | { readonly kind: 'sighting'; readonly sighting: SpooledSighting }
  /** A mail's alert for the lifecycle, which updates the alert of an incident notified again (only when it is on). */
  | { readonly kind: 'mail'; readonly alert: Alert; readonly receivedAt: number }
  /** Nothing to send (a record the current policy makes no alert of, or one that cannot be read): acked at once. */
  | { readonly kind: 'skip'; readonly reason: string; readonly invalid: boolean }
  /** Another target's record (issue 14, routing): its feeder delivers and acks it; this one lets go of it. */
  | { readonly kind: 'pass' }
  /** An alert that goes to the dead letters at once, with the reason (a target that no longer exists; a backlog over its share). */
  | { readonly kind: 'dead'; readonly alert: Alert; readonly reason: string };

/** The parts of the spool the feeder reads. */
export interface FeedSource {
  read(max: number, maxChars?: number): Promise<SpoolEntry[]>;
  whenReadable(): Promise<void>;
  ack(seq: number): void;
  /** Lets go of a record another reader owns (see Spool.cursor). */
  release?(seq: number): void;
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
  /** {@link offer} for an alert already in the sink's encoding (`Sink.wire`). */
  offerEncoded(sourceRef: string, body: string, meta: AlertMeta | undefined, ticket: readonly number[]): boolean;
}

export interface FeederOptions {
  readonly spool: FeedSource;
  readonly delivery: FeedTarget;
  readonly map: (entry: SpoolEntry) => Mapped;
  /**
   * Given: each read batch goes through it first (the map worker maps the lines read back from
   * disk, issue 15), then through `map`. A failure leaves the batch as it was: `map` maps it.
   */
  readonly premap?: (entries: readonly SpoolEntry[]) => Promise<SpoolEntry[]>;
  readonly lifecycle?: SightingTarget;
  /** A record that became no alert; `invalid` when it could not be read at all. Must not throw. */
  readonly skipped?: (entry: SpoolEntry, reason: string, invalid: boolean) => void;
  /** The loop failed (a spool read error): it waits and tries again. Must not throw. */
  readonly failed?: (err: Error) => void;
  /**
   * Why, while this target's backlog is over its share of the spool (issue 14), else null: the
   * feeder keeps reading without waiting for room, `map` makes dead letters of what it reads
   * (it knows why), and an alert waiting for room goes to the dead letters with this reason.
   */
  readonly overflowing?: () => string | null;
  /**
   * Alerts to write to the dead letters, each with its reason and seq, one call per read batch; the
   * records are acked once it resolves. Required when `map` may give `dead`.
   */
  readonly dead?: (batch: readonly { readonly alert: Alert; readonly reason: string; readonly seq: number }[]) => Promise<void>;
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
      const overflowing = (this.#o.overflowing?.() ?? null) !== null;
      if (delivery.room === 0 && !overflowing) {
        if (!delivery.accepting) return;
        await this.#until(delivery.whenRoom());
        continue;
      }
      let entries: SpoolEntry[];
      try {
        entries = await spool.read(overflowing ? READ_MAX : Math.min(delivery.room, READ_MAX), READ_MAX_CHARS);
      } catch (err) {
        this.#o.failed?.(err instanceof Error ? err : new Error(String(err)));
        await this.#until(sleep(READ_RETRY_MS));
        continue;
      }
      if (entries.length === 0) {
        await this.#until(spool.whenReadable());
        continue;
      }
      if (this.#o.premap !== undefined) entries = await this.#o.premap(entries).catch(() => entries);
      const dead: { alert: Alert; reason: string; seq: number }[] = [];
      for (const entry of entries) {
        const mapped = this.#map(entry);
        if (mapped.kind === 'pass') {
          spool.release?.(entry.seq);
        } else if (mapped.kind === 'skip') {
          spool.ack(entry.seq);
          this.#o.skipped?.(entry, mapped.reason, mapped.invalid);
        } else if (mapped.kind === 'dead') {
          dead.push({ alert: mapped.alert, reason: mapped.reason, seq: entry.seq });
        } else if (mapped.kind === 'encoded' || mapped.kind === 'alert') {
          // Taken at once while the queue has room: no promise per alert; else wait for room.
          const item = mapped.kind === 'encoded' ? mapped : mapped.alert;
          const ticket = [entry.seq];
          if (!this.#offer(item, ticket) && !(await this.#hand(item, ticket))) return;
        } else if (lifecycle) {
          while (lifecycle.room === 0) {
            if (!this.#running) return;
            await this.#until(lifecycle.whenRoom());
          }
          if (mapped.kind === 'mail') lifecycle.addMail(entry.seq, mapped.alert, mapped.receivedAt);
          else lifecycle.add(entry.seq, mapped.sighting.record, mapped.sighting.receivedAt, mapped.sighting.peer);
        }
      }
      if (dead.length > 0) await this.#bury(dead);
    }
  }

  /** Writes a batch of dead letters, then acks their records; on a failed write they stay unacked and are read again after a rewind-free retry. */
  async #bury(batch: readonly { alert: Alert; reason: string; seq: number }[]): Promise<void> {
    for (;;) {
      try {
        await (this.#o.dead as NonNullable<FeederOptions['dead']>)(batch);
        for (const { seq } of batch) this.#o.spool.ack(seq);
        return;
      } catch (err) {
        // Accepted data: never dropped. The disk of dead/ is failing; try again.
        this.#o.failed?.(err instanceof Error ? err : new Error(String(err)));
        if (!this.#running) return;
        await this.#until(sleep(READ_RETRY_MS));
      }
    }
  }

  /** Wakes a feeder waiting for room: its target's backlog went over its share (see `overflowing`). */
  poke(): void {
    this.#wake?.();
  }

  #map(entry: SpoolEntry): Mapped {
    try {
      return this.#o.map(entry);
    } catch (err) {
      // A mapper bug must not wedge the spool behind one record.
      return { kind: 'skip', reason: `mapping failed: ${err instanceof Error ? err.message : String(err)}`, invalid: true };
    }
  }

  /** Offers an alert (or one encoded at accept) to the queue: true when it took it. */
  #offer(item: Handed, ticket: readonly number[]): boolean {
    return isEncoded(item) ? this.#o.delivery.offerEncoded(item.sourceRef, item.body, item.meta, ticket) : this.#o.delivery.offer(item, ticket);
  }

  /** Hands an alert to the queue, waiting for room; false when the queue stopped taking them. */
  async #hand(item: Handed, ticket: readonly number[]): Promise<boolean> {
    while (!this.#offer(item, ticket)) {
      // Not taken: the queue is full (wait for room) or stopping (the spool keeps the records).
      if (!this.#running || !this.#o.delivery.accepting) return false;
      // Over its share meanwhile: this alert goes to the dead letters with the rest of the backlog.
      const overflow = this.#o.overflowing?.() ?? null;
      if (overflow !== null && this.#o.dead !== undefined) {
        await this.#bury([{ alert: isEncoded(item) ? encodedAlert(item) : item, reason: overflow, seq: ticket[0] as number }]);
        for (const seq of ticket.slice(1)) this.#o.spool.ack(seq);
        return true;
      }
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

/** What the feeder hands the queue: an alert, or one encoded at accept. */
type Handed = Alert | Extract<Mapped, { kind: 'encoded' }>;

function isEncoded(item: Handed): item is Extract<Mapped, { kind: 'encoded' }> {
  return 'kind' in item && item.kind === 'encoded';
}

/** An encoded alert as an object again (a dead letter keeps the alert as one), with its rules' meta. */
export function encodedAlert(item: { readonly body: string; readonly meta: AlertMeta | undefined }): Alert {
  const alert = JSON.parse(item.body) as Alert;
  return item.meta === undefined ? alert : { ...alert, meta: item.meta };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
