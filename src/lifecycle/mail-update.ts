/**
 * What an update of a SIEM notification's alert is (issue 12 point 2). A notification whose
 * incident ID already has an alert (the same sourceRef `mail-<incident id>`) updates it: severity
 * set to what the SIEM now says (raised or lowered, the change stated), the status/type/source tags
 * it states replaced, new observables added, and an "Updates" section under the description
 * listing each notification with what changed. A resend, a notification older than the last one
 * applied, and an ordinary mail sent twice (its sourceRef hashes its content) change nothing.
 *
 * Pure: the lifecycle keeps the {@link MailAlertState} (small, JSON), sends the patch and the
 * observables, and only then stores the new state; a crash in between replays the same
 * notification against the old state and sends the same absolute patch again, harmlessly.
 */
import { hash } from 'node:crypto';
import { truncate } from '../map/limits.js';
import type { Alert, Observable, Severity } from '../types.js';
import type { AlertPatch } from './types.js';
import { renderReports, renderUpdates, type MailUpdateEntry } from './mail-updates-section.js';

export type { MailUpdateEntry } from './mail-updates-section.js';

/** The shape of {@link MailAlertState}; a reader refuses a higher one. */
export const MAIL_ALERT_STATE_VERSION = 1;
/**
 * Updates listed in the description and kept in the state, newest kept: a SIEM re-notifying an
 * incident every few minutes must not grow the state or the description without end; the count
 * of the others is kept and stated.
 */
export const MAX_MAIL_UPDATES = 25;
/**
 * Digests of the notifications applied, newest kept: enough to recognise a resend of any recent
 * notification (an IMAP re-fetch, a SIEM retry), not only of the last one. 17 bytes each in JSON.
 */
export const MAX_SEEN_DIGESTS = 32;
/**
 * Observables remembered as sent, newest kept. One forgotten is at worst sent again, and TheHive
 * answers that it exists (207): a request wasted, nothing duplicated. 19 bytes each in JSON.
 */
export const MAX_OBSERVABLE_KEYS = 2000;
/** 16 hex = 64 bits: no collision among the few thousand values one alert holds. */
const DIGEST_HEX = 16;
/** The tag the mapper puts on every SIEM notification's alert (src/map/mail-alert.ts). */
const NOTIFICATION_TAG = 'siem-notification';
/** The tag the mapper puts on a reported phish's alert, and the description row naming its reporter. */
const REPORTED_TAG = 'reported';
const REPORTED_BY_ROW = /^\| Reported by \| (.{1,2000}?) \|$/m;
/** The mapper's tags made from notification fields, as `<field>:<value>`, and how updates name them. */
const FIELD_TAGS = [['status', 'Status'], ['type', 'Type'], ['source', 'Source']] as const;
/** Rows the mapper adds to the description for a mail that came over SMTP: transport, not the notification. */
const ENVELOPE_ROW = /^\| (?:Envelope from|Envelope to|SMTP client) \|.*$/gm;
const SEVERITY_NAMES: Readonly<Record<Severity, string>> = { 1: 'LOW', 2: 'MEDIUM', 3: 'HIGH', 4: 'CRITICAL' };
/** A new observable is named in the update up to this many; the rest are counted. */
const OBSERVABLES_NAMED = 5;
/** A value quoted in an update (a title, a status) is cut to this: the list stays readable and bounded. */
const VALUE_MAX = 200;

/** What tracehive remembers of what it last sent for one mail alert: small and JSON-serialisable. */
export interface MailAlertState {
  readonly version: typeof MAIL_ALERT_STATE_VERSION;
  /**
   * `notification`: a SIEM notification (updatable); `report`: a reported phish (each new reporter
   * listed, issue 13); `mail`: any other mail (never updated).
   */
  readonly kind: 'notification' | 'report' | 'mail';
  /** A report's first reporter, as its description names them (`Name <address>`). */
  readonly reporter?: string;
  readonly title: string;
  readonly severity: Severity;
  /** The alert's tags that tracehive set (never an analyst's). */
  readonly tags: readonly string[];
  /** Digests of `dataType` + `data` of the observables sent, oldest first, at most {@link MAX_OBSERVABLE_KEYS}. */
  readonly observableKeys: readonly string[];
  /** The date (epoch ms) of the latest notification applied: an earlier one is older and ignored. */
  readonly date: number;
  /** When the notification that created the alert was received (epoch ms). */
  readonly firstAt: number;
  /** The newest updates, oldest first, at most {@link MAX_MAIL_UPDATES}. */
  readonly updates: readonly MailUpdateEntry[];
  /** Updates applied in all, those no longer listed included. */
  readonly updateCount: number;
  /** Digests of the notifications applied, oldest first, at most {@link MAX_SEEN_DIGESTS}. */
  readonly digests: readonly string[];
}

