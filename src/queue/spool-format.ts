/**
 * The spool's on-disk format version. What lives on disk outlives a release: the next release must
 * read what this one wrote, and a release must refuse (not misread) what a newer one wrote. Three
 * marks carry the version, so that each file can be judged on its own:
 * - `FORMAT` in the queue directory: `{"format":"tracehive-spool","version":N}`. tracehive 0.1.0
 *   wrote none; a directory without it is format 1 (0.1.0) or empty.
 * - every record's version field (spool-codec.ts: 0 in records of 0.1.0, {@link SPOOL_FORMAT} now);
 * - ack.json's `version` (absent in 0.1.0's).
 *
 * Format history: 1 = tracehive 0.1.0; 2 = 0.2.0 (the version marks themselves; records and
 * ack.json otherwise unchanged, so 2 reads 1 as it is).
 */
import { constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile, syncDir } from '../io/durable-file.js';
import { RECORD_VERSION } from './spool-codec.js';
import { describe, spoolError } from './spool-errors.js';

/** The spool format this release writes, and the newest it reads. */
export const SPOOL_FORMAT = RECORD_VERSION;
/** The format file's name in the queue directory. */
export const FORMAT_FILE = 'FORMAT';
const FORMAT_NAME = 'tracehive-spool';

/** The error for anything written by a newer tracehive: stop, never guess. */
export function newerFormat(what: string, version: unknown): Error {
  return spoolError(
    'ERR_SPOOL_FORMAT',
    `${what} has spool format ${JSON.stringify(version)}, newer than this tracehive reads (${SPOOL_FORMAT}): a newer release wrote it. Run that release (or newer) on this spool.dir, or point spool.dir at another directory.`,
  );
}

/**
 * Checks `dir/FORMAT` (throws ERR_SPOOL_FORMAT when a newer release wrote it, ERR_SPOOL_DIR when it
 * is damaged) and writes it when missing. Writing it is best effort: on a full disk the spool must
 * still open and drain; the file is written at a later open.
 */
export async function checkFormat(dir: string, report: (err: Error) => void): Promise<void> {
  const path = join(dir, FORMAT_FILE);
  let text: string | null = null;
  try {
    text = await readFile(path, { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw spoolError('ERR_SPOOL_DIR', `Spool format file ${path} cannot be read (${describe(err)}): check spool.dir.`, err);
  }
  if (text !== null) {
    let parsed: { format?: unknown; version?: unknown };
    try {
      parsed = JSON.parse(text) as { format?: unknown; version?: unknown };
    } catch {
      parsed = {};
    }
    if (parsed.format !== FORMAT_NAME || !Number.isSafeInteger(parsed.version) || (parsed.version as number) < 1) {
      throw spoolError('ERR_SPOOL_DIR', `Spool format file ${path} is not one tracehive wrote (${JSON.stringify(text.slice(0, 80))}): is spool.dir another program's directory?`);
    }
    if ((parsed.version as number) > SPOOL_FORMAT) throw newerFormat(`The spool in ${dir}`, parsed.version);
    if (parsed.version === SPOOL_FORMAT) return;
  }
  try {
    await replaceFile(path, `${JSON.stringify({ format: FORMAT_NAME, version: SPOOL_FORMAT })}\n`, { mode: 0o600 });
    await syncDir(dir);
  } catch (err) {
    report(new Error(`Cannot write the spool format file ${path} (${describe(err)}); it is written at the next start.`, { cause: err }));
  }
}
