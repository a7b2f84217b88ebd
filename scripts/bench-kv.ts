/**
 * `make bench`: parse + map throughput of tracehive against the glue script it replaces, in
 * one run on one machine. The peer is the seed's approach done in Node: a global
 * `(\w+)=(\S*)` regex into an object, then JSON.stringify. It does less (and gets values
 * with spaces wrong), so it is a ceiling, not an equal.
 *
 * Usage: node dist/scripts/bench-kv.js [--lines N] [--json FILE] [--tracehive-only]
 *
 * `--tracehive-only` skips the peer, for `node --cpu-prof` (read the profile with
 * `node dist/scripts/profile-top.js`): the profile then holds tracehive's work alone.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { scriptArgs } from './script-args.js';
import { parseLine } from '../src/parse/kv.js';
import { alertFromDetection, DEFAULT_POLICY } from '../src/map/alert.js';
import { detectionLine } from '../spec/support/lines.js';

const values = scriptArgs('bench-kv', 'Usage: node dist/scripts/bench-kv.js [--lines N] [--json FILE] [--tracehive-only]', { lines: { type: 'string', default: '500000' }, json: { type: 'string' }, 'tracehive-only': { type: 'boolean', default: false } });
const total = Number(values.lines);
const corpus = Array.from({ length: 1000 }, (_, i) => detectionLine(i));
const avgBytes = corpus.reduce((n, l) => n + Buffer.byteLength(l), 0) / corpus.length;

function tracehive(line: string): string {
  const r = parseLine(line);
  if (!r.ok || r.value.kind !== 'detection') return '';
  return JSON.stringify(alertFromDetection(r.value, DEFAULT_POLICY, 1_700_000_000_000));
}

const NAIVE_KV = /(\w+)=(\S*)/g;
function naive(line: string): string {
  const event: Record<string, string> = {};
  for (const m of line.matchAll(NAIVE_KV)) event[m[1] as string] = m[2] as string;
  return JSON.stringify({ title: `${event['category']}: ${event['matchedIndicator']}`, description: line, event });
}

function measure(name: string, fn: (line: string) => string): { name: string; linesPerSec: number; mbPerSec: number } {
  for (let i = 0; i < 20000; i++) fn(corpus[i % corpus.length] as string); // warm-up for the JIT
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < total; i++) sink += fn(corpus[i % corpus.length] as string).length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink === 0) throw new Error(`${name} produced nothing`);
  return { name, linesPerSec: Math.round(total / seconds), mbPerSec: Math.round(((total * avgBytes) / seconds / 1048576) * 10) / 10 };
}

const rows = [measure('tracehive parse+map (JSON alert)', tracehive)];
if (!values['tracehive-only']) rows.push(measure('naive regex glue (peer)', naive));
const [ours, peer] = rows as [(typeof rows)[0], (typeof rows)[0] | undefined];
console.log(`parse+map, ${total} lines of ${Math.round(avgBytes)} bytes, node ${process.version}`);
console.log('| pipeline | lines/s | MiB/s |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.linesPerSec.toLocaleString('en')} | ${r.mbPerSec} |`);
if (peer !== undefined) console.log(`ratio tracehive/peer: ${(ours.linesPerSec / peer.linesPerSec).toFixed(2)}`);
if (values.json) {
  mkdirSync(dirname(values.json), { recursive: true });
  writeFileSync(values.json, JSON.stringify({ at: new Date().toISOString(), node: process.version, lines: total, avgBytes, rows }, null, 2));
}
