/**
 * `make bench`: tracehive end to end, and the equivalent syslog-ng pipelines in the same run
 * when syslog-ng is installed (scripts/peer-syslog-ng.ts; without it the script prints how to
 * install it and measures tracehive alone). Every system runs as its own child process, so
 * RSS and CPU (/proc/<pid>) are its own; the load generator (src/tools/loadgen.ts, `unique`
 * and `stamp`) and the counting endpoint run in this process.
 *
 * Rows (tracehive always goes through its durable spool; there is no other path):
 * - (a) tcp → parse → spool → map → file sink, the spool fsyncing once a second;
 *   syslog-ng: tcp → kv-parser → format-json → file().
 * - (b) the same with the default 20 ms group commit (`spool.fsyncIntervalMs`).
 * - (c) tcp → spool → a counting TheHive endpoint, rate limit off, 4 requests in flight;
 *   syslog-ng: http(), one alert per POST, 4 workers, to the same endpoint.
 * - (d) a backlog of `--backlog-lines` while TheHive is down: accept rate into the spool and
 *   tracehive's RSS over time; syslog-ng: the same into http()'s reliable disk-buffer().
 *
 * Latency is measured twice: under the flood (mostly time queued), then with the same process
 * paced at 1,000 lines/s for `--paced-seconds` (the pipeline's own latency).
 *
 * Usage: node dist/scripts/bench.js [--lines N] [--http-lines N] [--backlog-lines N] [--paced-seconds S]
 *          [--connections C] [--seed N] [--rows abcd] [--no-syslog-ng] [--cpu-prof DIR]
 *          [--node-args="FLAGS"] [--env KEY=VALUE]… [--json FILE]
 * `--cpu-prof DIR` runs tracehive under `node --cpu-prof` and leaves one .cpuprofile per row in DIR;
 * `--node-args` passes other flags to tracehive's node (e.g. `--max-old-space-size=96`); `--env` sets a
 * config variable of every tracehive run (e.g. `--env TRACEHIVE_MAX_PENDING=2000`; the bench's own
 * environment is not passed on, so a THEHIVE_URL of the shell cannot leak in).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { numberOption, scriptArgs } from './script-args.js';
import { runLoad, type LoadProgress } from '../src/tools/loadgen.js';
import { renderBench, type BenchResult, type BenchRow, type RowId } from './bench-readme.js';
import { closedPort, LatencyLog, procStats, sleep, startCountingEndpoint, startTracehive, tailAlerts, type ProcStats } from './bench-tcp.js';
import { DISK_BUFFER_MEMORY_BYTES, runSyslogNg, syslogNgAvailable, SYSLOG_NG_MISSING } from './peer-syslog-ng.js';

const USAGE = `Usage: node dist/scripts/bench.js [--lines N] [--http-lines N] [--backlog-lines N] [--paced-seconds S]
         [--connections C] [--seed N] [--rows abcd] [--no-syslog-ng] [--cpu-prof DIR]
         [--node-args="FLAGS"] [--env KEY=VALUE]… [--json FILE]`;
const values = scriptArgs('bench', USAGE, {
  lines: { type: 'string', default: '200000' },
  'http-lines': { type: 'string' },
  'backlog-lines': { type: 'string', default: '1000000' },
  'paced-seconds': { type: 'string', default: '5' },
  connections: { type: 'string', default: '4' },
  seed: { type: 'string', default: '1' },
  rows: { type: 'string', default: 'abcd' },
  'no-syslog-ng': { type: 'boolean', default: false },
  'cpu-prof': { type: 'string' },
  'node-args': { type: 'string', default: '' },
  env: { type: 'string', multiple: true, default: [] },
  json: { type: 'string' },
});
/** A numeric option, or exit 2 saying what was expected. */
const option = (name: string, text: string, min: number, integer = true): number => numberOption('bench', name, text, min, integer);
const lines = option('lines', values.lines, 1);
const httpLines = option('http-lines', values['http-lines'] ?? values.lines, 1);
const backlogLines = option('backlog-lines', values['backlog-lines'], 1);
const pacedSeconds = option('paced-seconds', values['paced-seconds'], 0, false);
const connections = option('connections', values.connections, 1);
const seed = option('seed', values.seed, 0);
if (!/^[abcd]+$/.test(values.rows)) {
  process.stderr.write(`bench: Expected \`--rows\` to be letters of abcd, got ${JSON.stringify(values.rows)}.\n`);
  process.exit(2);
}
const extraEnv: Record<string, string> = {};
for (const pair of values.env) {
  const eq = pair.indexOf('=');
  if (eq < 1) {
    process.stderr.write(`bench: Expected \`--env\` to be KEY=VALUE, got ${JSON.stringify(pair)}.\n`);
    process.exit(2);
  }
  extraEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
}
/** What the rows set themselves: `--env` must not quietly change what a row's text describes. */
const ROW_KEYS = ['LOG_LEVEL', 'TRACEHIVE_SHUTDOWN_TIMEOUT_MS', 'TRACEHIVE_FILE_PATH', 'TRACEHIVE_SPOOL_DIR', 'TRACEHIVE_SPOOL_FSYNC_INTERVAL_MS', 'THEHIVE_URL', 'THEHIVE_API_KEY', 'TRACEHIVE_RATE_PER_SEC', 'TRACEHIVE_CONCURRENCY', 'TRACEHIVE_TCP_PORT', 'TRACEHIVE_HTTP_PORT'];
const clash = Object.keys(extraEnv).filter((k) => ROW_KEYS.includes(k));
if (clash.length > 0) {
  process.stderr.write(`bench: \`--env ${clash.join(', ')}\` is set by the rows themselves (see the notes of the table); leave it out.\n`);
  process.exit(2);
}
const rows = new Set(values.rows.split('') as RowId[]);
const nodeArgs = [...values['node-args'].split(' ').filter(Boolean), ...(values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])])];

