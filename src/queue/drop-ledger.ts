/**
 * Drop files serve took but could not remove: the drop directory is the MTA's, and a file another
 * user wrote there may be beyond serve's reach (EACCES, EPERM in a sticky directory it does not
 * own). 0.1.0 took such a file again every 2 s, forever. The ledger (`spool.dir/drops-taken.json`,
 * versioned, written atomically and fsynced) records each one by name and identity (inode, size,
 * mtime) before serve moves on, so it is never taken twice, also after a restart; an entry goes
 * once its file is gone. It is bounded: when full, serve stops taking drops (and says why) rather
 * than take one it could neither remove nor record.
 */
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { replaceFile, syncDir } from '../io/durable-file.js';
import { checkVersion } from '../io/format-version.js';
import { openPrivate } from '../io/private-files.js';

/** The ledger's format. */
const LEDGER_VERSION = 1;
/**
 * Files recorded at most (about 150 bytes each: 1.5 MB). Ten thousand mails serve could not clean
 * up is a drop directory set up wrong, which an operator must fix; it is not a backlog to grow.
 */
export const LEDGER_MAX = 10_000;

/** Who a file is, so that a new file under an old name is not mistaken for the one taken. */
interface Identity {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

interface Entry extends Identity {
  /** When serve took it (ISO). */
  readonly at: string;
  /** accepted, quarantined, or the reason it was refused. */
  readonly outcome: string;
}

export class DropLedger {
  readonly #file: string;
  readonly #dir: string;
  #taken = new Map<string, Entry>();

  private constructor(spoolDir: string) {
    this.#dir = spoolDir;
    this.#file = join(spoolDir, 'drops-taken.json');
  }

  /** Loads the ledger of `spoolDir` (empty when there is none); a damaged or newer one throws: serve must not guess. */
  static async load(spoolDir: string): Promise<DropLedger> {
    const ledger = new DropLedger(spoolDir);
    let text: string;
    try {
      const handle = await openPrivate(ledger.#file, 'read');
      text = await handle.readFile('utf8').finally(() => handle.close());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ledger;
      throw err;
    }
    const damaged = (why: string): Error =>
      new Error(`${ledger.#file} ${why}: drop files are not taken until it is fixed. Remove it to start over; the drop files it lists are then taken once more.`);
    let parsed: { version?: unknown; taken?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw damaged('is not JSON');
    }
    const version = checkVersion(parsed.version, LEDGER_VERSION, 'a ledger');
    if (!version.ok || version.version === 0) throw damaged(version.ok ? 'has no format version' : `is ${version.reason.replace(/^ERR_FORMAT_NEWER: /, '')}`);
    if (parsed.taken === null || typeof parsed.taken !== 'object') throw damaged('has no "taken" object');
    for (const [name, e] of Object.entries(parsed.taken as Record<string, Partial<Entry>>)) {
      if (typeof e.ino === 'number' && typeof e.size === 'number' && typeof e.mtimeMs === 'number') {
        ledger.#taken.set(name, { ino: e.ino, size: e.size, mtimeMs: e.mtimeMs, at: String(e.at ?? ''), outcome: String(e.outcome ?? '') });
      }
    }
    return ledger;
  }

  get size(): number {
    return this.#taken.size;
  }

  get full(): boolean {
    return this.#taken.size >= LEDGER_MAX;
  }

  /** Whether the file `name` with these stats was taken already. */
  has(name: string, st: Stats): boolean {
    const e = this.#taken.get(name);
    return e !== undefined && e.ino === st.ino && e.size === st.size && e.mtimeMs === st.mtimeMs;
  }

  /** Records a taken file, durably, before serve goes on. */
  async add(name: string, st: Stats, outcome: string): Promise<void> {
    this.#taken.set(name, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, at: new Date().toISOString(), outcome });
    await this.#save();
  }

  /** Forgets the files no longer in the directory (`present`: its names now). */
  async prune(present: ReadonlySet<string>): Promise<void> {
    let changed = false;
    for (const name of this.#taken.keys()) {
      if (!present.has(name)) {
        this.#taken.delete(name);
        changed = true;
      }
    }
    if (changed) await this.#save();
  }

  async #save(): Promise<void> {
    await replaceFile(this.#file, `${JSON.stringify({ version: LEDGER_VERSION, taken: Object.fromEntries(this.#taken) })}\n`);
    await syncDir(this.#dir);
  }
}
