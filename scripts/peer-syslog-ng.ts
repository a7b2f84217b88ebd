/**
 * The syslog-ng peer of the benchmarks: what a team would run instead of tracehive, a log
 * shipper with a key=value parser. A private syslog-ng (Debian syslog-ng-core, and
 * syslog-ng-mod-http for `http()`) listens on a free loopback port with `flags(no-parse)` so the
 * CyberTrace line stays whole in MESSAGE, runs `kv-parser(prefix(".kv."))`, renders
 * `{title, description, event}` (the glue peer's shape) with `$(format-json)` and writes it to a
 * file (one JSON object a line) or POSTs it, one message per request, to an HTTP endpoint (a
 * stand-in for TheHive's alert API). `flags(flow-control)` makes it stop reading when its
 * destination lags, so nothing is dropped and the rate measured is the rate delivered.
 *
 * Its output is NOT equivalent to tracehive's (shared/docs/test-servers.md, checked with 3.38):
 * kv-parser does not recognise keys with `/`, so `whois/org=…` and `files/MD5=…` end up inside
 * the value before them; a comma-space ends a value (`geo=vn, in, mx` gives `vn`); of repeated
 * keys only the last survives (`category=malware` of an IP record replaces the detection's
 * category). It types, grades and describes nothing. Read its rows as a ceiling for a log
 * shipper's pipeline, not as an equal.
 *
 * As a module: `syslogNgAvailable()`, `runSyslogNg(kind, opts)`, `startPostCounter()`.
 * Alone: `node dist/scripts/peer-syslog-ng.js [--lines N] [--connections C] [--json FILE]`
 * measures the file row and the http rows (1 and 4 workers) with the load generator.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { scriptArgs } from './script-args.js';
import { createRng, generateLine } from '../src/tools/cybertrace-gen.js';
import { runLoad } from '../src/tools/loadgen.js';

/** What the bench prints when syslog-ng is missing. */
export const SYSLOG_NG_MISSING = 'syslog-ng not installed: apt-get install -y syslog-ng-core syslog-ng-mod-http, then run make bench again';

/** Options of {@link runSyslogNg}. */
export interface SyslogNgOptions {
  /** `http`: the endpoint each message is POSTed to. */
  readonly url?: string;
  /** `http`: worker threads, each with its own HTTP connection. @default 4 */
  readonly workers?: number;
  /** Where config, state and output go; a fresh temp dir (removed by `stop`) when omitted. */
  readonly dir?: string;
  /**
   * `http`: put a reliable `disk-buffer()` in front of the destination (syslog-ng's answer to a
   * destination that is down), of this many bytes, with {@link DISK_BUFFER_MEMORY_BYTES} in memory.
   */
  readonly diskBufferBytes?: number;
}

/** Cost of the syslog-ng process since it started (all its threads). */
export interface ProcessStats {
  /** VmHWM of /proc/<pid>/status. */
  peakRssMiB: number;
  /** utime + stime of /proc/<pid>/stat. */
  cpuSeconds: number;
}

/** A running syslog-ng. */
export interface SyslogNgPeer {
  readonly port: number;
  readonly pid: number;
  /** `file`: the NDJSON output (read it before `stop`, which removes a temp dir). */
  readonly output: string | undefined;
  /** `file`: complete lines in the output so far; `http`: always 0 (the endpoint counts). */
  written(): number;
  /** Messages waiting in the destination's queue (its disk buffer), from `syslog-ng-ctl stats`. */
  queued(): Promise<number>;
  stats(): ProcessStats;
  /** SIGTERM, wait for exit; resolves with the stats read just before. */
  stop(): Promise<ProcessStats>;
}

const BINARY = 'syslog-ng';
const CLK_TCK = 100; // Linux USER_HZ
/**
 * Messages in flight: the source window, shared by max-connections(16), so 1,000 per connection
 * (the default, 100 in all, starves a flood), and the destination queue. Like tracehive's
 * pending bound, it caps the memory.
 */
const WINDOW = 16_000;
const START_TIMEOUT_MS = 15_000;
/**
 * `mem-buf-size()` of the reliable disk buffer: the messages it also keeps in memory. syslog-ng's
 * default is 156 MiB; 10 MiB is what a team sizing it for a small box would set, and is in the
 * order of tracehive's own 1,000-alert window.
 */
export const DISK_BUFFER_MEMORY_BYTES = 10 * 1024 * 1024;
// One template for both destinations: the glue peer's {title, description, event} shape.
const JSON_TEMPLATE = '$(format-json --scope none title=\\"${.kv.category}: ${.kv.matchedIndicator}\\" description=\\"${MESSAGE}\\" --key .kv.* --rekey .kv.* --shift 4 --add-prefix event.)';

