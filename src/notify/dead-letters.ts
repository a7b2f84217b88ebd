/**
 * Dead letters of notifications: a channel that gave up on one (refused for good, too many
 * attempts, the outbox full) leaves a line in `spool.dir/dead/notify-YYYY-MM-DD.ndjson`, beside the
 * alerts' `dead-*.ndjson`. Each line is `{version, time, kind: "notification", key, channel, reason,
 * status, attempts, event}`: enough for `tracehive spool requeue-dead` to put it back in the outbox.
 */
import { join } from 'node:path';
import { createDailyNdjson } from '../io/daily-ndjson.js';
import { checkVersion } from '../io/format-version.js';
import type { ChannelName } from './record.js';
import type { Notification } from './render.js';

/** The format of a notification dead letter; a reader refuses a higher one (ERR_FORMAT_NEWER). */
export const NOTIFY_DEAD_VERSION = 1;
/** The day files' prefix in dead/. */
export const NOTIFY_DEAD_PREFIX = 'notify';

export interface NotifyDeadLetter {
  readonly key: string;
  readonly channel: ChannelName;
  /** Prefixed with its code: `ERR_NOTIFY_REJECTED: …`. */
  readonly reason: string;
  /** The SMTP reply code or HTTP status, when there was an answer. */
  readonly status?: number;
  readonly attempts: number;
  readonly event: Notification;
}

export interface NotifyDeadLetters {
  /** Resolves once the line is on disk (fsynced). */
  write(entry: NotifyDeadLetter): Promise<void>;
  close(): Promise<void>;
}

export function createNotifyDeadLetters(spoolDir: string, now: () => Date = () => new Date()): NotifyDeadLetters {
  const log = createDailyNdjson(join(spoolDir, 'dead'), NOTIFY_DEAD_PREFIX, now, true);
  return {
    async write(entry) {
      const time = now();
      await log.append({ version: NOTIFY_DEAD_VERSION, time: time.toISOString(), kind: 'notification', key: entry.key, channel: entry.channel, reason: entry.reason, status: entry.status ?? null, attempts: entry.attempts, event: entry.event }, time);
    },
    close: () => log.close(),
  };
}

/** Whether a dead/ file holds notification dead letters (its name), not alerts. */
export function isNotifyDeadFile(name: string): boolean {
  return name.startsWith(`${NOTIFY_DEAD_PREFIX}-`);
}

/** One line of a notify-*.ndjson file read back: the channel and the event, or why not. Pure. */
export function readNotifyDeadLetter(line: string): { ok: true; channel: ChannelName; event: Notification } | { ok: false; reason: string } {
  let entry: { version?: unknown; channel?: unknown; event?: Partial<Notification> };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return { ok: false, reason: 'not JSON: a damaged or hand-edited line' };
  }
  if (entry === null || typeof entry !== 'object') return { ok: false, reason: 'not a JSON object' };
  const version = checkVersion(entry.version, NOTIFY_DEAD_VERSION, 'a notification dead letter');
  if (!version.ok) return { ok: false, reason: `${version.reason}: upgrade tracehive to requeue it` };
  const e = entry.event;
  if ((entry.channel !== 'mail' && entry.channel !== 'webhook') || !e || typeof e !== 'object' || typeof e.sourceRef !== 'string' || typeof e.title !== 'string' || typeof e.severity !== 'number') {
    return { ok: false, reason: 'no channel, or no event with a sourceRef, a title and a severity' };
  }
  return { ok: true, channel: entry.channel, event: e as Notification };
}
