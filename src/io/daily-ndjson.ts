/**
 * An append-only NDJSON log that starts a new file each UTC day (`<dir>/<prefix>-YYYY-MM-DD.ndjson`),
 * so operators can read, grep, archive and delete old days with ordinary tools. The dead-letter
 * log and the rejected-line log are both one of these.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface DailyNdjson {
  /** Appends one line; resolves once written to the file (fsynced when opened with `sync`), rejects on I/O errors (ENOSPC…). */
  append(entry: object, time?: Date): Promise<void>;
  /** Waits for pending writes, syncs and closes the file. Later appends reopen it. */
  close(): Promise<void>;
}

/**
 * Opens (lazily) a daily log in `dir`, creating the directory on the first append.
 * @param sync - fdatasync after each append: for a log that takes over data from the spool (dead
 *   letters), whose spool record is deleted once the append resolves.
 */
export function createDailyNdjson(dir: string, prefix: string, now: () => Date = () => new Date(), sync = false): DailyNdjson {
  let file: { name: string; handle: FileHandle } | null = null;
  // Appends run one after another so lines never interleave and the day switch is race-free.
  let chain: Promise<unknown> = Promise.resolve();

  async function handleFor(time: Date): Promise<FileHandle> {
    const name = join(dir, `${prefix}-${time.toISOString().slice(0, 10)}.ndjson`);
    if (file?.name === name) return file.handle;
    if (file) await file.handle.close().catch(() => undefined);
    file = null;
    await mkdir(dir, { recursive: true });
    file = { name, handle: await open(name, 'a') };
    return file.handle;
  }

  async function write(line: string, time: Date): Promise<void> {
    const handle = await handleFor(time);
    try {
      await handle.appendFile(line, 'utf8');
      if (sync) await handle.datasync();
    } catch (err) {
      // Reopen next time: the file may have been removed or the disk may come back.
      file = null;
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  return {
    append(entry, time = now()) {
      const line = `${JSON.stringify(entry)}\n`;
      const run = chain.then(() => write(line, time));
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
