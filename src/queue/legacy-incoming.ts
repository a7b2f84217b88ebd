/**
 * The drop directory of tracehive 0.1.0, `spool.dir/incoming/`: its `tracehive ingest` parsed the
 * mail itself and left the finished alert, `<receive ms>\n` + `A` + the alert's JSON, in a `.rec`
 * file. serve still takes those once per start, so an upgrade loses no mail, but strictly: spool.dir
 * is private now (only serve's user could have written them), and each alert must still have
 * exactly the shape tracehive's mapper writes (legacy-alert.ts). A file that does not is renamed
 * `<name>.invalid` and never sent. New mails come through ingest.dropDir.
 */
import { readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { openPrivate } from '../io/private-files.js';
import { checkLegacyAlert } from './legacy-alert.js';
import { alertRecord, type SpoolWriter } from './spool-payload.js';

/** A 0.1.0 drop held one mail's alert: a few KB, at most the 1 MiB description and the observables. */
const LEGACY_RECORD_MAX = 4 * 1024 * 1024;

/** What one drain did. */
export interface LegacyResult {
  readonly dir: string;
  readonly taken: number;
  /** Files renamed `.invalid`, each with why. */
  readonly refused: readonly { readonly file: string; readonly reason: string }[];
}

export function legacyIncomingDir(spoolDir: string): string {
  return join(spoolDir, 'incoming');
}

/** The alert record of one legacy file's text, or why it is none. Pure. */
export function readLegacyRecord(text: string): { ok: true; time: number; payload: string } | { ok: false; reason: string } {
  const m = /^(\d{1,15})\nA(\{[\s\S]*\})$/.exec(text);
  if (!m) return { ok: false, reason: 'ERR_DROP_INVALID: not "<time>\\nA<alert JSON>", the record 0.1.0 wrote' };
  let value: unknown;
  try {
    value = JSON.parse(m[2] as string);
  } catch {
    return { ok: false, reason: 'ERR_DROP_INVALID: the alert is not JSON' };
  }
  const checked = checkLegacyAlert(value);
  if (!checked.ok) return { ok: false, reason: `ERR_DROP_INVALID: ${checked.reason}` };
  return { ok: true, time: Number(m[1]), payload: alertRecord(checked.alert) };
}

/** Moves every valid legacy record into the spool, deletes it once committed; null when there is no such directory. */
export async function drainLegacyIncoming(spoolDir: string, target: SpoolWriter): Promise<LegacyResult | null> {
  const dir = legacyIncomingDir(spoolDir);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  });
  if (names === null) return null;
  const taken: string[] = [];
  const refused: { file: string; reason: string }[] = [];
  for (const name of names.filter((n) => n.endsWith('.rec')).sort()) {
    const path = join(dir, name);
    const read = await readLegacyFile(path);
    if (!read.ok) {
      refused.push({ file: name, reason: read.reason });
      await rename(path, `${path}.invalid`);
      continue;
    }
    if (target.full) await target.whenSpace();
    target.append(read.payload, read.time);
    taken.push(name);
  }
  await target.commit();
  for (const name of taken) await unlink(join(dir, name)).catch(() => undefined);
  // Gone once empty, so later starts do not mention it.
  if (taken.length + refused.length === names.length && refused.length === 0) await rmdir(dir).catch(() => undefined);
  return { dir, taken: taken.length, refused };
}

async function readLegacyFile(path: string): Promise<ReturnType<typeof readLegacyRecord>> {
  try {
    const handle = await openPrivate(path, 'read');
    try {
      if ((await handle.stat()).size > LEGACY_RECORD_MAX) return { ok: false, reason: `ERR_DROP_INVALID: larger than ${LEGACY_RECORD_MAX} bytes, more than one mail's alert` };
      return readLegacyRecord(await handle.readFile('utf8'));
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_FILE_UNSAFE') return { ok: false, reason: `ERR_FILE_UNSAFE: ${(err as Error).message}` };
    throw err;
  }
}
