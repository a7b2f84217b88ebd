/**
 * The dead-letter log: alerts the queue gave up on, one JSON object per line, in a file per UTC day
 * (`<dir>/dead-YYYY-MM-DD.ndjson`; a named target's `dead.<target>-YYYY-MM-DD.ndjson`, issue 14)
 * so old days can be archived or deleted with plain file tools.
 * Each line is `{version, time, reason, status, body, attempts, alert}`; `status`/`body` are null
 * when TheHive gave no answer; 0.1.0 wrote the same without `version`. `tracehive spool
 * requeue-dead` and operators read these files back.
 *
 * A dead letter is always written (its spool record is acknowledged once it is): the byte cap
 * `spool.dead.maxBytes` does not drop one, it makes {@link DeadLetterLog.overBudget} say why input
 * must pause until an operator requeues or removes dead letters.
 */
import { createDailyNdjson } from '../io/daily-ndjson.js';
import type { KeptFiles, KeptNaming } from '../io/kept-files.js';
import type { Alert } from '../types.js';

/** The format of a dead-letter line; a reader refuses a higher one (ERR_FORMAT_NEWER). */
export const DEAD_LETTER_VERSION = 1;

/**
 * The day files of `spool.dir/dead/` that count against `spool.dead.maxBytes` and its retention:
 * dead alerts (`dead-…`) and dead notifications (`notify-…`, src/notify/dead-letters.ts).
 */
export const DEAD_FILES = { kind: 'day', prefix: ['dead', 'notify'] } as const satisfies KeptNaming;

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
  /** Appends several lines with one write and one fsync (a target's backlog over its share). */
  writeMany(entries: readonly DeadLetterEntry[]): Promise<void>;
  /** Waits for pending writes, syncs and closes the file. Later writes reopen it. */
  close(): Promise<void>;
  /** Why input must pause (dead letters over spool.dead.maxBytes), or null while they fit. */
  overBudget(): string | null;
}

/**
 * Opens (lazily) the dead-letter log in `dir`, creating the directory (0700) on the first write.
 * @param now - clock, injectable for tests; the file name uses its UTC date.
 * @param kept - the budget of `dir` (spool.dead): counted on each write; none = no cap.
 * @param budgetChecked - told {@link DeadLetterLog.overBudget} after each write (telemetry logs a change).
 */
export function createDeadLetterLog(dir: string, now: () => Date = () => new Date(), kept?: KeptFiles, budgetChecked?: (overBudget: string | null) => void, prefix = 'dead'): DeadLetterLog {
  // Synced: once a dead letter is written its spool record is acknowledged and may be deleted.
  const log = createDailyNdjson(dir, prefix, now, true, kept && { admit: () => Promise.resolve(true), added: (name, bytes) => kept.added(name, bytes) });
  const lineOf = (entry: DeadLetterEntry, time: Date): object => ({
    version: DEAD_LETTER_VERSION,
    time: time.toISOString(),
    reason: entry.reason,
    status: entry.status ?? null,
    body: entry.body ?? null,
    attempts: entry.attempts,
    alert: entry.alert,
  });
  const dead: DeadLetterLog = {
    async write(entry) {
      const time = now();
      await log.append(lineOf(entry, time), time);
      budgetChecked?.(dead.overBudget());
    },
    async writeMany(entries) {
      if (entries.length === 0) return;
      const time = now();
      await log.appendMany(entries.map((e) => lineOf(e, time)), time);
      budgetChecked?.(dead.overBudget());
    },
    close: () => log.close(),
    overBudget() {
      if (!kept || kept.overBy() === 0) return null;
      const { bytes, maxBytes } = kept.usage();
      return `dead letters in ${dir} hold ${bytes} bytes, over spool.dead.maxBytes (${maxBytes}): requeue them (tracehive spool requeue-dead) or delete files there`;
    },
  };
  return dead;
}
