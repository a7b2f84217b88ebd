/**
 * Traffic Light Protocol and Permissible Actions Protocol markings in a mail (issue 13):
 * `TLP:RED`, `TLP: AMBER+STRICT`, `PAP:GREEN`… in the subject or the text set the alert's and its
 * observables' TLP and PAP. The strictest marking found wins, and the configured `alert.tlp` /
 * `alert.pap` are the floor: a marking only ever makes an alert stricter. A text that names three
 * or more TLP levels explains the legend (a CERT's footer, a training mail) and marks nothing.
 * Numbers are TheHive 5.2's (CLEAR 0, GREEN 1, AMBER 2, AMBER+STRICT 3, RED 4; PAP CLEAR 0 … RED 3).
 * Pure.
 */

/** TLP 2.0 levels (WHITE is TLP 1.0's CLEAR) in TheHive 5.2+ numbering. */
const TLP_LEVELS: Readonly<Record<string, number>> = { CLEAR: 0, WHITE: 0, GREEN: 1, AMBER: 2, 'AMBER+STRICT': 3, RED: 4 };
const PAP_LEVELS: Readonly<Record<string, number>> = { CLEAR: 0, WHITE: 0, GREEN: 1, AMBER: 2, RED: 3 };

const TLP_MARK = /\bTLP\s*[:\-]?\s*(AMBER\s*\+\s*STRICT|CLEAR|WHITE|GREEN|AMBER|RED)\b/gi;
const PAP_MARK = /\bPAP\s*[:\-]?\s*(CLEAR|WHITE|GREEN|AMBER|RED)\b/gi;
/** A text naming this many distinct levels is a legend, not a marking. */
const LEGEND_LEVELS = 3;
/** Only the start of a long text is read: markings sit in the subject, the first lines or a banner. */
const SCAN_CHARS = 200_000;

export interface Markings {
  /** The strictest TLP marked, or null when none (or only a legend). */
  readonly tlp: number | null;
  readonly pap: number | null;
}

/** The strictest TLP and PAP marked in any of `texts` (the subject, the text…), each read on its own. */
export function markingsOf(texts: readonly (string | null)[]): Markings {
  let tlp: number | null = null;
  let pap: number | null = null;
  for (const text of texts) {
    if (!text) continue;
    const scanned = text.length > SCAN_CHARS ? text.slice(0, SCAN_CHARS) : text;
    tlp = stricter(tlp, strictest(scanned, TLP_MARK, TLP_LEVELS));
    pap = stricter(pap, strictest(scanned, PAP_MARK, PAP_LEVELS));
  }
  return { tlp, pap };
}

/** `configured` raised to `marked` when the marking is stricter: the configuration is the floor. */
export function withFloor(configured: number, marked: number | null): number {
  return marked === null ? configured : Math.max(configured, marked);
}

function strictest(text: string, mark: RegExp, levels: Readonly<Record<string, number>>): number | null {
  const found = new Set<number>();
  for (const m of text.matchAll(mark)) {
    const level = levels[(m[1] as string).toUpperCase().replace(/\s+/g, '')];
    if (level !== undefined) found.add(level);
  }
  if (found.size === 0 || found.size >= LEGEND_LEVELS) return null;
  return Math.max(...found);
}

function stricter(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