/** Issue 15's targets: tracehive's alerts/s ÷ syslog-ng's, and peak RSS in every row. */
const RATIO_TARGETS: Readonly<Record<'a' | 'b' | 'c', number>> = { a: 1, b: 0.8, c: 0.6 };
const RSS_TARGET_MIB = 150;
/** Lines/s of the paced phase: a busy CyberTrace's detections, well below every pipeline's capacity. */
const PACED_RATE = 1000;
/** How often the output file is read (it adds up to this much to a file row's latency). */
const POLL_MS = 10;
/** (d) polls /metrics, which costs tracehive CPU: gently. */
const BACKLOG_POLL_MS = 250;
/** No new alert for this long after the sender finished: the run is stuck, fail with what we know. */
const STALL_MS = 30_000;
const API_KEY = 'bench-key';

/** What `measure` watches: the measured process and what it has delivered so far. */
interface Probe {
  stats(): Pick<ProcStats, 'peakRssMiB' | 'cpuSeconds'>;
  delivered(): number | Promise<number>;
  /** Called every poll: reads the output. */
  tick?(): void;
}

interface Measured {
  readonly sendSeconds: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  readonly delivered: number;
  /** Flood, then paced at {@link PACED_RATE}; NaN without a latency log or a paced phase. */
  readonly latency: { readonly p50: number; readonly p99: number; readonly pacedP50: number; readonly pacedP99: number };
}

/**
 * Sends `count` stamped lines (`unique`: one alert each) at `rate` (0 = flat out) and waits until
 * `probe` has delivered `until` in all; resolves with the seconds until the sender was done and
 * until the last alert.
 */
async function load(port: number, count: number, rate: number, loadSeed: number, probe: Probe, until: number, pollMs: number, onProgress?: (p: LoadProgress) => void): Promise<{ sendSeconds: number; seconds: number; delivered: number }> {
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const summary = await runLoad({ host: '127.0.0.1', port, connections, lines: count, rate, seed: loadSeed, unique: true, stamp: true }, onProgress);
  const sendSeconds = elapsed();
  if (summary.errors > 0) {
    probe.stats(); // throws with the process's last output when it died
    throw new Error(`bench: the sender lost ${summary.errors} connection(s): ${summary.lastError ?? ''}`);
  }
  let delivered = await probe.delivered();
  let last = { delivered, at: performance.now() };
  while (delivered < until) {
    await sleep(pollMs);
    delivered = await probe.delivered();
    if (delivered !== last.delivered) last = { delivered, at: performance.now() };
    else if (performance.now() - last.at > STALL_MS) throw new Error(`bench: stuck at ${delivered} of ${until} alerts for ${STALL_MS / 1000} s`);
  }
  return { sendSeconds, seconds: elapsed(), delivered };
}

