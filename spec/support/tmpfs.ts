/**
 * A small tmpfs of the test's own, for what only a real full disk shows (ENOSPC on write, on
 * fsync, on a new file). Mounting needs root (CI runs as root); without it the caller skips with
 * the reason, so a developer's unprivileged run says what it did not test.
 */
import { execFileSync } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  /** The mount point. */
  readonly dir: string;
  /** Fills the filesystem with a filler file until fewer than `leaveBytes` are free. */
  fill(leaveBytes?: number): Promise<void>;
  /** Shrinks the filler by `bytes` (all of it when omitted): that much space comes back. */
  free(bytes?: number): Promise<void>;
  /** Unmounts and removes the mount point. */
  unmount(): Promise<void>;
}

/** Why a tmpfs cannot be mounted here, or null when it can (root, and mount(8) works). */
export function tmpfsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (CI runs as root)';
  return null;
}

/** Mounts a tmpfs of `sizeBytes` on a new temp directory. */
export async function mountTmpfs(sizeBytes: number): Promise<Tmpfs> {
  const dir = await mkdtemp(join(tmpdir(), 'tracehive-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  let fillerBytes = 0;
  return {
    dir,
    async fill(leaveBytes = 0) {
      const handle = await open(filler, 'a');
      try {
        const chunk = Buffer.alloc(64 * 1024, 0x66);
        for (;;) {
          const free = freeBytes(dir);
          if (free <= leaveBytes) break;
          const n = Math.min(chunk.length, free - leaveBytes);
          try {
            const { bytesWritten } = await handle.write(chunk, 0, n);
            fillerBytes += bytesWritten;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
      } finally {
        await handle.close();
      }
    },
    async free(bytes) {
      fillerBytes = bytes === undefined ? 0 : Math.max(0, fillerBytes - bytes);
      await truncate(filler, fillerBytes);
    },
    async unmount() {
      execFileSync('umount', ['-l', dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Free bytes of the filesystem holding `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
