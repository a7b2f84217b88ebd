/**
 * What `scripts/bench.ts` measures with: `tracehive serve` as a child process (its RSS and CPU are
 * its own), a counting HTTP endpoint standing in for TheHive's alert API, a tailer that counts the
 * alerts an NDJSON file gains, and the latency log both feed. Latency is from `sent_ms=<epoch ms>`,
 * which the load generator appends to each line (`stamp`) and both tracehive (description table
 * row `| sent_ms | … |`) and syslog-ng (`description` = the raw line) carry into the alert.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { resolve } from 'node:path';
import { cliNodeFlags } from '../src/tools/node-flags.js';

const CLI = resolve('dist/src/cli.js');
const CLK_TCK = 100; // Linux USER_HZ
const START_TIMEOUT_MS = 20_000;
/** After SIGTERM, how long serve gets to stop before SIGKILL (its shutdown.timeoutMs is set below it). */
const STOP_TIMEOUT_MS = 15_000;
/** Output kept for the error message when serve dies. */
const KEEP_OUTPUT_CHARS = 8_000;

/** Memory and CPU of one process (all its threads), from /proc. */
/**
 * One alert per line, as syslog-ng writes one record per line: the lifecycle (on by default) would
 * fold repeated indicators into updates and the rows would no longer compare like with like. The
 * bench's TheHive endpoints are not TheHive, so the API is named rather than asked of /api/status.
 */
const BENCH_DEFAULTS = { TRACEHIVE_ALERT_UPDATE_WINDOW_MS: '0', THEHIVE_API: 'v1' };

export interface ProcStats {
  /** VmRSS now. */
  rssMiB: number;
  /** VmHWM: the peak since the process started. */
  peakRssMiB: number;
  /** utime + stime. */
  cpuSeconds: number;
}

/** Reads /proc/<pid>/status and /proc/<pid>/stat. */
export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return { rssMiB: mib(kb('VmRSS')), peakRssMiB: mib(kb('VmHWM')), cpuSeconds: ticks / CLK_TCK };
}

const mib = (kb: number): number => Math.round((kb / 1024) * 10) / 10;

