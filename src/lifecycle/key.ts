/**
 * A detection's key (issue 12): the values of `alert.updateKey` (category and matchedIndicator by
 * default), and always the TheHive target and organisation the alert goes to. Detections with one
 * key belong to one open alert. Pure.
 *
 * The alert of a key has a sourceRef made from the key and a generation (`ct-k<hash>` for the
 * first alert, `ct-k<hash>-<n>` for the n-th, once the one before was closed, imported or
 * expired), so a create sent twice (a crash between TheHive's 201 and the state on disk) meets
 * TheHive's "already exists", and a lost state finds its alert again. Every such alert carries the
 * tag `key:<hash>`.
 */
import { hash } from 'node:crypto';
import type { DetectionRecord } from '../types.js';

/** Where an alert goes: TheHive's URL (or the file sink's path) and the organisation. */
export interface Target {
  readonly url: string;
  readonly organisation: string;
}

/** 20 hex = 80 bits, as for line sourceRefs: collisions stay negligible, the tag and sourceRef short. */
const HASH_CHARS = 20;
const PREFIX = 'ct-k';

/** The hash of a detection's key. */
export function detectionKey(rec: DetectionRecord, fields: readonly string[], target: Target): string {
  const values = fields.map((field) => fieldValue(rec, field));
  return hash('sha256', JSON.stringify([target.url, target.organisation, fields, values]), 'hex').slice(0, HASH_CHARS);
}

/** The key of a mail alert: its own sourceRef (an incident ID, or a mail's hash) where it goes. */
export function mailKey(sourceRef: string, target: Target): string {
  return hash('sha256', JSON.stringify([target.url, target.organisation, 'mail', sourceRef]), 'hex').slice(0, HASH_CHARS);
}

/** The value of one key field: `category` and `matchedIndicator` are CyberTrace's (the first ones), others the first pair of that name (any case). */
function fieldValue(rec: DetectionRecord, field: string): string | null {
  if (field === 'category') return rec.category;
  if (field === 'matchedIndicator') return rec.matchedIndicator;
  const wanted = field.toLowerCase();
  for (const pair of rec.pairs) if (pair.value !== null && pair.key.toLowerCase() === wanted) return pair.value;
  return null;
}

/** The tag every lifecycle alert of `key` carries: how a lost state finds it. */
export function keyTag(key: string): string {
  return `key:${key}`;
}

/** The sourceRef of the `generation`-th alert of a detection key. */
export function detectionSourceRef(key: string, generation: number): string {
  return generation <= 1 ? `${PREFIX}${key}` : `${PREFIX}${key}-${generation}`;
}

/** The sourceRef of the `generation`-th alert of a mail's sourceRef (the first keeps the mail's own). */
export function mailGenerationSourceRef(sourceRef: string, generation: number): string {
  if (generation <= 1) return sourceRef;
  const suffix = `-${generation}`;
  // TheHive takes a sourceRef of 128 characters at most: a long incident ID gives way to the suffix.
  return `${sourceRef.slice(0, SOURCE_REF_MAX - suffix.length)}${suffix}`;
}

/** TheHive's limit on sourceRef (thehive-api.md §3). */
const SOURCE_REF_MAX = 128;
