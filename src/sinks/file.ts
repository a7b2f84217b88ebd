/**
 * The file sink (the default when `thehive.url` is empty): appends each alert, as the exact TheHive 5
 * `POST /api/v1/alert` body, as one line of an NDJSON file (`file.path`).
 *
 * The delivery queue hands it batches (group commit: everything waiting, up to {@link FILE_MAX_BATCH}
 * alerts) and each batch is one append, so throughput is not one syscall per alert. Writes are
 * serialised on one append-mode FileHandle, so concurrent sends give whole lines. Every write goes to
 * the kernel before `send` resolves (a killed process loses nothing); only `close()` fsyncs, so a
 * power cut may lose the last lines the OS had not flushed.
 *
 * With the alert lifecycle on (the default), the file shows it too ({@link AlertOps}): a key's first
 * flush is the alert's line, and each later flush adds `{"update":{"sourceRef":…,"set":{…}}}` and, when
 * new observables came, `{"observables":{"sourceRef":…,"add":[…]}}` (file-lines.ts). An alert's id is
 * its sourceRef; a file never closes an alert, so every one stays open until its window passes.
 *
 * A mail alert's `file` observables (the `.eml`, its attachments) keep their name, type, size and
 * SHA-256 in the line; their bytes are copied to `files/<sha256>` beside the NDJSON file before
 * the line is written, and then given back to the spool's file store.
 */
