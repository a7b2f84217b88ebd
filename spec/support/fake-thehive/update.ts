/**
 * Bodies of alert updates (thehive-api.md §1.1, §1.2): `PATCH /api/v1/alert/{id}` (TheHive 5
 * `InputUpdateAlert`: the alert's own fields plus `addTags`/`removeTags`, answered 204) and
 * `PATCH /api/alert/{id}` (TheHive 4 v0: the alert's fields, answered 200 with the alert).
 * Every error is gathered before answering, as for a create (§4.3); a field that is not updatable
 * (`type`, `source`, `sourceRef` on v0, anything unknown) is ignored, as ScalliGraph's update
 * parser reads only the properties it knows [infer].
 */
import { FieldReader, isObject, type AttributeError } from './fields.js';
import type { Parsed } from './input.js';

/** A validated update: only the fields sent. */
export interface AlertUpdate {
  readonly title?: string;
  readonly description?: string;
  readonly severity?: number;
  readonly date?: number;
  readonly tags?: readonly string[];
  readonly addTags?: readonly string[];
  readonly removeTags?: readonly string[];
  readonly tlp?: number;
  readonly pap?: number;
  readonly follow?: boolean;
  readonly summary?: string;
  readonly status?: string;
  readonly assignee?: string;
}

const MIB = 1_048_576;

/** `PATCH /api/v1/alert/{id}` (v1, limits) or `PATCH /api/alert/{id}` (v0, no limits, no add/removeTags). */
export function parseUpdate(body: unknown, api: 'v1' | 'v0', tlpLevels: readonly number[] = [0, 1, 2, 3, 4]): Parsed<AlertUpdate> {
  const o = isObject(body) ? body : {};
  const v1 = api === 'v1';
  const r = new FieldReader(v1);
  const has = (k: string): boolean => o[k] !== undefined;
  const out: Record<string, unknown> = {};
  const set = (k: string, v: unknown): void => {
    if (v !== undefined) out[k] = v;
  };
  if (has('title')) set('title', r.string(o['title'], 'title', true, { min: 1, max: 512 }));
  if (has('description')) set('description', r.string(o['description'], 'description', true, { max: MIB }));
  set('severity', r.int(o['severity'], 'severity', v1 ? [1, 2, 3, 4] : undefined));
  set('date', r.date(o['date'], 'date'));
  if (has('tags')) set('tags', r.stringSet(o['tags'], 'tags', { min: 1, max: 128 }));
  if (v1 && has('addTags')) set('addTags', r.stringSet(o['addTags'], 'addTags', { min: 1, max: 128 }));
  if (v1 && has('removeTags')) set('removeTags', r.stringSet(o['removeTags'], 'removeTags', { min: 1, max: 128 }));
  set('tlp', r.int(o['tlp'], 'tlp', v1 ? tlpLevels : undefined));
  set('pap', r.int(o['pap'], 'pap', v1 ? [0, 1, 2, 3] : undefined));
  set('follow', r.boolean(o['follow'], 'follow'));
  set('summary', r.string(o['summary'], 'summary', false, { max: MIB }));
  set('status', r.string(o['status'], 'status', false, { min: 1, max: 64 }));
  set('assignee', r.string(o['assignee'], 'assignee', false, { min: 1, max: 128 }));
  const errors: AttributeError[] = r.errors;
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out as AlertUpdate };
}
