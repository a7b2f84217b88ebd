/**
 * A key's alert as TheHive gets it, from its state: the create body, and the update (absolute
 * values, so the same state always gives the same request). Pure.
 *
 * Title: the first sighting's, with `(N sightings)` once there are more. Description: how many
 * sightings of what between when and when, a link to the key's previous alert, the newest sightings
 * (at most {@link ROWS_MAX}, newest first), then the first sighting's own description.
 */
import type { Alert, Observable, Severity } from '../types.js';
import { escapeCell, escapeText, inlineCode } from '../map/description.js';
import { DESCRIPTION_MAX, TITLE_MAX, truncate } from '../map/limits.js';
import type { AlertPatch } from './types.js';
import { ROWS_MAX, type KeyState } from './state.js';

/** The alert to create for `state`, with the observables collected for it. */
export function createBody(state: KeyState, observables: readonly Observable[], tlpPap: { readonly tlp: number; readonly pap: number } = state.base): Alert {
  return {
    type: state.base.type,
    source: state.base.source,
    sourceRef: state.sourceRef,
    title: titleOf(state),
    description: descriptionOf(state),
    severity: state.severity,
    date: Number.isFinite(state.first) ? state.first : state.lastReceived,
    tags: [...state.tags],
    tlp: tlpPap.tlp,
    pap: tlpPap.pap,
    observables: [...observables],
    ...ruleFieldsOf(state),
  };
}

/**
 * What rules set on the first sighting (custom fields, case template, link, assignee, procedures)
 * and the meta naming them, with a rule's organisation: the create goes there (X-Organisation), as
 * every later request does.
 */
function ruleFieldsOf(state: KeyState): Partial<Alert> {
  const r = state.base.ruleSet;
  const organisation = typeof state.organisation === 'string' ? { organisation: state.organisation } : {};
  const meta = r?.rules !== undefined || typeof state.organisation === 'string' ? { meta: { rules: [...(r?.rules ?? [])], setBy: [...(r?.setBy ?? [])], ...organisation } } : {};
  if (r === undefined) return meta;
  return {
    ...(r.customFields === undefined ? {} : { customFields: r.customFields }),
    ...(r.caseTemplate === undefined ? {} : { caseTemplate: r.caseTemplate }),
    ...(r.externalLink === undefined ? {} : { externalLink: r.externalLink }),
    ...(r.assignee === undefined ? {} : { assignee: r.assignee }),
    ...(r.procedures === undefined ? {} : { procedures: r.procedures }),
    ...meta,
  };
}

/**
 * The update from what was sent (`before`) to `after`: title and description always (absolute),
 * the severity when it changed, the tags not sent yet. tracehive never removes an analyst's tag.
 */
export function patchOf(before: KeyState, after: KeyState): AlertPatch {
  const sent = new Set(before.tags);
  const addTags = after.tags.filter((t) => !sent.has(t));
  return {
    title: titleOf(after),
    description: descriptionOf(after),
    ...(after.severity !== before.severity ? { severity: after.severity as Severity } : {}),
    ...(addTags.length > 0 ? { addTags } : {}),
  };
}

export function titleOf(state: KeyState): string {
  return state.count > 1 ? truncate(`${state.base.title} (${state.count} sightings)`, TITLE_MAX) : state.base.title;
}

export function descriptionOf(state: KeyState): string {
  const parts: string[] = [];
  if (state.previous !== null) {
    parts.push(`Follows alert ${inlineCode(state.previous.id)} (${inlineCode(state.previous.sourceRef)}) of the same key: ${escapeText(state.previous.why)} in TheHive.`);
  }
  if (state.count > 1) {
    const what = state.base.indicator === null ? 'detections' : `sightings of ${inlineCode(state.base.indicator)}`;
    parts.push(`${state.count} ${what} in feed category ${inlineCode(state.base.category)} between ${iso(state.first)} and ${iso(state.last)}.`);
    const rows = [...state.rows].reverse().map((r, i) => `| ${[String(state.count - i), iso(r.at), r.src, r.dst, r.host, r.user].map((c) => escapeCell(c)).join(' | ')} |`);
    parts.push(`| # | time | source | destination | host | user |\n|---|---|---|---|---|---|\n${rows.join('\n')}`);
    if (state.count > state.rows.length) parts.push(`_${state.count - state.rows.length} older sightings not listed (the newest ${ROWS_MAX} are)._`);
  }
  if (state.observablesLeftOut > 0) parts.push(`_${state.observablesLeftOut} observables of later sightings not added: an alert takes at most 1000._`);
  if (parts.length === 0) return state.base.description;
  parts.push('### First sighting', state.base.description);
  return truncate(parts.join('\n\n'), DESCRIPTION_MAX);
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '-';
}
