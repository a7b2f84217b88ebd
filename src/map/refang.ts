/**
 * Refanging: undoes the ways analysts and vendors defang indicators in mails so they cannot be
 * clicked (`hxxp[://]evil[.]com`, `bad[at]evil(dot)com`, `evil dot com`) before extraction.
 * Every pattern here is linear: each alternative is bounded (`{0,3}` blanks, `{1,63}` labels)
 * or anchored on a literal, so no input makes the engine backtrack more than a constant per
 * position (email-intake §6.3: Splunk's forwarded-mail regex was a ReDoS).
 */
import { parse } from 'tldts';

/** Zero-width and soft-hyphen characters inserted to break auto-linking. */
const INVISIBLE = /[\u00ad\u200b-\u200d\u2060\ufeff]/g;
/**
 * Defanged schemes: `hxxp`, `hXXp`, `hxp`, `h**p`, `h[tt]p`, `hxtp`, `htxp`, `fxp` (+`s`), when
 * a colon follows (bare or bracketed: `hxxps[://]`, `hxxp[:]//`, `hxxp://`).
 */
const SCHEME = /\b(h(?:xx|\*\*|\[tt\]|x|xt|tx)p|s?fxp)(s?)(?=[[({]?:)/gi;
/** `[.]`, `(.)`, `{.}`, `[dot]`, `(dot)`, `{dot}`, with up to 3 blanks inside and around. */
const BRACKET_DOT = /[ \t]{0,3}[[({][ \t]{0,3}(?:\.|dot|точка)[ \t]{0,3}[\])}][ \t]{0,3}/gi;
/** `[at]`, `(at)`, `{at}`, `[@]`, `(@)`, with up to 3 blanks inside and around. */
const BRACKET_AT = /[ \t]{0,3}[[({][ \t]{0,3}(?:at|@|собака)[ \t]{0,3}[\])}][ \t]{0,3}/gi;
/** `[:]`, `[://]`, `[//]`, `[/]` (any of the three bracket kinds). */
const BRACKET_PUNCT = /[[({](:\/\/|:|\/\/|\/)[\])}]/g;
/** `evil\.com`: a backslash-escaped dot between label characters. */
const ESCAPED_DOT = /(?<=[\p{L}\p{N}])\\\.(?=[\p{L}\p{N}])/gu;
/** Ideographic and full-width dots between label characters: IDNA reads them as `.`. */
const WIDE_DOT = /(?<=[\p{L}\p{N}])[\u3002\uff0e\uff61](?=[\p{L}\p{N}])/gu;
/**
 * `evil dot com`, `a DOT b DOT co DOT uk`: ASCII labels joined by ` dot ` (lower or upper case
 * only: `Dot` starts a sentence). Taken only when the result ends in a public suffix; see
 * {@link spokenDots} for the prose it must leave alone.
 */
const SPOKEN_DOT = /(?<![\p{L}\p{N}-])[A-Za-z0-9-]{1,63}(?:[ \t]{1,3}(?:dot|DOT)[ \t]{1,3}[A-Za-z0-9-]{1,63})+(?![\p{L}\p{N}-])/gu;
const SPOKEN_SPLIT = /[ \t]{1,3}(?:dot|DOT)[ \t]{1,3}/;
/**
 * Words that start prose such as "the dot com era", "a dot to the left", "our dot net team":
 * with one ` dot ` after them the phrase is not a host name.
 */
const PROSE_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'the', 'this', 'that', 'one', 'each', 'every', 'my', 'your', 'our', 'his', 'her', 'its', 'their',
  'and', 'or', 'to', 'of', 'in', 'on', 'at', 'by', 'for', 'with', 'from', 'red', 'green', 'blue', 'black', 'white',
]);

/**
 * `text` with defanged indicators restored: schemes (`hxxp` → `http`, `fxp` → `ftp`), dots
 * (`[.]`, `(.)`, `{.}`, `[dot]`, `(dot)`, `\.`, `。`, ` dot ` between labels), `@` (`[at]`,
 * `(at)`, `[@]`), `[:]`, `[://]`, `[/]`, and zero-width characters removed. Text without any
 * of these comes back unchanged. Linear in the length of `text`.
 */
export function refang(text: string): string {
  let out = text.replace(INVISIBLE, '');
  out = out.replace(SCHEME, (_m, scheme: string, s: string) => {
    const lower = scheme.toLowerCase();
    return (lower.endsWith('fxp') ? `${lower.slice(0, -3)}ftp` : 'http') + s.toLowerCase();
  });
  out = out.replace(BRACKET_PUNCT, '$1');
  out = out.replace(BRACKET_DOT, '.');
  out = out.replace(BRACKET_AT, '@');
  out = out.replace(ESCAPED_DOT, '.');
  out = out.replace(WIDE_DOT, '.');
  if (out.includes('dot') || out.includes('DOT')) out = out.replace(SPOKEN_DOT, spokenDots);
  return out;
}

/**
 * `evil dot com` → `evil.com` when the joined name ends in an ICANN public suffix and is more than
 * the suffix; a single ` dot ` after a prose word ("the dot com bubble") stays as written.
 */
function spokenDots(match: string): string {
  const labels = match.split(SPOKEN_SPLIT);
  if (labels.length === 2 && PROSE_WORDS.has((labels[0] ?? '').toLowerCase())) return match;
  const host = labels.join('.');
  const info = parse(host);
  return info.isIcann === true && info.domain !== null && info.publicSuffix !== host.toLowerCase() ? host : match;
}
