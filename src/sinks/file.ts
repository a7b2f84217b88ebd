/**
 * The file sink (the default when `thehive.url` is empty): appends each alert, as the exact TheHive 5
 * `POST /api/v1/alert` body, as one line of an NDJSON file (`file.path`).
 *
 * Writes are serialised through one promise chain on one append-mode FileHandle, so concurrent sends
 * give whole lines. Every write goes to the kernel before `send` resolves (a killed process loses
 * nothing); only `close()` fsyncs, so a power cut may lose the last lines the OS had not flushed.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Alert, Outcome, Sink } from '../types.js';

/** Creates the file sink; the parent directory and the file are created on the first send. */
export function createFileSink(path: string): Sink {
  let handle: FileHandle | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  let closed = false;
  // After a failed write the file may end in a partial line: start the next one on a fresh line.
  let needsNewline = false;

  async function write(alert: Alert): Promise<Outcome> {
    if (closed) return { kind: 'retry', reason: 'file sink is closed' };
    const line = `${needsNewline ? '\n' : ''}${JSON.stringify(alert)}\n`;
    try {
      if (!handle) {
        await mkdir(dirname(path), { recursive: true });
        handle = await open(path, 'a');
      }
      await handle.appendFile(line, 'utf8');
      needsNewline = false;
      return { kind: 'delivered' };
    } catch (err) {
      needsNewline = handle !== null;
      const failed = handle;
      handle = null; // reopen next time: the file or its directory may have been removed
      await failed?.close().catch(() => undefined);
      return { kind: 'retry', reason: `cannot write ${path}: ${describe(err)}` };
    }
  }

  return {
    name: 'file',
    send(alert: Alert, signal: AbortSignal): Promise<Outcome> {
      const run = chain.then((): Promise<Outcome> | Outcome =>
        signal.aborted ? { kind: 'retry', reason: 'aborted before writing' } : write(alert),
      );
      chain = run.catch(() => undefined);
      return run;
    },
    async close(): Promise<void> {
      const run = chain.then(async () => {
        closed = true;
        if (!handle) return;
        const h = handle;
        handle = null;
        await h.datasync().catch(() => undefined);
        await h.close();
      });
      chain = run.catch(() => undefined);
      await run;
    },
  };
}

/** `ENOSPC: no space left on device, write`: the errno first, so operators can grep it. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
}
