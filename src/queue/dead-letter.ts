/**
 * The dead-letter log: alerts the queue gave up on, one JSON object per line, in a file per UTC day
 * (`<dir>/dead-YYYY-MM-DD.ndjson`) so old days can be archived or deleted with plain file tools.
 * Each line is `{time, reason, status, body, attempts, alert}`; `status`/`body` are null when TheHive
 * gave no answer. `tracehive spool requeue-dead` and operators read these files back.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
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
  /** Appends one line; resolves once written to the file (not fsynced), rejects on I/O errors (ENOSPC…). */
  write(entry: DeadLetterEntry): Promise<void>;
  /** Waits for pending writes, syncs and closes the file. Later writes reopen it. */
  close(): Promise<void>;
}

/**
 * Opens (lazily) the dead-letter log in `dir`, creating the directory on the first write.
 * @param now - clock, injectable for tests; the file name uses its UTC date.
 */
export function createDeadLetterLog(dir: string, now: () => Date = () => new Date()): DeadLetterLog {
  let file: { name: string; handle: FileHandle } | null = null;
  // Writes run one after another so lines never interleave and the day switch is race-free.
  let chain: Promise<unknown> = Promise.resolve();

  async function handleFor(time: Date): Promise<FileHandle> {
    const name = join(dir, `dead-${time.toISOString().slice(0, 10)}.ndjson`);
    if (file?.name === name) return file.handle;
    if (file) await file.handle.close().catch(() => undefined);
    file = null;
    await mkdir(dir, { recursive: true });
    file = { name, handle: await open(name, 'a') };
    return file.handle;
  }

  async function append(entry: DeadLetterEntry): Promise<void> {
    const time = now();
    const line = JSON.stringify({
      time: time.toISOString(),
      reason: entry.reason,
      status: entry.status ?? null,
      body: entry.body ?? null,
      attempts: entry.attempts,
      alert: entry.alert,
    });
    const handle = await handleFor(time);
    try {
      await handle.appendFile(`${line}\n`, 'utf8');
    } catch (err) {
      // Reopen next time: the file may have been removed or the disk may come back.
      file = null;
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  return {
    write(entry) {
      const run = chain.then(() => append(entry));
      chain = run.catch(() => undefined);
      return run;
    },
    async close() {
      const run = chain.then(async () => {
        if (!file) return;
        const { handle } = file;
        file = null;
        await handle.datasync().catch(() => undefined);
        await handle.close();
      });
      chain = run.catch(() => undefined);
      await run;
    },
  };
}
