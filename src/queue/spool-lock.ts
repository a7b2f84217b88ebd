/**
 * The spool directory's `LOCK` file: one tracehive process per spool.dir. The file holds the pid of
 * the process using the spool (created with O_EXCL) and the boot id. A lock whose pid is dead, is
 * from an earlier boot (a power cut: the pid may now be another process's), or is our own pid but not
 * held by this process (a container restarted as pid 1), is taken over. Two processes taking over
 * one stale lock at the same instant could both win; a supervisor starts one serve per spool.dir, so
 * this is left at that. Its own file because it shares nothing with the spool's data path.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, spoolError } from './spool-errors.js';

const LOCK_FILE = 'LOCK';

/** Spool directories (resolved) this process holds the lock of. */
const lockedHere = new Set<string>();

/**
 * Takes `dir/LOCK`: `<pid>\n<boot id>\n`. The boot id (Linux) tells a lock left by a power cut
 * from a live one: after a reboot its pid may well belong to another process. Throws
 * `ERR_SPOOL_LOCKED` when another live process holds it, `ERR_SPOOL_DIR` when it cannot be written.
 */
export async function takeLock(dir: string): Promise<void> {
  const path = join(dir, LOCK_FILE);
  const boot = await bootId();
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // O_EXCL: never through a file or symlink already there; 0600: only serve's user reads it.
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid}\n${boot}\n`);
      } finally {
        await handle.close();
      }
      lockedHere.add(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw spoolError('ERR_SPOOL_DIR', `Spool directory ${dir} is not writable (${describe(err)}): point spool.dir at a writable directory.`, err);
      }
    }
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text === null) continue; // removed meanwhile: try again
    const [pidLine = '', bootLine = ''] = text.split('\n');
    const pid = Number.parseInt(pidLine, 10);
    const sameBoot = boot === '' || bootLine.trim() === '' || bootLine.trim() === boot;
    const held = pid === process.pid ? lockedHere.has(dir) : pid > 0 && sameBoot && alive(pid);
    if (held) {
      throw spoolError('ERR_SPOOL_LOCKED', `Spool directory ${dir} is locked by pid ${pid}: another tracehive serve uses this spool.dir. If no tracehive runs, delete ${path}.`);
    }
    // Stale: its process is gone (or it is an earlier life of our own pid, or from before a reboot). Take it over.
    await unlink(path).catch(() => undefined);
  }
  throw spoolError('ERR_SPOOL_LOCKED', `Spool directory ${dir}: the lock ${path} keeps changing hands: another tracehive is starting on this spool.dir.`);
}

/** Removes `dir/LOCK` if this process took it (and it still names our pid); never throws. */
export async function releaseLock(dir: string): Promise<void> {
  if (!lockedHere.delete(dir)) return;
  const path = join(dir, LOCK_FILE);
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text !== null && Number.parseInt(text, 10) === process.pid) await unlink(path).catch(() => undefined);
}

/** This boot's id, '' where the system has none (not Linux). */
async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}
