/**
 * The "Updates" section under a SIEM notification alert's description (issue 12 point 2): one
 * line per notification, the first one and then each update with its receive time (UTC) and what
 * changed. The values quoted come from the SIEM's mail, so every line is escaped as markdown-inert
 * text. Pure.
 */
import { escapeText } from '../map/description.js';
import { DESCRIPTION_MAX, truncate } from '../map/limits.js';

/** One update of a mail alert: when its notification was received and what it changed. */
export interface MailUpdateEntry {
  /** Receive time, epoch ms. */
  readonly at: number;
  /** Plain sentences (`Severity raised: HIGH → CRITICAL`), escaped only when rendered. */
  readonly changes: readonly string[];
}

/**
 * `base` (the latest notification's own description), then the Updates section: the first
 * notification, a note for updates no longer listed (`total` counts them all), and `updates`
 * oldest first. `base` is cut when both would pass TheHive's 1 MiB: the section is what is new.
 */
export function renderUpdates(base: string, firstAt: number, updates: readonly MailUpdateEntry[], total: number): string {
  const lines = [`- ${utc(firstAt)} — first notification (alert created)`];
  const hidden = total - updates.length;
  if (hidden > 0) lines.push(`- _${hidden} earlier update${hidden === 1 ? '' : 's'} not shown._`);
  for (const u of updates) lines.push(`- ${utc(u.at)} — ${escapeText(u.changes.join('; '))}`);
  const section = `**Updates**\n\n${lines.join('\n')}`;
  const room = DESCRIPTION_MAX - section.length - 2;
  return `${truncate(base, room)}\n\n${section}`;
}

/**
 * A reported phish's description (`base`, the latest report's) and its Reports section: the first
 * reporter, a note for reports no longer listed, then each later report with what it added.
 */
export function renderReports(base: string, firstAt: number, firstReporter: string, updates: readonly MailUpdateEntry[], total: number): string {
  const lines = [`- ${utc(firstAt)} — reported by ${escapeText(firstReporter)} (alert created)`];
  const hidden = total - updates.length;
  if (hidden > 0) lines.push(`- _${hidden} earlier report${hidden === 1 ? '' : 's'} not shown._`);
  for (const u of updates) lines.push(`- ${utc(u.at)} — ${escapeText(u.changes.join('; '))}`);
  const section = `**Reports** (${total + 1})\n\n${lines.join('\n')}`;
  const room = DESCRIPTION_MAX - section.length - 2;
  return `${truncate(base, room)}\n\n${section}`;
}

/** `2024-03-14 03:42:05 UTC`: the same for every reader, whatever the server's zone. */
function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
