/**
 * One open alert per key, updated in place (issue 12). Detections read from the spool arrive here
 * as sightings; each key's sightings are sent to TheHive as one create, then as one update per
 * `alert.updateFlushMs` (a PATCH with absolute values and the observables not sent yet). A key's
 * alert takes sightings while it is open and within `alert.updateWindowMs` of its last one (on
 * the spool's receive-time clock, so a replay forms the same updates); once TheHive says it was
 * imported, closed or deleted, or the window passed, the next sighting opens the key's next alert,
 * whose description links the previous one.
 *
 * The order of one flush is what keeps every guarantee across `kill -9`:
 *   requests succeed → the notification is recorded (durable) → the key's state is written
 *   (durable) → the spool records of the flushed sightings are acknowledged.
 * A crash before the state is written replays those records: their sightings are counted again
 * from the state on disk, which does not hold them, so the absolute values sent again are the same
 * (a create meets "already exists" and is found by its sourceRef). A crash after the state is
 * written replays records whose ids the state holds: acknowledged at once, never counted twice.
 *
 * Work goes through the delivery queue as jobs (one per key at a time, so updates of one alert are
 * serialised): the queue's rate, concurrency, retries, circuit and dead letters apply as to
 * alerts. Sightings held in memory are bounded by `maxHeld`; past half of it every key flushes at
 * once instead of waiting for its interval.
 */
import type { Alert, AlertPolicy, DetectionRecord, Outcome, Severity } from '../types.js';
import { createBody, patchOf } from './render.js';
import { applySightings, newGeneration, organisationOf, type KeyState, type PreviousAlert } from './state.js';
import type { StateStore } from './state-store.js';
import { detectionKey, detectionSourceRef, type Target } from './key.js';
import { sightingOf, type Sighting } from './sighting.js';
import type { AlertOps, NotificationEvent, Notifier, OpResult } from './types.js';
import { AlertStatusCache } from './status-cache.js';

/** A unit of work for the delivery queue: one flush of one key. */
export interface LifecycleJob {
  readonly sourceRef: string;
  /** Filled by run(): the spool records a delivered (or dead-lettered) run stands for. */
  readonly ticket: number[];
  run(signal: AbortSignal): Promise<Outcome>;
  /** The alert a dead letter keeps when TheHive refused the flush for good. */
  deadAlert(): Alert;
  /** Called by the runtime once the job is delivered or dead-lettered (its ticket acknowledged). */
  settled(): void;
}

/** The part of the delivery queue the lifecycle uses. */
export interface JobQueue {
  offerJob(job: LifecycleJob): boolean;
  whenRoom(): Promise<void>;
}

/** What the lifecycle reports; must not throw. */
export interface LifecycleHooks {
  /** A key's alert was created (`duplicate`: it existed already) or updated with `counted` sightings. */
  flushed?(state: KeyState, how: 'created' | 'updated', counted: number): void;
  /** A generation ended: TheHive closed, imported or deleted the alert, or its window passed. */
  nextGeneration?(previous: PreviousAlert, key: string): void;
}

export interface LifecycleOptions {
  readonly store: StateStore;
  /** The sink's lifecycle requests (TheHive or the file sink). */
  readonly ops: AlertOps;
  readonly queue: JobQueue;
  readonly policy: AlertPolicy;
  /** `alert.updateKey`. */
  readonly keyFields: readonly string[];
  readonly target: Target;
  /** `alert.updateWindowMs` (> 0). */
  readonly windowMs: number;
  /** `alert.updateFlushMs`. */
  readonly flushMs: number;
  /** Sightings held in memory at most (the feeder waits beyond). */
  readonly maxHeld: number;
  /** Acknowledges one spool record. */
  readonly ack: (seq: number) => void;
  readonly notifier?: Notifier;
  readonly notifyMinSeverity?: Severity;
  /** Where alerts stand, as TheHive's webhooks and earlier GETs said: saves a GET per flush. */
  readonly statuses?: AlertStatusCache;
  readonly hooks?: LifecycleHooks;
  readonly now?: () => number;
}

/** A key found closed again and again when created (a loop bound, never reached in practice). */
const MAX_GENERATION_HOPS = 20;
/** Indicators a notification names at most (issue 12 point 5). */
const NOTIFY_IOCS_MAX = 10;

interface Held {
  readonly sighting: Sighting;
  readonly seq: number;
}

