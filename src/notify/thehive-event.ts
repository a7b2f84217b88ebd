/**
 * TheHive's own webhooks (`notification.webhook.endpoints`), read: what an audit event says about
 * an alert. TheHive 5 POSTs `{operation: "create"|"update"|"delete", objectType: "Alert",
 * objectId, object: {_id, title, severity, sourceRef, status, stage, …}, details: {changed
 * fields}, organisation}`; TheHive 4 the same with `objectType: "alert"` and operations
 * `Creation`/`Update`/`Delete`. Anything else (a case, a task, an observable) is not an alert
 * event and is ignored. Pure.
 */
import type { AlertStatus } from '../lifecycle/types.js';
import type { Severity } from '../types.js';
import type { Notification } from './render.js';

/** What the integrator's lifecycle learns from an alert event. */
export interface AlertEvent {
  readonly id: string;
  readonly sourceRef?: string;
  readonly status: AlertStatus;
}

export interface ReadAlertEvent {
  /** For the lifecycle; absent when the event does not say where the alert stands. */
  readonly status?: AlertEvent;
  /** The alert as a notification (without the severity test: the caller applies notify.minSeverity). */
  readonly notification?: Notification;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** `create`, `update` or `delete` (TheHive 4's `Creation`, `Deletion` too); null for anything else. */
function operationOf(v: unknown): 'create' | 'update' | 'delete' | null {
  const op = typeof v === 'string' ? v.toLowerCase() : '';
  if (op === 'create' || op === 'creation') return 'create';
  if (op === 'update') return 'update';
  if (op === 'delete' || op === 'deletion') return 'delete';
  return null;
}

/** Open: TheHive 5 stage New/InProgress, TheHive 4 status New/Updated; closed: imported, closed, ignored. */
export function alertStatusOf(alert: Json): 'open' | 'closed' | undefined {
  const stage = str(alert.stage)?.toLowerCase();
  if (stage !== undefined) return stage === 'new' || stage === 'inprogress' ? 'open' : 'closed';
  const status = str(alert.status)?.toLowerCase();
  if (status === undefined) return undefined;
  return status === 'new' || status === 'updated' ? 'open' : 'closed';
}

/** The alert event in a webhook body, or null when the body is no alert event. */
export function readAlertEvent(body: unknown): ReadAlertEvent | null {
  if (!isObject(body) || str(body.objectType)?.toLowerCase() !== 'alert') return null;
  const operation = operationOf(body.operation);
  if (operation === null) return null;
  const object = isObject(body.object) ? body.object : {};
  const details = isObject(body.details) ? body.details : {};
  // An update's object is the alert after the change; its details are the changed fields: they win.
  const alert: Json = { ...object, ...details };
  const id = str(object._id) ?? str(object.id) ?? str(body.objectId) ?? str(body.rootId);
  if (id === undefined) return null;
  const sourceRef = str(alert.sourceRef);
  const open = operation === 'delete' ? 'gone' : alertStatusOf(alert);
  const status: AlertEvent | undefined = open === undefined ? undefined : { id, ...(sourceRef ? { sourceRef } : {}), status: open };
  const severity = num(alert.severity);
  if (operation === 'delete' || severity === undefined || ![1, 2, 3, 4].includes(severity)) return status ? { status } : {};
  const now = num(body.startDate) ?? Date.now();
  const first = num(object.date) ?? num(object._createdAt) ?? num(object.createdAt) ?? now;
  const last = num(object._updatedAt) ?? num(object.updatedAt) ?? num(body.startDate) ?? first;
  const notification: Notification = {
    // Keyed by the alert's sourceRef when it has one: an alert tracehive created and notified is not notified again.
    sourceRef: sourceRef ?? `thehive:${id}`,
    alertId: id,
    title: str(alert.title) ?? '(no title)',
    severity: severity as Severity,
    previousSeverity: null,
    ...(operation === 'update' ? { change: 'updated in TheHive' } : {}),
    sightings: 0,
    firstSeen: first,
    lastSeen: last,
    organisation: str(body.organisation) ?? str(object.organisation) ?? '',
    iocs: [],
  };
  return { ...(status ? { status } : {}), notification };
}
