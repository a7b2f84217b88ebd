/**
 * An append-only NDJSON log that starts a new file each UTC day (`<dir>/<prefix>-YYYY-MM-DD.ndjson`),
 * so operators can read, grep, archive and delete old days with ordinary tools. The dead-letter
 * log and the rejected-line log are both one of these. The directory is 0700 and the files 0600;
 * a link planted at a day file's name is refused (ERR_FILE_UNSAFE), never written through.
 */
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { makePrivateDir, openPrivate } from './private-files.js';

/** A byte budget the log asks before each line (see kept-files.ts). */
export interface AppendGate {
  /** Whether `bytes` more may go into the day file `name`; it may delete older files first to make room. */
  admit(name: string, bytes: number): Promise<boolean>;
  /** `bytes` were written to the day file `name`. */
  added(name: string, bytes: number): void;
}

export interface DailyNdjson {
  /**
   * Appends one line; resolves true once written to the file (fsynced when opened with `sync`),
   * false when the gate refused it (nothing written); rejects on I/O errors (ENOSPC…) and on a
   * planted link (ERR_FILE_UNSAFE).
   */
  append(entry: object, time?: Date): Promise<boolean>;
  /** Appends several lines with one write (and one fsync): what {@link append} does for one. */
  appendMany(entries: readonly object[], time?: Date): Promise<boolean>;
  /** Waits for pending writes, syncs and closes the file. Later appends reopen it. */
  close(): Promise<void>;
}

/** The day file a log with `prefix` writes at `time` (UTC date). */
export function dayFileName(prefix: string, time: Date): string {
  return `${prefix}-${time.toISOString().slice(0, 10)}.ndjson`;
}

/**
 * Opens (lazily) a daily log in `dir`, creating the directory on the first append.
 * @param sync - fdatasync after each append: for a log that takes over data from the spool (dead
 *   letters), whose spool record is deleted once the append resolves.
 * @param gate - a byte budget asked before each line; none by default.
 */
export function createDailyNdjson(dir: string, prefix: string, now: () => Date = () => new Date(), sync = false, gate?: AppendGate): DailyNdjson {
  let file: { name: string; handle: FileHandle } | null = null;
  // Appends run one after another so lines never interleave and the day switch is race-free.
  let chain: Promise<unknown> = Promise.resolve();

  async function handleFor(name: string): Promise<FileHandle> {
    if (file?.name === name) return file.handle;
    if (file) await file.handle.close().catch(() => undefined);
    file = null;
    await makePrivateDir(dir, { refuseLink: true });
    file = { name, handle: await openPrivate(join(dir, name), 'append') };
    return file.handle;
  }

  async function write(line: string, time: Date): Promise<boolean> {
    const name = dayFileName(prefix, time);
    const bytes = Buffer.byteLength(line);
    if (gate && !(await gate.admit(name, bytes))) return false;
    const handle = await handleFor(name);
    try {
      await handle.appendFile(line, 'utf8');
      gate?.added(name, bytes);
      if (sync) await handle.datasync();
      return true;
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
    appendMany(entries, time = now()) {
      const lines = entries.map((e) => `${JSON.stringify(e)}\n`).join('');
      const run = chain.then(() => write(lines, time));
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