/** One key's sightings in memory. */
class Entry {
  pending: Held[] = [];
  readonly pendingIds = new Set<string>();
  /** Records of sightings that repeat one pending or in flight: acknowledged with the next flush. */
  dupSeqs: number[] = [];
  inflightIds = new Set<string>();
  /** Ids the state on disk holds (the newest IDS_MAX), loaded on first use. */
  known: Set<string> | null = null;
  /** A job of this key is in the queue (or running): the next one waits for it. */
  queued = false;
  timer: NodeJS.Timeout | null = null;
  lastFlush = 0;
}

export class Lifecycle {
  readonly #o: LifecycleOptions;
  readonly #now: () => number;
  readonly #statuses: AlertStatusCache;
  readonly #entries = new Map<string, Entry>();
  /** Keys whose job the queue did not take yet (full): offered again when it has room. */
  readonly #waiting = new Set<string>();
  #waitingForRoom = false;
  #held = 0;
  readonly #roomWaiters = new Set<() => void>();
  #stopped = false;
  #lastSweep = 0;

  constructor(options: LifecycleOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#statuses = options.statuses ?? new AlertStatusCache(0);
  }

  /** Sightings held in memory (pending, in flight, repeats waiting for their flush). */
  get held(): number {
    return this.#held;
  }

  /** How many more sightings add() takes before the feeder should wait. */
  get room(): number {
    return this.#stopped ? 0 : Math.max(0, this.#o.maxHeld - this.#held);
  }

  /** Resolves once there is room (or the lifecycle stopped). */
  whenRoom(): Promise<void> {
    if (this.room > 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.add(resolve));
  }

