/**
 * The outbox record of one notification (one file per alert and severity in `spool.dir/notify/`):
 * its key, the event, and where each channel stands. A record whose channels are all done is
 * rewritten as a small marker without the event, so a restart does not send it again. Also the
 * retry rule: backoff, and when a channel gives up. Pure.
 */
import { createHash } from 'node:crypto';
import { checkVersion } from '../io/format-version.js';
import { fullJitter } from '../queue/backoff.js';
import type { Notification } from './render.js';

/** The format of a record; a reader refuses a higher one (ERR_FORMAT_NEWER). */
export const NOTIFY_RECORD_VERSION = 1;

export type ChannelName = 'mail' | 'webhook';

export interface ChannelState {
  readonly state: 'pending' | 'sent' | 'dead';
  readonly attempts: number;
  /** Epoch ms of the next attempt. */
  readonly nextAt: number;
  readonly lastError?: string;
}

export interface NotifyRecord {
  readonly version: number;
  readonly key: string;
  /** Epoch ms the notification was recorded (the 24 h limit counts from it). */
  readonly recordedAt: number;
  /** Absent once done (a marker). */
  readonly event?: Notification;
  readonly channels: Partial<Record<ChannelName, ChannelState>>;
  /** Epoch ms every channel was sent or dead-lettered. */
  readonly doneAt?: number;
}

/** Retries: first after about 1 s, the window doubling up to 10 min. */
export const RETRY_BASE_MS = 1000;
export const RETRY_MAX_MS = 600_000;
/** A channel gives up after this many failed attempts… */
export const MAX_ATTEMPTS = 16;
/** …or this long after the notification was recorded. */
export const MAX_AGE_MS = 24 * 3600_000;

/** The key of a notification: sha256 of sourceRef and severity, hex. The file name and the Message-ID come from it. */
export function notificationKey(sourceRef: string, severity: number): string {
  return createHash('sha256').update(`${sourceRef}\n${severity}`).digest('hex');
}

/** A new record: every channel pending, due now. */
export function newRecord(event: Notification, channels: readonly ChannelName[], now: number): NotifyRecord {
  const states: Partial<Record<ChannelName, ChannelState>> = {};
  for (const c of channels) states[c] = { state: 'pending', attempts: 0, nextAt: now };
  return { version: NOTIFY_RECORD_VERSION, key: notificationKey(event.sourceRef, event.severity), recordedAt: now, event, channels: states };
}

export function pendingChannels(record: NotifyRecord): ChannelName[] {
  return (Object.keys(record.channels) as ChannelName[]).filter((c) => record.channels[c]?.state === 'pending');
}

/** The record with `channel` set to `state`; a marker (no event) once nothing is pending. */
export function withChannel(record: NotifyRecord, channel: ChannelName, state: ChannelState, now: number): NotifyRecord {
  const next: NotifyRecord = { ...record, channels: { ...record.channels, [channel]: state } };
  if (pendingChannels(next).length > 0) return next;
  const { event: _event, ...marker } = next;
  return { ...marker, doneAt: now };
}

/** What a failed attempt leads to: another one at `nextAt`, or giving up (ERR_NOTIFY_ATTEMPTS). */
export function afterFailure(record: NotifyRecord, previous: ChannelState, reason: string, now: number, retryAfterMs?: number, random: () => number = Math.random): { retry: ChannelState } | { giveUp: string } {
  const attempts = previous.attempts + 1;
  if (attempts >= MAX_ATTEMPTS) return { giveUp: `ERR_NOTIFY_ATTEMPTS: ${attempts} attempts failed, the last: ${reason}` };
  const delay = retryAfterMs !== undefined ? Math.min(RETRY_MAX_MS, Math.max(RETRY_BASE_MS, retryAfterMs)) : RETRY_BASE_MS + fullJitter(attempts - 1, RETRY_BASE_MS, RETRY_MAX_MS - RETRY_BASE_MS, random);
  if (now + delay - record.recordedAt > MAX_AGE_MS) return { giveUp: `ERR_NOTIFY_ATTEMPTS: still failing 24 h after it was recorded (${attempts} attempts), the last: ${reason}` };
  return { retry: { state: 'pending', attempts, nextAt: now + delay, lastError: reason } };
}

/** A record file's content read back, or why not (damaged, newer). */
export function parseRecord(text: string): { ok: true; record: NotifyRecord } | { ok: false; reason: string } {
  let value: Partial<NotifyRecord>;
  try {
    value = JSON.parse(text) as Partial<NotifyRecord>;
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (value === null || typeof value !== 'object') return { ok: false, reason: 'not a JSON object' };
  const version = checkVersion(value.version, NOTIFY_RECORD_VERSION, 'a notification record');
  if (!version.ok) return version;
  if (version.version === 0) return { ok: false, reason: 'a notification record without a format version' };
  if (typeof value.key !== 'string' || typeof value.recordedAt !== 'number' || typeof value.channels !== 'object' || value.channels === null) return { ok: false, reason: 'no key, recordedAt or channels' };
  if (value.doneAt === undefined && (typeof value.event !== 'object' || value.event === null)) return { ok: false, reason: 'pending without its event' };
  return { ok: true, record: value as NotifyRecord };
}

/** What one attempt of one channel gave. */
export type AttemptResult =
  | { readonly kind: 'sent' }
  /** Try again later; `retryAfterMs` when the other side said when. */
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs?: number }
  /** Refused for good (ERR_NOTIFY_REJECTED): an SMTP 5xx, a webhook 4xx other than 408/429. */
  | { readonly kind: 'rejected'; readonly reason: string; readonly status?: number };

/** One way of sending: mail or webhook. */
export interface Channel {
  readonly name: ChannelName;
  send(n: Notification, key: string): Promise<AttemptResult>;
  close(): Promise<void>;
}
