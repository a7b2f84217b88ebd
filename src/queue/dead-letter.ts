/**
 * The dead-letter log: alerts the queue gave up on, one JSON object per line, in a file per UTC day
 * (`<dir>/dead-YYYY-MM-DD.ndjson`) so old days can be archived or deleted with plain file tools.
 * Each line is `{time, reason, status, body, attempts, alert}`; `status`/`body` are null when TheHive
 * gave no answer. `tracehive spool requeue-dead` and operators read these files back.
 */
import { createDailyNdjson } from '../io/daily-ndjson.js';
import type { Alert } from '../types.js';

/** One alert given up on. */
export interface DeadLetterEntry {
  readonly alert: Alert;
  /** Why, prefixed with the error code (`ERR_SINK_REJECTED: …`, `ERR_SINK_ATTEMPTS: …`). */
  readonly reason: string;
  /** TheHive's HTTP status, when it answered. */
  readonly status?: number;
  /** TheHive's answer body (already truncated by the sink), when it answered. */
  readonly body?: string;
  /** Delivery attempts made. */
  readonly attempts: number;
}

/** An append-only NDJSON log of dead letters. */
export interface DeadLetterLog {
  /** Appends one line; resolves once written and fsynced, rejects on I/O errors (ENOSPC…). */
  write(entry: DeadLetterEntry): Promise<void>;
  /** Waits for pending writes, syncs and closes the file. Later writes reopen it. */
  close(): Promise<void>;
}

/**
 * Opens (lazily) the dead-letter log in `dir`, creating the directory on the first write.
 * @param now - clock, injectable for tests; the file name uses its UTC date.
 */
export function createDeadLetterLog(dir: string, now: () => Date = () => new Date()): DeadLetterLog {
  // Synced: once a dead letter is written its spool record is acknowledged and may be deleted.
  const log = createDailyNdjson(dir, 'dead', now, true);
  return {
    write(entry) {
      const time = now();
      const line = {
        time: time.toISOString(),
        reason: entry.reason,
        status: entry.status ?? null,
        body: entry.body ?? null,
        attempts: entry.attempts,
        alert: entry.alert,
      };
      return log.append(line, time);
    },
    close: () => log.close(),
  };
}
