/**
 * One detection as the lifecycle keeps it: the facts an update needs (when, from where, by whom,
 * how severe, which observables and tags), and the alert the detection alone would be (the first
 * sighting of a key is its alert's base). Pure.
 *
 * A sighting's id is the line's own sourceRef (the hash of the line): the same line received twice
 * (a resend after a reconnect, a capture replayed, the spool replaying after a crash) is one
 * sighting, and lines without `%Date%` that repeat are the same line.
 */
import type { Alert, AlertPolicy, DetectionRecord, KvPair } from '../types.js';
import { alertFromDetection, shapedRecordAlert } from '../map/alert.js';

/** One row of an alert's sightings table. */
export interface SightingRow {
  /** Event time (ms): the line's own date, else when it was received. */
  readonly at: number;
  readonly src: string | null;
  readonly dst: string | null;
  readonly host: string | null;
  readonly user: string | null;
}

/** What the lifecycle keeps of one detection. */
export interface Sighting {
  readonly id: string;
  /** When tracehive received it (the spool's clock: a replay forms the same windows). */
  readonly receivedAt: number;
  readonly row: SightingRow;
  readonly category: string;
  readonly indicator: string | null;
  /** The alert this detection alone would be. */
  readonly alert: Alert;
}

const SOURCE_KEYS = ['src', 'ip', 'srcip', 'src_ip'];
const DESTINATION_KEYS = ['dst', 'dstip', 'dst_ip'];
const HOST_KEYS = ['hostname', 'dhost', 'shost', 'host'];
const USER_KEYS = ['usrname', 'suser', 'user', 'username'];

/** The sighting of a detection received at `receivedAt`. */
export function sightingOf(rec: DetectionRecord, policy: AlertPolicy, receivedAt: number, peer?: string): Sighting {
  const alert = shapedRecordAlert(rec, alertFromDetection(rec, policy, receivedAt), policy, peer);
  return {
    // The line's sourceRef, which the mapper has just hashed (rules never set it): not a second SHA-256 of the line.
    id: alert.sourceRef,
    receivedAt,
    row: { at: alert.date, src: pick(rec.pairs, SOURCE_KEYS), dst: pick(rec.pairs, DESTINATION_KEYS), host: pick(rec.pairs, HOST_KEYS), user: pick(rec.pairs, USER_KEYS) },
    category: rec.category,
    indicator: rec.matchedIndicator,
    alert,
  };
}

function pick(pairs: readonly KvPair[], keys: readonly string[]): string | null {
  for (const pair of pairs) if (pair.value !== null && keys.includes(pair.key.toLowerCase())) return pair.value;
  return null;
}
