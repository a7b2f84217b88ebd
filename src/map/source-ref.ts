/**
 * The deterministic `sourceRef` of a CyberTrace line. TheHive deduplicates alerts on
 * (type, source, sourceRef), so a line CyberTrace re-sends after a hiccup
 * (cybertrace-format §1, `EventSendingRetriesCount`) lands on the alert it already made.
 */
import { hash } from 'node:crypto';

/** Prefix that tells line-based refs apart from mail refs (`mail-…`). */
const PREFIX = 'ct-';
/** 20 hex chars = 80 bits: collisions stay negligible far beyond any alert volume, and the ref stays short. */
const HEX_CHARS = 20;

/**
 * `ct-` + the first 20 hex chars of the SHA-256 of the normalised line. The line is
 * normalised here again, exactly as the parser's `normaliseLine` does (every `\r` removed,
 * trailing ASCII blanks trimmed), so that a ref never depends on which caller normalised:
 * normalising twice changes nothing.
 */
export function sourceRefFor(line: string): string {
  // ASCII blanks only (space, TAB…CR), like the parser: a no-break space is part of a value,
  // and the hash must not depend on a Unicode table.
  const noCr = line.includes('\r') ? line.replaceAll('\r', '') : line;
  let end = noCr.length;
  // A loop, not `/\s+$/`: that regex is quadratic on a long run of blanks inside a line.
  while (end > 0 && isBlank(noCr.charCodeAt(end - 1))) end--;
  const normalised = noCr.slice(0, end);
  // One-shot `hash` (UTF-8, like `createHash().update(s, 'utf8')`): no Hash object per line.
  const digest = hash('sha256', normalised, 'hex');
  return PREFIX + digest.slice(0, HEX_CHARS);
}

/** Space, TAB, LF, VT, FF, CR. */
function isBlank(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}
