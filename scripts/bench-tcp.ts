/**
 * `make bench` (end to end): CyberTrace lines over loopback TCP → alerts in an NDJSON file,
 * for tracehive (`tracehive serve`, file sink) and for the glue script it replaces
 * (scripts/peer-glue), one after the other in the same run. Each system is its own process;
 * the sender is tracehive's replay client in this process.
 *
 * A third row sends the first `--thehive-lines` of them to the stand-in TheHive
 * (spec/support/fake-thehive) with `queue.ratePerSec` 0 and `queue.concurrency` 4. The stand-in
 * runs in this process, beside the sender, and checks duplicates by scanning every alert it
 * holds: it is usually the limit of that row, so read its CPU column for tracehive's own cost
 * per alert (a real TheHive is slower per alert still).
 *
 * Prints lines/s, peak RSS and CPU seconds per 100k lines of the receiving process.
 * Usage: node dist/scripts/bench-tcp.js [--lines N] [--connections C] [--thehive-lines N] [--json FILE]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { replay } from '../src/tools/replay.js';
import { detectionLines } from '../spec/support/lines.js';
import { sourceRefFor } from '../src/map/source-ref.js';
import { startFakeTheHive } from '../spec/support/fake-thehive.js';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '200000' }, connections: { type: 'string', default: '4' }, 'thehive-lines': { type: 'string', default: '20000' }, json: { type: 'string' } },
});
const total = Number(values.lines);
const theHiveTotal = Math.min(total, Number(values['thehive-lines']));
const connections = Number(values.connections);
const dir = mkdtempSync(join(tmpdir(), 'tracehive-bench-'));
const capture = join(dir, 'capture.log');
const sent = detectionLines(total).map((l) => l.trimEnd());
writeFileSync(capture, sent.map((l) => `${l}\n`).join(''));
const theHiveCapture = join(dir, 'capture-thehive.log');
writeFileSync(theHiveCapture, sent.slice(0, theHiveTotal).map((l) => `${l}\n`).join(''));
const CLK_TCK = 100; // Linux USER_HZ

interface Row { name: string; linesPerSec: number; seconds: number; peakRssMiB: number; cpuSecPer100k: number; intact: number }

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => ok(port));
    });
  });
}

function procStats(pid: number): { peakRssMiB: number; cpuSec: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return { peakRssMiB: Math.round((hwm / 1024) * 10) / 10, cpuSec: cpuTicks / CLK_TCK };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 300000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    // Polled gently: a /metrics scrape costs the measured process CPU too.
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`bench: timed out waiting for ${what}`);
}

async function measure(name: string, child: ChildProcess, port: number, done: () => Promise<boolean> | boolean, intact: () => number, file = capture, lines = total): Promise<Row> {
  const cpuBefore = procStats(child.pid as number).cpuSec;
  const t0 = process.hrtime.bigint();
  await replay({ file, host: '127.0.0.1', port, rate: 0, connections, progress: { write: () => true } as unknown as NodeJS.WritableStream });
  await until(`${name} to write ${lines} alerts`, done);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const { peakRssMiB, cpuSec } = procStats(child.pid as number);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { name, seconds: Math.round(seconds * 100) / 100, linesPerSec: Math.round(lines / seconds), peakRssMiB, cpuSecPer100k: Math.round(((cpuSec - cpuBefore) / lines) * 100000 * 100) / 100, intact: intact() };
}

/**
 * Starts `tracehive serve` with `env` on top of the bench settings; resolves once /readyz says 200.
 * A port found free may be taken again before serve binds it (an outgoing connection's local
 * port): serve then exits at once, and we start it again on other ports.
 */
