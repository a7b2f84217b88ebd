/**
 * mail_to_misp's policy knobs (issue 13 point 5), pure: where the text scanned for indicators
 * ends (stopwords: a signature, a disclaimer), and which tags a mail's subject and words give it.
 */
import { globMatches } from './severity.js';

/** `text` up to the first line that starts with a stopword (any case); the whole text without one. */
export function scannedText(text: string, stopwords: readonly string[]): string {
  const words = stopwords.map((w) => w.trim().toLowerCase()).filter((w) => w !== '');
  if (words.length === 0) return text;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim().toLowerCase();
    // `--` (a signature's delimiter) must be the whole line, or every `--boundary` and `-----BEGIN` would stop it.
    if (words.some((w) => (/^\p{P}+$/u.test(w) ? line === w : line.startsWith(w)))) return lines.slice(0, i).join('\n');
  }
  return text;
}

/** The tags of `keyword=tag` and `glob=tag` rules that the mail's subject and text meet. */
export function ruleTags(subject: string, text: string, keywordTags: readonly string[], subjectTags: readonly string[]): string[] {
  const tags: string[] = [];
  const haystack = `${subject}\n${text}`.toLowerCase();
  for (const rule of keywordTags) {
    const { pattern, tag } = split(rule);
    if (pattern !== '' && haystack.includes(pattern.toLowerCase())) tags.push(tag);
  }
  for (const rule of subjectTags) {
    const { pattern, tag } = split(rule);
    if (pattern !== '' && globMatches(pattern, subject.trim())) tags.push(tag);
  }
  return tags;
}

/** The first `email.dropSubjects` glob the subject matches, or null: such a mail is taken and makes no alert. */
export function droppedBy(subject: string | null, dropSubjects: readonly string[]): string | null {
  for (const glob of dropSubjects) if (glob.trim() !== '' && globMatches(glob.trim(), (subject ?? '').trim())) return glob;
  return null;
}

/** `pattern=tag`, split at the last `=`; no `=`: the pattern is its own tag. */
function split(rule: string): { pattern: string; tag: string } {
  const at = rule.lastIndexOf('=');
  if (at < 0) return { pattern: rule.trim(), tag: rule.trim() };
  return { pattern: rule.slice(0, at).trim(), tag: rule.slice(at + 1).trim() || rule.slice(0, at).trim() };
}
