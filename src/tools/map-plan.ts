/**
 * What `tracehive map` says serve would do with each alert it prints (issue 12 point 7): create
 * the key's alert, update the key's open alert, or change nothing (a line seen again, a mail
 * resent). The same rules as the lifecycle (lifecycle.ts, mail-lifecycle.ts), without TheHive:
 * the first sighting of a key in one run creates its alert unless the state file already holds
 * an alert of the key within `alert.updateWindowMs`; later sightings update it. Pure: the command
 * reads the state files and hands over what they hold.
 *
 * What map cannot know offline is whether TheHive still has the alert open: serve asks before it
 * updates, and opens the key's next alert when the analyst closed or imported it. A plan of
 * `update` therefore means "update, if the alert is still open in TheHive".
 */
import { detectionKey, detectionSourceRef, mailKey, type Target } from '../lifecycle/key.js';
import type { MailKeyState } from '../lifecycle/mail-lifecycle.js';
import { initialMailState, mailUpdate, type MailAlertState, type MailUpdateSkip } from '../lifecycle/mail-update.js';
import type { KeyState } from '../lifecycle/state.js';
import { sourceRefFor } from '../map/source-ref.js';
import type { Alert, DetectionRecord } from '../types.js';

/** What serve would do with one alert. */
export type Plan =
  /** A new alert with this sourceRef; `follows`: the key's previous alert, whose window passed. */
  | { readonly action: 'create'; readonly sourceRef: string; readonly follows?: string }
  /** An update of the open alert with this sourceRef; `changes`: what a SIEM re-notification changes. */
  | { readonly action: 'update'; readonly sourceRef: string; readonly changes?: readonly string[] }
  /** Nothing sent: the alert with this sourceRef already holds it, for `reason`. */
  | { readonly action: 'unchanged'; readonly sourceRef: string; readonly reason: string };

/** What the state files hold (read-only), by key. */
export interface KnownStates {
  detection(key: string): KeyState | undefined;
  mail(key: string): MailKeyState | undefined;
}

export interface MapPlannerOptions {
  /** `alert.updateWindowMs`; 0 = lifecycle off: every alert is created with its own sourceRef. */
  readonly windowMs: number;
  /** `alert.updateKey`. */
  readonly keyFields: readonly string[];
  /** The TheHive target and organisation (runtime.ts `lifecycleTarget`). */
  readonly target: Target;
  readonly known: KnownStates;
}

/** One detection key as this run has seen it so far. */
interface RunKey {
  readonly sourceRef: string;
  readonly generation: number;
  lastReceived: number;
  /** Lines of this run. */
  readonly ids: Set<string>;
  /** Lines the state file counted already. */
  readonly counted: ReadonlySet<string>;
}

/** One mail key as this run has seen it so far. */
interface RunMail {
  readonly sourceRef: string;
  mail: MailAlertState;
}

/** Why a line the state file holds changes nothing. */
const COUNTED = 'this line is counted already';

/** Why a mail changes nothing, as the plan says it. */
const SKIP_REASONS: Readonly<Record<MailUpdateSkip, string>> = {
  mail: 'the same mail again (an ordinary mail is never updated)',
  resend: 'the same notification again (a resend)',
  older: 'a notification older than the last one applied',
};

/** Plans one run of `tracehive map`, alert after alert, in input order. */
export class MapPlanner {
  readonly #o: MapPlannerOptions;
  readonly #keys = new Map<string, RunKey>();
  readonly #mails = new Map<string, RunMail>();
  readonly #plain = new Set<string>();

  constructor(options: MapPlannerOptions) {
    this.#o = options;
  }

  /** Whether the lifecycle is on (`alert.updateWindowMs` > 0). */
  get lifecycle(): boolean {
    return this.#o.windowMs > 0;
  }

