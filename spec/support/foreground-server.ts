/**
 * A Debian server run by a test in the foreground (Prometheus, tinyproxy): its output collected,
 * start-up awaited until `ready` says so (or the process exits, with what it printed), and a stop
 * that ends it and removes its temp directory. The system's own instance is never touched.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { waitFor } from './harness.js';

export interface ForegroundServer {
  /** Everything it printed so far (stdout and stderr). */
  out(): string;
  /** SIGTERM, wait for the exit, remove `dir`. */
  stop(): Promise<void>;
}

/** Starts `binary args` in `dir`; resolves once `ready()` is true, rejects (after stopping it) if it exits or is not ready within `timeoutMs`. */
export async function startForeground(what: string, binary: string, args: readonly string[], dir: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<ForegroundServer> {
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGTERM');
    await gone;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`${what} to be ready`, async () => {
      if (exited) throw new Error(`${what} exited during start-up:\n${out}`);
      return ready();
    }, timeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { out: () => out, stop };
}
