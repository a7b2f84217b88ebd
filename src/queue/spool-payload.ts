/**
 * What one spool record holds. A CyberTrace line is spooled as the line itself (about 350 bytes),
 * not as its alert (3 to 5 KB of JSON): ten times less to write and fsync, so the spool keeps up
 * with a busy CyberTrace. The feeder maps it again when it reads it back, with the time it was
 * received (stored in the record) as the mapping clock, so the alert is the same whenever it is
 * built. A mail is spooled as its finished alert: the raw mail may be megabytes, and its
 * attachments are only needed for the hashes already in the alert.
 *
 * Payload = one tag character, then the data: `L` + line, `P` + peer address + blank + line, or `A` + the alert's JSON.
 */
import type { Alert } from '../types.js';

/**
 * What writers of spool records need (the spool itself, or `tracehive ingest`'s drop directory):
 * append, wait while full, and a commit that resolves once everything appended is on disk.
 */
export interface SpoolWriter {
  append(payload: string, time?: number): number;
  readonly full: boolean;
  whenSpace(): Promise<void>;
  commit(): Promise<void>;
}

export type SpooledItem =
  /** `peer`: the sender's address, kept only when a rule of `alert.rules` matches on it. */
  | { readonly kind: 'line'; readonly line: string; readonly peer?: string }
  | { readonly kind: 'alert'; readonly alert: Alert };

export function lineRecord(line: string): string {
  return `L${line}`;
}

/**
 * A line with the address of the peer that sent it (`P<address> <line>`): written only when a rule
 * of `alert.rules` matches on the peer, so spools of configurations without one stay readable by
 * earlier releases. An address holds no blank.
 */
export function peerLineRecord(peer: string, line: string): string {
  return `P${peer} ${line}`;
}

export function alertRecord(alert: Alert): string {
  return `A${JSON.stringify(alert)}`;
}

/** The item of a payload, or a reason when the payload is not one (a record of a newer version). */
export function decodeRecord(payload: string): SpooledItem | { readonly kind: 'invalid'; readonly reason: string } {
  const tag = payload.charCodeAt(0);
  if (tag === 76 /* L */) return { kind: 'line', line: payload.slice(1) };
  if (tag === 80 /* P */) {
    const blank = payload.indexOf(' ');
    if (blank < 0) return { kind: 'invalid', reason: 'peer line record without its line' };
    return { kind: 'line', line: payload.slice(blank + 1), peer: payload.slice(1, blank) };
  }
  if (tag === 65 /* A */) {
    try {
      const alert = JSON.parse(payload.slice(1)) as Alert;
      if (alert !== null && typeof alert === 'object' && typeof alert.sourceRef === 'string') return { kind: 'alert', alert };
      return { kind: 'invalid', reason: 'alert record without a sourceRef' };
    } catch (err) {
      return { kind: 'invalid', reason: `alert record is not JSON: ${(err as Error).message}` };
    }
  }
  return { kind: 'invalid', reason: `unknown record tag ${JSON.stringify(payload.slice(0, 1))}` };
}
