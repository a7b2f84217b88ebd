/**
 * `tracehive ingest`'s side of the drop directory: each mail becomes one drop file (drop-file.ts),
 * written to a new temporary name, fdatasynced, renamed into place and the directory fsynced, so
 * once {@link DropWriter.keep} resolves the mail is on disk and an MTA may forget it. ingest never
 * touches spool.dir: it may run as the MTA's user, and serve (another user, holding the spool's
 * lock) takes the files from there.
 *
 * Drop files are 0644 on purpose: serve is usually another user than the MTA, and what keeps
 * other users out is the drop directory itself (3770, no access for others; see the README).
 * A directory ingest has to create itself is 0700, private to its user.
 */
import { randomBytes } from 'node:crypto';
import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir } from '../io/durable-file.js';
import { createFresh, makePrivateDir } from '../io/private-files.js';
import type { IngestTarget } from '../sources/mail-files.js';
import type { MailOrigin } from '../sources/mail-intake.js';
import { dropName, encodeDrop } from './drop-file.js';

/** Readable by serve through the drop directory, writable by nobody but ingest. */
const DROP_FILE_MODE = 0o644;

export class DropWriter implements IngestTarget {
  readonly #dir: string;
  readonly #now: () => number;

  constructor(dropDir: string, now: () => number = Date.now) {
    this.#dir = dropDir;
    this.#now = now;
  }

  /** Writes one mail as a drop file and resolves with its name once it is durable. */
  async keep(raw: Buffer, origin: MailOrigin): Promise<string> {
    if (origin.via !== 'stdin' && origin.via !== 'file') throw new Error(`ingest keeps mails from stdin or files, not ${origin.via}`);
    await makePrivateDir(this.#dir);
    const receivedAt = this.#now();
    const name = dropName(receivedAt, process.pid, randomBytes(6).toString('hex'));
    const tmp = join(this.#dir, `.${name}.tmp`);
    try {
      const handle = await createFresh(tmp, DROP_FILE_MODE);
      try {
        await handle.writeFile(encodeDrop({ receivedAt, via: origin.via, origin: origin.id, bytes: raw.length }, raw));
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(tmp, join(this.#dir, name));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await syncDir(this.#dir);
    return name;
  }
}
