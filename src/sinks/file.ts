/**
 * The file sink (the default when `thehive.url` is empty): appends each alert, as the exact TheHive 5
 * `POST /api/v1/alert` body, as one line of an NDJSON file (`file.path`).
 *
 * Writes are serialised on one append-mode FileHandle and batched, so concurrent sends give whole
 * lines. Every write goes to the kernel before `send` resolves (a killed process loses
 * nothing); only `close()` fsyncs, so a power cut may lose the last lines the OS had not flushed.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Alert, Outcome, Sink } from '../types.js';

/** One alert waiting for the next write. */
interface Waiting {
  readonly line: string;
  readonly resolve: (outcome: Outcome) => void;
}

/**
 * Creates the file sink; the parent directory and the file are created on the first send.
 * Group commit: while one write is in flight, new alerts gather and go out together in the
 * next, so throughput is not one syscall per alert.
 */
export function createFileSink(path: string): Sink {
  let handle: FileHandle | null = null;
  let waiting: Waiting[] = [];
  let flushing: Promise<void> | null = null;
  let closed = false;
  // After a failed write the file may end in a partial line: start the next one on a fresh line.
  let needsNewline = false;

  async function writeBatch(batch: Waiting[]): Promise<void> {
    let outcome: Outcome;
    try {
      if (!handle) {
        await mkdir(dirname(path), { recursive: true });
        handle = await open(path, 'a');
      }
      let data = needsNewline ? '\n' : '';
      for (const w of batch) data += w.line;
      await handle.appendFile(data, 'utf8');
      needsNewline = false;
      outcome = { kind: 'delivered' };
    } catch (err) {
      needsNewline = handle !== null;
      const failed = handle;
      handle = null; // reopen next time: the file or its directory may have been removed
      await failed?.close().catch(() => undefined);
      outcome = { kind: 'retry', reason: `cannot write ${path}: ${describe(err)}` };
    }
    for (const w of batch) w.resolve(outcome);
  }

  async function flush(): Promise<void> {
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      await writeBatch(batch);
    }
    flushing = null;
  }

  return {
    name: 'file',
    send(alert: Alert, signal: AbortSignal): Promise<Outcome> {
      if (closed) return Promise.resolve({ kind: 'retry', reason: 'file sink is closed' });
      if (signal.aborted) return Promise.resolve({ kind: 'retry', reason: 'aborted before writing' });
      return new Promise<Outcome>((resolve) => {
        waiting.push({ line: `${JSON.stringify(alert)}\n`, resolve });
        flushing ??= flush();
      });
    },
    async close(): Promise<void> {
      closed = true;
      await flushing;
      if (!handle) return;
      const h = handle;
      handle = null;
      await h.datasync().catch(() => undefined);
      await h.close();
    },
  };
}

/** `ENOSPC: no space left on device, write`: the errno first, so operators can grep it. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
}