  /** A detection line received at `receivedAt` (map: now). */
  detection(record: DetectionRecord, alert: Alert, receivedAt: number): Plan {
    if (!this.lifecycle) return this.plain(alert);
    const { windowMs } = this.#o;
    const key = detectionKey(record, this.#o.keyFields, this.#o.target);
    const id = sourceRefFor(record.line);
    const seen = this.#keys.get(key);
    if (seen !== undefined) {
      if (seen.counted.has(id)) return { action: 'unchanged', sourceRef: seen.sourceRef, reason: COUNTED };
      if (seen.ids.has(id)) return { action: 'unchanged', sourceRef: seen.sourceRef, reason: 'the same line again: one sighting' };
      if (receivedAt - seen.lastReceived > windowMs) return this.#open(key, seen.generation + 1, id, receivedAt, seen.sourceRef);
      seen.ids.add(id);
      seen.lastReceived = Math.max(seen.lastReceived, receivedAt);
      return { action: 'update', sourceRef: seen.sourceRef };
    }
    const state = this.#o.known.detection(key);
    if (state === undefined || state.alertId === null) return this.#open(key, 1, id, receivedAt);
    const counted = new Set(state.ids);
    if (counted.has(id)) {
      this.#keys.set(key, { sourceRef: state.sourceRef, generation: state.generation, lastReceived: state.lastReceived, ids: new Set(), counted });
      return { action: 'unchanged', sourceRef: state.sourceRef, reason: COUNTED };
    }
    if (receivedAt - state.lastReceived > windowMs) return this.#open(key, state.generation + 1, id, receivedAt, state.sourceRef);
    this.#keys.set(key, { sourceRef: state.sourceRef, generation: state.generation, lastReceived: Math.max(state.lastReceived, receivedAt), ids: new Set([id]), counted });
    return { action: 'update', sourceRef: state.sourceRef };
  }

  /** A mail's alert received at `receivedAt`. */
  mail(alert: Alert, receivedAt: number): Plan {
    if (!this.lifecycle) return this.plain(alert);
    const key = mailKey(alert.sourceRef, this.#o.target);
    let seen = this.#mails.get(key);
    if (seen === undefined) {
      const state = this.#o.known.mail(key);
      if (state === undefined) {
        this.#mails.set(key, { sourceRef: alert.sourceRef, mail: initialMailState(alert, receivedAt) });
        return { action: 'create', sourceRef: alert.sourceRef };
      }
      seen = { sourceRef: state.sourceRef, mail: state.mail };
      this.#mails.set(key, seen);
    }
    const update = mailUpdate(seen.mail, alert, receivedAt);
    if (update.patch === null) return { action: 'unchanged', sourceRef: seen.sourceRef, reason: SKIP_REASONS[update.skipped ?? 'mail'] };
    seen.mail = update.state;
    return { action: 'update', sourceRef: seen.sourceRef, changes: update.changes };
  }

  /**
   * An alert outside the lifecycle (a service alert, or any alert when it is off): created with
   * its own sourceRef; the same sourceRef again meets TheHive's "already exists".
   */
  plain(alert: Alert): Plan {
    if (this.#plain.has(alert.sourceRef)) return { action: 'unchanged', sourceRef: alert.sourceRef, reason: 'the same sourceRef again: TheHive answers "already exists"' };
    this.#plain.add(alert.sourceRef);
    return { action: 'create', sourceRef: alert.sourceRef };
  }

  #open(key: string, generation: number, id: string, receivedAt: number, follows?: string): Plan {
    const sourceRef = detectionSourceRef(key, generation);
    this.#keys.set(key, { sourceRef, generation, lastReceived: receivedAt, ids: new Set([id]), counted: new Set() });
    return { action: 'create', sourceRef, ...(follows !== undefined ? { follows } : {}) };
  }
}

/** The plan as one phrase: `create ct-k…`, `update of ct-k…`, `unchanged: same as mail-…`. */
export function formatPlan(plan: Plan): string {
  switch (plan.action) {
    case 'create':
      return `create ${plan.sourceRef}${plan.follows !== undefined ? ` (the window of ${plan.follows} passed)` : ''}`;
    case 'update':
      return `update of ${plan.sourceRef}${plan.changes !== undefined && plan.changes.length > 0 ? ` (${plan.changes.join('; ')})` : ''}`;
    case 'unchanged':
      return `unchanged: same as ${plan.sourceRef} (${plan.reason})`;
  }
}
