/**
 * What tracehive remembers of a key's alert, and how sightings change it. Pure: the store
 * (state-store.ts) keeps it on disk, the lifecycle (lifecycle.ts) decides when to send what.
 *
 * A state holds absolute values (the sighting count, first and last seen, the newest rows, the
 * ids of the sightings counted), so an update built from it is the same whenever it is sent: a
 * resend after a crash sets what was set, and a replayed line is recognised by its id, never
 * counted twice. Everything in it is bounded ({@link ROWS_MAX}, {@link IDS_MAX},
 * {@link OBSERVABLES_MAX}), so a key seen a million times costs what a key seen a thousand does.
 */
import type { Alert, Observable, Severity } from '../types.js';
import { cleanTags } from '../map/limits.js';
import { keyTag } from './key.js';
import type { Sighting, SightingRow } from './sighting.js';

/**
 * The format of a persisted state; a newer one is refused, not misread. 2 added `organisation`
 * (a release before would send the updates of a rule's alert to thehive.organisation); a 1
 * state is read, its organisation taken from its next sighting ({@link organisationOf}).
 */
export const STATE_VERSION = 2;
/** Rows of the sightings table kept (the newest): enough to triage, small enough to PATCH often. */
export const ROWS_MAX = 100;
/**
 * Sighting ids remembered per alert (the newest): a line replayed after this many newer sightings
 * of its key could be counted again. A crash replays at most one flush's sightings and CyberTrace
 * resends its last lines, both far fewer; 2,000 ids are a 50 KB state line for the busiest key.
 * The store also caps the ids of all keys together (state-store.ts).
 */
export const IDS_MAX = 2000;
/** Observables per alert, as for one detection (map/alert.ts) and for mails (map/ioc.ts). */
export const OBSERVABLES_MAX = 1000;

/** The first sighting's alert, less its observables: the alert's title and its "first sighting" section. */
export interface BaseAlert {
  readonly type: string;
  readonly source: string;
  readonly title: string;
  readonly description: string;
  readonly tlp: number;
  readonly pap: number;
  readonly indicator: string | null;
  readonly category: string;
  /**
   * What `alert.rules` set on the first sighting's alert beyond title, tags and severity (custom
   * fields, case template, link, assignee, ATT&CK procedures), and which rules did: the create
   * carries them, a refusal names the rule. Absent when no rule matched (and in older states).
   */
  readonly ruleSet?: RuleSetFields;
}

/** The fields of an alert only rules set (see {@link BaseAlert.ruleSet}). */
export interface RuleSetFields {
  readonly customFields?: Alert['customFields'];
  readonly caseTemplate?: string;
  readonly externalLink?: string;
  readonly assignee?: string;
  readonly procedures?: Alert['procedures'];
  readonly rules?: readonly string[];
  readonly setBy?: readonly { readonly field: string; readonly rule: string }[];
}

