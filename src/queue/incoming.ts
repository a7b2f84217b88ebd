/**
 * A drop directory for short-lived writers that must not wait for, or fight over, the spool that a
 * running `tracehive serve` holds: `tracehive ingest` in an MTA pipe. The writer puts each record
 * in its own file in `spool.dir/incoming/` (written, fdatasynced, renamed into place, the directory
 * fsynced: once its commit resolves the mail is on disk), and serve moves the files into its spool
 * at start and every few seconds (Postfix's maildrop + pickup, qmail's queue/todo). A crash between
 * serve's spool commit and its unlink appends a record twice; TheHive answers "already exists".
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpoolWriter } from './spool-payload.js';
import { replaceFile, syncDir } from '../io/durable-file.js';

const SUFFIX = '.rec';

export function incomingDir(spoolDir: string): string {
  return join(spoolDir, 'incoming');
}

/** The writer side: the {@link SpoolWriter} calls over a drop directory. */
export class IncomingDrop implements SpoolWriter {
  readonly #dir: string;
  #pending: { payload: string; time: number }[] = [];
  #closed = false;

  constructor(spoolDir: string) {
    this.#dir = incomingDir(spoolDir);
  }

  readonly full = false;

  get closed(): boolean {
    return this.#closed;
  }

  whenSpace(): Promise<void> {
    return Promise.resolve();
  }

  append(payload: string, time: number = Date.now()): number {
    this.#pending.push({ payload, time });
    return this.#pending.length;
  }

  /** Writes every pending record to its own file, durably. */
  async commit(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    await mkdir(this.#dir, { recursive: true });
    for (const { payload, time } of batch) {
      const name = `${String(time).padStart(15, '0')}-${process.pid}-${randomBytes(6).toString('hex')}`;
      await replaceFile(join(this.#dir, `${name}${SUFFIX}`), `${time}\n${payload}`, { tmp: join(this.#dir, `.${name}.tmp`) });
    }
    await syncDir(this.#dir);
  }

  close(): void {
    this.#closed = true;
  }
}


/** Moves every dropped record into the spool (oldest first) and deletes the files once committed; returns how many. */
export async function drainIncoming(spoolDir: string, target: SpoolWriter): Promise<number> {
  const dir = incomingDir(spoolDir);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(SUFFIX)).sort();
  if (names.length === 0) return 0;
  const taken: string[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8');
    const newline = text.indexOf('\n');
    const time = Number(text.slice(0, newline));
    if (target.full) await target.whenSpace();
    target.append(text.slice(newline + 1), Number.isFinite(time) ? time : Date.now());
    taken.push(name);
  }
  await target.commit();
  for (const name of taken) await unlink(join(dir, name)).catch(() => undefined);
  return taken.length;
}
