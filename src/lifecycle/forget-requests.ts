/**
 * `tracehive alerts forget KEY` while serve runs: serve owns the state log (it appends to it and
 * keeps it in memory), so the command leaves a request in `spool.dir/alerts/requests/` and serve
 * carries it out at its next poll, as `spool requeue-dead` does for dead letters. A request is a
 * small versioned JSON file (`{"v":1,"forget":["<key>",…]}`), written whole (replaceFile) and
 * deleted once done.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BridgeError } from '../errors.js';
import { replaceFile } from '../io/durable-file.js';
import { checkVersion } from '../io/format-version.js';
import { giveToOwnerOf, makePrivateDir, openPrivate } from '../io/private-files.js';

/** The format of a request file; a newer one is left in place, not misread. */
export const FORGET_REQUEST_VERSION = 1;
/** How often serve looks for requests: the command says "within seconds". */
export const FORGET_POLL_MS = 2000;
const PREFIX = 'forget-';

export function forgetRequestDir(spoolDir: string): string {
  return join(spoolDir, 'alerts', 'requests');
}

/** Leaves a request for a running serve to forget `keys`; returns the file's path. */
export async function requestForget(spoolDir: string, keys: readonly string[]): Promise<string> {
  const dir = forgetRequestDir(spoolDir);
  await makePrivateDir(join(spoolDir, 'alerts'), { refuseLink: true });
  await makePrivateDir(dir, { refuseLink: true });
  await giveToOwnerOf(join(spoolDir, 'alerts'), spoolDir);
  await giveToOwnerOf(dir, spoolDir);
  const path = join(dir, `${PREFIX}${Date.now()}-${process.pid}.json`);
  await replaceFile(path, JSON.stringify({ v: FORGET_REQUEST_VERSION, forget: keys }));
  await giveToOwnerOf(path, spoolDir);
  return path;
}

/** Requests waiting, oldest first. */
export async function pendingForgets(spoolDir: string): Promise<string[]> {
  const dir = forgetRequestDir(spoolDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(PREFIX) && n.endsWith('.json')).sort().map((n) => join(dir, n));
}

/**
 * The keys of one request. A request of a newer format throws (ERR_FORMAT_NEWER) and stays for
 * that release; an unreadable one yields no key and is deleted by the caller like a done one.
 */
export async function readForget(path: string): Promise<string[]> {
  let parsed: { v?: unknown; forget?: unknown };
  try {
    const handle = await openPrivate(path, 'read');
    parsed = JSON.parse(await handle.readFile('utf8').finally(() => handle.close())) as typeof parsed;
  } catch {
    return [];
  }
  const version = checkVersion(parsed.v, FORGET_REQUEST_VERSION, `the request ${path}`);
  if (!version.ok && version.reason.startsWith('ERR_FORMAT_NEWER')) throw new BridgeError('ERR_FORMAT_NEWER', `${version.reason}: left in place for that release.`);
  if (!version.ok) return [];
  return Array.isArray(parsed.forget) ? parsed.forget.filter((k): k is string => typeof k === 'string') : [];
}

export async function doneForget(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