/** The rule-set fields of `a`, or undefined when no rule touched it. */
function ruleSetOf(a: Alert): RuleSetFields | undefined {
  const out: { -readonly [K in keyof RuleSetFields]: RuleSetFields[K] } = {};
  if (a.customFields !== undefined) out.customFields = a.customFields;
  if (a.caseTemplate !== undefined) out.caseTemplate = a.caseTemplate;
  if (a.externalLink !== undefined) out.externalLink = a.externalLink;
  if (a.assignee !== undefined) out.assignee = a.assignee;
  if (a.procedures !== undefined) out.procedures = a.procedures;
  if (a.meta !== undefined && a.meta.rules.length > 0) out.rules = a.meta.rules;
  if (a.meta !== undefined && a.meta.setBy.length > 0) out.setBy = a.meta.setBy;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The alert of a key before this one, which the description links. */
export interface PreviousAlert {
  readonly id: string;
  readonly sourceRef: string;
  /** `closed`, `imported`, `deleted` or `expired`. */
  readonly why: string;
}

/** One key's alert as tracehive last sent it (or is about to). */
export interface KeyState {
  readonly v: number;
  readonly key: string;
  readonly generation: number;
  readonly sourceRef: string;
  /** TheHive's `_id` once created (the file sink: the sourceRef). */
  readonly alertId: string | null;
  readonly count: number;
  /** Event times of the first and last sightings (ms). */
  readonly first: number;
  readonly last: number;
  /** When the newest sighting was received: the window's clock. */
  readonly lastReceived: number;
  readonly severity: Severity;
  readonly tags: readonly string[];
  /** `dataType \0 data` of the observables sent. */
  readonly observables: readonly string[];
  /** Observables not added over {@link OBSERVABLES_MAX}. */
  readonly observablesLeftOut: number;
  /** The newest rows, newest last. */
  readonly rows: readonly SightingRow[];
  /** Ids of the sightings counted, newest last. */
  readonly ids: readonly string[];
  readonly base: BaseAlert;
  readonly previous: PreviousAlert | null;
  /**
   * The TheHive organisation a rule created the alert in (`X-Organisation` on every request about
   * it); null: thehive.organisation. Absent from a format-1 state, which did not record it.
   */
  readonly organisation?: string | null;
}

/**
 * The organisation of `state`'s alert, for its requests (undefined: thehive.organisation). A
 * format-1 state did not record it: the alert was created with the organisation the same rules
 * give this key's sightings, so `sighting`'s is taken.
 */
export function organisationOf(state: KeyState, sighting: Sighting): string | undefined {
  const org = state.organisation === undefined ? sighting.alert.meta?.organisation : state.organisation;
  return org ?? undefined;
}

/** What {@link applySightings} made of new sightings. */
export interface Applied {
  readonly state: KeyState;
  /** Observables not sent before, to add to the alert. */
  readonly observables: Observable[];
  /** Tags not sent before. */
  readonly addTags: string[];
  /** Sightings counted (the others were known ids). */
  readonly counted: number;
}

/** A new generation's state, before any sighting: its base is the first sighting's alert. */
export function newGeneration(key: string, generation: number, sourceRef: string, first: Sighting, previous: PreviousAlert | null): KeyState {
  const a = first.alert;
  return {
    v: STATE_VERSION,
    key,
    generation,
    sourceRef,
    alertId: null,
    count: 0,
    first: Number.POSITIVE_INFINITY,
    last: Number.NEGATIVE_INFINITY,
    lastReceived: first.receivedAt,
    severity: a.severity,
    tags: [],
    observables: [],
    observablesLeftOut: 0,
    rows: [],
    ids: [],
    base: { type: a.type, source: a.source, title: a.title, description: a.description, tlp: a.tlp, pap: a.pap, indicator: first.indicator, category: first.category, ...optional('ruleSet', ruleSetOf(a)) },
    previous,
    organisation: a.meta?.organisation ?? null,
  };
}

/**
 * `state` with `sightings` counted (those whose id it knows are skipped): count, first and last
 * seen, severity raised to the worst, tags and observables merged (each sent once), newest rows
 * and ids kept. The tag `key:<hash>` is always among the tags.
 */
export function applySightings(state: KeyState, sightings: readonly Sighting[]): Applied {
  const known = new Set(state.ids);
  const sent = new Set(state.observables);
  const sentTags = new Set(state.tags);
  const observables: Observable[] = [];
  const tags = [...state.tags];
  if (!sentTags.has(keyTag(state.key))) tags.push(keyTag(state.key));
  const ids = [...state.ids];
  const rows = [...state.rows];
  let { count, first, last, lastReceived, severity, observablesLeftOut } = state;
  let counted = 0;
  for (const s of sightings) {
    if (known.has(s.id)) continue;
    known.add(s.id);
    counted++;
    count++;
    ids.push(s.id);
    rows.push(s.row);
    first = Math.min(first, s.row.at);
    last = Math.max(last, s.row.at);
    lastReceived = Math.max(lastReceived, s.receivedAt);
    if (s.alert.severity > severity) severity = s.alert.severity;
    for (const t of s.alert.tags) tags.push(t);
    for (const o of s.alert.observables) {
      const id = `${o.dataType}\u0000${o.data}`;
      if (sent.has(id)) continue;
      if (sent.size >= OBSERVABLES_MAX) {
        observablesLeftOut++;
        continue;
      }
      sent.add(id);
      observables.push(o);
    }
  }
  const allTags = cleanTags(tags);
  const addTags = allTags.filter((t) => !sentTags.has(t));
  return {
    state: {
      ...state,
      count,
      first,
      last,
      lastReceived,
      severity,
      tags: allTags,
      observables: [...sent],
      observablesLeftOut,
      rows: rows.slice(-ROWS_MAX),
      ids: ids.slice(-IDS_MAX),
    },
    observables,
    addTags,
    counted,
  };
}

/** Whether `sighting` opens a new alert: received more than `windowMs` after the last one. */
export function pastWindow(state: KeyState, receivedAt: number, windowMs: number): boolean {
  return receivedAt - state.lastReceived > windowMs;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
