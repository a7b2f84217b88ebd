/**
 * The seams of the alert lifecycle (issue 12): one open alert per key, updated in place. What the
 * lifecycle asks of a sink ({@link AlertOps}: TheHive 5 or 4, or the file sink) and of the
 * notifier ({@link Notifier}). Pure types: the lifecycle decides, the sinks and the notifier do I/O.
 */
import type { Observable, Outcome, Severity } from '../types.js';

/** The answer of one lifecycle request: a value, or how to go on (retry later, or give up: a dead letter). */
export type OpResult<T> = { readonly kind: 'ok'; readonly value: T } | Exclude<Outcome, { readonly kind: 'delivered' }>;

/**
 * Where an alert stands in TheHive: `open` takes sightings (TheHive 5 stage New or InProgress,
 * TheHive 4 status New or Updated); `closed` does not (imported into a case, closed, ignored);
 * `gone` was deleted (404).
 */
export type AlertStatus = 'open' | 'closed' | 'gone';

/** What tracehive sets on an existing alert: only what it owns, as absolute values (a resend is harmless). */
export interface AlertPatch {
  readonly title?: string;
  readonly description?: string;
  /** Only when it changes; detections only ever raise it, SIEM notifications may lower it. */
  readonly severity?: Severity;
  /** Tags added (never an analyst's removed). */
  readonly addTags?: readonly string[];
  /** Tracehive's own tags it replaces (a SIEM status tag that changed); never an analyst's. */
  readonly removeTags?: readonly string[];
}

/** An alert as a lookup finds it. */
export interface FoundAlert {
  readonly id: string;
  readonly sourceRef: string;
  readonly status: AlertStatus;
  readonly severity: Severity;
  readonly tags: readonly string[];
}

/**
 * The requests of the lifecycle, each counted by the sink's rate limit (`queue.ratePerSec`).
 * `organisation`: the one a rule created the alert in (sent as `X-Organisation`, as on the create:
 * TheHive finds an alert only in its own organisation); undefined for `thehive.organisation`.
 */
export interface AlertOps {
  /** `POST …/alert`: the new alert's id; on "already exists" the existing alert's id (`duplicate`). */
  create(alert: import('../types.js').Alert, signal: AbortSignal): Promise<OpResult<{ readonly id: string; readonly duplicate: boolean }>>;
  /** `GET …/alert/{id}`: where it stands (`gone` on 404). */
  get(id: string, signal: AbortSignal, organisation?: string): Promise<OpResult<FoundAlert | { readonly id: string; readonly status: 'gone' }>>;
  /** `PATCH …/alert/{id}` (v1 answers 204, v0 200). */
  update(id: string, patch: AlertPatch, signal: AbortSignal, organisation?: string): Promise<OpResult<void>>;
  /** `POST /api/v1/alert/{id}/observable` (v0: `…/artifact`); 201 or 207 with the ones already there: both ok. */
  addObservables(id: string, observables: readonly Observable[], signal: AbortSignal, organisation?: string): Promise<OpResult<{ readonly added: number; readonly existed: number }>>;
  /** `POST /api/v1/query` (listAlert + filter, newest first): by sourceRef, or by a tag (`key:<hash>`); null when none. */
  find(by: { readonly sourceRef: string } | { readonly tag: string }, signal: AbortSignal, organisation?: string): Promise<OpResult<FoundAlert | null>>;
  /**
   * A mail's files that will not be sent (the alert holds them already, or the mail changed nothing):
   * its references to their bytes in `spool.dir/files` go. Absent where no files are kept.
   */
  releaseFiles?(observables: readonly Observable[]): Promise<void>;
}

/** One notification: an alert created or updated to `notify.minSeverity` or above. */
export interface NotificationEvent {
  /** The alert's sourceRef: with `severity`, what makes a notification once only. */
  readonly sourceRef: string;
  /** TheHive's `_id`, when known (the link). */
  readonly alertId?: string;
  readonly title: string;
  readonly severity: Severity;
  /** Before this change; null for a new alert. */
  readonly previousSeverity: Severity | null;
  readonly sightings: number;
  /** Epoch ms. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly organisation: string;
  /** Up to ten `ioc: true` observables. */
  readonly iocs: readonly { readonly dataType: string; readonly data: string }[];
}

/** Sends notifications at least once, durably, without ever blocking alert delivery. */
export interface Notifier {
  /**
   * Records the notification durably (resolves once it is on disk) unless one was already recorded
   * for this sourceRef and severity; the sending happens later, retried, dead-lettered in the end.
   */
  notify(event: NotificationEvent): Promise<void>;
}
