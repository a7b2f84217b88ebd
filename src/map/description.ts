/**
 * The markdown `description` of an alert: one summary sentence, optional notes, then every
 * key/value of the event in line order, repeats kept, so the analyst sees the whole line.
 */
import type { KvPair } from '../types.js';
import { visibleControls } from './controls.js';
import { DESCRIPTION_MAX, truncate } from './limits.js';

/** A value quoted in the summary is cut to this, so a huge value cannot crowd out the table. */
const SUMMARY_VALUE_MAX = 256;
/** Room kept under {@link DESCRIPTION_MAX} for the note that says rows were left out. */
const OMISSION_NOTE_ROOM = 200;

/** What {@link markdownDescription} renders. */
export interface DescriptionInput {
  /** One short sentence, already markdown (build it with {@link inlineCode} for values). */
  readonly summary: string;
  /** Every pair in line order, repeats kept; pairs without a value (null, empty, `-`) make no row. */
  readonly pairs: readonly KvPair[];
  /**
   * Plain sentences shown in italics under the summary, e.g. about values left out. They are
   * escaped ({@link escapeText}): a note may quote what a sender chose, such as a file name.
   */
  readonly notes?: readonly string[];
}

/**
 * `summary`, notes, then a `| key | value |` table. Cells escape markdown punctuation and line
 * breaks so a value shows literally and can never break the table. Rows that would push the text past TheHive's 1 MiB limit
 * are left out and a last line says how many.
 */
export function markdownDescription(input: DescriptionInput): string {
  // One pass, no intermediate arrays: this runs for every alert (issue 15).
  let head = input.summary;
  for (const note of input.notes ?? []) head += `\n\n_${escapeText(note)}_`;
  const budget = DESCRIPTION_MAX - OMISSION_NOTE_ROOM;
  let text = '';
  let valued = 0;
  let shown = 0;
  for (const pair of input.pairs) {
    // `url | -` rows (a regex that matched nothing) say nothing and push the real ones down.
    if (!hasValue(pair.value)) continue;
    valued += 1;
    // Past the budget, the rest are only counted: the note below says how many.
    if (shown < valued - 1) continue;
    if (valued === 1) text = `${head}\n\n| key | value |\n|---|---|`;
    const row = `\n| ${escapeCell(pair.key)} | ${escapeCell(pair.value)} |`;
    if (text.length + row.length > budget) continue;
    text += row;
    shown += 1;
  }
  if (valued === 0) return truncate(head, DESCRIPTION_MAX);
  if (shown < valued) {
    const left = valued - shown;
    text += `\n\n_${left} of ${valued} pairs left out: TheHive takes at most ${DESCRIPTION_MAX} characters._`;
  }
  // Only an absurd summary can still be too long here; cut rather than have TheHive refuse.
  return truncate(text, DESCRIPTION_MAX);
}

/** False for null, empty, blank and `-`: CyberTrace's "no value" (cybertrace-format §4.4). */
function hasValue(value: string | null): boolean {
  if (value === null) return false;
  const v = value.trim();
  return v !== '' && v !== '-';
}

/**
 * Characters that start markdown (emphasis, code, links, HTML, entities, strikethrough) or
 * end a table cell. Values come from the network: a `mask=*.evil.*` must not turn into
 * italics, a `[text](url)` in a URL field must not become a link with a chosen label.
 */
