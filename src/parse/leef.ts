/**
 * The LEEF side of the CyberTrace parser: CyberTrace's QRadar recipe writes its events as LEEF
 * (cybertrace-format §1, §6), `LEEF:1.0|Kaspersky Lab|CyberTrace|<version>|<EventID>|` and then
 * TAB-separated `key=value` attributes, or `LEEF:2.0|…|<EventID>|<delimiter>|` with its own
 * delimiter. The EventID is `%Category%` (QRadar maps one QID per category) or `%Alert%`. Pure.
 */
import type { KvPair } from '../types.js';
import { canonicalKey } from './kuma.js';
import { keyEqAt, trimBlanks, valueOrNull } from './key-token.js';

const PIPE = 0x7c;
const BACKSLASH = 0x5c;
const TAB = '\t';

/** The header of a LEEF line and where its attributes start. */
export interface LeefHeader {
  readonly version: '1.0' | '2.0';
  /** `%Category%` or `%Alert%` in CyberTrace's recipe; empty when the field is. */
  readonly eventId: string;
  /** The attribute delimiter: TAB in LEEF 1.0 and when LEEF 2.0 names none. */
  readonly delimiter: string;
  readonly attributesStart: number;
}

/**
 * Reads the LEEF header of `line` from `start` (the index of `LEEF:`), or gives the number of
 * `|`-terminated fields found when it is cut short (five are needed: version, vendor, product,
 * version, EventID). `\|` does not end a field. In LEEF 2.0 a sixth field of at most four
 * characters and no `=` is the delimiter: one character, or its code as `xHH`/`0xHH`.
 */
export function readLeefHeader(line: string, start: number): { ok: true; header: LeefHeader } | { ok: false; fieldsFound: number } {
  const fields: string[] = [];
  let from = start;
  let i = start;
  for (; i < line.length && fields.length < 5; i++) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === PIPE) {
      fields.push(line.slice(from, i));
      from = i + 1;
    }
  }
  if (fields.length < 5) return { ok: false, fieldsFound: fields.length };
  const version = (fields[0] ?? '').slice('LEEF:'.length).trim() === '2.0' ? '2.0' : '1.0';
  const eventId = trimBlanks((fields[4] ?? '').replaceAll('\\|', '|'));
  let delimiter = TAB;
  let attributesStart = from;
  if (version === '2.0') {
    const bar = line.indexOf('|', from);
    const field = bar < 0 ? null : line.slice(from, bar);
    if (field !== null && field.length <= 4 && !field.includes('=')) {
      delimiter = delimiterOf(field);
      attributesStart = bar + 1;
    }
  }
  return { ok: true, header: { version, eventId, delimiter, attributesStart } };
}

/** `^` → `^`; `x5E`/`0x5E` → `^`; empty → TAB (LEEF 2.0's default). */
function delimiterOf(field: string): string {
  if (field === '') return TAB;
  const hex = /^0?x([0-9a-fA-F]{2,4})$/.exec(field);
  if (hex !== null) return String.fromCharCode(Number.parseInt(hex[1] ?? '9', 16));
  return field.length === 1 ? field : TAB;
}

/**
 * The attributes split on `delimiter`: each piece is `key=value` at its first `=`, trimmed; a
 * piece that does not start with a key token continues the value before it (a value that held
 * the delimiter).
 */
export function leefPairs(text: string, delimiter: string): KvPair[] {
  const raw: { key: string; value: string }[] = [];
  for (const piece of text.split(delimiter)) {
    const eq = piece.indexOf('=');
    const key = eq < 0 ? '' : trimBlanks(piece.slice(0, eq));
    if (eq < 0 || keyEqAt(`${key}=`, 0) !== key.length) {
      const last = raw[raw.length - 1];
      if (last !== undefined) last.value += delimiter + piece;
      continue;
    }
    raw.push({ key: canonicalKey(key), value: piece.slice(eq + 1) });
  }
  return raw.map((p) => ({ key: p.key, value: valueOrNull(p.value) }));
}
