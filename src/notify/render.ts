/**
 * What a notification says (issue 12 point 5): the plain-text mail and the JSON webhook body of
 * one {@link NotificationEvent}. Both carry the same fields. Every value came from the network at
 * some point (a CyberTrace line, a mail, TheHive's webhook): control characters are shown as
 * `<U+XXXX>` and line breaks become spaces, so a title cannot forge a header line or a body field.
 * Pure.
 */
import { oneLine } from '../map/controls.js';
import type { NotificationEvent } from '../lifecycle/types.js';
import type { Severity } from '../types.js';

/** The event as the outbox keeps it: a TheHive webhook may say how the severity changed when the old value is unknown. */
export interface Notification extends NotificationEvent {
  /** Instead of "new alert" when `previousSeverity` is null: `updated in TheHive`. */
  readonly change?: string;
}

/** IOCs listed at most (the lifecycle hands ten; a TheHive webhook none). */
export const MAX_IOCS = 10;

const SEVERITY_NAMES: Record<Severity, string> = { 1: 'LOW', 2: 'MEDIUM', 3: 'HIGH', 4: 'CRITICAL' };

export function severityName(severity: Severity): string {
  return SEVERITY_NAMES[severity] ?? String(severity);
}

/** `CRITICAL (HIGH → CRITICAL)`, `CRITICAL (new alert)`. */
export function severityChange(n: Notification): string {
  const now = severityName(n.severity);
  if (n.previousSeverity !== null) return `${now} (${severityName(n.previousSeverity)} → ${now})`;
  return `${now} (${n.change !== undefined ? oneLine(n.change) : 'new alert'})`;
}

/** The alert's page in TheHive, when its id is known: `<base>/alerts/<id>/details`. */
export function alertLink(n: Notification, linkBaseUrl: string): string | null {
  if (n.alertId === undefined || n.alertId === '' || linkBaseUrl === '') return null;
  return `${linkBaseUrl.replace(/\/+$/, '')}/alerts/${encodeURIComponent(n.alertId)}/details`;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : 'unknown';
}

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
}

/** The mail: subject `[tracehive] CRITICAL: <title>` and a body of `Name: value` lines. */
export function renderMail(n: Notification, linkBaseUrl: string): RenderedMail {
  const title = oneLine(n.title);
  const lines = [
    `Title: ${title}`,
    `Severity: ${severityChange(n)}`,
    ...(n.sightings > 0 ? [`Sightings: ${n.sightings}`] : []),
    `First seen: ${iso(n.firstSeen)}`,
    `Last seen: ${iso(n.lastSeen)}`,
    `Organisation: ${oneLine(n.organisation) || '(default)'}`,
    `Reference: ${oneLine(n.sourceRef)}`,
  ];
  const iocs = n.iocs.slice(0, MAX_IOCS);
  if (iocs.length > 0) lines.push('', 'IOCs:', ...iocs.map((o) => `  ${oneLine(o.dataType)}: ${oneLine(o.data)}`));
  const link = alertLink(n, linkBaseUrl);
  if (link !== null) lines.push('', `Open in TheHive: ${link}`);
  lines.push('', '-- ', 'Sent by tracehive once per alert and severity.');
  return { subject: `[tracehive] ${severityName(n.severity)}: ${title}`, text: `${lines.join('\n')}\n` };
}

/** The webhook's JSON body: the mail's fields, machine-readable. */
export function renderWebhook(n: Notification, linkBaseUrl: string, key: string): Record<string, unknown> {
  return {
    key,
    sourceRef: oneLine(n.sourceRef),
    alertId: n.alertId ?? null,
    title: oneLine(n.title),
    severity: n.severity,
    severityName: severityName(n.severity),
    previousSeverity: n.previousSeverity,
    change: severityChange(n),
    sightings: n.sightings,
    firstSeen: iso(n.firstSeen),
    lastSeen: iso(n.lastSeen),
    organisation: oneLine(n.organisation),
    iocs: n.iocs.slice(0, MAX_IOCS).map((o) => ({ dataType: oneLine(o.dataType), data: oneLine(o.data) })),
    link: alertLink(n, linkBaseUrl),
  };
}
