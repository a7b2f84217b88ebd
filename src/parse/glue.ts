/**
 * Glued context fields: CyberTrace renders each feed-record field with RecordFieldContextFormat
 * and concatenates them into `%RecordContext%`, so the blank between two fields must come from
 * that format (` %ParamName%=%ParamValue%`, cybertrace-format §2.2). Without its leading blank
 * the fields run together, `usrName=jsmithmask=fakess123.nutype=1first_seen=…`, and the user
 * observable would be `jsmithmask=fakess123.nu…`.
 *
 * This finds the places where a known context key followed by `=` is glued to the text before
 * it and puts the blank back, giving the line CyberTrace would have written with the leading
 * blank. Pure and linear: each `=` looks back over its own run of key characters only, and at
 * most {@link KEY_MAX} characters of it.
 */
import { isBlank, isKeyChar, isKeyStart } from './key-token.js';

/** Feed-record fields of Kaspersky's feeds (cybertrace-format §3.2), case as the feeds write them. */
const CONTEXT_KEYS: ReadonlySet<string> = new Set([
  'mask', 'type', 'first_seen', 'last_seen', 'popularity', 'threat', 'geo', 'industry',
  'stolen_data_type', 'targeted_organization', 'attack_type', 'threat_score', 'category', 'ip',
  'ip_geo', 'users_geo', 'MD5', 'SHA1', 'SHA256', 'file_size', 'domains', 'url', 'Ip', 'Geo',
  'detection_date', 'publication_name',
]);
/** Nested record fields are named `parent/child` (§3.2): any child of these parents is a context key. */
const CONTEXT_PARENTS: readonly string[] = ['ip_whois/', 'whois/', 'files/', 'urls/'];
/** Longest context key looked for: bounds the look-back of each `=`. */
const KEY_MAX = 48;
/**
 * Glued keys needed before anything is split. One look-alike (`…?clip=1` ends in `ip=`) must
 * not rewrite a correct line; a real glued record context glues every field, so it has several.
 */
const MIN_GLUED = 2;

/** The line with its glued context fields apart, and how many were split off. */
export interface Unglued {
  readonly line: string;
  readonly splits: number;
}

/**
 * The line from `from` (its first key token) with a blank put before every glued context key,
 * or the line unchanged with `splits: 0` when fewer than two are found. A key is glued when it
 * ends a run of key characters that is not itself a key token (it is preceded by a value
 * character, not a blank) and the character before it is a letter, digit, `.`, `-`, `:` or `=`
 * (an empty value). A run after `?`, `&` or `;` is a URL parameter and never glued. Once a line
 * is known to be glued, a key token such as `mxfiles/MD5` (after `geo=vn, in, mx`) is split too.
 */
export function unglue(line: string, from: number): Unglued {
  // Glued values first: most lines have none, and then no key token needs a look-up at all.
  const valueSplits = gluedKeys(line, from, false);
  if (valueSplits.length < MIN_GLUED) return { line, splits: 0 };
  const at = [...valueSplits, ...gluedKeys(line, from, true)].sort((a, b) => a - b);
  let out = '';
  let last = 0;
  for (const i of at) {
    out += `${line.slice(last, i)} `;
    last = i;
  }
  return { line: out + line.slice(last), splits: at.length };
}

/**
 * Where a blank goes before a glued context key: with `tokens` false, keys glued to a value
 * (the run is not a key token); with `tokens` true, keys inside a key token (`mxfiles/MD5`).
 */
function gluedKeys(line: string, from: number, tokens: boolean): number[] {
  const splits: number[] = [];
  for (let eq = line.indexOf('=', from); eq >= 0; eq = line.indexOf('=', eq + 1)) {
    let runStart = eq;
    while (runStart > from && isKeyChar(line.charCodeAt(runStart - 1))) runStart--;
    if (runStart === eq) continue;
    const before = runStart > 0 ? line.charCodeAt(runStart - 1) : 0x20;
    const isToken = isBlank(before) && isKeyStart(line.charCodeAt(runStart));
    if (isToken !== tokens) continue;
    if (!isToken && isUrlParameterStart(before)) continue;
    const key = gluedKeyStart(line, runStart, eq);
    if (key < 0) continue;
    if (isToken ? key > runStart : key > runStart || isGlueChar(before)) splits.push(key);
  }
  return splits;
}

/**
 * Start of the longest context key that ends the run `[runStart, eq)` and is glued (the run is
 * the key, or the character before the key is a glue character), else -1.
 */
function gluedKeyStart(line: string, runStart: number, eq: number): number {
  for (let i = Math.max(runStart, eq - KEY_MAX); i < eq; i++) {
    if (!isContextKeyAt(line, i, eq)) continue;
    if (i === runStart || isGlueChar(line.charCodeAt(i - 1))) return i;
  }
  return -1;
}

/** Lengths of the {@link CONTEXT_KEYS}: a candidate of another length is never sliced out. */
const KEY_LENGTHS: ReadonlySet<number> = new Set([...CONTEXT_KEYS].map((k) => k.length));
/** First char codes of the {@link CONTEXT_KEYS} and {@link CONTEXT_PARENTS}. */
const KEY_FIRSTS: ReadonlySet<number> = new Set([...CONTEXT_KEYS, ...CONTEXT_PARENTS].map((k) => k.charCodeAt(0)));

/**
 * Whether `line[i, eq)` is a context key, without slicing a candidate that cannot be one: every
 * `=` of a line tries up to {@link KEY_MAX} starts, and a substring for each was the parser's
 * largest cost.
 */
function isContextKeyAt(line: string, i: number, eq: number): boolean {
  if (!KEY_FIRSTS.has(line.charCodeAt(i))) return false;
  if (KEY_LENGTHS.has(eq - i) && CONTEXT_KEYS.has(line.slice(i, eq))) return true;
  for (const parent of CONTEXT_PARENTS) {
    const child = i + parent.length;
    if (eq > child && line.startsWith(parent, i) && !hasSlash(line, child, eq)) return true;
  }
  return false;
}

/** Whether `line[from, to)` holds a `/` (a bounded scan: `indexOf` would run on to the line's end). */
function hasSlash(line: string, from: number, to: number): boolean {
  for (let j = from; j < to; j++) if (line.charCodeAt(j) === 0x2f) return true;
  return false;
}

/** Letters, digits, `.`, `-`, `:` and `=`: what a value ends with when the next field is glued to it. */
function isGlueChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x3a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x2e || code === 0x2d || code === 0x3d;
}

function isUrlParameterStart(code: number): boolean {
  return code === 0x3f || code === 0x26 || code === 0x3b;
}
