/**
 * Small files that must survive a crash or a power cut once the call resolves: the spool's
 * `ack.json`, `tracehive ingest`'s drop files, quarantined mails, the IMAP state file. One
 * implementation of the dance (write, fdatasync, rename, fsync the directory) instead of one per
 * caller.
 */
import { open, rename } from 'node:fs/promises';

export interface ReplaceOptions {
  /** The temporary sibling written first; `<path>.tmp` by default. */
  readonly tmp?: string;
  /** File mode of a new file (0o600 for files holding mailbox state). */
  readonly mode?: number;
}

/** Writes `data` to `path` (created or truncated) and resolves once it is on disk (fdatasync). */
export async function writeSynced(path: string, data: string | Buffer, mode?: number): Promise<void> {
  const handle = await open(path, 'w', mode);
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
 * need the rename itself durable follow with {@link syncDir}.
 */
export async function replaceFile(path: string, data: string | Buffer, options: ReplaceOptions = {}): Promise<void> {
  const tmp = options.tmp ?? `${path}.tmp`;
  await writeSynced(tmp, data, options.mode);
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
