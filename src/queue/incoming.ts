/**
 * serve's side of the ingest drop directory (`ingest.dropDir`): at start and every few seconds it
 * takes the mails `tracehive ingest` left there (Postfix's maildrop + pickup, qmail's queue/todo),
 * oldest first, and hands each to the same {@link MailIntake} as IMAP and SMTP: parsed, mapped,
 * spooled or quarantined. Only then is the file removed, so a crash takes a mail twice at worst
 * (TheHive answers "already exists"); a mail the intake refuses for now (spool closed, disk error)
 * stays for the next round, and so does one that would go to a full quarantine, while the files
 * after it are still taken.
 *
 * The directory is writable by the MTA's group, so nothing in it is trusted: a file that is no drop
 * file (see drop-file.ts: header, version, bounds, byte count; a plain file, not a link) is never
 * sent. Its bytes (those of a regular file within the size bound) go to serve's own quarantine in
 * `spool.dir` with the reason, under the quarantine's byte cap and retention, and the file is
 * removed: nothing is kept in a directory other users can write to, and nothing outside a budget.
 * A file serve cannot remove is recorded in the {@link DropLedger} and never taken twice.
 */
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { openPrivate } from '../io/private-files.js';
import type { AcceptOptions } from '../mail-pipeline.js';
import type { MailOrigin, MailVerdict } from '../sources/mail-intake.js';
import type { Telemetry } from '../telemetry.js';
import { decodeDrop, dropFileMax, isDropName } from './drop-file.js';
import type { DropLedger } from './drop-ledger.js';

/** What serve hands a drop's mail to: the MailPipeline. */
export interface DropIntake {
  accept(raw: Buffer, origin: MailOrigin, options?: AcceptOptions): Promise<MailVerdict>;
  /** Keeps what is no drop file in the quarantine with the reason; rejects ERR_QUARANTINE_FULL when it does not fit. */
  keepAside(raw: Buffer, origin: MailOrigin, reason: string): Promise<void>;
  readonly full: boolean;
}

export interface DrainOptions {
  readonly dropDir: string;
  readonly intake: DropIntake;
  readonly ledger: DropLedger;
  /** The mail size limit (email.smtp.maxBytes, what ingest enforces). */
  readonly maxBytes: number;
  readonly telemetry: Telemetry;
  /** True once serve is stopping: the round ends after the file in hand, within shutdown.timeoutMs. */
  readonly stopping?: () => boolean;
}

/** What one round did. */
export interface DrainResult {
  readonly taken: number;
  readonly invalid: number;
  /** Files left for a later round because the quarantine was full. */
  readonly deferred: number;
  /** Why the round stopped before the end (spool full, ledger full), or null. */
  readonly stopped: string | null;
}

/** Takes every drop file waiting in the directory; rejects when the intake refused one (it stays for the next round). */
export async function drainDrops(o: DrainOptions): Promise<DrainResult> {
  let names: string[];
  try {
    names = await readdir(o.dropDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { taken: 0, invalid: 0, deferred: 0, stopped: null };
    throw Object.assign(new Error(`Cannot read the drop directory ${o.dropDir} (${code}): create it for serve's user and the MTA's group as the README says (install -d -m 3770 -o <serve user> -g <MTA group> ${o.dropDir}).`), { code, cause: err });
  }
  await o.ledger.prune(new Set(names));
  let taken = 0;
  let invalid = 0;
  let deferred = 0;
  const result = (stopped: string | null): DrainResult => ({ taken, invalid, deferred, stopped });
  // Temporary files of an ingest still writing start with '.'.
  for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
    const path = join(o.dropDir, name);
    const st = await lstat(path).catch(() => null);
    if (st === null || o.ledger.has(name, st)) continue;
    if (o.stopping?.()) return result('serve is stopping');
    if (o.intake.full) return result('the spool is full');
    if (o.ledger.full) return result(`${o.ledger.size} drop files were taken but could not be removed: give the drop directory to the user serve runs as`);
    const read = await readDrop(path, name, st, o.maxBytes);
    try {
      if (!read.ok) {
        await o.intake.keepAside(read.data ?? Buffer.alloc(0), { via: 'drop', id: path }, read.reason);
        o.telemetry.dropInvalid(path, read.reason);
        await remove(o, name, st, read.reason);
        invalid += 1;
        continue;
      }
      const verdict = await o.intake.accept(read.mail, { via: read.via, id: read.origin }, { receivedAt: read.receivedAt });
      o.telemetry.dropTaken(path, verdict.kind);
      await remove(o, name, st, verdict.kind);
      taken += 1;
    } catch (err) {
      // A full quarantine refuses this file for now, not the mails behind it.
      if ((err as { code?: string }).code !== 'ERR_QUARANTINE_FULL') throw err;
      deferred += 1;
    }
  }
  return result(deferred > 0 ? `${deferred} files wait for room in the quarantine (spool.quarantine.maxBytes)` : null);
}

/** A drop file's mail, or why it is none (with its bytes when they were read). */
type DropRead = { ok: true; mail: Buffer; via: 'stdin' | 'file'; origin: string; receivedAt: number } | { ok: false; reason: string; data?: Buffer };

/** Opens (never through a link), bounds, reads and decodes one drop file. */
async function readDrop(path: string, name: string, st: Stats, maxBytes: number): Promise<DropRead> {
  if (st.isSymbolicLink()) return { ok: false, reason: `ERR_FILE_UNSAFE: ${path} is a symbolic link: never followed` };
  if (st.size > dropFileMax(maxBytes)) return { ok: false, reason: `ERR_DROP_INVALID: ${st.size} bytes, more than a drop of a mail within the size limit (${maxBytes}) can be` };
  let data: Buffer;
  try {
    const handle = await openPrivate(path, 'read');
    try {
      const { size } = await handle.stat();
      if (size > dropFileMax(maxBytes)) return { ok: false, reason: `ERR_DROP_INVALID: ${size} bytes, more than a drop of a mail within the size limit (${maxBytes}) can be` };
      data = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_FILE_UNSAFE') return { ok: false, reason: `${code}: ${(err as Error).message}` };
    throw err; // EACCES, EIO…: the round stops and is retried, the file stays
  }
  if (!isDropName(name)) return { ok: false, reason: `ERR_DROP_INVALID: ${JSON.stringify(name)} is not the name of a drop file (tracehive ingest writes <time>-<pid>-<random>.mail)`, data };
  const decoded = decodeDrop(data, maxBytes);
  if (!decoded.ok) return { ok: false, reason: decoded.reason, data };
  return { ok: true, mail: decoded.mail, via: decoded.header.via, origin: decoded.header.origin, receivedAt: decoded.header.receivedAt };
}

/** Removes a taken file (a link: the link itself), or records it when it cannot be removed. */
async function remove(o: DrainOptions, name: string, st: Stats, outcome: string): Promise<void> {
  try {
    await unlink(join(o.dropDir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    // Whatever the reason (not serve's directory, EIO, a directory planted there): never taken twice.
    await o.ledger.add(name, st, outcome);
    o.telemetry.dropUnremovable(join(o.dropDir, name), err as Error);
  }
}
