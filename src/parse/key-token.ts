/**
 * The character classes every CyberTrace line parser shares: what a blank is and what a key
 * token (`[A-Za-z_][A-Za-z0-9_./-]*=`) is (cybertrace-format §4.2). Pure, ASCII only.
 */

/**
 * Blanks for tokenising and trimming: space, tab, LF, VT, FF, CR. ASCII only on purpose: the
 * normalised line is hashed into `sourceRef`, so what counts as a blank must not depend on
 * Unicode tables; a no-break space is part of a value.
 */
export function isBlank(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

export function isKeyStart(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
}

export function isKeyChar(code: number): boolean {
  // digits, `-` (0x2d), `.` (0x2e) and `/` (0x2f) are allowed after the first character
  return isKeyStart(code) || (code >= 0x2d && code <= 0x39);
}

/** Index of the `=` ending a key token that starts at `i`, or -1 when none starts there. */
export function keyEqAt(s: string, i: number): number {
  if (!isKeyStart(s.charCodeAt(i))) return -1;
  let j = i + 1;
  while (j < s.length && isKeyChar(s.charCodeAt(j))) j++;
  return s.charCodeAt(j) === 0x3d ? j : -1;
}

/** `s` without leading and trailing blanks ({@link isBlank}). */
export function trimBlanks(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isBlank(s.charCodeAt(a))) a++;
  while (b > a && isBlank(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** A trimmed value, or null for `-` and empty: CyberTrace's "no value" (§4.4). */
export function valueOrNull(raw: string): string | null {
  const v = trimBlanks(raw);
  return v === '' || v === '-' ? null : v;
}
