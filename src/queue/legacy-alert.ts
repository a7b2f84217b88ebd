/**
 * The strict shape of an alert tracehive 0.1.0 left finished on disk (its `spool.dir/incoming/`
 * drop files): exactly the fields tracehive's mail mapper writes, with TheHive's types and lengths
 * and only built-in observable dataTypes. In 0.1.0 that directory could be writable by the MTA, and
 * a hand-written record was sent to TheHive verbatim with the bridge's key (severity 4, a
 * caseTemplate, customFields); anything beyond this shape is refused, never sent. Pure.
 */
import { DESCRIPTION_MAX, OBSERVABLE_DATA_MAX, SOURCE_MAX, SOURCE_REF_MAX, TAG_MAX, TITLE_MAX, TYPE_MAX } from '../map/limits.js';
import { BUILTIN_DATATYPES, type Alert } from '../types.js';

/** Tags per alert or observable at most: the mapper writes a handful. */
const TAGS_MAX = 100;
/** Observables per mail alert at most: generous for a mail, far below a flood. */
const OBSERVABLES_MAX = 1000;
/** An observable's message at most (the mapper writes none or a short note). */
const MESSAGE_MAX = 4096;

const ALERT_KEYS = ['type', 'source', 'sourceRef', 'title', 'description', 'severity', 'date', 'tags', 'tlp', 'pap', 'observables'];
const OBSERVABLE_KEYS = ['dataType', 'data', 'ioc', 'tags', 'message'];
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

type Check = { ok: true; alert: Alert } | { ok: false; reason: string };

/** The alert, or the first thing wrong with it. */
export function checkLegacyAlert(value: unknown): Check {
  const fail = (why: string): Check => ({ ok: false, reason: why });
  if (!isObject(value)) return fail('the record is not a JSON object');
  const extra = Object.keys(value).filter((k) => !ALERT_KEYS.includes(k));
  if (extra.length > 0) return fail(`fields tracehive never writes: ${extra.slice(0, 5).join(', ')}`);
  const line =
    text(value, 'type', TYPE_MAX, true) ??
    text(value, 'source', SOURCE_MAX, true) ??
    text(value, 'sourceRef', SOURCE_REF_MAX, true) ??
    text(value, 'title', TITLE_MAX, true) ??
    text(value, 'description', DESCRIPTION_MAX, false) ??
    integer(value, 'severity', 1, 4) ??
    integer(value, 'date', 1, Number.MAX_SAFE_INTEGER) ??
    integer(value, 'tlp', 0, 4) ??
    integer(value, 'pap', 0, 4) ??
    tags(value['tags'], 'tags', true);
  if (line !== null) return fail(line);
  if (!/^mail-[A-Za-z0-9._-]+$/.test(value['sourceRef'] as string)) return fail(`Expected \`sourceRef\` to be a mail reference (mail-…), got ${JSON.stringify(value['sourceRef'])}`);
  const observables = value['observables'];
  if (!Array.isArray(observables) || observables.length > OBSERVABLES_MAX) return fail(`Expected \`observables\` to be a list of at most ${OBSERVABLES_MAX}`);
  for (const [i, o] of observables.entries()) {
    const why = observable(o, `observables[${i}]`);
    if (why !== null) return fail(why);
  }
  return { ok: true, alert: value as unknown as Alert };
}

function observable(o: unknown, at: string): string | null {
  if (!isObject(o)) return `Expected \`${at}\` to be an object`;
  const extra = Object.keys(o).filter((k) => !OBSERVABLE_KEYS.includes(k));
  if (extra.length > 0) return `\`${at}\` has fields tracehive never writes: ${extra.slice(0, 5).join(', ')}`;
  if (!(BUILTIN_DATATYPES as readonly unknown[]).includes(o['dataType'])) return `Expected \`${at}.dataType\` to be a built-in dataType, got ${JSON.stringify(o['dataType'])}`;
  const data = text(o, 'data', OBSERVABLE_DATA_MAX, false, at);
  if (data !== null) return data;
  if ((o['data'] as string).length === 0) return `Expected \`${at}.data\` to be non-empty`;
  if (o['ioc'] !== undefined && typeof o['ioc'] !== 'boolean') return `Expected \`${at}.ioc\` to be a boolean, got ${JSON.stringify(o['ioc'])}`;
  if (o['message'] !== undefined && (typeof o['message'] !== 'string' || o['message'].length > MESSAGE_MAX)) return `Expected \`${at}.message\` to be a string of at most ${MESSAGE_MAX} characters`;
  return o['tags'] === undefined ? null : tags(o['tags'], `${at}.tags`, false);
}

/** A required string of 1 (or 0) to `max` characters; `line`: no control characters. */
function text(o: Record<string, unknown>, key: string, max: number, line: boolean, at = ''): string | null {
  const v = o[key];
  const name = at ? `${at}.${key}` : key;
  if (typeof v !== 'string' || v.length > max || (line && v.length === 0)) return `Expected \`${name}\` to be a string of ${line ? 1 : 0} to ${max} characters, got ${JSON.stringify(typeof v === 'string' ? `${v.slice(0, 40)}…` : v)}`;
  if (line && CONTROL.test(v)) return `Expected \`${name}\` to hold no control characters`;
  return null;
}

function integer(o: Record<string, unknown>, key: string, min: number, max: number): string | null {
  const v = o[key];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? null : `Expected \`${key}\` to be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`;
}

function tags(v: unknown, name: string, required: boolean): string | null {
  if (v === undefined && !required) return null;
  if (!Array.isArray(v) || v.length > TAGS_MAX) return `Expected \`${name}\` to be a list of at most ${TAGS_MAX} tags`;
  for (const t of v) if (typeof t !== 'string' || t.length === 0 || t.length > TAG_MAX || CONTROL.test(t)) return `Expected each of \`${name}\` to be a tag of 1 to ${TAG_MAX} characters, got ${JSON.stringify(t)}`;
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
