/**
 * `tracehive spool requeue-dead`: dead letters go back into the spool once the operator fixed what
 * made TheHive refuse them (a custom field, a dataType, a permission). The dead-letter files belong
 * to the running `serve` (it appends to today's), so a running serve does the move itself: the
 * command leaves a request in `spool.dir/requeue/`, which serve picks up within seconds. When no
 * serve runs, the command opens the spool and does it at once.
 *
 * A file being requeued is first renamed into `requeue/` (atomic, same directory tree), then its
 * alerts are appended to the spool, committed, and only then is the file deleted. A crash in
 * between requeues the file again at the next start: TheHive answers "already exists" to alerts it
 * got the first time. A line that is no dead letter this release can read — damaged, hand-edited,
 * or written by a newer release (ERR_FORMAT_NEWER) — is kept aside in `requeue/unreadable-*`, and
 * the result says why. Notification dead letters (`dead/notify-*.ndjson`) go back into the
 * notification outbox when the caller gives one (`notifications`); without, they stay in dead/.
 */
import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { basename, join } from 'node:path';
import split2 from 'split2';
import { replaceFile, writeSynced } from '../io/durable-file.js';
import { checkVersion } from '../io/format-version.js';
import { giveToOwnerOf, makePrivateDir, openPrivate } from '../io/private-files.js';
import { DEAD_LETTER_VERSION } from './dead-letter.js';
import { alertRecord, type SpoolWriter } from './spool-payload.js';
import type { Alert } from '../types.js';
import { isNotifyDeadFile, readNotifyDeadLetter } from '../notify/dead-letters.js';
import type { ChannelName } from '../notify/record.js';
import type { Notification } from '../notify/render.js';

/** Where notification dead letters (dead/notify-*.ndjson) go back to: the notification outbox. */
export type NotificationTarget = (event: Notification, channel: ChannelName) => Promise<void>;

/** Why one line (or file) was not requeued. */
export interface RequeueProblem {
  /** The dead-letter file's name in dead/. */
  readonly file: string;
  /** Its line number (from 1); 0 for the whole file. */
  readonly line: number;
  readonly reason: string;
}

export interface RequeueResult {
  readonly files: number;
  readonly alerts: number;
  /** Notification dead letters put back into the outbox (only with a notification target). */
  readonly notifications?: number;
  /** Lines that are not dead letters (damaged, hand-edited, newer): left in `requeue/unreadable-*.ndjson`. */
  readonly unreadable: number;
  /** Why, for the first {@link MAX_PROBLEMS} of them. */
  readonly problems: readonly RequeueProblem[];
}

/** How often a running serve looks for requests. */
export const REQUEUE_POLL_MS = 2000;

/** Reasons reported at most per requeue: enough to see the pattern, not a second copy of a damaged file. */
const MAX_PROBLEMS = 20;

const REQUEST_PREFIX = 'request-';
const WORK_PREFIX = 'work-';

export function requeueDir(spoolDir: string): string {
  return join(spoolDir, 'requeue');
}

/** Leaves a request for a running serve: requeue these dead-letter files (names in dead/), or all. */
export async function requestRequeue(spoolDir: string, files: readonly string[]): Promise<string> {
  const dir = requeueDir(spoolDir);
  await makePrivateDir(dir, { refuseLink: true });
  await giveToOwnerOf(dir, spoolDir);
  const name = join(dir, `${REQUEST_PREFIX}${Date.now()}-${process.pid}.json`);
  await replaceFile(name, JSON.stringify({ files }));
  await giveToOwnerOf(name, spoolDir);
  return name;
}

/** Whether a request waits (serve's poll). */
export async function pendingRequests(spoolDir: string): Promise<string[]> {
  const names = await readdir(requeueDir(spoolDir)).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(REQUEST_PREFIX) && n.endsWith('.json')).sort().map((n) => join(requeueDir(spoolDir), n));
}

/** The files a request names (every dead-letter file when it names none), and the entries of dead/ that are no plain files. */
async function requestedFiles(spoolDir: string, request: string | undefined, withNotifications: boolean): Promise<{ files: string[]; problems: RequeueProblem[] }> {
  let wanted: string[] = [];
  if (request) {
    try {
      const handle = await openPrivate(request, 'read');
      const parsed = JSON.parse(await handle.readFile('utf8').finally(() => handle.close())) as { files?: unknown };
      if (Array.isArray(parsed.files)) wanted = parsed.files.filter((f): f is string => typeof f === 'string').map((f) => basename(f));
    } catch {
      wanted = [];
    }
  }
  const dead = join(spoolDir, 'dead');
  // Notification dead letters stay in dead/ unless there is an outbox to put them back into.
  const all = (await readdir(dead).catch(() => [] as string[])).filter((n) => n.endsWith('.ndjson') && (withNotifications || !isNotifyDeadFile(n))).sort();
  const files: string[] = [];
  const problems: RequeueProblem[] = [];
  for (const name of wanted.length > 0 ? all.filter((n) => wanted.includes(n)) : all) {
    // A link or anything else planted in dead/ is never moved, let alone read.
    if ((await lstat(join(dead, name))).isFile()) files.push(join(dead, name));
    else problems.push({ file: name, line: 0, reason: 'ERR_FILE_UNSAFE: not a regular file (a symbolic link?): left in dead/' });
  }
  return { files, problems };
}

