/**
 * The lines the file sink writes for the alert lifecycle, besides the alerts themselves: what an
 * update of an alert sets (absolute values, as TheHive would be sent them) and the observables added
 * to it. Each names the alert by its sourceRef, so `jq 'select(.update.sourceRef == "…")'` follows one.
 */
import type { AlertPatch } from '../lifecycle/types.js';
import type { Observable } from '../types.js';

/** `{"update":{"sourceRef":…,"set":{title, description, severity?, addTags?, removeTags?}}}`. */
export function updateLine(sourceRef: string, patch: AlertPatch): string {
  return JSON.stringify({ update: { sourceRef, set: patch } });
}

/** `{"observables":{"sourceRef":…,"add":[…]}}`. */
export function observablesLine(sourceRef: string, observables: readonly Observable[]): string {
  return JSON.stringify({ observables: { sourceRef, add: observables } });
}