/**
 * The flood (`count` lines flat out: rates, CPU and RSS), then, when there is a latency log, a
 * paced phase of {@link PACED_RATE} lines/s for `--paced-seconds` on the same process (latency
 * below saturation; not counted in the other figures).
 */
async function measure(port: number, count: number, probe: Probe, latency: LatencyLog | undefined, pollMs = POLL_MS, onProgress?: (p: LoadProgress) => void): Promise<Measured> {
  const timer = setInterval(() => probe.tick?.(), pollMs);
  try {
    const before = probe.stats();
    const flood = await load(port, count, 0, seed, probe, count, pollMs, onProgress);
    const after = probe.stats();
    const p50 = latency?.percentile(0.5) ?? Number.NaN;
    const p99 = latency?.percentile(0.99) ?? Number.NaN;
    let paced = { p50: Number.NaN, p99: Number.NaN };
    const pacedLines = Math.round(PACED_RATE * pacedSeconds);
    if (latency !== undefined && pacedLines > 0) {
      latency.reset();
      // Another seed: other lines than the flood's, so other alerts (sourceRef) too.
      await load(port, pacedLines, PACED_RATE, seed + 1, probe, flood.delivered + pacedLines, pollMs);
      paced = { p50: latency.percentile(0.5), p99: latency.percentile(0.99) };
    }
    return { ...flood, cpuSeconds: after.cpuSeconds - before.cpuSeconds, peakRssMiB: after.peakRssMiB, latency: { p50, p99, pacedP50: paced.p50, pacedP99: paced.p99 } };
  } finally {
    clearInterval(timer);
  }
}

const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;
const orNull = (n: number): number | null => (Number.isNaN(n) ? null : round(n));

/** `alerts`: false for (d), where nothing is delivered and the rate is the accept rate into the spool. */
function rowOf(row: RowId, system: BenchRow['system'], pipeline: string, count: number, m: Measured, alerts = true): BenchRow {
  return {
    row,
    system,
    pipeline,
    lines: count,
    alerts: alerts ? m.delivered : 0,
    linesPerSec: round(count / (alerts ? m.sendSeconds : m.seconds)),
    alertsPerSec: alerts ? round(m.delivered / m.seconds) : null,
    p50Ms: orNull(m.latency.p50),
    p99Ms: orNull(m.latency.p99),
    pacedP50Ms: orNull(m.latency.pacedP50),
    pacedP99Ms: orNull(m.latency.pacedP99),
    peakRssMiB: m.peakRssMiB,
    cpuSecPer100k: round((m.cpuSeconds / count) * 100_000, 2),
    ratio: null,
    target: null,
    met: null,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'tracehive-bench-'));
const spoolDir = (name: string): string => join(dir, `spool-${name}`);

async function tracehiveFile(row: 'a' | 'b', fsyncMs: number, pipeline: string): Promise<BenchRow> {
  const file = join(dir, `${row}.ndjson`);
  const th = await startTracehive({ TRACEHIVE_FILE_PATH: file, TRACEHIVE_SPOOL_DIR: spoolDir(row), TRACEHIVE_SPOOL_FSYNC_INTERVAL_MS: String(fsyncMs), ...extraEnv }, nodeArgs);
  const latency = new LatencyLog();
  const tail = tailAlerts(file, latency);
  try {
    return rowOf(row, 'tracehive', pipeline, lines, await measure(th.tcpPort, lines, { stats: th.stats, delivered: tail.lines, tick: tail.poll }, latency));
  } finally {
    tail.close();
    await th.stop();
    rmSync(file, { force: true });
    rmSync(spoolDir(row), { recursive: true, force: true });
  }
}

async function syslogNgFile(): Promise<BenchRow> {
  const peer = await runSyslogNg('file', { dir: join(dir, 'syslog-ng-file') });
  const latency = new LatencyLog();
  const tail = tailAlerts(peer.output as string, latency);
  try {
    const m = await measure(peer.port, lines, { stats: peer.stats, delivered: tail.lines, tick: tail.poll }, latency);
    return rowOf('a', 'syslog-ng', 'syslog-ng: tcp → kv-parser → format-json → file() (no fsync)', lines, m);
  } finally {
    tail.close();
    await peer.stop();
    rmSync(join(dir, 'syslog-ng-file'), { recursive: true, force: true });
  }
}

