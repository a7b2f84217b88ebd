/**
 * An alert as TheHive 4 (API v0) takes it: observables are named `artifacts`, and the whole body
 * must fit `play.http.parser.maxMemoryBuffer`, 256 kB by default (thehive-api §5); over it,
 * TheHive 4 answers 413 and the alert would go to the dead letters. A mail with a long table or
 * many indicators gets there, so an alert over the limit is shortened here: the description
 * first (down to {@link DESCRIPTION_FLOOR_BYTES}), then observables from the end (the matched
 * indicator, first, stays), and a note at the top of the description says what was left out.
 * Pure and deterministic: the same alert always encodes to the same body, so a retry or a
 * redelivery sends the same thing. TheHive 5 takes 10 MB: v1 bodies are never shortened.
 */
import { legacyTlp, modernTlp } from './tlp-numbering.js';
import type { Alert } from '../types.js';

export { AMBER_STRICT_TAG } from './tlp-numbering.js';

/** TheHive 4.1's default `maxMemoryBuffer = 256kB`, in HOCON's units (kB = 1,000 bytes). */
export const V0_MAX_BODY_BYTES = 256_000;
/**
 * The description is cut no shorter than this (bytes of its JSON text) before observables go:
 * the summary, the notes and the table of a whole 64 KiB CyberTrace line still fit, and ~190 kB
 * stay for observables, more than the 1,000 a detection may have.
 */
const DESCRIPTION_FLOOR_BYTES = 64 * 1024;
/** Bytes kept for the note that says what was cut: it is well under this. */
const NOTE_ROOM_BYTES = 512;
/** A cut description ends at its last line break when one is this close to the cut, so a table row is not split. */
const LINE_BREAK_REACH = 2000;
const ELLIPSIS = '…';

/** An alert as TheHive 4 (v0) takes it. */
export type V0Alert = Omit<Alert, 'observables' | 'meta' | 'procedures' | 'assignee'> & { artifacts: Alert['observables'] };

/**
 * TheHive 4 v0 names the observables `artifacts`. Its TLP has four levels (WHITE 0, GREEN 1, AMBER
 * 2, RED 3) where TheHive 5.2 has five (…, AMBER+STRICT 3, RED 4), so (issue 13 point 3): RED is
 * sent as 3, and AMBER+STRICT as AMBER with the tag `tlp:amber+strict` (on the alert and on each
 * observable so marked), the nearest TheHive 4 can say without calling it RED (tlp-numbering.ts).
 */
export function toV0(alert: Alert): V0Alert {
  const { observables, meta: _meta, procedures, assignee: _assignee, ...rest } = alert;
  // TheHive 4 has no procedures (nor alert assignees): an `attack:<id>` tag per procedure instead.
  const tags = procedures === undefined ? rest.tags : [...new Set([...rest.tags, ...procedures.map((p) => `attack:${p.patternId}`)])];
  return { ...legacyTlp({ ...rest, tags }), artifacts: observables.map((o) => (o.tlp === undefined || o.tlp < 3 ? o : legacyTlp(o))) };
}

/** The inverse of {@link toV0}; `observables` comes last, as in alerts the mapper builds. */
export function fromV0(alert: V0Alert): Alert {
  const { artifacts, ...rest } = alert;
  return { ...modernTlp(rest), observables: artifacts.map(modernTlp) };
}

/** The v0 JSON body of `alert`, shortened to at most `maxBytes` (UTF-8) when it is longer. */
export function encodeV0(alert: Alert, maxBytes: number = V0_MAX_BODY_BYTES): string {
  const full = JSON.stringify(toV0(alert));
  if (Buffer.byteLength(full) <= maxBytes) return full;
  const base = Buffer.byteLength(JSON.stringify(toV0({ ...alert, description: '', observables: [] })));
  const sizes = alert.observables.map((o) => Buffer.byteLength(JSON.stringify(o)) + 1); // + its comma
  let observableBytes = sizes.reduce((a, b) => a + b, 0);
  const descriptionBytes = jsonBytes(alert.description);
  const room = maxBytes - base - NOTE_ROOM_BYTES;
  // The description gives way first, down to its floor; then observables go from the end.
  let descriptionBudget = Math.min(descriptionBytes, Math.max(room - observableBytes, DESCRIPTION_FLOOR_BYTES));
  let kept = alert.observables.length;
  while (kept > 0 && descriptionBudget + observableBytes > room) observableBytes -= sizes[--kept] as number;
  descriptionBudget = Math.max(0, Math.min(descriptionBudget, room - observableBytes));

  for (;;) {
    const cut = descriptionBudget < descriptionBytes ? cutToBytes(alert.description, descriptionBudget) : alert.description;
    const note = shortenedNote(alert.description.length, cut.length, alert.description !== cut, alert.observables.length - kept, alert.observables.length);
    const body = JSON.stringify(toV0({ ...alert, description: `_${note}_\n\n${cut}`, observables: alert.observables.slice(0, kept) }));
    const over = Buffer.byteLength(body) - maxBytes;
    // Only a note longer than its room can leave it over: cut that much more, once.
    if (over <= 0 || descriptionBudget === 0) return body;
    descriptionBudget = Math.max(0, descriptionBudget - over);
  }
}

/** The note at the top of a shortened description. */
function shortenedNote(before: number, after: number, cut: boolean, dropped: number, total: number): string {
  const parts: string[] = [];
  if (cut) parts.push(`the description was cut from ${before} to ${after} characters`);
  if (dropped > 0) parts.push(`the last ${dropped} of ${total} observables were left out`);
  return `Shortened for TheHive 4, which refuses request bodies over 256 kB: ${parts.join('; ')}.`;
}

/** UTF-8 bytes of `text` as a JSON string's content (quotes excluded). */
function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

/**
 * The longest start of `text` whose JSON text, with a closing `…`, takes at most `budget` bytes;
 * ended at a line break when one is near. Never splits a surrogate pair. Linear.
 */
function cutToBytes(text: string, budget: number): string {
  let used = jsonBytes(ELLIPSIS);
  let end = 0;
  while (end < text.length) {
    const code = text.codePointAt(end) as number;
    const width = code > 0xffff ? 2 : 1;
    const cost = charJsonBytes(code);
    if (used + cost > budget) break;
    used += cost;
    end += width;
  }
  if (end === 0) return '';
  const lastBreak = text.lastIndexOf('\n', end - 1);
  if (lastBreak > 0 && end - lastBreak <= LINE_BREAK_REACH) end = lastBreak;
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

/** Bytes of one code point in a JSON string: escapes for `"`, `\` and controls, else UTF-8. */
function charJsonBytes(code: number): number {
  if (code === 0x22 || code === 0x5c || code === 0x08 || code === 0x0c || code === 0x0a || code === 0x0d || code === 0x09) return 2;
  if (code < 0x20) return 6;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  // JSON.stringify writes a lone surrogate as `\udxxx`.
  if (code >= 0xd800 && code <= 0xdfff) return 6;
  return code < 0x10000 ? 3 : 4;
}
