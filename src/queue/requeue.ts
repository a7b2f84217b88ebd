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
 * got the first time.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { basename, join } from 'node:path';
import split2 from 'split2';
import { writeSynced } from '../io/durable-file.js';
import { alertRecord, type SpoolWriter } from './spool-payload.js';
import type { Alert } from '../types.js';

export interface RequeueResult {
  readonly files: number;
  readonly alerts: number;
  /** Lines that are not dead letters (damaged, hand-edited): left in `requeue/unreadable-*.ndjson`. */
  readonly unreadable: number;
}

/** How often a running serve looks for requests. */
export const REQUEUE_POLL_MS = 2000;

const REQUEST_PREFIX = 'request-';
const WORK_PREFIX = 'work-';

export function requeueDir(spoolDir: string): string {
  return join(spoolDir, 'requeue');
}

/** Leaves a request for a running serve: requeue these dead-letter files (names in dead/), or all. */
export async function requestRequeue(spoolDir: string, files: readonly string[]): Promise<string> {
  const dir = requeueDir(spoolDir);
  await mkdir(dir, { recursive: true });
  const name = join(dir, `${REQUEST_PREFIX}${Date.now()}-${process.pid}.json`);
  await writeFile(`${name}.tmp`, JSON.stringify({ files }));
  await rename(`${name}.tmp`, name);
  return name;
}

/** Whether a request waits (serve's poll). */
export async function pendingRequests(spoolDir: string): Promise<string[]> {
  const names = await readdir(requeueDir(spoolDir)).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(REQUEST_PREFIX) && n.endsWith('.json')).sort().map((n) => join(requeueDir(spoolDir), n));
}

/** The files a request names (every dead-letter file when it names none). */
async function requestedFiles(spoolDir: string, request: string | undefined): Promise<string[]> {
  let wanted: string[] = [];
  if (request) {
    try {
      const parsed = JSON.parse(await readFile(request, 'utf8')) as { files?: unknown };
      if (Array.isArray(parsed.files)) wanted = parsed.files.filter((f): f is string => typeof f === 'string').map((f) => basename(f));
    } catch {
      wanted = [];
    }
  }
  const dead = join(spoolDir, 'dead');
  const all = (await readdir(dead).catch(() => [] as string[])).filter((n) => n.endsWith('.ndjson')).sort();
  return (wanted.length > 0 ? all.filter((n) => wanted.includes(n)) : all).map((n) => join(dead, n));
}

/**
 * Moves the requested dead-letter files (all when `request` is undefined or names none) into
 * `requeue/`, then appends every alert in them — and in work files a crash left there — to the
 * spool. `beforeMove` lets serve close its dead-letter log first, so no later dead letter lands in
 * a file being requeued.
 */
export async function requeueDead(spoolDir: string, target: SpoolWriter, options: { request?: string; beforeMove?: () => Promise<void> } = {}): Promise<RequeueResult> {
  const dir = requeueDir(spoolDir);
  await mkdir(dir, { recursive: true });
  await options.beforeMove?.();
  const stamp = `${Date.now()}-${process.pid}`;
  for (const file of await requestedFiles(spoolDir, options.request)) {
    await rename(file, join(dir, `${WORK_PREFIX}${stamp}-${basename(file)}`));
  }
  if (options.request) await unlink(options.request).catch(() => undefined);
  let files = 0;
  let alerts = 0;
  let unreadable = 0;
  const work = (await readdir(dir)).filter((n) => n.startsWith(WORK_PREFIX)).sort();
  for (const name of work) {
    const path = join(dir, name);
    const bad: string[] = [];
    // Line by line: a day of dead letters can be hundreds of MB, more than serve's heap. pipeline()
    // hands a read error to the caller (which logs it and retries) and closes the file either way.
    await pipeline(createReadStream(path, 'utf8'), split2(), async (lines: AsyncIterable<string>) => {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        const alert = alertOf(line);
        if (alert === null) {
          bad.push(line);
          continue;
        }
        if (target.full) await target.whenSpace();
        target.append(alertRecord(alert));
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
  return { files, alerts, unreadable };
}

/** The alert of one dead-letter line, or null when the line is not one. */
function alertOf(line: string): Alert | null {
  try {
    const entry = JSON.parse(line) as { alert?: Alert };
    const alert = entry.alert;
    if (alert && typeof alert === 'object' && typeof alert.sourceRef === 'string' && typeof alert.title === 'string') return alert;
  } catch {
    // not JSON: reported as unreadable
  }
  return null;
}