async function startServe(env: Record<string, string>, tries = 3): Promise<{ child: ChildProcess; tcpPort: number; delivered: () => Promise<number> }> {
  const [tcpPort, httpPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [resolve('dist/src/cli.js'), 'serve'], {
    env: { ...process.env, TRACEHIVE_TCP_PORT: String(tcpPort), TRACEHIVE_HTTP_PORT: String(httpPort), TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_MAX_PENDING: '10000', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const delivered = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    return [...text.matchAll(/^tracehive_alerts_delivered_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  await until('tracehive to be ready', async () => exited || (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.status === 200, 20000);
  if (exited) {
    if (tries > 1) return startServe(env, tries - 1);
    throw new Error('bench: tracehive serve exited at start-up');
  }
  return { child, tcpPort, delivered };
}

async function benchTracehive(): Promise<Row> {
  const { child, tcpPort, delivered } = await startServe({ TRACEHIVE_FILE_PATH: join(dir, 'tracehive.ndjson') });
  const intact = (): number => {
    // An alert is intact when its sourceRef is that of a line sent: the whole line arrived.
    const refs = new Set(readFileSync(join(dir, 'tracehive.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { sourceRef: string }).sourceRef));
    return sent.filter((line) => refs.has(sourceRefFor(line))).length;
  };
  return measure('tracehive serve (tcp → parse → map → file)', child, tcpPort, async () => (await delivered()) >= total, intact);
}

async function benchTheHive(): Promise<Row> {
  const apiKey = 'bench-key';
  const hive = await startFakeTheHive({ apiKey });
  try {
    const { child, tcpPort, delivered } = await startServe({ THEHIVE_URL: hive.url, THEHIVE_API_KEY: apiKey, TRACEHIVE_RATE_PER_SEC: '0', TRACEHIVE_CONCURRENCY: '4' });
    const intact = (): number => {
      const refs = new Set(hive.alerts.map((a) => a.sourceRef));
      return sent.slice(0, theHiveTotal).filter((line) => refs.has(sourceRefFor(line))).length;
    };
    return await measure('tracehive serve (tcp → parse → map → stand-in TheHive, concurrency 4)', child, tcpPort, async () => (await delivered()) >= theHiveTotal, intact, theHiveCapture, theHiveTotal);
  } finally {
    await hive.close();
  }
}

async function benchPeer(): Promise<Row> {
  const port = await freePort();
  const child = spawn(process.execPath, [resolve('dist/scripts/peer-glue.js'), String(port), join(dir, 'peer.ndjson'), String(total)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await until('the peer to listen', () => out.includes('listening'), 20000);
  const intact = (): number => {
    // The peer keeps the raw line as description: intact when it equals a line sent.
    const lines = new Set(sent);
    return readFileSync(join(dir, 'peer.ndjson'), 'utf8').split('\n').filter(Boolean).filter((l) => lines.has((JSON.parse(l) as { description: string }).description)).length;
  };
  return measure('glue script peer (recv split + regex → file)', child, port, () => out.includes('done'), intact);
}

const rows = [await benchTracehive(), await benchPeer(), ...(theHiveTotal > 0 ? [await benchTheHive()] : [])];
rmSync(dir, { recursive: true, force: true });
const [ours, peer] = rows as [Row, Row];
console.log(`tcp → file, ${total} lines over ${connections} connections (TheHive row: the first ${theHiveTotal}), node ${process.version}`);
console.log('| pipeline | lines/s | seconds | peak RSS MiB | CPU s / 100k lines | lines intact |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.linesPerSec.toLocaleString('en')} | ${r.seconds} | ${r.peakRssMiB} | ${r.cpuSecPer100k} | ${r.intact.toLocaleString('en')} of ${(r === rows[2] ? theHiveTotal : total).toLocaleString('en')} |`);
console.log(`ratio tracehive/peer (lines/s): ${(ours.linesPerSec / peer.linesPerSec).toFixed(2)}`);
if (values.json) {
  mkdirSync(dirname(values.json), { recursive: true });
  writeFileSync(values.json, JSON.stringify({ at: new Date().toISOString(), node: process.version, lines: total, theHiveLines: theHiveTotal, connections, rows }, null, 2));
}
