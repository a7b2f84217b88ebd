/**
 * Control characters (C0, DEL, C1) and bidi controls in text from the network, made harmless in
 * one place for every title, tag, observable and description cell. NUL, ANSI escapes
 * (`ESC[31m`) and a right-to-left override in a file name (`invoice<RLO>fdp.exe`, which most
 * viewers show as `invoiceexe.pdf`) are how a sender disguises a value or a log line.
 *
 * They are not removed but shown as `<U+202E>`: removing would hide the trick from the analyst
 * (and make `invoice<RLO>fdp.exe` read as an innocent `invoicefdp.exe`, one observable with a
 * real file of that name). A URL observable is percent-encoded instead (`%E2%80%AE`): that is
 * what a browser sends for it, so the observable stays a URL analyzers can fetch. Whitespace
 * controls (TAB, LF, VT, FF, CR) become a space in one-line fields. Pure.
 */

/**
 * C0 controls, DEL, C1 controls, the Arabic letter mark, the left-to-right and right-to-left
 * marks, the embeddings and overrides (U+202A–U+202E) and the isolates (U+2066–U+2069).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');
/** The C0 controls that are whitespace: a space in one-line fields. */
const BLANK_CONTROL = /[\t\n\v\f\r]/g;

/** True when `text` holds a character this module changes: the common value skips every copy. */
export function hasControls(text: string): boolean {
  return CONTROL.test(text);
}

/** `<U+XXXX>` for one character. */
function marker(c: string): string {
  return `<U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`;
}

/**
 * Each control as `<U+XXXX>`, for text shown to the analyst, but the characters of `keep`: a
 * table cell keeps CR and LF (it turns line breaks into `<br>`), a code block TAB too.
 */
export function visibleControls(text: string, keep = ''): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROLS, (c) => (keep.includes(c) ? c : marker(c)));
}

/** For titles, tags and observable values: whitespace controls as a space, every other control as `<U+XXXX>`. */
export function oneLine(text: string): string {
  if (!CONTROL.test(text)) return text;
  return visibleControls(text.replace(BLANK_CONTROL, ' '));
}

/** For URL observables: each control percent-encoded as UTF-8 (`%09`, `%E2%80%AE`), as a browser sends it. */
export function percentEncodeControls(url: string): string {
  if (!CONTROL.test(url)) return url;
  return url.replace(CONTROLS, (c) => encodeURIComponent(c));
}