/**
 * Moves the requested dead-letter files (all when `request` is undefined or names none) into
 * `requeue/`, then appends every alert in them — and in work files a crash left there — to the
 * spool. `beforeMove` lets serve close its dead-letter log first, so no later dead letter lands in
 * a file being requeued.
 */
export async function requeueDead(spoolDir: string, target: SpoolWriter, options: { request?: string; beforeMove?: () => Promise<void>; notifications?: NotificationTarget } = {}): Promise<RequeueResult> {
  const dir = requeueDir(spoolDir);
  await makePrivateDir(dir, { refuseLink: true });
  await options.beforeMove?.();
  const stamp = `${Date.now()}-${process.pid}`;
  const notifications = options.notifications;
  const requested = await requestedFiles(spoolDir, options.request, notifications !== undefined);
  const problems: RequeueProblem[] = requested.problems.slice(0, MAX_PROBLEMS);
  for (const file of requested.files) {
    await rename(file, join(dir, `${WORK_PREFIX}${stamp}-${basename(file)}`));
  }
  if (options.request) await unlink(options.request).catch(() => undefined);
  let files = 0;
  let alerts = 0;
  let unreadable = 0;
  let notified = 0;
  const work = (await readdir(dir)).filter((n) => n.startsWith(WORK_PREFIX)).sort();
  for (const name of work) {
    const path = join(dir, name);
    const original = name.slice(WORK_PREFIX.length).replace(/^\d+-\d+-/, '');
    const ofNotifications = isNotifyDeadFile(original);
    if (ofNotifications && !notifications) continue; // a crash left it: the next requeue with an outbox takes it
    const bad: string[] = [];
    let lineNo = 0;
    const handle = await openPrivate(path, 'read');
    // Line by line: a day of dead letters can be hundreds of MB, more than serve's heap. pipeline()
    // hands a read error to the caller (which logs it and retries) and closes the file either way.
    await pipeline(handle.createReadStream({ encoding: 'utf8' }), split2(), async (lines: AsyncIterable<string>) => {
      for await (const line of lines) {
        lineNo += 1;
        if (line.trim() === '') continue;
        if (ofNotifications && notifications) {
          const n = readNotifyDeadLetter(line);
          if (n.ok) {
            await notifications(n.event, n.channel);
            notified += 1;
            continue;
          }
          bad.push(line);
          if (problems.length < MAX_PROBLEMS) problems.push({ file: original, line: lineNo, reason: n.reason });
          continue;
        }
        const read = readDeadLetter(line);
        if (!read.ok) {
          bad.push(line);
          if (problems.length < MAX_PROBLEMS) problems.push({ file: original, line: lineNo, reason: read.reason });
          continue;
        }
        if (target.full) await target.whenSpace();
        target.append(alertRecord(read.alert));
        alerts += 1;
      }
    });
    await target.commit();
    if (bad.length > 0) {
      unreadable += bad.length;
      // On disk before the work file goes: these lines exist nowhere else.
      await writeSynced(join(dir, `unreadable-${name.slice(WORK_PREFIX.length)}`), `${bad.join('\n')}\n`);
    }
    await unlink(path);
    files += 1;
  }
  return { files, alerts, unreadable, problems, ...(notifications ? { notifications: notified } : {}) };
}

/** The alert of one dead-letter line (this release's or 0.1.0's), or why it is none. Pure. */
export function readDeadLetter(line: string): { ok: true; alert: Alert } | { ok: false; reason: string } {
  let entry: { version?: unknown; alert?: Alert };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return { ok: false, reason: 'not JSON: a damaged or hand-edited line' };
  }
  if (entry === null || typeof entry !== 'object') return { ok: false, reason: 'not a JSON object' };
  const version = checkVersion(entry.version, DEAD_LETTER_VERSION, 'a dead letter');
  if (!version.ok) return { ok: false, reason: `${version.reason}: upgrade tracehive to requeue it` };
  const alert = entry.alert;
  if (alert && typeof alert === 'object' && typeof alert.sourceRef === 'string' && typeof alert.title === 'string') return { ok: true, alert };
  return { ok: false, reason: 'no alert with a sourceRef and a title in it' };
}
