/**
 * Small files that must survive a crash or a power cut once the call resolves: the spool's
 * `ack.json`, `tracehive ingest`'s drop files, quarantined mails, the IMAP state file. One
 * implementation of the dance (write, fdatasync, rename, fsync the directory) instead of one per
 * caller. Every open goes through private-files.ts: no symbolic link is followed, a temporary file
 * is always a new one, and files are 0600 unless the caller says otherwise.
 */
import { open, rename } from 'node:fs/promises';
import { createFresh, openPrivate, PRIVATE_FILE_MODE } from './private-files.js';

export interface ReplaceOptions {
  /** The temporary sibling written first; `<path>.tmp` by default. */
  readonly tmp?: string;
  /** File mode of the new file. @default 0o600 */
  readonly mode?: number;
}

/** Writes `data` to `path` (created or truncated) and resolves once it is on disk (fdatasync). */
export async function writeSynced(path: string, data: string | Buffer, mode: number = PRIVATE_FILE_MODE): Promise<void> {
  const handle = await openPrivate(path, 'replace', mode);
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` atomically: readers see the old content or the new one, never a part. The data
 * is on disk before the rename, so a crash leaves the old file or the whole new one; callers that
 * need the rename itself durable follow with {@link syncDir}. The temporary file is created new
 * (a leftover or a planted link at its name is removed, never written through); the rename
 * replaces whatever entry `path` was, a link included, without following it.
 */
export async function replaceFile(path: string, data: string | Buffer, options: ReplaceOptions = {}): Promise<void> {
  const tmp = options.tmp ?? `${path}.tmp`;
  const handle = await createFresh(tmp, options.mode ?? PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** Makes a directory's entries (a new file, a rename, an unlink) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some platforms and filesystems cannot fsync a directory; their metadata is then as durable as it gets.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
  } finally {
    await handle.close();
  }
}