const CELL_ESCAPE = /[\\`*[\]<>|~&]/g;
/**
 * An underscore inside a word (`KL_Malicious_URL`, `first_seen`) can never be emphasis in
 * CommonMark, so only one at a word's edge is escaped: the table stays readable as text.
 */
const EDGE_UNDERSCORE = /(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g;
/**
 * What {@link CELL_ESCAPE} and controls.ts change (line breaks among the controls), in one
 * class: the common value holds none of these, and then at most its underscores need a look.
 */
const CELL_CHANGES = /[\\`*[\]<>|~&\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * A table cell: `-` for null; control characters but line breaks as `<U+XXXX>`
 * (controls.ts); markdown punctuation backslash-escaped (CommonMark escapes any ASCII
 * punctuation, and GFM honours `\|` in cells) so the cell shows the value literally; line
 * breaks as `<br>`.
 */
export function escapeCell(value: string | null): string {
  if (value === null || value === '') return '-';
  // One scan first: most values hold none of these, and every row has two cells.
  if (!CELL_CHANGES.test(value)) return escapeEdgeUnderscores(value);
  return visibleControls(value, '\r\n').replace(CELL_ESCAPE, '\\$&').replace(EDGE_UNDERSCORE, '\\_').replace(/\r\n|\r|\n/g, '<br>');
}

/**
 * `value` as markdown-inert text inside a paragraph: punctuation escaped as in a cell
 * ({@link escapeCell}), line breaks as spaces so the paragraph (and its emphasis) stays whole.
 */
export function escapeText(value: string): string {
  if (!CELL_CHANGES.test(value)) return escapeEdgeUnderscores(value);
  return visibleControls(value, '\r\n').replace(CELL_ESCAPE, '\\$&').replace(EDGE_UNDERSCORE, '\\_').replace(/\r\n|\r|\n/g, ' ');
}

/**
 * `value` (free of every other escape) with its word-edge underscores escaped. Keys such as
 * `first_seen` have underscores only inside words: they are looked at, not run through a regex.
 */
function escapeEdgeUnderscores(value: string): string {
  for (let i = value.indexOf('_'); i >= 0; i = value.indexOf('_', i + 1)) {
    if (!isWordChar(value.charCodeAt(i - 1)) || !isWordChar(value.charCodeAt(i + 1))) return value.replace(EDGE_UNDERSCORE, '\\_');
  }
  return value;
}

/** `[A-Za-z0-9]`, what {@link EDGE_UNDERSCORE} takes for a word character (NaN, off the ends: false). */
function isWordChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/** What `\s+` matches, so that a value without it can skip the collapsing and trimming. */
const BLANK = /\s/;

/**
 * `value` as a markdown code span on one line, cut to 256 chars: indicators hold `*` and `_`
 * (masks, user names) that would otherwise turn into emphasis. Control characters show as
 * `<U+XXXX>` (controls.ts).
 */
export function inlineCode(value: string): string {
  // Both checks spare the common value (no blank, no backtick) a regex pass and its copies.
  const oneLine = BLANK.test(value) ? value.replace(/\s+/g, ' ').trim() : value;
  const text = truncate(visibleControls(oneLine), SUMMARY_VALUE_MAX);
  const longestRun = text.includes('`') ? longestBacktickRun(text) : 0;
  const fence = '`'.repeat(longestRun + 1);
  // CommonMark strips one space on each side, which lets a value start or end with a backtick.
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Length of the longest run of backticks in `text`: the fence must be longer. */
function longestBacktickRun(text: string): number {
  return Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
}

/** What the summary sentence of a detection mentions. */
export interface DetectionFacts {
  readonly category: string;
  readonly indicator: string | null;
  readonly threat: string | null;
  readonly srcHost: string | null;
  readonly user: string | null;
  /** IP reputation: the record's `threat_score` (0–100). */
  readonly threatScore?: string;
  /** IP reputation: the record's own `category` (`malware`, `spam`, `tor_exit_node`…). */
  readonly reputationCategory?: string;
}

/** `CyberTrace matched `x` in feed category `KL_…` (threat `…`; source `10.0.0.1`, user `jsmith`).` */
export function detectionSummary(f: DetectionFacts): string {
  const what = f.indicator === null ? 'CyberTrace reported a detection' : `CyberTrace matched ${inlineCode(f.indicator)}`;
  // Built as one string, in this order, `, ` between: no list of parts per alert.
  let extras = '';
  if (f.reputationCategory !== undefined) extras += `, reputation category ${inlineCode(f.reputationCategory)}`;
  if (f.threatScore !== undefined) extras += `, threat score ${inlineCode(f.threatScore)}`;
  if (f.threat !== null) extras += `, threat ${inlineCode(f.threat)}`;
  if (f.srcHost !== null) extras += `, source ${inlineCode(f.srcHost)}`;
  if (f.user !== null) extras += `, user ${inlineCode(f.user)}`;
  const tail = extras === '' ? '' : ` (${extras.slice(2)})`;
  return `${what} in feed category ${inlineCode(f.category)}${tail}.`;
}
