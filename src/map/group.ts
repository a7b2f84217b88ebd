/**
 * Aggregation (`alert.groupWindowMs`): detections of the same category and matchedIndicator seen
 * inside one window become one alert that counts and lists its sightings, so a host scanning a
 * blocklisted range gives the SOC one alert with 5,000 rows instead of 5,000 alerts. Pure: which
 * sightings form a group is decided by the feeder (queue/grouper.ts); this builds the alert.
 *
 * The alert of a group is the alert of its first sighting (same sourceRef: a group rebuilt after a
 * crash starts with the same record, so TheHive answers "already exists" to the resend), with the
 * title counting the sightings, the highest severity of any of them, the union of their
 * observables, and a description that lists when, from where and by whom before the first
 * sighting's own key/value table. A group of one is exactly the alert it would be without grouping.
 */
import type { Alert, AlertPolicy, DetectionRecord, KvPair, Severity } from '../types.js';
import { alertFromDetection, detectionObservables } from './alert.js';
import { escapeCell, inlineCode } from './description.js';
import { parseEventDate } from './event-date.js';
import { DESCRIPTION_MAX, TITLE_MAX, cleanTags, truncate } from './limits.js';
import { ObservableSet } from './observables.js';
import { severityFor } from './severity.js';

/** One detection of a group, with the time tracehive received it (the mapping clock). */
export interface Sighting {
  readonly record: DetectionRecord;
  readonly receivedAt: number;
}

/** Rows of the sightings table at most; the rest are counted in a line under it. */
export const SIGHTING_ROWS_MAX = 500;
/** Observables of a group at most: a scan of a /16 must not give TheHive an alert with 65,536 of them. */
export const GROUP_OBSERVABLES_MAX = 1000;

/** Detections with the same key belong in one group. */
export function groupKey(rec: DetectionRecord): string {
  return `${rec.category}\u0000${rec.matchedIndicator ?? ''}`;
}

/** The alert of a group of sightings (at least one), oldest first. */
export function alertFromSightings(sightings: readonly Sighting[], policy: AlertPolicy): Alert {
  const first = sightings[0];
  if (first === undefined) throw new RangeError('alertFromSightings needs at least one sighting');
  const base = alertFromDetection(first.record, policy, first.receivedAt);
  if (sightings.length === 1) return base;

  const observables = new ObservableSet();
  for (const o of base.observables) observables.add(o.dataType, o.data, optionsOf(o));
  let severity: Severity = base.severity;
  let dropped = 0;
  const rows: string[] = [];
  const times: number[] = [];
  for (const s of sightings) {
    const date = parseEventDate(s.record.dateText, s.receivedAt) ?? s.receivedAt;
    times.push(date);
    severity = Math.max(severity, severityFor(s.record, policy)) as Severity;
    for (const o of detectionObservables(s.record).toArray()) {
      if (observables.size >= GROUP_OBSERVABLES_MAX) {
        dropped += 1;
        continue;
      }
      observables.add(o.dataType, o.data, optionsOf(o));
    }
    if (rows.length < SIGHTING_ROWS_MAX) rows.push(sightingRow(rows.length + 1, date, s.record.pairs));
  }
  const n = sightings.length;
  const from = new Date(Math.min(...times)).toISOString();
  const to = new Date(Math.max(...times)).toISOString();
  const indicator = first.record.matchedIndicator;
  const what = indicator === null ? 'detections' : `sightings of ${inlineCode(indicator)}`;
  const parts = [
    `${n} ${what} in feed category ${inlineCode(first.record.category)} between ${from} and ${to}.`,
    '| # | time | source | destination | host | user |\n|---|---|---|---|---|---|\n' + rows.join('\n'),
  ];
  if (n > rows.length) parts.push(`_${n - rows.length} more sightings not listed._`);
  if (dropped > 0) parts.push(`_${dropped} observables beyond ${GROUP_OBSERVABLES_MAX} not added._`);
  parts.push('### First sighting', base.description);
  return {
    ...base,
    title: truncate(`${base.title} (${n} sightings)`, TITLE_MAX),
    description: truncate(parts.join('\n\n'), DESCRIPTION_MAX),
    severity,
    tags: cleanTags([...base.tags, 'grouped']),
    observables: observables.toArray(),
  };
}

function optionsOf(o: Alert['observables'][number]): { ioc?: boolean; tags?: string[]; message?: string } {
  return { ioc: o.ioc === true, ...(o.tags ? { tags: o.tags } : {}), ...(o.message ? { message: o.message } : {}) };
}

const SOURCE_KEYS = ['src', 'ip', 'srcip', 'src_ip'];
const DESTINATION_KEYS = ['dst', 'dstip', 'dst_ip'];
const HOST_KEYS = ['hostname', 'dhost', 'shost', 'host'];
const USER_KEYS = ['usrname', 'suser', 'user', 'username'];

function sightingRow(i: number, date: number, pairs: readonly KvPair[]): string {
  const cells = [String(i), new Date(date).toISOString(), pick(pairs, SOURCE_KEYS), pick(pairs, DESTINATION_KEYS), pick(pairs, HOST_KEYS), pick(pairs, USER_KEYS)];
  return `| ${cells.map((c) => escapeCell(c)).join(' | ')} |`;
}

function pick(pairs: readonly KvPair[], keys: readonly string[]): string | null {
  for (const pair of pairs) if (pair.value !== null && keys.includes(pair.key.toLowerCase())) return pair.value;
  return null;
}
