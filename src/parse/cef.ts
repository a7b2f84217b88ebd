/**
 * The CEF side of the CyberTrace parser: where the header of an ArcSight-recipe line ends
 * (cybertrace-format §2.4) and which extension pair holds the matched indicator.
 *
 * Only the framing is checked here; the extension is scanned by kv.ts with the same key rule
 * as every other line, because CyberTrace substitutes values verbatim (no CEF `\=` escaping).
 */
import type { KvPair } from '../types.js';

/** `CEF:Version|Vendor|Product|DeviceVersion|SignatureID|Name|Severity|`: seven `|`-terminated fields. */
export const CEF_HEADER_FIELDS = 7;

const PIPE = 0x7c;
const BACKSLASH = 0x5c;

/** Where a CEF header ends, or how many of its fields were found when it is cut short. */
export type CefHeader =
  | { readonly ok: true; readonly extensionStart: number }
  | { readonly ok: false; readonly fieldsFound: number };

/**
 * Reads the CEF header of `line` from `start` (the index of `CEF:`).
 *
 * Header fields may carry `\|` and `\\` (the CEF spec's only header escapes); an escaped pipe
 * does not end a field. The extension starts right after the seventh unescaped `|`.
 */
export function readCefHeader(line: string, start: number): CefHeader {
  let fields = 0;
  for (let i = start; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH) {
      i++; // skip the escaped character, whatever it is
    } else if (c === PIPE && ++fields === CEF_HEADER_FIELDS) {
      return { ok: true, extensionStart: i + 1 };
    }
  }
  return { ok: false, fieldsFound: fields };
}

/**
 * The matched indicator of a CEF detection: the value of `csN` where `csNLabel=MatchedIndicator`
 * (the recipe uses `cs5`, but the label is what names it, so any `N` works).
 *
 * The label is compared ignoring ASCII case because it is typed by hand into the AlertFormat;
 * the first labelled slot wins and its first `csN` pair is taken. Without such a label the
 * result is null rather than a guess at `cs5`, which may hold something else on another recipe.
 */
export function cefMatchedIndicator(pairs: readonly KvPair[]): string | null {
  for (const { key, value } of pairs) {
    if (value !== null && isCustomStringLabel(key) && value.toLowerCase() === 'matchedindicator') {
      const slot = key.slice(0, key.length - 'Label'.length);
      const hit = pairs.find((p) => p.key === slot);
      return hit === undefined ? null : hit.value;
    }
  }
  return null;
}

/** `cs<digits>Label`, the CEF custom-string label keys. */
function isCustomStringLabel(key: string): boolean {
  if (!key.startsWith('cs') || !key.endsWith('Label') || key.length <= 'csLabel'.length) return false;
  for (let i = 2; i < key.length - 'Label'.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
