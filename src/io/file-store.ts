/**
 * The files of mail alerts (the original `.eml`, its attachments) kept under `spool.dir/files/`
 * until TheHive has them (issue 13 point 2). A mail is spooled as its alert, which names its
 * files by SHA-256 only: their bytes live here, written and fsynced before the alert's record is,
 * so a record on disk always finds its files after `kill -9`.
 *
 * Content-addressed: one file per content, `files/<sha256>`, however many mails carry it (a
 * campaign's twenty reports of one attachment keep one copy). Each mail that needs a content holds
 * a reference, a hard link `files/<sha256>.<ref>` (`ref`: the mail's own digest, so a mail fetched
 * twice holds one reference, not two): the filesystem's link count is the reference count. When a
 * mail's files reached TheHive its references go, and a content whose last reference went is
 * deleted. A content left without any reference (a crash between writing it and linking it, the
 * mail not acknowledged and fetched again later) is swept at start once it is an hour old.
 *
 * Files are 0600 and the directory 0700 (mails hold personal data); names are checked to be hex.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { link, lstat, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir } from './durable-file.js';
import { createFresh, makePrivateDir } from './private-files.js';

/** A content with no reference is left alone this long: its mail may be on its way to the spool. */
export const ORPHAN_AGE_MS = 60 * 60 * 1000;

const SHA256 = /^[0-9a-f]{64}$/;
const REF = /^[0-9a-f]{8,64}$/;

export interface StoredFile {
  readonly sha256: string;
  readonly content: Buffer;
}

export interface FileStoreUsage {
  readonly files: number;
  readonly bytes: number;
}

export class FileStore {
  readonly dir: string;
  /** Puts and releases one after another: a release must not unlink a content a put is linking. */
  #chain: Promise<unknown> = Promise.resolve();
  #ready: Promise<void> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Writes each content that is not here yet and a reference `ref` to each, all durable (data and
   * names fsynced) when this resolves. Idempotent: the same mail put twice changes nothing.
   */
  put(ref: string, files: readonly StoredFile[]): Promise<void> {
    checkRef(ref);
    for (const f of files) checkSha(f.sha256);
    return this.#serial(async () => {
      await this.#mkdir();
      for (const f of files) {
        const path = this.path(f.sha256);
        if (!(await exists(path))) {
          const tmp = `${path}.tmp`;
          const handle = await createFresh(tmp);
          try {
            await handle.writeFile(f.content);
            await handle.datasync();
          } finally {
            await handle.close();
          }
          await rename(tmp, path);
        }
        await link(path, `${path}.${ref}`).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
      }
      if (files.length > 0) await syncDir(this.dir);
    });
  }

  /** Drops `ref`'s references to these contents; a content nobody refers to any more is deleted. */
  release(ref: string, sha256s: readonly string[]): Promise<void> {
    checkRef(ref);
    return this.#serial(async () => {
      let changed = false;
      for (const sha of sha256s) {
        checkSha(sha);
        const path = this.path(sha);
        try {
          await unlink(`${path}.${ref}`);
          changed = true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        try {
          if ((await lstat(path)).nlink <= 1) {
            await unlink(path);
            changed = true;
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      if (changed) await syncDir(this.dir).catch(() => undefined);
    });
  }

  /** The path of a content; it may be gone (released, or deleted by hand). */
  path(sha256: string): string {
    checkSha(sha256);
    return join(this.dir, sha256);
  }

  /** The size of a content, or null when it is not here. */
  async size(sha256: string): Promise<number | null> {
    try {
      const s = await stat(this.path(sha256));
      return s.isFile() ? s.size : null;
    } catch {
      return null;
    }
  }

  /** A stream of a content (throws ENOENT on read when it is gone). */
  open(sha256: string): ReadStream {
    return createReadStream(this.path(sha256));
  }

  /** Contents kept, and their bytes (each counted once, however many references it has). */
  async usage(): Promise<FileStoreUsage> {
    let files = 0;
    let bytes = 0;
    for (const name of await this.#names()) {
      if (!SHA256.test(name)) continue;
      const s = await lstat(join(this.dir, name)).catch(() => null);
      if (s?.isFile()) {
        files++;
        bytes += s.size;
      }
    }
    return { files, bytes };
  }

  /** Deletes contents without a reference older than {@link ORPHAN_AGE_MS}, and leftover `.tmp` files. */
  sweep(now: number = Date.now()): Promise<number> {
    return this.#serial(async () => {
      let removed = 0;
      for (const name of await this.#names()) {
        const path = join(this.dir, name);
        const s = await lstat(path).catch(() => null);
        if (s === null || !s.isFile()) continue;
        const orphan = SHA256.test(name) && s.nlink <= 1;
        const leftover = name.endsWith('.tmp');
        if ((orphan || leftover) && now - s.mtimeMs >= ORPHAN_AGE_MS) {
          await unlink(path).catch(() => undefined);
          removed++;
        }
      }
      return removed;
    });
  }

  async #names(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  #mkdir(): Promise<void> {
    this.#ready ??= makePrivateDir(this.dir, { refuseLink: true }).then(() => undefined);
    return this.#ready.catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}

function checkSha(sha: string): void {
  if (!SHA256.test(sha)) throw new TypeError(`not a SHA-256 in hex: ${JSON.stringify(sha.slice(0, 80))}`);
}

function checkRef(ref: string): void {
  if (!REF.test(ref)) throw new TypeError(`not a file reference: ${JSON.stringify(ref.slice(0, 80))}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}