/** Why {@link mailUpdate} changed nothing: an ordinary mail, a notification already applied, or one older than the last applied. */
export type MailUpdateSkip = 'mail' | 'resend' | 'older';

/** The update of one alert: what to send, and the state to keep once it is sent. */
export interface MailUpdate {
  /** Absolute values; null when nothing changed. */
  readonly patch: AlertPatch | null;
  /** Observables the alert does not have yet (`POST …/observable`), as the mapper made them. */
  readonly observables: Observable[];
  readonly state: MailAlertState;
  /** What changed, as sentences for logs and the file sink (the Updates entry says the same). */
  readonly changes: string[];
  readonly skipped: MailUpdateSkip | null;
}

/** The state of an alert just created from `alert`, received at `receivedAt`. */
export function initialMailState(alert: Alert, receivedAt: number): MailAlertState {
  const reporter = reporterOf(alert);
  return {
    version: MAIL_ALERT_STATE_VERSION,
    kind: alert.tags.includes(NOTIFICATION_TAG) ? 'notification' : reporter !== null ? 'report' : 'mail',
    ...(reporter !== null ? { reporter } : {}),
    title: alert.title,
    severity: alert.severity,
    tags: [...alert.tags],
    observableKeys: newest(unique(alert.observables.map(observableKey)), MAX_OBSERVABLE_KEYS),
    date: alert.date,
    firstAt: receivedAt,
    updates: [],
    updateCount: 0,
    digests: [notificationDigest(alert)],
  };
}

/**
 * The update `next` (a mapped mail with the alert's sourceRef, received at `receivedAt`) makes to
 * the alert `previous` describes. Nothing changes for an ordinary mail (its sourceRef hashes its
 * content: the same ref is the same mail), for a notification already applied (its digest, over
 * what the SIEM wrote and not the transport, is among the last {@link MAX_SEEN_DIGESTS}), and for
 * one older than the last applied (its date, the notification's own `Date` field or else the
 * mail's, is earlier). A field the notification does not state keeps its tag: silence is no change.
 */
export function mailUpdate(previous: MailAlertState, next: Alert, receivedAt: number): MailUpdate {
  const unchanged = (skipped: MailUpdateSkip): MailUpdate => ({ patch: null, observables: [], state: previous, changes: [], skipped });
  if (previous.kind === 'report') return reportUpdate(previous, next, receivedAt, unchanged);
  if (previous.kind === 'mail' || !next.tags.includes(NOTIFICATION_TAG)) return unchanged('mail');
  const digest = notificationDigest(next);
  if (previous.digests.includes(digest)) return unchanged('resend');
  if (next.date < previous.date) return unchanged('older');

  const changes: string[] = [];
  if (next.title !== previous.title) changes.push(`Title: ${quote(previous.title)} → ${quote(next.title)}`);
  if (next.severity !== previous.severity) {
    const how = next.severity > previous.severity ? 'raised' : 'lowered';
    changes.push(`Severity ${how}: ${SEVERITY_NAMES[previous.severity]} → ${SEVERITY_NAMES[next.severity]}`);
  }
  const removed: string[] = [];
  for (const [prefix, name] of FIELD_TAGS) {
    const stated = fieldTags(next.tags, prefix);
    if (stated.length === 0) continue;
    const held = fieldTags(previous.tags, prefix);
    if (sameSet(held, stated)) continue;
    removed.push(...held.filter((t) => !stated.includes(t)));
    changes.push(`${name}: ${quote(valuesOf(held, prefix))} → ${quote(valuesOf(stated, prefix))}`);
  }
  const added = next.tags.filter((t) => !previous.tags.includes(t));

  const known = new Set(previous.observableKeys);
  const fresh = uniqueBy(next.observables, observableKey).filter((o) => !known.has(observableKey(o)));
  if (fresh.length > 0) changes.push(observablesChange(fresh));
  if (changes.length === 0) changes.push('details changed (fields, description or raw events)');

  const updates = [...previous.updates, { at: receivedAt, changes }];
  const state: MailAlertState = {
    ...previous,
    title: next.title,
    severity: next.severity,
    tags: [...previous.tags.filter((t) => !removed.includes(t)), ...added],
    observableKeys: newest([...previous.observableKeys, ...fresh.map(observableKey)], MAX_OBSERVABLE_KEYS),
    date: next.date,
    updates: newest(updates, MAX_MAIL_UPDATES),
    updateCount: previous.updateCount + 1,
    digests: newest([...previous.digests, digest], MAX_SEEN_DIGESTS),
  };
  // Fields in one order (title, severity, tags, description): logs and the file sink read alike.
  const patch: AlertPatch = {
    ...(next.title !== previous.title ? { title: next.title } : {}),
    ...(next.severity !== previous.severity ? { severity: next.severity } : {}),
    ...(added.length > 0 ? { addTags: added } : {}),
    ...(removed.length > 0 ? { removeTags: removed } : {}),
    description: renderUpdates(next.description, state.firstAt, state.updates, state.updateCount),
  };
  return { patch, observables: fresh, state, changes, skipped: null };
}

