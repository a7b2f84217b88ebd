/**
 * What to send of an alert, and which rule TheHive refused (issue 14). An alert's `meta` (how
 * `alert.rules` shaped it) is tracehive's own: it never goes over the wire. When TheHive refuses
 * a value a rule set (thehive-api §3.2: an unknown custom field fails the whole create with 404
 * `NotFoundError` "CustomField <name> not found"; likewise, on TheHive 5, an unknown case template
 * or ATT&CK pattern [infer]; an organisation the API user is not in: 403 §2), the refusal is a
 * configuration problem of that rule, not of the alert: it is dead-lettered naming the rule.
 * Pure.
 */
import type { Alert, AlertMeta } from '../types.js';
import type { TheHiveError } from './thehive-answers.js';

/** The alert as TheHive takes it: without tracehive's `meta`. */
export function wireAlert(alert: Alert): Omit<Alert, 'meta'> {
  if (alert.meta === undefined) return alert;
  const { meta: _meta, ...rest } = alert;
  return rest;
}

/** The part of the alert the refusal names. */
const REFUSALS: readonly { readonly pattern: RegExp; readonly field: (name: string) => string; readonly what: string }[] = [
  { pattern: /^CustomField (.+) not found$/, field: (name) => `customFields.${name}`, what: 'a custom field TheHive does not have' },
  { pattern: /^CaseTemplate (.+) not found$/, field: () => 'caseTemplate', what: 'a case template TheHive does not have' },
  { pattern: /^Pattern (.+) not found$/, field: () => 'procedures', what: 'an ATT&CK pattern TheHive does not know' },
];

/**
 * The rule behind a refusal of a create, with a reason that says what to fix; null when the
 * refusal is not about a value a rule set.
 */
export function refusedRule(meta: AlertMeta | undefined, status: number, error: TheHiveError): { readonly rule: string; readonly reason: string } | null {
  if (meta === undefined) return null;
  const by = (field: string): string | undefined => meta.setBy.find((s) => s.field === field)?.rule;
  if (status === 403 && meta.organisation !== undefined) {
    const rule = by('organisation');
    if (rule === undefined) return null;
    return { rule, reason: `${rule} sends this alert to organisation ${JSON.stringify(meta.organisation)}, where TheHive refuses it (HTTP 403${error.message ? ` ${error.message}` : ''}): make the API user a member of that organisation with manageAlert/create, or fix the rule's set.organisation` };
  }
  if (status !== 404 && status !== 400) return null;
  for (const r of REFUSALS) {
    const m = r.pattern.exec(error.message);
    if (m === null) continue;
    const rule = by(r.field(m[1] as string));
    if (rule === undefined) continue;
    return { rule, reason: `${rule} sets ${r.what} (HTTP ${status} ${error.type}: ${error.message}): create it in TheHive or fix the rule, then requeue the dead letters` };
  }
  return null;
}
