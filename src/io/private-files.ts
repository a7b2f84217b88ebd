/**
 * How tracehive opens what it keeps in spool.dir (and reads from the ingest drop directory), for
 * the day another user had a hand in a directory: a spool that 0.1.0's README made writable by the
 * MTA, a drop directory the MTA's group writes. Directories it creates are 0700 and files 0600
 * whatever the umask; a name is never opened through a symbolic link (O_NOFOLLOW); a temporary
 * file is always a new one (O_EXCL); a file opened for writing must be a plain file of ours with
 * one name (no hard link to somebody's file), and no open waits on a FIFO (O_NONBLOCK). What was
 * planted is refused with ERR_FILE_UNSAFE, never followed: in 0.1.0 a link planted in rejected/
 * made a serve running as root append to a root-only file.
 */
import { constants } from 'node:fs';
import { lchown, lstat, mkdir, open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BridgeError } from '../errors.js';

/** Directories tracehive creates for itself: only its own user may list or enter them. */
export const PRIVATE_DIR_MODE = 0o700;
/** Files tracehive keeps (alerts, mails, state): only its own user may read them. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * - `read`: an existing plain file (another user's is fine: the drop directory);
 * - `append`: created when missing, else an existing plain file of ours with one link;
 * - `replace`: the same, then truncated (only after the checks: a hard-linked victim stays whole);
 * - `create`: a new file; fails with EEXIST when the name is taken, by a link or anything else.
 */
export type OpenHow = 'read' | 'append' | 'replace' | 'create';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;
// O_NONBLOCK: opening a FIFO must fail or return at once, not wait for a writer (a hung serve).
const FLAGS: Record<OpenHow, number> = {
  read: O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
  append: O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK,
  replace: O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK,
  create: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK,
};

/** The refusal for a planted or odd file: names it and says what to do. */
export function unsafeFile(path: string, what: string): BridgeError {
  return new BridgeError(
    'ERR_FILE_UNSAFE',
    `${path} ${what}: tracehive never opens such a file in spool.dir or the drop directory. Remove it (rm ${JSON.stringify(path)}) and check who else can write to that directory.`,
  );
}

/**
 * Opens `path` as `how` says, refusing symbolic links, non-plain files and, for writing, files of
 * another user or with more than one name. A file opened for writing ends with mode `mode`
 * (0600 by default) whatever the umask and whatever mode it had.
 */
export async function openPrivate(path: string, how: OpenHow, mode: number = PRIVATE_FILE_MODE): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, FLAGS[how], mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Linux answers ELOOP to O_NOFOLLOW on a link (some BSDs EMLINK); ENXIO is a FIFO nobody reads.
    if (code === 'ELOOP' || code === 'EMLINK') throw unsafeFile(path, 'is a symbolic link');
    if (code === 'ENXIO') throw unsafeFile(path, 'is not a regular file (a FIFO or a socket)');
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw unsafeFile(path, 'is not a regular file');
    if (how !== 'read') {
      const euid = process.geteuid?.();
      if (st.nlink > 1) throw unsafeFile(path, `has ${st.nlink} hard links (another name points at the same file)`);
      if (euid !== undefined && st.uid !== euid) throw unsafeFile(path, `belongs to uid ${st.uid}, not to the user tracehive runs as (uid ${euid})`);
      if ((st.mode & 0o7777) !== mode) await handle.chmod(mode);
      if (how === 'replace') await handle.truncate(0);
    }
    return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Creates `path` as a new file (O_EXCL) for a temporary copy. A leftover of a crash (or anything
 * planted) at that name is removed first, never opened: unlinking a link removes the link only.
 */
export async function createFresh(path: string, mode: number = PRIVATE_FILE_MODE): Promise<FileHandle> {
  try {
    return await openPrivate(path, 'create', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await unlink(path);
    return openPrivate(path, 'create', mode);
  }
}

export interface PrivateDirOptions {
  /** Refuse `dir` when it is a symbolic link (subdirectories of spool.dir); the operator's own paths may be links. */
  readonly refuseLink?: boolean;
  /** Mode of the directories created. @default 0o700 */
  readonly mode?: number;
}

/**
 * `mkdir -p` whose new directories get `mode` (0700) whatever the umask; resolves with the first
 * directory it created (undefined when `dir` existed), so a caller can fsync its parent.
 */
export async function makePrivateDir(dir: string, options: PrivateDirOptions = {}): Promise<string | undefined> {
  const mode = options.mode ?? PRIVATE_DIR_MODE;
  const first = await mkdir(dir, { recursive: true, mode });
  if (first !== undefined) {
    // mkdir's mode went through the umask: set it exactly, on each directory made, deepest first.
    for (let d = dir; ; d = dirname(d)) {
      await chmodDir(d, mode);
      if (d === first || dirname(d) === d) break;
    }
  }
  if (options.refuseLink) {
    const st = await lstat(dir);
    if (st.isSymbolicLink()) throw unsafeFile(dir, 'is a symbolic link');
    if (!st.isDirectory()) throw unsafeFile(dir, 'is not a directory');
  }
  return first;
}

/** chmod of a directory that never follows a link swapped in for it (fchmod on an O_NOFOLLOW handle). */
async function chmodDir(dir: string, mode: number): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw unsafeFile(dir, 'is a symbolic link');
    throw err;
  }
  try {
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/**
 * When root runs a command on a spool that belongs to the serve user (`sudo tracehive spool
 * requeue-dead`), what it creates there is handed to that user, or serve could not read it.
 */
export async function giveToOwnerOf(path: string, owner: string): Promise<void> {
  if (process.geteuid?.() !== 0) return;
  const want = await stat(owner);
  const have = await lstat(path);
  // lchown: a link swapped in meanwhile gets the new owner, never what it points at.
  if (have.uid !== want.uid || have.gid !== want.gid) await lchown(path, want.uid, want.gid);
}
