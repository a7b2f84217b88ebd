/**
 * Mail alerts in the lifecycle (issue 12 point 2): a SIEM notification whose incident already has
 * an alert updates it (mail-update.ts says how: severity raised or lowered, status tags replaced,
 * new observables, an Updates section); an ordinary mail sent twice stays one alert. Each mail is
 * one job of the delivery queue, one key's mails one after another, in the order of the spool.
 *
 * The order of one mail's work is the detections' (lifecycle.ts): requests → notification
 * recorded → state written → spool record acknowledged, so `kill -9` anywhere replays the mail
 * against the state on disk and sends the same absolute patch again, or is recognised as applied.
 * A notification of an alert TheHive says was imported, closed or deleted opens the incident's
 * next alert (`mail-<id>-2`, …), which links the previous one. What TheHive holds when the state
 * is lost (a create answered "already exists") is read back with a GET and reconciled: an update
 * that is already there is not stated twice.
 */
import type { Alert, Observable, Outcome, Severity } from '../types.js';
import { inlineCode, escapeText } from '../map/description.js';
import { DESCRIPTION_MAX, truncate } from '../map/limits.js';
import type { JobQueue, LifecycleJob } from './lifecycle.js';
import { mailGenerationSourceRef, mailKey, type Target } from './key.js';
import { initialMailState, mailUpdate, type MailAlertState } from './mail-update.js';
import type { PreviousAlert } from './state.js';
import type { StateStore } from './state-store.js';
import { AlertStatusCache } from './status-cache.js';
import type { AlertOps, FoundAlert, NotificationEvent, Notifier } from './types.js';

/** The format of a persisted mail state; a newer one is refused by the store. */
export const MAIL_STATE_VERSION = 1;
/** The state file of mail alerts, beside the detections' state.ndjson. */
export const MAIL_STATE_FILE = 'mail-state.ndjson';
/** Mails held in memory at most (waiting for their key's job): the feeder waits beyond. */
const MAIL_HELD_MAX = 1000;
/** Alerts of one incident found closed in a row when created: a loop bound, never reached in practice. */
const MAX_GENERATION_HOPS = 20;
/** Indicators a notification names at most (issue 12 point 5). */
const NOTIFY_IOCS_MAX = 10;

/** One mail alert's state: which TheHive alert, and what was last sent to it. */
export interface MailKeyState {
  readonly v: number;
  readonly key: string;
  /** The mail's own sourceRef (`mail-<incident id>` or `mail-<hash>`). */
  readonly baseSourceRef: string;
  readonly generation: number;
  /** The current alert's sourceRef: the base one, then `<base>-<n>`. */
  readonly sourceRef: string;
  readonly alertId: string;
  readonly lastReceived: number;
  readonly mail: MailAlertState;
  readonly previous: PreviousAlert | null;
  /**
   * The TheHive organisation a rule created the alert in (every later request goes there); null:
   * thehive.organisation. Absent from states written before it was recorded: then the
   * organisation the same rules give the mail at hand is taken.
   */
  readonly organisation?: string | null;
}

/** The organisation of `state`'s alert, for its requests (undefined: thehive.organisation). */
function organisationOf(state: MailKeyState, mail: Alert): string | undefined {
  return (state.organisation === undefined ? mail.meta?.organisation : state.organisation) ?? undefined;
}

export interface MailLifecycleOptions {
  readonly store: StateStore<MailKeyState>;
  readonly ops: AlertOps;
  readonly queue: JobQueue;
  readonly target: Target;
  readonly ack: (seq: number) => void;
  readonly notifier?: Notifier;
  readonly notifyMinSeverity?: Severity;
  /** Where alerts stand, as TheHive's webhooks and earlier GETs said: saves a GET per update. */
  readonly statuses?: AlertStatusCache;
  /** A mail's alert was created, updated, or left as it is (`skipped`: why). Must not throw. */
  readonly flushed?: (state: MailKeyState, how: 'created' | 'updated' | 'unchanged', changes: readonly string[]) => void;
}

interface HeldMail {
  readonly seq: number;
  readonly alert: Alert;
  readonly receivedAt: number;
}

export class MailLifecycle {
  readonly #o: MailLifecycleOptions;
  /** Without webhooks (no cache given): every update asks TheHive first. */
  readonly #statuses: AlertStatusCache;
  readonly #pending = new Map<string, HeldMail[]>();
  readonly #queued = new Set<string>();
  #held = 0;
  readonly #roomWaiters = new Set<() => void>();
  #stopped = false;

  constructor(options: MailLifecycleOptions) {
    this.#o = options;
    this.#statuses = options.statuses ?? new AlertStatusCache(0);
  }

  get room(): number {
    return this.#stopped ? 0 : Math.max(0, MAIL_HELD_MAX - this.#held);
  }

  whenRoom(): Promise<void> {
    if (this.room > 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.add(resolve));
  }

