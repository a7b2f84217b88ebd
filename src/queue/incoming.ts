/**
 * serve's side of the ingest drop directory (`ingest.dropDir`): at start and every few seconds it
 * takes the mails `tracehive ingest` left there (Postfix's maildrop + pickup, qmail's queue/todo),
 * oldest first, and hands each to the same {@link MailIntake} as IMAP and SMTP: parsed, mapped,
 * spooled or quarantined. Only then is the file removed, so a crash takes a mail twice at worst
 * (TheHive answers "already exists"); a mail the intake refuses for now (spool closed, quarantine
 * full, disk error) stays for the next round.
 *
 * The directory is writable by the MTA's group, so nothing in it is trusted: a file that is no drop
 * file (see drop-file.ts: header, version, bounds, byte count; a plain file, not a link) is moved
 * into `rejected/` beside a `.reason` file and never sent. A file serve cannot remove or move is
 * recorded in the {@link DropLedger} and never taken twice.
 */
import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { writeSynced } from '../io/durable-file.js';
import { makePrivateDir, openPrivate } from '../io/private-files.js';
import type { AcceptOptions } from '../mail-pipeline.js';
import type { MailOrigin, MailVerdict } from '../sources/mail-intake.js';
import type { Telemetry } from '../telemetry.js';
import { decodeDrop, dropFileMax, isDropName } from './drop-file.js';
import type { DropLedger } from './drop-ledger.js';

/** Where invalid drop files go, inside the drop directory (serve's own, 0700). */
export const DROP_REJECTED_DIR = 'rejected';

/** What serve hands a drop's mail to: the MailPipeline. */
export interface DropIntake {
  accept(raw: Buffer, origin: MailOrigin, options?: AcceptOptions): Promise<MailVerdict>;
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
    if (code === 'ENOENT') return { taken: 0, invalid: 0, stopped: null };
    throw Object.assign(new Error(`Cannot read the drop directory ${o.dropDir} (${code}): create it for serve's user and the MTA's group as the README says (install -d -m 3770 -o <serve user> -g <MTA group> ${o.dropDir}).`), { code, cause: err });
  }
  await o.ledger.prune(new Set(names));
  let taken = 0;
  let invalid = 0;
  // Temporary files of an ingest still writing start with '.'; rejected/ is ours.
  for (const name of names.filter((n) => !n.startsWith('.') && n !== DROP_REJECTED_DIR).sort()) {
    const path = join(o.dropDir, name);
    const st = await lstat(path).catch(() => null);
    if (st === null || o.ledger.has(name, st)) continue;
    if (o.stopping?.()) return { taken, invalid, stopped: 'serve is stopping' };
    if (o.intake.full) return { taken, invalid, stopped: 'the spool is full' };
    if (o.ledger.full) return { taken, invalid, stopped: `${o.ledger.size} drop files were taken but could not be removed: give the drop directory to the user serve runs as` };
    const read = await readDrop(path, name, st, o.maxBytes);
    if (!read.ok) {
      await moveAside(o, name, st, read.reason);
      invalid += 1;
      continue;
    }
    const verdict = await o.intake.accept(read.mail, { via: read.via, id: read.origin }, { receivedAt: read.receivedAt });
    o.telemetry.dropTaken(path, verdict.kind);
    await remove(o, name, st, verdict.kind);
    taken += 1;
  }
  return { taken, invalid, stopped: null };
}

type DropRead = { ok: true; mail: Buffer; via: 'stdin' | 'file'; origin: string; receivedAt: number } | { ok: false; reason: string };

/** Opens (never through a link), bounds, reads and decodes one drop file. */
async function readDrop(path: string, name: string, st: Stats, maxBytes: number): Promise<DropRead> {
  if (!isDropName(name)) return { ok: false, reason: `ERR_DROP_INVALID: ${JSON.stringify(name)} is not the name of a drop file (tracehive ingest writes <time>-<pid>-<random>.mail)` };
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
  const decoded = decodeDrop(data, maxBytes);
  if (!decoded.ok) return decoded;
  return { ok: true, mail: decoded.mail, via: decoded.header.via, origin: decoded.header.origin, receivedAt: decoded.header.receivedAt };
}

/** Removes a taken file, or records it when it cannot be removed. */
async function remove(o: DrainOptions, name: string, st: Stats, outcome: string): Promise<void> {
  try {
    await unlink(join(o.dropDir, name));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    await o.ledger.add(name, st, outcome);
    o.telemetry.dropUnremovable(join(o.dropDir, name), err as Error);
  }
}

/** Moves an invalid file (the entry itself: a link stays a link) into rejected/, its reason beside it. */
async function moveAside(o: DrainOptions, name: string, st: Stats, reason: string): Promise<void> {
  const aside = join(o.dropDir, DROP_REJECTED_DIR);
  try {
    await makePrivateDir(aside, { refuseLink: true });
    await rename(join(o.dropDir, name), join(aside, name));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !(await exists(join(o.dropDir, name)))) return;
    await o.ledger.add(name, st, reason);
    o.telemetry.dropInvalid(join(o.dropDir, name), reason, null);
    return;
  }
  await writeSynced(join(aside, `${name}.reason`), `${reason}\n`);
  o.telemetry.dropInvalid(join(o.dropDir, name), reason, join(aside, name));
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
