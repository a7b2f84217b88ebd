/**
 * The KUMA lookup (pipe) format: `Category=KL_Malicious_URL|MatchedIndicator=fakess123.nu|url=…`
 * (cybertrace-format §6), what CyberTrace-compatible lookup services answer KUMA and what a
 * CyberTrace configured for KUMA writes. Pairs are separated by `|` instead of a blank, and the
 * two fixed keys are capitalised. Pure.
 *
 * As with blanks in the plain format, a `|` only separates when a key token follows it, so a
 * value may hold `|` (a pipe-delimited source event) as long as no `key=` comes right after it.
 */
import type { KvPair } from '../types.js';
import { isBlank, keyEqAt, valueOrNull } from './key-token.js';

const PIPE = 0x7c;

/**
 * True when the line from `start` is in the pipe format: it starts with a key token and a
 * `|key=` comes before any blank-preceded key token (a plain line has its second key after a
 * blank). Linear: stops at the first deciding character.
 */
export function isPiped(line: string, start: number): boolean {
  const eq = keyEqAt(line, start);
  if (eq < 0) return false;
  for (let i = eq + 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === PIPE && keyEqAt(line, i + 1) >= 0) return true;
    if (isBlank(c) && keyEqAt(line, i + 1) >= 0) return false;
  }
  return false;
}

/** Every pair of a pipe-format line from `start` (a key token), keys as the mapper names them ({@link canonicalKey}). */
export function pipedPairs(line: string, start: number): KvPair[] {
  const pairs: KvPair[] = [];
  let keyStart = start;
  let eq = keyEqAt(line, start);
  for (let i = eq + 1; i <= line.length; i++) {
    const end = i === line.length;
    if (!end && !(line.charCodeAt(i) === PIPE && keyEqAt(line, i + 1) >= 0)) continue;
    pairs.push({ key: canonicalKey(line.slice(keyStart, eq)), value: valueOrNull(line.slice(eq + 1, i)) });
    if (end) break;
    keyStart = i + 1;
    eq = keyEqAt(line, keyStart);
    i = eq;
  }
  return pairs;
}

/**
 * The mapper's name of a key CyberTrace writes in another case in other recipes: `Category` →
 * `category`, `MatchedIndicator` → `matchedIndicator`, `Event_Name` → `event_name`. Every other
 * key is kept as written (feed fields are case-sensitive: `MD5` is the hash record's own field).
 */
export function canonicalKey(key: string): string {
  switch (key.toLowerCase()) {
    case 'category':
      return 'category';
    case 'matchedindicator':
      return 'matchedIndicator';
    case 'event_name':
      return 'event_name';
    default:
      return key;
  }
}

/**
 * The pairs as the plain `key=value` line CyberTrace would have written with the documented
 * EventFormat: `key=value` joined by one blank, `-` for no value. This is what `sourceRef`
 * hashes for a line that came in another recipe, so the same event is the same alert.
 */
export function plainLineOf(pairs: readonly KvPair[]): string {
  return pairs.map((p) => `${p.key}=${p.value ?? '-'}`).join(' ');
}