/** Node's own ceiling (scripts/peer-node-ceiling.ts): split2 + key=value parse, count only. */
async function nodeCeiling(): Promise<BenchRow> {
  const child = spawn(process.execPath, [resolve('dist/scripts/peer-node-ceiling.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let port = 0;
  let count = 0;
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const got = (partial + d.toString()).split('\n');
    partial = got.pop() ?? '';
    for (const l of got) {
      const [what, n] = l.split(' ');
      if (what === 'port') port = Number(n);
      else if (what === 'count') count = Number(n);
    }
  });
  try {
    const end = Date.now() + 10_000;
    while (port === 0) {
      if (Date.now() > end || child.exitCode !== null) throw new Error('bench: the Node ceiling listener did not start');
      await sleep(20);
    }
    const pid = child.pid as number;
    const m = await measure(port, lines, { stats: () => procStats(pid), delivered: () => count }, undefined);
    return rowOf('a', 'node', 'Node ceiling: tcp → split2 → key=value parse, count only (no spool, no mapping, no output)', lines, m);
  } finally {
    child.kill('SIGTERM');
  }
}

async function tracehiveHttp(): Promise<BenchRow> {
  const latency = new LatencyLog();
  const endpoint = await startCountingEndpoint(latency);
  const th = await startTracehive({ THEHIVE_URL: endpoint.url, THEHIVE_API_KEY: API_KEY, TRACEHIVE_RATE_PER_SEC: '0', TRACEHIVE_CONCURRENCY: '4', TRACEHIVE_SPOOL_DIR: spoolDir('c'), ...extraEnv }, nodeArgs);
  try {
    const m = await measure(th.tcpPort, httpLines, { stats: th.stats, delivered: endpoint.posts }, latency);
    return rowOf('c', 'tracehive', 'tracehive: tcp → parse → spool (20 ms group commit) → map → POST per alert, rate limit off, 4 in flight → counting endpoint', httpLines, m);
  } finally {
    await th.stop();
    await endpoint.close();
    rmSync(spoolDir('c'), { recursive: true, force: true });
  }
}

async function syslogNgHttp(): Promise<BenchRow> {
  const latency = new LatencyLog();
  const endpoint = await startCountingEndpoint(latency);
  const peer = await runSyslogNg('http', { url: endpoint.alertUrl, workers: 4, dir: join(dir, 'syslog-ng-http') });
  try {
    const m = await measure(peer.port, httpLines, { stats: peer.stats, delivered: endpoint.posts }, latency);
    return rowOf('c', 'syslog-ng', 'syslog-ng: tcp → kv-parser → http() POST per alert, 4 workers → counting endpoint', httpLines, m);
  } finally {
    await peer.stop();
    await endpoint.close();
    rmSync(join(dir, 'syslog-ng-http'), { recursive: true, force: true });
  }
}

async function tracehiveBacklog(samples: { sent: number; rssMiB: number }[]): Promise<BenchRow> {
  const down = await closedPort();
  const th = await startTracehive({ THEHIVE_URL: `http://127.0.0.1:${down}`, THEHIVE_API_KEY: API_KEY, TRACEHIVE_RATE_PER_SEC: '0', TRACEHIVE_CONCURRENCY: '4', TRACEHIVE_SPOOL_DIR: spoolDir('d'), ...extraEnv }, nodeArgs);
  let sent = 0;
  const sample = (): void => void samples.push({ sent, rssMiB: th.stats().rssMiB });
  try {
    const probe: Probe = { stats: th.stats, delivered: () => th.metric('tracehive_spool_committed_records_total'), tick: sample };
    const m = await measure(th.tcpPort, backlogLines, probe, undefined, BACKLOG_POLL_MS, (p) => (sent = p.sent));
    sample();
    return rowOf('d', 'tracehive', `tracehive: ${backlogLines.toLocaleString('en')}-line backlog into the spool while TheHive is down (connection refused)`, backlogLines, m, false);
  } finally {
    await th.stop();
    rmSync(spoolDir('d'), { recursive: true, force: true });
  }
}

async function syslogNgBacklog(): Promise<BenchRow> {
  const down = await closedPort();
  const peerDir = join(dir, 'syslog-ng-backlog');
  // Room for the whole backlog (about 1.3 KB a message on disk), so it never stops reading for want of it.
  const diskBufferBytes = Math.max(1 << 30, backlogLines * 4096);
  const peer = await runSyslogNg('http', { url: `http://127.0.0.1:${down}/api/alert`, workers: 4, dir: peerDir, diskBufferBytes });
  try {
    const m = await measure(peer.port, backlogLines, { stats: peer.stats, delivered: peer.queued }, undefined, BACKLOG_POLL_MS);
    return rowOf('d', 'syslog-ng', `syslog-ng: the same backlog into http()'s reliable disk-buffer() (${DISK_BUFFER_MEMORY_BYTES / 1048576} MiB of it in memory), the endpoint down`, backlogLines, m, false);
  } finally {
    await peer.stop();
    rmSync(peerDir, { recursive: true, force: true });
  }
}

function syslogNgVersion(): string {
  const text = execFileSync('syslog-ng', ['--version'], { encoding: 'utf8' });
  return `syslog-ng ${/\(([\d.]+)\)/.exec(text)?.[1] ?? text.split('\n')[0]}`;
}

/** Fills in ratio and target of the tracehive rows (and their share of Node's ceiling, file rows). */
function judge(all: BenchRow[]): BenchRow[] {
  const peerOf = (row: RowId): BenchRow | undefined => all.find((w) => w.system === 'syslog-ng' && w.row === (row === 'b' ? 'a' : row));
  const ceiling = all.find((w) => w.system === 'node');
  const rss = (w: BenchRow): boolean => w.peakRssMiB <= RSS_TARGET_MIB;
  return all.map((w) => {
    if (w.system !== 'tracehive') return w;
    const peer = peerOf(w.row);
    if (w.row === 'd') {
      // The target is tracehive's own RSS; the ratio compares the accept rates into the durable buffer.
      const ratio = peer ? round(w.linesPerSec / peer.linesPerSec, 2) : null;
      return { ...w, ratio, target: `peak RSS ≤ ${RSS_TARGET_MIB} MiB`, met: rss(w) };
    }
    const ratio = peer?.alertsPerSec && w.alertsPerSec !== null ? round(w.alertsPerSec / peer.alertsPerSec, 2) : null;
    const ofCeiling = ceiling !== undefined && w.row !== 'c' && w.alertsPerSec !== null ? round(w.alertsPerSec / ceiling.linesPerSec, 2) : null;
    return { ...w, ratio, ceilingRatio: ofCeiling, target: `≥ ${RATIO_TARGETS[w.row]}× syslog-ng, peak RSS ≤ ${RSS_TARGET_MIB} MiB`, met: ratio === null ? null : ratio >= RATIO_TARGETS[w.row] && rss(w) };
  });
}

function notes(withPeer: boolean, samples: readonly { sent: number; rssMiB: number }[]): string[] {
  const out = [
    'lines/s: lines ÷ seconds from the first byte sent until the listener had read the last one; alerts/s: alerts ÷ seconds until the last alert arrived (one alert per line). × syslog-ng compares alerts/s.',
    `Latency: from the \`sent_ms\` the load generator stamps on each line to the alert's arrival (file rows: seen by a ${POLL_MS} ms poll of the file, counted in). "flood": during the run above, the sender flat out, so mostly time queued; "at 1,000/s": then ${pacedSeconds} s paced at ${PACED_RATE.toLocaleString('en')} lines/s on the same process, the pipeline's own latency.`,
    'Every tracehive row runs with the alert lifecycle off (`TRACEHIVE_ALERT_UPDATE_WINDOW_MS=0`): one alert per line, as syslog-ng writes one record per line.',
    'tracehive always writes through its durable spool: (a) runs it with `TRACEHIVE_SPOOL_FSYNC_INTERVAL_MS=1000` (one fsync a second), (b) with the default 20 ms group commit. Both are compared with the same syslog-ng row, whose file() does not fsync at all.',
    '(c): the endpoint is a minimal `node:http` server in the bench process that answers each POST 201 with a small TheHive-like JSON body and only counts (not the stand-in TheHive of the tests, ~700 alerts/s); the same server for both. tracehive: `TRACEHIVE_RATE_PER_SEC=0`, `TRACEHIVE_CONCURRENCY=4`, `/api/v1/alert`; syslog-ng: `http(workers(4) batch-lines(1))`.',
    `(d): accept rate = lines committed (fsynced) to the spool per second, TheHive a closed port; syslog-ng: lines in its http() destination's reliable disk-buffer() per second (\`queued\` of \`syslog-ng-ctl stats\`; it does not fsync each write), its endpoint a closed port. × syslog-ng compares the accept rates; the target is tracehive's own peak RSS.`,
    'The load generator and the counting endpoint run in the bench process, on the same cores as the measured process. Figures move by ±20 % between runs on a shared machine; compare the ratios within one run.',
    "× Node ceiling: the row's alerts/s ÷ the lines/s of Node's own ceiling in the same run (scripts/peer-node-ceiling.ts: a `net.Server`, split2, each line split into key=value pairs and counted; nothing spooled, mapped or written).",
    'tracehive maps at accept on its map worker thread (`tcp.mapWorker: auto`, 2 cores here) in every row: the lifecycle is off. With the lifecycle on, lines are mapped on the main thread as they are fed: `bench-lifecycle` below measures that.',
  ];
  if (samples.length > 0) {
    const peak = samples.reduce((m, s) => Math.max(m, s.rssMiB), 0);
    const at = (share: number): string => {
      const s = samples.find((x) => x.sent >= share * backlogLines) ?? samples[samples.length - 1];
      return s === undefined ? '–' : `${s.rssMiB.toFixed(0)} MiB`;
    };
    out.push(`(d) tracehive VmRSS while the backlog grew: ${at(0.1)} at 10 %, ${at(0.25)} at 25 %, ${at(0.5)} at 50 %, ${at(0.75)} at 75 %, ${at(1)} at 100 % (highest sample ${peak.toFixed(0)} MiB, ${samples.length} samples).`);
  }
  const tuned = [...Object.entries(extraEnv).map(([k, v]) => `--env ${k}=${v}`), ...(values['node-args'] ? [`--node-args="${values['node-args']}"`] : [])];
  if (tuned.length > 0) out.push(`Tuned run, not tracehive's defaults: ${tuned.map((t) => `\`${t}\``).join(' ')}.`);
  if (withPeer) out.push('syslog-ng does less per line: kv-parser splits `whois/org=…` and comma-space lists wrongly, keeps only the last of repeated keys, and types, grades and describes nothing (scripts/peer-syslog-ng.ts).');
  else out.push(`No syslog-ng rows: ${SYSLOG_NG_MISSING}.`);
  return out;
}

async function main(): Promise<void> {
  if (!existsSync('dist/src/cli.js')) throw new Error('bench: dist/src/cli.js is missing: run `make build` first (the bench starts `tracehive serve` from it).');
  const withPeer = !values['no-syslog-ng'] && (await syslogNgAvailable());
  if (!withPeer && !values['no-syslog-ng']) console.log(SYSLOG_NG_MISSING);
  const samples: { sent: number; rssMiB: number }[] = [];
  const measured: BenchRow[] = [];
  const step = async (what: string, run: () => Promise<BenchRow>): Promise<void> => {
    process.stderr.write(`bench: ${what}…\n`);
    measured.push(await run());
  };
  if (rows.has('a')) await step('(a) tracehive → file, fsync 1 s', () => tracehiveFile('a', 1000, 'tracehive: tcp → parse → spool (fsync every 1 s) → map → file'));
  if (withPeer && (rows.has('a') || rows.has('b'))) await step('(a) syslog-ng → file', syslogNgFile);
  if (rows.has('a') || rows.has('b')) await step('(a) Node ceiling: split2 + key=value, count only', nodeCeiling);
  if (rows.has('b')) await step('(b) tracehive → file, 20 ms group commit', () => tracehiveFile('b', 20, 'tracehive: the same with the default 20 ms fsync group commit'));
  if (rows.has('c')) await step('(c) tracehive → counting endpoint', tracehiveHttp);
  if (withPeer && rows.has('c')) await step('(c) syslog-ng http() → counting endpoint', syslogNgHttp);
  if (rows.has('d')) await step(`(d) ${backlogLines} lines backlog, TheHive down`, () => tracehiveBacklog(samples));
  if (withPeer && rows.has('d')) await step(`(d) syslog-ng, ${backlogLines} lines into its disk-buffer()`, syslogNgBacklog);
  const result: BenchResult = {
    at: new Date().toISOString(),
    node: process.version,
    syslogNg: withPeer ? syslogNgVersion() : null,
    machine: `${cpus().length} vCPU ${cpus()[0]?.model.trim() ?? ''}`,
    lines,
    httpLines,
    backlogLines,
    connections,
    seed,
    rows: judge(measured),
    backlogRss: samples,
    notes: notes(withPeer, samples),
  };
  console.log(renderBench(result));
  if (values.json !== undefined) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