  /** Takes one mail alert read from the spool. */
  add(seq: number, alert: Alert, receivedAt: number): void {
    const key = mailKey(alert.sourceRef, this.#o.target);
    const list = this.#pending.get(key) ?? [];
    list.push({ seq, alert, receivedAt });
    this.#pending.set(key, list);
    this.#held++;
    this.#enqueue(key);
  }

  async forget(key: string): Promise<boolean> {
    return this.#o.store.forget(key);
  }

  stop(): void {
    this.#stopped = true;
    for (const wake of [...this.#roomWaiters]) wake();
    this.#roomWaiters.clear();
  }

  #enqueue(key: string): void {
    if (this.#queued.has(key) || this.#stopped) return;
    const next = this.#pending.get(key)?.[0];
    if (next === undefined) return;
    if (!this.#o.queue.offerJob(this.#job(key))) {
      void this.#o.queue.whenRoom().then(() => this.#enqueue(key));
      return;
    }
    this.#queued.add(key);
  }

  #job(key: string): LifecycleJob {
    const ticket: number[] = [];
    const first = this.#pending.get(key)?.[0] as HeldMail;
    let dead: Alert = first.alert;
    return {
      sourceRef: first.alert.sourceRef,
      ticket,
      run: async (signal) => {
        ticket.length = 0;
        const mail = this.#pending.get(key)?.[0];
        if (mail === undefined) return { kind: 'delivered' };
        const outcome = await this.#flush(key, mail, signal, (a) => (dead = a));
        if (outcome.kind !== 'retry') {
          ticket.push(mail.seq);
          this.#pending.get(key)?.shift();
        }
        return outcome;
      },
      deadAlert: () => dead,
      settled: () => {
        this.#queued.delete(key);
        this.#held = Math.max(0, this.#held - ticket.length);
        if ((this.#pending.get(key)?.length ?? 0) === 0) this.#pending.delete(key);
        else this.#enqueue(key);
        if (this.room > 0) for (const wake of [...this.#roomWaiters]) wake();
        this.#roomWaiters.clear();
      },
    };
  }

  async #flush(key: string, mail: HeldMail, signal: AbortSignal, deadAlert: (a: Alert) => void): Promise<Outcome> {
    const { ops, store } = this.#o;
    const state = store.get(key);
    if (state !== undefined) {
      const update = mailUpdate(state.mail, mail.alert, mail.receivedAt);
      if (update.patch === null) {
        // Its files are in the alert already (a report or a mail fetched again): none is sent, none is kept.
        await this.#releaseUnsent(mail.alert, []);
        this.#o.flushed?.(state, 'unchanged', [update.skipped ?? 'unchanged']);
        return { kind: 'delivered', duplicate: true };
      }
      const org = organisationOf(state, mail.alert);
      const found = await this.#statuses.statusOf(ops, state.alertId, signal, org);
      if (found.kind !== 'ok') return found;
      if (found.value === 'open') {
        const updated = await ops.update(state.alertId, update.patch, signal, org);
        if (updated.kind !== 'ok') return updated;
        if (update.observables.length > 0) {
          const added = await ops.addObservables(state.alertId, update.observables, signal, org);
          if (added.kind !== 'ok') return added;
        }
        await this.#releaseUnsent(mail.alert, update.observables);
        const next: MailKeyState = { ...state, mail: update.state, lastReceived: mail.receivedAt };
        if (update.state.severity > state.mail.severity) await this.#notify(next, state.mail.severity, mail.alert);
        await store.put([next]);
        this.#o.flushed?.(next, 'updated', update.changes);
        return { kind: 'delivered' };
      }
      return this.#create(key, mail, nextGeneration(mail, found.value === 'gone' ? 'deleted' : 'closed or imported into a case', state), signal, deadAlert);
    }
    return this.#create(key, mail, { generation: 1, sourceRef: mail.alert.sourceRef, previous: null }, signal, deadAlert);
  }

  async #create(key: string, mail: HeldMail, gen: Generation, signal: AbortSignal, deadAlert: (a: Alert) => void): Promise<Outcome> {
    const { ops, store } = this.#o;
    const initial = initialMailState(mail.alert, mail.receivedAt);
    for (let hop = 0; ; hop++) {
      const body: Alert = { ...mail.alert, sourceRef: gen.sourceRef, description: linked(mail.alert.description, gen.previous) };
      deadAlert(body);
      const created = await ops.create(body, signal);
      if (created.kind !== 'ok') return created;
      let state: MailKeyState = { v: MAIL_STATE_VERSION, key, baseSourceRef: mail.alert.sourceRef, generation: gen.generation, sourceRef: gen.sourceRef, alertId: created.value.id, lastReceived: mail.receivedAt, mail: initial, previous: gen.previous, organisation: mail.alert.meta?.organisation ?? null };
      let how: 'created' | 'updated' = 'created';
      let changes: readonly string[] = [];
      let previousSeverity: Severity | null = null;
      if (!created.value.duplicate) this.#statuses.learn(created.value.id, 'open', false);
      if (created.value.duplicate) {
        // Ours from before a crash, or from a state since lost: where does it stand?
        const found = await ops.get(created.value.id, signal, mail.alert.meta?.organisation);
        if (found.kind !== 'ok') return found;
        // An ordinary mail sent again is the same alert, whatever became of it.
        if (found.value.status !== 'open' && initial.kind === 'notification') {
          if (hop >= MAX_GENERATION_HOPS) return { kind: 'drop', reason: `ERR_SINK_REJECTED: ${MAX_GENERATION_HOPS} alerts of this incident in a row are closed in TheHive` };
          gen = nextGeneration(mail, found.value.status === 'gone' ? 'deleted' : 'closed or imported into a case', state);
          continue;
        }
        if (found.value.status !== 'gone' && initial.kind === 'notification') {
          const reconciled = await this.#reconcile(state, found.value as FoundAlert, mail, signal);
          if (reconciled.kind !== 'ok') return reconciled;
          if (reconciled.changes.length > 0) {
            how = 'updated';
            changes = reconciled.changes;
            previousSeverity = (found.value as FoundAlert).severity;
          }
          state = reconciled.state;
        }
      }
      // The notifier sends once per alert and severity: a replay after a crash repeats nothing.
      await this.#notify(state, previousSeverity, mail.alert);
      await store.put([state]);
      this.#o.flushed?.(state, how, changes);
      return { kind: 'delivered', duplicate: created.value.duplicate };
    }
  }

  /**
   * The alert existed and tracehive had no state of it: what TheHive holds stands for what was
   * sent. When it already says what this notification says (a crash after the create), nothing
   * is sent; otherwise the notification is applied as an update of it.
   */
  async #reconcile(state: MailKeyState, found: FoundAlert, mail: HeldMail, signal: AbortSignal): Promise<{ kind: 'ok'; state: MailKeyState; changes: readonly string[] } | Exclude<Outcome, { kind: 'delivered' }>> {
    const says = mail.alert.tags.every((t) => found.tags.includes(t)) && found.severity === mail.alert.severity;
    if (says) return { kind: 'ok', state, changes: [] };
    const held: MailAlertState = { ...state.mail, severity: found.severity, tags: [...found.tags], digests: [] };
    const update = mailUpdate(held, mail.alert, mail.receivedAt);
    if (update.patch === null) return { kind: 'ok', state, changes: [] };
    const org = organisationOf(state, mail.alert);
    const updated = await this.#o.ops.update(state.alertId, update.patch, signal, org);
    if (updated.kind !== 'ok') return updated;
    if (update.observables.length > 0) {
      const added = await this.#o.ops.addObservables(state.alertId, update.observables, signal, org);
      if (added.kind !== 'ok') return added;
    }
    return { kind: 'ok', state: { ...state, mail: update.state }, changes: update.changes };
  }

  /** The mail's file observables not among `sent`: their bytes are no longer needed (a failure only leaves a file behind). */
  async #releaseUnsent(alert: Alert, sent: readonly Observable[]): Promise<void> {
    const unsent = alert.observables.filter((o) => o.attachment !== undefined && !sent.includes(o));
    if (unsent.length > 0) await this.#o.ops.releaseFiles?.(unsent).catch(() => undefined);
  }

  async #notify(state: MailKeyState, previousSeverity: Severity | null, alert: Alert): Promise<void> {
    const { notifier, notifyMinSeverity = 4 } = this.#o;
    if (!notifier || state.mail.severity < notifyMinSeverity) return;
    const iocs = alert.observables.filter((o) => o.ioc === true).slice(0, NOTIFY_IOCS_MAX).map((o) => ({ dataType: o.dataType, data: o.data }));
    const event: NotificationEvent = {
      sourceRef: state.sourceRef,
      alertId: state.alertId,
      title: state.mail.title,
      severity: state.mail.severity,
      previousSeverity,
      sightings: state.mail.updateCount + 1,
      firstSeen: state.mail.firstAt,
      lastSeen: state.lastReceived,
      organisation: this.#o.target.organisation,
      iocs,
    };
    await notifier.notify(event);
  }
}

interface Generation {
  readonly generation: number;
  readonly sourceRef: string;
  readonly previous: PreviousAlert | null;
}

function nextGeneration(mail: HeldMail, why: string, after: MailKeyState): Generation {
  const generation = after.generation + 1;
  return { generation, sourceRef: mailGenerationSourceRef(mail.alert.sourceRef, generation), previous: { id: after.alertId, sourceRef: after.sourceRef, why } };
}

/** The description of an incident's next alert: a line naming the previous one first. */
function linked(description: string, previous: PreviousAlert | null): string {
  if (previous === null) return description;
  return truncate(`Follows alert ${inlineCode(previous.id)} (${inlineCode(previous.sourceRef)}) of the same incident: ${escapeText(previous.why)} in TheHive.\n\n${description}`, DESCRIPTION_MAX);
}
