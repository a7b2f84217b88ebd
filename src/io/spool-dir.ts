/**
 * What `tracehive serve` checks of its directories before it opens anything in them. spool.dir
 * holds alerts, mails and state that decide what is sent to TheHive with the bridge's key: another
 * user able to write there could plant a record or a link (issue 11), so serve refuses (exit 2) a
 * spool.dir that is group- or world-writable or not owned by the user it runs as, and says which
 * chmod or chown fixes it; it makes a missing one 0700 and tightens a readable one of its own. The
 * ingest drop directory is the MTA's door in: it must lie outside spool.dir.
 */
import { chmod, lstat, realpath, stat, access, constants } from 'node:fs/promises';
import { dirname, join, relative, resolve, isAbsolute, basename } from 'node:path';
import { BridgeError } from '../errors.js';
import { makePrivateDir, PRIVATE_DIR_MODE } from './private-files.js';

/** What {@link prepareSpoolDir} did. */
export interface SpoolDirState {
  readonly created: boolean;
  /** The mode it had when serve tightened it to 0700 (group or others could read it), else null. */
  readonly tightenedFrom: number | null;
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

/**
 * The directories tracehive keeps in spool.dir. 0.1.0 let an MTA user write to spool.dir, so one
 * may have made them, or left a link in their place: a check of spool.dir alone would let serve
 * write through such a link (O_NOFOLLOW covers only a path's last part) or delete in its target.
 */
export const SPOOL_SUBDIRS = ['queue', 'dead', 'rejected', 'quarantine', 'requeue', 'incoming'] as const;

/** Creates spool.dir (0700) or checks that it is safe; throws ERR_SPOOL_DIR saying what to run. */
export async function prepareSpoolDir(dir: string): Promise<SpoolDirState> {
  const fail = (why: string, err?: unknown): BridgeError => new BridgeError('ERR_SPOOL_DIR', `spool.dir ${dir} ${why}`, { cause: err });
  let created = false;
  try {
    created = (await makePrivateDir(dir)) !== undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw fail(`cannot be used (${code}): dead letters and rejected lines are kept there. Point TRACEHIVE_SPOOL_DIR at a writable directory.`, err);
  }
  const st = await stat(dir);
  const euid = process.geteuid?.();
  const problems: string[] = [];
  if (euid !== undefined && st.uid !== euid) problems.push(`is owned by uid ${st.uid}, not by the user tracehive runs as (uid ${euid}): run \`chown ${euid} ${dir}\` (or run tracehive as its owner)`);
  if ((st.mode & 0o022) !== 0) problems.push(`is group- or world-writable (mode ${octal(st.mode)}): another user could plant files or links in it. Run \`chmod 700 ${dir}\``);
  if (problems.length > 0) throw fail(`${problems.join('; it ')}. tracehive ingest no longer writes there (see ingest.dropDir).`);
  const inside: string[] = [];
  for (const sub of SPOOL_SUBDIRS) {
    const path = join(dir, sub);
    const s = await lstat(path).catch(() => null);
    if (s === null) continue;
    if (s.isSymbolicLink()) inside.push(`${sub}/ is a symbolic link: remove it (\`rm ${path}\`); tracehive makes the directory again`);
    else if (!s.isDirectory()) inside.push(`${sub} is not a directory: move it away (\`mv ${path} ${path}.bad\`)`);
    else if (euid !== undefined && s.uid !== euid) inside.push(`${sub}/ is owned by uid ${s.uid}, not by the user tracehive runs as (uid ${euid}): run \`chown -R ${euid} ${path}\``);
    else if ((s.mode & 0o022) !== 0) inside.push(`${sub}/ is group- or world-writable (mode ${octal(s.mode)}): run \`chmod 700 ${path}\``);
  }
  if (inside.length > 0) throw fail(`holds what another user may have put there: ${inside.join('; ')}.`);
  let tightenedFrom: number | null = null;
  if (euid !== undefined && (st.mode & 0o077) !== 0) {
    // Readable by others (0.1.0 made it 0755): it holds mails and alerts; it is ours to close.
    await chmod(dir, PRIVATE_DIR_MODE);
    tightenedFrom = st.mode & 0o7777;
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw fail(`cannot be written (${(err as NodeJS.ErrnoException).code}). Point TRACEHIVE_SPOOL_DIR at a writable directory.`, err);
  }
  return { created, tightenedFrom };
}

/** Refuses (ERR_CONFIG_INVALID) an ingest.dropDir inside spool.dir, the same, or around it. */
export async function checkDropDirPlacement(spoolDir: string, dropDir: string): Promise<void> {
  const spool = await real(spoolDir);
  const drop = await real(dropDir);
  const inside = (child: string, parent: string): boolean => {
    const rel = relative(parent, child);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  if (inside(drop, spool) || inside(spool, drop)) {
    const suggestion = join(dirname(resolve(spoolDir)), 'incoming');
    throw new BridgeError(
      'ERR_CONFIG_INVALID',
      `ingest.dropDir ${dropDir} must be its own directory outside spool.dir ${spoolDir} (the MTA's group writes to it; spool.dir is private to serve). Set TRACEHIVE_INGEST_DROP_DIR, e.g. to ${suggestion === resolve(spoolDir) ? `${suggestion}-drop` : suggestion}.`,
    );
  }
}

/** The drop directory's problems worth a warning at start (it may not exist yet: none). */
export async function dropDirWarnings(dropDir: string): Promise<string[]> {
  const st = await stat(dropDir).catch(() => null);
  if (st === null) return [];
  const warnings: string[] = [];
  if ((st.mode & 0o002) !== 0) warnings.push(`is world-writable (mode ${octal(st.mode)}): any local user can leave mails for serve; make it 3770 for the MTA's group`);
  if ((st.mode & 0o020) !== 0 && (st.mode & 0o1000) === 0) warnings.push(`is group-writable without the sticky bit (mode ${octal(st.mode)}): members of its group can remove or replace each other's drops; make it 3770`);
  const euid = process.geteuid?.();
  if (euid !== undefined && euid !== 0 && st.uid !== euid) warnings.push(`is owned by uid ${st.uid}, not by serve's user (uid ${euid}): serve may be unable to remove the mails it took (each is then recorded and taken once)`);
  return warnings;
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest. */
async function real(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(await real(parent), basename(abs));
  }
}
