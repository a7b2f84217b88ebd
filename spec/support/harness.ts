/**
 * Integration-test helpers: start the real app on free ports with its data in a temp dir,
 * capture its log lines, talk to it over real sockets, and wait for conditions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildApp, type App, type StartedAddresses } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

export interface Harness {
  readonly app: App;
  readonly dir: string;
  readonly tcpPort: number;
  readonly httpPort: number;
  /** Every log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  stop(): Promise<{ undelivered: number }>;
}

/** Starts the app with test defaults (ports 0, data in a temp dir) plus `overrides` (dotted keys welcome). */
export async function startApp(overrides: Record<string, unknown> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tracehive-it-'));
  const base: Record<string, unknown> = {
    'tcp.port': 0,
    'http.port': 0,
    'spool.dir': join(dir, 'spool'),
    'file.path': join(dir, 'alerts.ndjson'),
    'queue.ratePerSec': 0,
    'queue.retryBaseMs': 20,
    'queue.retryMaxMs': 200,
    'queue.authRetryMs': 200,
    // One alert per detection, as before the lifecycle: the specs of other features count alerts per
    // line. spec/integration/lifecycle.spec.ts and the lifecycle's own specs turn it on.
    'alert.updateWindowMs': 0,
    'log.level': 'debug',
  };
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ env: {}, useDefaultFile: false, overrides: nest({ ...base, ...overrides }) });
  } catch (err) {
    await rm(dir, { recursive: true, force: true }); // a test of a config error leaves no temp dir behind
    throw err;
  }
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const app = buildApp(config, { logger: pino({ level: config.log.level }, sink) });
  let addresses: StartedAddresses;
  try {
    addresses = await app.start();
  } catch (err) {
    // A test of a start-up failure leaves no temp dir behind either.
    await app.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<{ undelivered: number }> | undefined;
  return {
    app,
    dir,
    logs,
    tcpPort: addresses.tcp?.port ?? 0,
    httpPort: addresses.http?.port ?? 0,
    async stop() {
      stopped ??= app.stop().finally(() => rm(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** Turns `{'a.b': 1}` into `{a: {b: 1}}` (convict loads nested objects). */
export function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts.at(-1) as string] = value;
  }
  return out;
}

/** Opens a connection to the listener. */
export async function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `data` in pieces of `chunk` bytes (1 = byte by byte), waiting `gapMs` between pieces, then ends. */
export async function sendChunked(port: number, data: string | Buffer, chunk: number, gapMs = 0): Promise<void> {
  const socket = await connect(port);
  socket.setNoDelay(true);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let i = 0; i < bytes.length; i += chunk) {
    if (!socket.write(bytes.subarray(i, i + chunk))) await new Promise((r) => socket.once('drain', r));
    if (gapMs > 0) await sleep(gapMs);
    else if (chunk < 16) await new Promise((r) => setImmediate(r));
  }
  await endSocket(socket);
}

/** Ends our side and waits until the peer closed too. */
export async function endSocket(socket: net.Socket): Promise<void> {
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes; then fails with `what`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** GETs a path on the admin port and returns status and parsed/plain body. */
export async function admin(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}