function config(port: number, destination: string): string {
  return `@version: 3.38
options { threaded(yes); use-dns(no); dns-cache(no); keep-hostname(yes); chain-hostnames(no); stats-freq(0); log-fifo-size(${WINDOW}); };
source s_ct { network(ip("127.0.0.1") port(${port}) transport("tcp") flags(no-parse) max-connections(16) log-iw-size(${WINDOW}) log-msg-size(1048576)); };
parser p_kv { kv-parser(prefix(".kv.")); };
destination d_out { ${destination} };
log { source(s_ct); parser(p_kv); destination(d_out); flags(flow-control); };
`;
}

function destinationOf(kind: 'file' | 'http', output: string, opts: SyslogNgOptions, dir = ''): string {
  if (kind === 'file') return `file("${output}" template("${JSON_TEMPLATE}\\n"));`;
  if (opts.url === undefined) throw new Error('runSyslogNg: `url` is required for the http destination');
  const buffer = opts.diskBufferBytes === undefined ? '' : ` disk-buffer(reliable(yes) dir("${join(dir, 'disk-buffer')}") disk-buf-size(${opts.diskBufferBytes}) mem-buf-size(${DISK_BUFFER_MEMORY_BYTES}))`;
  // batch-lines(1): one alert per request, as TheHive's POST /api/alert takes them.
  return `http(url("${opts.url}") method("POST") headers("Content-Type: application/json") body("${JSON_TEMPLATE}") workers(${opts.workers ?? 4}) batch-lines(1) persist-name("tracehive-bench")${buffer});`;
}

