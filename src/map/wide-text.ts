/**
 * Text with a character above U+00FF. V8 stores such a string two bytes a character, and a string
 * joined or cut from it is two-byte too, whatever its own characters: one such line joined into a
 * batch made the whole batch's text, and every line and alert body sliced from it, two-byte (the
 * map worker's wire keeps them apart, issue 15). The test costs a few nanoseconds on a one-byte
 * string, where V8 knows no character can match, and a scan only on a two-byte one.
 */
const WIDE = /[^\u0000-\u00ff]/;

/** True when `text` holds a character above U+00FF. */
export function isWide(text: string): boolean {
  return WIDE.test(text);
}
