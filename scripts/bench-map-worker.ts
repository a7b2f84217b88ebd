/**
 * The map worker measured alone (issue 15, point 3): batches of generated CyberTrace lines mapped
 * by the map worker thread (src/map-worker/client.ts, the wire it uses) against the same pure
 * function on the calling thread, no sockets, no spool. Rounds alternate A/B/A/B in one process;
 * each sends `--batches` batches of `--batch` lines with 8 in flight and prints the wall time and
 * the process CPU (user + system, every thread) per line, then the medians and the ratios.
 *
 * The inline row is the peer: the worker's wall time per line is what one worker thread can map,
 * its CPU per line what mapping through the worker costs the machine (the wire's copies included).
 *
 * Usage: node dist/scripts/bench-map-worker.js [--batches N] [--batch L] [--rounds R]
 */
import { performance } from 'node:perf_hooks';
import { numberOption, scriptArgs } from './script-args.js';
import { inlineMapper, workerMapper, type LineMapper } from '../src/map-worker/client.js';
import { DEFAULT_POLICY } from '../src/map/alert.js';
import type { LineBatch } from '../src/map/line-batch.js';
import { createRng, generateLine } from '../src/tools/cybertrace-gen.js';

const values = scriptArgs('bench-map-worker', 'Usage: node dist/scripts/bench-map-worker.js [--batches N] [--batch L] [--rounds R]', { batches: { type: 'string', default: '600' }, batch: { type: 'string', default: '512' }, rounds: { type: 'string', default: '3' } });
const count = numberOption('bench-map-worker', 'batches', values.batches, 1);
const size = numberOption('bench-map-worker', 'batch', values.batch, 1);
const rounds = numberOption('bench-map-worker', 'rounds', values.rounds, 1);

const IN_FLIGHT = 8;
const DISTINCT = 50;
const rng = createRng(42);
// The load generator's lines (a quarter repeat an earlier indicator, as in `make bench`).
const lines = Array.from({ length: size * DISTINCT }, (_, i) => generateLine(rng, i, { repeatShare: 0.25 }));
const batches: LineBatch[] = Array.from({ length: DISTINCT }, (_, b) => ({ lines: lines.slice(b * size, (b + 1) * size), times: new Array<number>(size).fill(Date.now()) }));

interface Round {
  readonly wallUs: number;
  readonly cpuUs: number;
}

async function round(mapper: LineMapper, n: number): Promise<Round> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let mapped = 0;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    inFlight.push(mapper.map(batches[i % DISTINCT] as LineBatch).then((o) => void (mapped += o.length)));
    if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  if (mapped !== n * size) throw new Error(`Expected ${n * size} outcomes, got ${mapped}.`);
  return { wallUs: (wall * 1000) / mapped, cpuUs: (cpu.user + cpu.system) / mapped };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const rows = { inline: [] as Round[], worker: [] as Round[] };
const inline = inlineMapper(DEFAULT_POLICY);
const worker = workerMapper(DEFAULT_POLICY, (err) => {
  process.stderr.write(`bench-map-worker: the worker failed (${err.message}); its figures would be the inline ones.\n`);
  process.exit(1);
});
// Warm-up: the JIT of both threads.
await round(inline, Math.min(count, 50));
await round(worker, Math.min(count, 50));
for (let r = 1; r <= rounds; r++) {
  rows.inline.push(await round(inline, count));
  rows.worker.push(await round(worker, count));
  process.stderr.write(`bench-map-worker: round ${r}/${rounds} done\n`);
}
await worker.close();

const fmt = (n: number): string => n.toFixed(1);
console.log(`map worker alone: ${count} batches of ${size} generated lines per round, ${IN_FLIGHT} in flight, ${rounds} rounds alternated, node ${process.version}`);
console.log('| mapper | wall µs / line (median) | CPU µs / line, all threads (median) | rounds (wall) |');
console.log('|---|---:|---:|---|');
const medians = (rs: readonly Round[]): Round => ({ wallUs: median(rs.map((r) => r.wallUs)), cpuUs: median(rs.map((r) => r.cpuUs)) });
const here = medians(rows.inline);
const there = medians(rows.worker);
for (const [name, m, rs] of [['inline (calling thread)', here, rows.inline], ['map worker (1 thread)', there, rows.worker]] as const) {
  console.log(`| ${name} | ${fmt(m.wallUs)} | ${fmt(m.cpuUs)} | ${rs.map((r) => fmt(r.wallUs)).join(', ')} |`);
}
console.log(`worker throughput ÷ inline: ${(here.wallUs / there.wallUs).toFixed(2)}×; worker CPU ÷ inline CPU: ${(there.cpuUs / here.cpuUs).toFixed(2)}×`);