/** A running `tracehive serve`. */
export interface Tracehive {
  readonly pid: number;
  readonly tcpPort: number;
  readonly httpPort: number;
  stats(): ProcStats;
  /** A metric of /metrics, summed over its series (0 when absent). */
  metric(name: string): Promise<number>;
  /** SIGTERM (SIGKILL after {@link STOP_TIMEOUT_MS}); resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Starts `node [nodeArgs] dist/src/cli.js serve` with only PATH and `env` from the caller (so no
 * THEHIVE_URL of the shell leaks in), ports 0, and resolves once it logged both ports (as
 * spec/support/serve-process.ts reads them).
 */
export async function startTracehive(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<Tracehive> {
  const child = spawn(process.execPath, [...cliNodeFlags(CLI), ...nodeArgs, CLI, 'serve'], {
    env: { PATH: process.env['PATH'] ?? '', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SHUTDOWN_TIMEOUT_MS: '500', LOG_LEVEL: 'info', ...BENCH_DEFAULTS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let tcpPort = 0;
  let httpPort = 0;
  let partial = '';
  const onData = (d: Buffer): void => {
    out = (out + d.toString()).slice(-KEEP_OUTPUT_CHARS);
    if (tcpPort > 0 && httpPort > 0) return; // after start-up the log is only kept for errors
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg?.startsWith('CyberTrace listener ready')) tcpPort = entry.port ?? 0;
      if (entry.msg?.startsWith('Admin HTTP listening')) httpPort = entry.port ?? 0;
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = false;
  child.once('exit', () => (exited = true));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const end = Date.now() + START_TIMEOUT_MS;
  while (!(tcpPort > 0 && httpPort > 0)) {
    if (exited || Date.now() > end) {
      process.off('exit', killOnExit);
      child.kill('SIGKILL');
      throw new Error(`bench: tracehive serve did not start:\n${out}`);
    }
    await sleep(20);
  }
  const pid = child.pid as number;
  return {
    pid,
    tcpPort,
    httpPort,
    stats: () => {
      if (exited) throw new Error(`bench: tracehive serve exited during the run:\n${out}`);
      return procStats(pid);
    },
    async metric(name) {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    async stop() {
      process.off('exit', killOnExit);
      await stopChild(child);
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Latencies in ms, with percentiles. */
export class LatencyLog {
  #values = new Float64Array(1 << 16);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  /** Forgets every value. */
  reset(): void {
    this.#count = 0;
  }

  add(ms: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = ms;
  }

  /** The p-quantile (0–1), nearest rank; NaN when empty. */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN;
    const sorted = this.#values.slice(0, this.#count).sort();
    return sorted[Math.min(this.#count - 1, Math.max(0, Math.ceil(p * this.#count) - 1))] as number;
  }
}

const STAMP = Buffer.from('sent_ms');

/**
 * The epoch ms after the first `sent_ms` in `bytes[from, to)`: `sent_ms=123` (a raw line),
 * `"sent_ms":"123"` (syslog-ng's event) or `sent_ms | 123` (tracehive's description table); NaN
 * when there is none.
 */
function stampIn(bytes: Buffer, from: number, to: number): number {
  const at = bytes.indexOf(STAMP, from);
  if (at === -1 || at >= to) return Number.NaN;
  let i = at + STAMP.length;
  // '=', ' ', '|', and '"', ':' of syslog-ng's `"sent_ms":"123"` (its event object comes first)
  while (i < to && (bytes[i] === 0x3d || bytes[i] === 0x20 || bytes[i] === 0x7c || bytes[i] === 0x22 || bytes[i] === 0x3a)) i++;
  let n = 0;
  let digits = 0;
  for (; i < to && (bytes[i] as number) >= 0x30 && (bytes[i] as number) <= 0x39; i++, digits++) n = n * 10 + (bytes[i] as number) - 0x30;
  return digits > 0 ? n : Number.NaN;
}

/**
 * Follows an NDJSON file as it grows: `poll()` reads what was appended, counts the complete lines
 * and logs each one's latency as now − its `sent_ms` (so the poll interval adds up to one
 * interval to every figure).
 */
export function tailAlerts(file: string, latency: LatencyLog): { poll(): void; lines(): number; close(): void } {
  let fd: number | undefined;
  let offset = 0;
  let lines = 0;
  let carry = Buffer.alloc(0);
  const chunk = Buffer.allocUnsafe(4 << 20);
  return {
    poll() {
      if (fd === undefined) {
        try {
          fd = openSync(file, 'r');
        } catch {
          return; // not created yet
        }
      }
      const now = Date.now();
      for (let n = readSync(fd, chunk, 0, chunk.length, offset); n > 0; n = readSync(fd, chunk, 0, chunk.length, offset)) {
        offset += n;
        const bytes = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
        let start = 0;
        for (let nl = bytes.indexOf(10); nl !== -1; nl = bytes.indexOf(10, start)) {
          lines++;
          const sent = stampIn(bytes, start, nl);
          if (!Number.isNaN(sent)) latency.add(now - sent);
          start = nl + 1;
        }
        carry = Buffer.from(bytes.subarray(start)); // a copy: `chunk` is reused
      }
    },
    lines: () => lines,
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** A counting stand-in for TheHive's alert API. */
export interface CountingEndpoint {
  /** Base URL (tracehive appends `/api/v1/alert`); `alertUrl` is the full one for syslog-ng. */
  readonly url: string;
  readonly alertUrl: string;
  /** Alert POSTs answered. */
  posts(): number;
  close(): Promise<void>;
}

/**
 * A minimal `node:http` server: `GET …/user/current` answers 200 with a user (tracehive's key
 * check), every POST answers 201 with a small TheHive-like alert (`_id`, `_type`, `_createdAt`,
 * `status`), counted, and its latency logged from the `sent_ms` in its body. It does not parse or
 * store the alert: it is much faster than spec/support/fake-thehive.ts and than TheHive, so the
 * row measures the sender.
 */
export async function startCountingEndpoint(latency: LatencyLog): Promise<CountingEndpoint> {
  let posts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"_id":"~1","login":"bench@thehive.local","name":"bench","organisation":"bench"}');
        return;
      }
      const now = Date.now();
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      const sent = stampIn(body, 0, body.length);
      if (!Number.isNaN(sent)) latency.add(now - sent);
      posts++;
      res.writeHead(201, { 'content-type': 'application/json' }).end(`{"_id":"~${posts}","_type":"Alert","_createdBy":"bench@thehive.local","_createdAt":${now},"status":"New"}`);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    alertUrl: `http://127.0.0.1:${port}/api/alert`,
    posts: () => posts,
    close: () => {
      server.closeAllConnections();
      return new Promise((ok) => server.close(() => ok()));
    },
  };
}

/** A loopback port nothing listens on (found free, then closed): a TheHive that is down. */
export function closedPort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = net.createServer().once('error', fail).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => ok(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