/**
 * Another report of a reported phish's alert (its sourceRef is the phish's, map/phish-ref.ts): the
 * new reporter is listed under the description (the Reports section), the report's new tags and
 * observables (its own attachments, its `.eml` for an inline forward) are added. Nothing is
 * removed, and the same report fetched again (its digest, over the whole mapped report, is known)
 * changes nothing.
 */
function reportUpdate(previous: MailAlertState, next: Alert, receivedAt: number, unchanged: (skipped: MailUpdateSkip) => MailUpdate): MailUpdate {
  const reporter = reporterOf(next);
  if (reporter === null) return unchanged('mail');
  const digest = notificationDigest(next);
  if (previous.digests.includes(digest)) return unchanged('resend');
  const known = new Set(previous.observableKeys);
  const fresh = uniqueBy(next.observables, observableKey).filter((o) => !known.has(observableKey(o)));
  const added = next.tags.filter((t) => !previous.tags.includes(t));
  const changes = [`Reported again by ${reporter}`];
  if (fresh.length > 0) changes.push(observablesChange(fresh));
  const updates = [...previous.updates, { at: receivedAt, changes }];
  const state: MailAlertState = {
    ...previous,
    tags: [...previous.tags, ...added],
    observableKeys: newest([...previous.observableKeys, ...fresh.map(observableKey)], MAX_OBSERVABLE_KEYS),
    updates: newest(updates, MAX_MAIL_UPDATES),
    updateCount: previous.updateCount + 1,
    digests: newest([...previous.digests, digest], MAX_SEEN_DIGESTS),
  };
  const patch: AlertPatch = {
    ...(added.length > 0 ? { addTags: added } : {}),
    description: renderReports(next.description, state.firstAt, previous.reporter ?? '(unknown)', state.updates, state.updateCount),
  };
  return { patch, observables: fresh, state, changes, skipped: null };
}

/** The reporter a reported phish's description names (its `Reported by` row, map/mail-alert.ts), unescaped; null for any other alert. */
export function reporterOf(alert: Alert): string | null {
  if (!alert.tags.includes(REPORTED_TAG)) return null;
  const row = REPORTED_BY_ROW.exec(alert.description);
  return row === null ? null : (row[1] as string).replace(/\\(.)/g, '$1').trim();
}

/**
 * What identifies a notification: what the SIEM wrote (title, severity, tags, observables and the
 * description without the SMTP envelope rows), never the transport (Message-ID, Received, the
 * client) nor the receive time, so the same notification resent or fetched again has the same one.
 */
export function notificationDigest(alert: Alert): string {
  const description = alert.description.replace(ENVELOPE_ROW, '');
  const identity = JSON.stringify([alert.title, alert.severity, [...alert.tags].sort(), unique(alert.observables.map(observableKey)).sort(), description]);
  return hash('sha256', identity, 'hex').slice(0, DIGEST_HEX);
}

/** An observable as TheHive tells two apart: its dataType and data. */
function observableKey(o: Observable): string {
  return hash('sha256', `${o.dataType}\n${o.data}`, 'hex').slice(0, DIGEST_HEX);
}

function observablesChange(fresh: readonly Observable[]): string {
  const named = fresh.slice(0, OBSERVABLES_NAMED).map((o) => `${o.dataType} ${quote(o.data)}`);
  const more = fresh.length > OBSERVABLES_NAMED ? ` and ${fresh.length - OBSERVABLES_NAMED} more` : '';
  return `${fresh.length} new observable${fresh.length === 1 ? '' : 's'}: ${named.join(', ')}${more}`;
}

function fieldTags(tags: readonly string[], prefix: string): string[] {
  return tags.filter((t) => t.startsWith(`${prefix}:`));
}

function valuesOf(tags: readonly string[], prefix: string): string {
  return tags.length === 0 ? '(none)' : tags.map((t) => t.slice(prefix.length + 1)).join(', ');
}

function quote(value: string): string {
  return truncate(value, VALUE_MAX);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

function uniqueBy<T>(xs: readonly T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function newest<T>(xs: readonly T[], max: number): T[] {
  return xs.length > max ? xs.slice(xs.length - max) : [...xs];
}