/** True when syslog-ng runs and its http() module loads (a syntax check of an http config). */
export async function syslogNgAvailable(): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'tracehive-sng-check-'));
  try {
    const conf = join(dir, 'check.conf');
    writeFileSync(conf, config(1, destinationOf('http', '', { url: 'http://127.0.0.1:1/' })));
    const child = spawn(BINARY, ['--syntax-only', '-f', conf], { stdio: 'ignore' });
    return await new Promise<boolean>((ok) => child.once('error', () => ok(false)).once('exit', (code) => ok(code === 0)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts a private syslog-ng in the foreground (`-F -f conf -R persist -c ctl -p pid` in its own
 * dir); resolves once its port accepts connections. It is killed if this process exits first.
 */
export function runSyslogNg(kind: 'file' | 'http', opts: SyslogNgOptions = {}): Promise<SyslogNgPeer> {
  return start(kind, opts, 3);
}

async function start(kind: 'file' | 'http', opts: SyslogNgOptions, tries: number): Promise<SyslogNgPeer> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tracehive-sng-'));
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const output = kind === 'file' ? join(dir, 'syslog-ng.ndjson') : undefined;
  const conf = join(dir, 'syslog-ng.conf');
  if (opts.diskBufferBytes !== undefined) mkdirSync(join(dir, 'disk-buffer'), { recursive: true });
  writeFileSync(conf, config(port, destinationOf(kind, output ?? '', opts, dir)));
  const child = spawn(BINARY, ['-F', '--no-caps', '-f', conf, '-R', join(dir, 'persist'), '-c', join(dir, 'ctl'), '-p', join(dir, 'pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const spawned = await new Promise<boolean>((ok) => child.once('spawn', () => ok(true)).once('error', () => ok(false)));
  if (!spawned) throw new Error(SYSLOG_NG_MISSING);
  const end = Date.now() + START_TIMEOUT_MS;
  while (!exited && !(await accepts(port))) {
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (exited || Date.now() > end) {
    process.off('exit', killOnExit);
    await stopChild(child);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    // The port found free may have been taken before syslog-ng bound it: try others.
    if (tries > 1 && /Address already in use/i.test(stderr)) return start(kind, opts, tries - 1);
    throw new Error(`syslog-ng did not start listening on 127.0.0.1:${port}: ${stderr.trim() || 'no message'}`);
  }
  const pid = child.pid as number;
  const lines = output === undefined ? undefined : lineCounter(output);
  let last: ProcessStats = { peakRssMiB: 0, cpuSeconds: 0 };
  // After a crash /proc/<pid> is gone: the last figures read are the best we have.
  const stats = (): ProcessStats => (exited ? last : (last = procStats(pid)));
  return {
    port,
    pid,
    output,
    written: () => lines?.() ?? 0,
    queued: () => queuedOf(join(dir, 'ctl')),
    stats,
    async stop() {
      const final = stats();
      process.off('exit', killOnExit);
      await stopChild(child);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      return final;
    },
  };
}

/**
 * A stand-in endpoint for the http rows: answers every POST with 201 and counts them, and the
 * bodies `check` accepts (e.g. whose `description` is a line that was sent).
 */
export async function startPostCounter(check?: (body: string) => boolean): Promise<{ url: string; posts(): number; good(): number; close(): Promise<void> }> {
  let posts = 0;
  let good = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts++;
      if (check?.(Buffer.concat(chunks).toString('utf8')) ?? true) good++;
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/alert`, posts: () => posts, good: () => good, close: () => new Promise((ok) => server.close(() => ok())) };
}

/** Counts `\n` in a growing file, reading only what was appended since the last call. */
function lineCounter(file: string): () => number {
  let offset = 0;
  let count = 0;
  const buf = Buffer.alloc(1 << 20);
  return () => {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return count; // not created yet
    }
    try {
      for (let n = readSync(fd, buf, 0, buf.length, offset); n > 0; n = readSync(fd, buf, 0, buf.length, offset)) {
        offset += n;
        for (let i = buf.indexOf(10); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) count++;
      }
    } finally {
      closeSync(fd);
    }
    return count;
  };
}

/** The destination's `queued` counter (`dst.*;…;queued;N`) from `syslog-ng-ctl stats`; 0 when it has none yet. */
async function queuedOf(control: string): Promise<number> {
  const text = await new Promise<string>((ok, fail) => execFile('syslog-ng-ctl', ['stats', '-c', control], { encoding: 'utf8' }, (err, out) => (err ? fail(err) : ok(out))));
  let queued = 0;
  for (const line of text.split('\n')) {
    const f = line.split(';');
    if (f[0]?.startsWith('dst.') && f[4] === 'queued') queued += Number(f[5]);
  }
  return queued;
}

function procStats(pid: number): ProcessStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return { peakRssMiB: Math.round((hwm / 1024) * 10) / 10, cpuSeconds: ticks / CLK_TCK };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = net.createServer().once('error', fail).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => ok(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      ok(true);
    });
    s.once('error', () => ok(false));
  });
}

/** Runnable alone: the file row and the http rows (1 and 4 workers) for N generated lines. */
async function main(): Promise<void> {
  const values = scriptArgs('peer-syslog-ng', 'Usage: node dist/scripts/peer-syslog-ng.js [--lines N] [--connections C] [--seed N] [--json FILE]', { lines: { type: 'string', default: '200000' }, connections: { type: 'string', default: '4' }, seed: { type: 'string', default: '1' }, json: { type: 'string' } });
  if (!(await syslogNgAvailable())) {
    console.log(SYSLOG_NG_MISSING);
    return;
  }
  const total = Number(values.lines);
  const connections = Number(values.connections);
  const seed = Number(values.seed);
  // The lines the load generator sends with `unique`: a description is intact when it is one of them.
  const rng = createRng(seed);
  const sent = new Set(Array.from({ length: total }, (_, i) => `${generateLine(rng, i)} seq=${i}`));
  const intactBody = (body: string): boolean => sent.has((JSON.parse(body) as { description?: string }).description ?? '');
  const rows = [];
  for (const [kind, workers] of [['file', 0], ['http', 1], ['http', 4]] as const) {
    const counter = kind === 'http' ? await startPostCounter(intactBody) : undefined;
    const peer = await runSyslogNg(kind, { url: counter?.url, workers });
    const done = (): number => counter?.posts() ?? peer.written();
    const before = peer.stats();
    const t0 = performance.now();
    await runLoad({ host: '127.0.0.1', port: peer.port, connections, lines: total, seed, unique: true });
    while (done() < total) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - t0) / 1000;
    const after = peer.stats();
    const intact = counter?.good() ?? readFileSync(peer.output as string, 'utf8').split('\n').filter((l) => l !== '' && intactBody(l)).length;
    await peer.stop();
    await counter?.close();
    const name = kind === 'file' ? 'syslog-ng (tcp → kv-parser → format-json → file)' : `syslog-ng (tcp → kv-parser → http POST per message, ${workers} worker${workers === 1 ? '' : 's'})`;
    rows.push({ name, linesPerSec: Math.round(total / seconds), seconds: Math.round(seconds * 100) / 100, peakRssMiB: after.peakRssMiB, cpuSecPer100k: Math.round(((after.cpuSeconds - before.cpuSeconds) / total) * 100000 * 100) / 100, intact });
  }
  console.log(`syslog-ng peer, ${total} generated lines (seed ${seed}) over ${connections} connections, node ${process.version}`);
  console.log('| pipeline | lines/s | seconds | peak RSS MiB | CPU s / 100k lines | lines intact |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.linesPerSec.toLocaleString('en')} | ${r.seconds} | ${r.peakRssMiB} | ${r.cpuSecPer100k} | ${r.intact.toLocaleString('en')} of ${total.toLocaleString('en')} |`);
  if (values.json !== undefined) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, JSON.stringify({ at: new Date().toISOString(), node: process.version, lines: total, connections, seed, rows }, null, 2));
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