  /** Takes one detection read from the spool (record `seq`, received at `receivedAt`). */
  add(seq: number, record: DetectionRecord, receivedAt: number, peer?: string): void {
    const sighting = sightingOf(record, this.#o.policy, receivedAt, peer);
    const key = detectionKey(record, this.#o.keyFields, this.#o.target);
    let e = this.#entries.get(key);
    if (e === undefined) {
      e = new Entry();
      this.#entries.set(key, e);
    }
    e.known ??= new Set(this.#o.store.get(key)?.ids ?? []);
    if (e.known.has(sighting.id)) {
      // Counted and on disk already (a resend, a replay): nothing to send.
      this.#o.ack(seq);
      return;
    }
    this.#held++;
    if (e.pendingIds.has(sighting.id) || e.inflightIds.has(sighting.id)) {
      e.dupSeqs.push(seq);
      return;
    }
    e.pending.push({ sighting, seq });
    e.pendingIds.add(sighting.id);
    this.#schedule(key, e);
  }

  /** Flushes every key now (shutdown: what is in memory gets its chance within the deadline). */
  flushAll(): void {
    for (const [key, e] of this.#entries) {
      if (e.timer) clearTimeout(e.timer);
      e.timer = null;
      if (!e.queued && e.pending.length + e.dupSeqs.length > 0) this.#enqueue(key, e);
    }
  }

  /**
   * Forgets what tracehive remembers of a key (`tracehive alerts forget`): its next sighting finds
   * its alert again in TheHive by its sourceRef. A flush in flight may write the key again; the
   * command then says so through `alerts list`.
   */
  async forget(key: string): Promise<boolean> {
    const e = this.#entries.get(key);
    if (e !== undefined) e.known = null;
    return this.#o.store.forget(key);
  }

  /** No more timers; what is held stays in the spool, unacknowledged, for the next start. */
  stop(): void {
    this.#stopped = true;
    for (const e of this.#entries.values()) if (e.timer) clearTimeout(e.timer);
    for (const wake of [...this.#roomWaiters]) wake();
    this.#roomWaiters.clear();
  }

  #schedule(key: string, e: Entry): void {
    if (e.queued || this.#stopped) return;
    const state = this.#o.store.get(key);
    const now = this.#now();
    // A new alert goes out at once; updates of one wait for the interval, unless memory is short.
    const due = state === undefined || state.alertId === null || this.#held * 2 >= this.#o.maxHeld ? now : e.lastFlush + this.#o.flushMs;
    if (due <= now) {
      if (e.timer) clearTimeout(e.timer);
      e.timer = null;
      this.#enqueue(key, e);
    } else if (e.timer === null) {
      e.timer = setTimeout(() => {
        e.timer = null;
        this.#enqueue(key, e);
      }, due - now);
      e.timer.unref?.();
    }
  }

  #enqueue(key: string, e: Entry): void {
    if (e.queued || this.#stopped) return;
    const job = this.#job(key, e);
    if (this.#o.queue.offerJob(job)) {
      e.queued = true;
      return;
    }
    this.#waiting.add(key);
    if (this.#waitingForRoom) return;
    this.#waitingForRoom = true;
    void this.#o.queue.whenRoom().then(() => {
      this.#waitingForRoom = false;
      const keys = [...this.#waiting];
      this.#waiting.clear();
      for (const k of keys) {
        const entry = this.#entries.get(k);
        if (entry) this.#enqueue(k, entry);
      }
    });
  }

  #job(key: string, e: Entry): LifecycleJob {
    const ticket: number[] = [];
    let dead: Alert | null = null;
    let taken: Held[] = [];
    let dups: number[] = [];
    const job: LifecycleJob = {
      sourceRef: this.#o.store.get(key)?.sourceRef ?? `key:${key}`,
      ticket,
      run: async (signal) => {
        ticket.length = 0;
        taken = this.#take(key, e);
        dups = e.dupSeqs.splice(0);
        const outcome = taken.length === 0 ? ({ kind: 'delivered' } as const) : await this.#flush(key, taken.map((h) => h.sighting), signal, (a) => (dead = a));
        if (outcome.kind === 'retry') {
          // Back in front of what came meanwhile: the retry sends them all.
          e.pending = taken.concat(e.pending);
          for (const h of taken) {
            e.inflightIds.delete(h.sighting.id);
            e.pendingIds.add(h.sighting.id);
          }
          e.dupSeqs = dups.concat(e.dupSeqs);
          return outcome;
        }
        for (const h of taken) ticket.push(h.seq);
        ticket.push(...dups);
        if (outcome.kind === 'delivered') {
          const state = this.#o.store.get(key);
          e.known = new Set(state?.ids ?? []);
        }
        e.inflightIds.clear();
        return outcome;
      },
      deadAlert: () => dead ?? taken[0]?.sighting.alert ?? ({} as Alert),
      settled: () => {
        this.#release(ticket.length);
        e.queued = false;
        e.lastFlush = this.#now();
        if (e.pending.length + e.dupSeqs.length > 0) this.#schedule(key, e);
        else e.known = null; // reloaded from the state when the key is seen again
        this.#sweep();
      },
    };
    return job;
  }

  /** The pending sightings of one generation, in order: a batch stops where the window would pass. */
  #take(key: string, e: Entry): Held[] {
    const state = this.#o.store.get(key);
    let last = state?.lastReceived ?? Number.NaN;
    let n = 0;
    for (const h of e.pending) {
      if (n > 0 && h.sighting.receivedAt - last > this.#o.windowMs) break;
      last = Number.isNaN(last) ? h.sighting.receivedAt : Math.max(last, h.sighting.receivedAt);
      n++;
    }
    const taken = e.pending.splice(0, n);
    for (const h of taken) {
      e.pendingIds.delete(h.sighting.id);
      e.inflightIds.add(h.sighting.id);
    }
    return taken;
  }

  /** Requests, notification, state: see the file header. Returns how the flush went. */
  async #flush(key: string, sightings: readonly Sighting[], signal: AbortSignal, deadAlert: (a: Alert) => void): Promise<Outcome> {
    const { ops, store } = this.#o;
    const first = sightings[0] as Sighting;
    let state = store.get(key);
    // A state of the format before 2 did not record its organisation: from now on it does.
    if (state !== undefined && state.organisation === undefined) state = { ...state, organisation: organisationOf(state, first) ?? null };
    if (state !== undefined && state.alertId !== null) {
      if (first.receivedAt - state.lastReceived > this.#o.windowMs) {
        state = this.#next(state, first, 'expired (no sighting within alert.updateWindowMs)');
      } else {
        const found = await this.#statuses.statusOf(ops, state.alertId, signal, organisationOf(state, first));
        if (found.kind !== 'ok') return failed(found);
        if (found.value !== 'open') state = this.#next(state, first, found.value === 'gone' ? 'deleted' : 'closed or imported into a case');
      }
    }
    state ??= newGeneration(key, 1, detectionSourceRef(key, 1), first, null);

    if (state.alertId === null) {
      for (let hop = 0; ; hop++) {
        const applied = applySightings(state, sightings);
        const body = createBody(applied.state, applied.observables);
        deadAlert(body);
        const created = await ops.create(body, signal);
        if (created.kind !== 'ok') return failed(created);
        const next: KeyState = { ...applied.state, alertId: created.value.id };
        // Just created: open (with webhooks, no GET before its first update).
        if (!created.value.duplicate) this.#statuses.learn(created.value.id, 'open', false);
        if (created.value.duplicate) {
          // Ours from before a crash, or from a state since forgotten: is it still open?
          const org = organisationOf(next, first);
          const found = await ops.get(created.value.id, signal, org);
          if (found.kind !== 'ok') return failed(found);
          if (found.value.status !== 'open') {
            if (hop >= MAX_GENERATION_HOPS) return { kind: 'drop', reason: `ERR_SINK_REJECTED: ${MAX_GENERATION_HOPS} alerts of this key in a row are closed in TheHive` };
            state = this.#next(next, first, found.value.status === 'gone' ? 'deleted' : 'closed or imported into a case');
            continue;
          }
          // It may hold fewer sightings than we counted: set the absolute values (severity only upwards, tags only added).
          const patched = await ops.update(next.alertId as string, patchOf({ ...next, severity: found.value.severity, tags: found.value.tags }, next), signal, org);
          if (patched.kind !== 'ok') return failed(patched);
          if (applied.observables.length > 0) {
            const added = await ops.addObservables(next.alertId as string, applied.observables, signal, org);
            if (added.kind !== 'ok') return failed(added);
          }
        }
        await this.#notify(next, null, sightings);
        await store.put([next]);
        this.#o.hooks?.flushed?.(next, 'created', applied.counted);
        return { kind: 'delivered', duplicate: created.value.duplicate };
      }
    }

    const applied = applySightings(state, sightings);
    if (applied.counted === 0) return { kind: 'delivered' };
    deadAlert(createBody(applied.state, applied.observables));
    const org = organisationOf(state, first);
    const updated = await ops.update(state.alertId, patchOf(state, applied.state), signal, org);
    if (updated.kind !== 'ok') return failed(updated);
    if (applied.observables.length > 0) {
      const added = await ops.addObservables(state.alertId, applied.observables, signal, org);
      if (added.kind !== 'ok') return failed(added);
    }
    if (applied.state.severity > state.severity) await this.#notify(applied.state, state.severity, sightings);
    await store.put([applied.state]);
    this.#o.hooks?.flushed?.(applied.state, 'updated', applied.counted);
    return { kind: 'delivered' };
  }

  /** The key's next generation after `state`'s alert ended for `why`. */
  #next(state: KeyState, first: Sighting, why: string): KeyState {
    const previous: PreviousAlert = { id: state.alertId ?? '', sourceRef: state.sourceRef, why };
    this.#o.hooks?.nextGeneration?.(previous, state.key);
    const generation = state.generation + 1;
    return newGeneration(state.key, generation, detectionSourceRef(state.key, generation), first, previous);
  }

  async #notify(state: KeyState, previousSeverity: Severity | null, sightings: readonly Sighting[]): Promise<void> {
    const { notifier, notifyMinSeverity = 4 } = this.#o;
    if (!notifier || state.severity < notifyMinSeverity) return;
    const iocs = new Map<string, { dataType: string; data: string }>();
    for (const s of sightings) {
      for (const o of s.alert.observables) if (o.ioc === true && iocs.size < NOTIFY_IOCS_MAX) iocs.set(`${o.dataType}\u0000${o.data}`, { dataType: o.dataType, data: o.data });
    }
    const event: NotificationEvent = {
      sourceRef: state.sourceRef,
      ...(state.alertId !== null ? { alertId: state.alertId } : {}),
      title: state.base.title,
      severity: state.severity,
      previousSeverity,
      sightings: state.count,
      firstSeen: state.first,
      lastSeen: state.last,
      organisation: organisationOf(state, sightings[0] as Sighting) ?? this.#o.target.organisation,
      iocs: [...iocs.values()],
    };
    await notifier.notify(event);
  }

  /** Forgets idle keys whose interval is over (their state is on disk): memory follows the busy keys only. */
  #sweep(): void {
    const now = this.#now();
    if (now - this.#lastSweep < this.#o.flushMs) return;
    this.#lastSweep = now;
    for (const [key, e] of this.#entries) {
      if (!e.queued && e.timer === null && e.pending.length + e.dupSeqs.length === 0 && now - e.lastFlush >= this.#o.flushMs) this.#entries.delete(key);
    }
  }

  #release(n: number): void {
    this.#held = Math.max(0, this.#held - n);
    if (this.#roomWaiters.size > 0 && this.room > 0) {
      const waiters = [...this.#roomWaiters];
      this.#roomWaiters.clear();
      for (const wake of waiters) wake();
    }
  }
}

/** An OpResult that is no success, as the queue's Outcome. */
function failed(r: Exclude<OpResult<unknown>, { kind: 'ok' }>): Outcome {
  return r;
}
