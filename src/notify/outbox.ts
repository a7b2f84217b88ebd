/**
 * The notification outbox, `spool.dir/notify/`: one file per alert and severity, named by its key
 * (sha256 of sourceRef and severity), written durably (fdatasync, rename, directory fsync; 0600,
 * never through a link) before `record` resolves. The file name is the once-only rule: a second
 * notification of the same key, even after a restart, finds its file and does nothing. A sent
 * one stays as a small marker (no event) for {@link MARKER_DAYS} days, {@link MAX_MARKERS} at most,
 * the oldest removed first. Holds everything in memory: pending records are few, markers small.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile, syncDir } from '../io/durable-file.js';
import { makePrivateDir, openPrivate } from '../io/private-files.js';
import { newRecord, notificationKey, parseRecord, pendingChannels, type ChannelName, type NotifyRecord } from './record.js';
import type { Notification } from './render.js';

/** Notifications waiting at most; a new one beyond goes to the dead letters (ERR_NOTIFY_BACKLOG). */
export const MAX_PENDING = 10_000;
/** Markers of sent notifications are kept this long… */
export const MARKER_DAYS = 7;
/** …and this many at most. */
export const MAX_MARKERS = 100_000;

/** The outbox of a spool: `spool.dir/notify`. */
export function notifyDir(spoolDir: string): string {
  return join(spoolDir, 'notify');
}

const KEY_FILE = /^[0-9a-f]{64}\.json$/;

export interface OutboxOptions {
  readonly dir: string;
  readonly now: () => number;
  /** A record file that cannot be read (damaged, newer): kept, its key counts as notified. */
  readonly report: (err: Error) => void;
  readonly maxPending?: number;
  readonly maxMarkers?: number;
}

/** What {@link Outbox.record} did. */
export type RecordResult = 'recorded' | 'known' | 'backlog';

export class Outbox {
  readonly #o: OutboxOptions;
  /** Every key on disk: a record, a marker, or an unreadable file (null). */
  readonly #records = new Map<string, NotifyRecord | null>();
  /** Writes in flight per key: a second notify of the key resolves when the first is on disk. */
  readonly #writing = new Map<string, Promise<void>>();
  #pending = 0;

  private constructor(o: OutboxOptions) {
    this.#o = o;
  }

  static async open(o: OutboxOptions): Promise<Outbox> {
    const box = new Outbox(o);
    await makePrivateDir(o.dir, { refuseLink: true });
    for (const name of await readdir(o.dir)) {
      if (name.endsWith('.tmp')) {
        await unlink(join(o.dir, name)).catch(() => undefined); // a crash mid-write: its record was never promised
        continue;
      }
      if (!KEY_FILE.test(name)) continue;
      const key = name.slice(0, -'.json'.length);
      box.#records.set(key, null);
      try {
        const handle = await openPrivate(join(o.dir, name), 'read');
        const parsed = parseRecord(await handle.readFile('utf8').finally(() => handle.close()));
        if (!parsed.ok) throw new Error(`${join(o.dir, name)}: ${parsed.reason}; kept as it is, its notification counts as sent`);
        box.#records.set(key, parsed.record);
        if (pendingChannels(parsed.record).length > 0) box.#pending += 1;
      } catch (err) {
        o.report(err as Error);
      }
    }
    await box.prune();
    return box;
  }

  /** Notifications with a channel still to send. */
  get pending(): number {
    return this.#pending;
  }

  /** Keys on disk (records and markers). */
  get size(): number {
    return this.#records.size;
  }

  get(key: string): NotifyRecord | null | undefined {
    return this.#records.get(key);
  }

  /** The records with a channel still to send. */
  waiting(): NotifyRecord[] {
    const out: NotifyRecord[] = [];
    for (const r of this.#records.values()) if (r && r.doneAt === undefined && pendingChannels(r).length > 0) out.push(r);
    return out;
  }

  /**
   * Records `event` for `channels` unless its key is known. At {@link MAX_PENDING} waiting it is
   * not recorded: `backlog`, and the caller dead-letters it (then {@link write}s it as done).
   */
  async record(event: Notification, channels: readonly ChannelName[]): Promise<RecordResult> {
    const key = notificationKey(event.sourceRef, event.severity);
    if (this.#records.has(key)) {
      await this.#writing.get(key);
      return 'known';
    }
    if (this.#pending >= (this.#o.maxPending ?? MAX_PENDING)) return 'backlog';
    await this.write(newRecord(event, channels, this.#o.now()));
    return 'recorded';
  }

  /** Writes `record` (new or changed) durably; resolves once it is on disk. */
  async write(record: NotifyRecord): Promise<void> {
    const before = this.#records.get(record.key);
    const wasPending = before ? pendingChannels(before).length > 0 : false;
    const isPending = pendingChannels(record).length > 0;
    this.#records.set(record.key, record);
    this.#pending += (isPending ? 1 : 0) - (wasPending ? 1 : 0);
    const path = join(this.#o.dir, `${record.key}.json`);
    const previous = this.#writing.get(record.key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(async () => {
      await replaceFile(path, `${JSON.stringify(record)}\n`);
      await syncDir(this.#o.dir);
    });
    this.#writing.set(record.key, run);
    try {
      await run;
    } finally {
      if (this.#writing.get(record.key) === run) this.#writing.delete(record.key);
    }
  }

  /**
   * Puts a dead-lettered channel of `event` back (`tracehive spool requeue-dead`): pending again,
   * due now, its attempts from zero; the other channels stay as they are (a sent mail is not resent).
   */
  async reopen(event: Notification, channel: ChannelName): Promise<void> {
    const key = notificationKey(event.sourceRef, event.severity);
    const fresh = newRecord(event, [channel], this.#o.now());
    const known = this.#records.get(key);
    if (known?.channels[channel]?.state === 'pending') return;
    const { doneAt: _done, ...rest } = known ?? fresh;
    await this.write({ ...rest, version: fresh.version, event, recordedAt: fresh.recordedAt, channels: { ...(known?.channels ?? {}), ...fresh.channels } });
  }

  /** Removes markers older than {@link MARKER_DAYS} days, then the oldest beyond {@link MAX_MARKERS}. */
  async prune(): Promise<number> {
    const cutoff = this.#o.now() - MARKER_DAYS * 86_400_000;
    const markers: { key: string; doneAt: number }[] = [];
    for (const [key, r] of this.#records) if (r?.doneAt !== undefined) markers.push({ key, doneAt: r.doneAt });
    markers.sort((a, b) => a.doneAt - b.doneAt);
    const over = markers.length - (this.#o.maxMarkers ?? MAX_MARKERS);
    const gone = markers.filter((m, i) => i < over || m.doneAt < cutoff);
    for (const { key } of gone) {
      if (this.#writing.has(key)) continue;
      this.#records.delete(key);
      await unlink(join(this.#o.dir, `${key}.json`)).catch(() => undefined);
    }
    return gone.length;
  }

  /** Waits for writes in flight. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#writing.values()]);
  }
}