import { constants } from 'node:fs';
import { copyFile, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../io/private-files.js';
import { observablesLine, updateLine } from './file-lines.js';
import type { AlertOps, OpResult } from '../lifecycle/types.js';
import { isFile, mayHaveFiles, releaseFiles, type FileSource } from './thehive-files.js';
import type { Alert, Observable, Outcome, QueuedAlert, Sink } from '../types.js';

/** The file store as the file sink reads it: where each content is. */
export type FileCopySource = FileSource & { path(sha256: string): string };
import { wireAlert } from './rule-refusal.js';

/**
 * Alerts per append at most. A batch is copied into one buffer (~1.2 KB an alert, so ~1.2 MB here):
 * big enough that the per-write cost vanishes, small enough not to hold the event loop long.
 */
export const FILE_MAX_BATCH = 1024;

/**
 * Creates the file sink; the parent directories (0700) and the file (0600: alerts name hosts,
 * users and mail senders) are created on the first send. An existing file keeps its mode, and the
 * path may be a link: it is the operator's own choice of output, not a name in spool.dir.
 */
export function createFileSink(path: string, files?: FileCopySource): Sink {
  const filesDir = join(dirname(path), 'files');
  let handle: FileHandle | null = null;
  // Appends run one after another: a line is never split by another batch's write.
  let tail: Promise<unknown> = Promise.resolve();
  let closed = false;
  // After a failed write the file may end in a partial line: start the next one on a fresh line.
  let needsNewline = false;

  async function write(batch: readonly { readonly body: string }[]): Promise<Outcome> {
    try {
      if (!handle) {
        await makePrivateDir(dirname(path));
        handle = await openOutput(path);
      }
      const withFiles = files === undefined ? [] : batch.filter((q) => mayHaveFiles(q.body)).map((q) => observablesOf(q.body));
      for (const observables of withFiles) await copyFiles(observables);
      await handle.appendFile(lines(needsNewline, batch));
      needsNewline = false;
      for (const observables of withFiles) await releaseFiles(observables, files);
      return { kind: 'delivered' };
    } catch (err) {
      needsNewline = handle !== null;
      const failed = handle;
      handle = null; // reopen next time: the file or its directory may have been removed
      await failed?.close().catch(() => undefined);
      return { kind: 'retry', reason: `cannot write ${path}: ${describe(err)}` };
    }
  }

  /** Each file's bytes to `files/<sha256>` beside the output (0600); one already there or gone from the store is skipped. */
  async function copyFiles(observables: readonly Observable[]): Promise<void> {
    const list = observables.filter(isFile);
    if (files === undefined || list.length === 0) return;
    await makePrivateDir(filesDir);
    for (const f of list) {
      try {
        await copyFile(files.path(f.attachment.sha256), join(filesDir, f.attachment.sha256), constants.COPYFILE_EXCL);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOENT') throw err;
      }
    }
  }

  function append(batch: readonly { readonly body: string }[], signal: AbortSignal): Promise<Outcome> {
    if (closed) return Promise.resolve({ kind: 'retry', reason: 'file sink is closed' });
    if (signal.aborted) return Promise.resolve({ kind: 'retry', reason: 'aborted before writing' });
    const run = tail.then(() => write(batch));
    tail = run;
    return run;
  }

  /** One line for a lifecycle request: its outcome as the request's result. */
  async function appendOne<T>(body: string, signal: AbortSignal, value: T): Promise<OpResult<T>> {
    const outcome = await append([{ body }], signal);
    return outcome.kind === 'delivered' ? { kind: 'ok', value } : outcome;
  }

  const ops: AlertOps = {
    create: (alert, signal) => appendOne(JSON.stringify(alert), signal, { id: alert.sourceRef, duplicate: false }),
    get: (id) => Promise.resolve({ kind: 'ok', value: { id, sourceRef: id, status: 'open', severity: 1, tags: [] } }),
    update: (id, patch, signal) => appendOne(updateLine(id, patch), signal, undefined),
    // Its files are copied and released by write(), as an alert line's.
    addObservables: (id, observables, signal) => appendOne(observablesLine(id, observables), signal, { added: observables.length, existed: 0 }),
    find: () => Promise.resolve({ kind: 'ok', value: null }),
  };

  return {
    name: 'file',
    maxBatch: FILE_MAX_BATCH,
    encode: (alert) => JSON.stringify(wireAlert(alert)),
    wire: true,
    decode: (body) => JSON.parse(body) as Alert,
    send: (batch: readonly QueuedAlert[], signal: AbortSignal): Promise<Outcome> => append(batch, signal),
    ops,
    async close(): Promise<void> {
      closed = true;
      await tail;
      if (!handle) return;
      const h = handle;
      handle = null;
      await h.datasync().catch(() => undefined);
      await h.close();
    },
  };
}

/** The observables a line carries: an alert's, or an observables line's `add` (file-lines.ts). */
function observablesOf(body: string): readonly Observable[] {
  const line = JSON.parse(body) as Partial<Alert> & { observables?: unknown };
  if (Array.isArray(line.observables)) return line.observables as Observable[];
  const add = (line.observables as { add?: unknown } | undefined)?.add;
  return Array.isArray(add) ? (add as Observable[]) : [];
}

/** Opens the output for appending; a file made here is 0600 whatever the umask. */
async function openOutput(path: string): Promise<FileHandle> {
  try {
    const created = await open(path, 'ax', PRIVATE_FILE_MODE);
    await created.chmod(PRIVATE_FILE_MODE);
    return created;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return open(path, 'a');
  }
}

/**
 * The batch as NDJSON bytes, each body written straight into one buffer. Joining the bodies into
 * one string first cost three times as much (1 µs an alert, 5 % of `serve` under load): V8 has to
 * flatten that string before it can encode it.
 */
function lines(newlineFirst: boolean, batch: readonly { readonly body: string }[]): Buffer {
  let size = newlineFirst ? 1 : 0;
  for (const queued of batch) size += Buffer.byteLength(queued.body) + 1;
  const bytes = Buffer.allocUnsafe(size);
  let at = newlineFirst ? bytes.write('\n') : 0;
  for (const queued of batch) {
    at += bytes.write(queued.body, at);
    at = bytes.writeUInt8(0x0a, at);
  }
  return bytes.subarray(0, at); // == size; never hand on uninitialised bytes all the same
}

/** `ENOSPC: no space left on device, write`: the errno first, so operators can grep it. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
}
