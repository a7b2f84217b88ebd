/**
 * Renders the benchmark tables from bench/results/*.json, for the terminal (`scripts/bench.ts`
 * prints {@link renderBench}) and for the README: run alone, it rewrites what lies between
 * `<!-- bench:start -->` and `<!-- bench:end -->` in README.md with the tables of
 * bench/results/bench.json and, when present, bench/results/bench-kv.json.
 *
 * Usage: node dist/scripts/bench-readme.js [--results DIR] [--readme FILE]
 * Exit codes: 0 rewritten (or already current), 1 a file or the markers are missing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { scriptArgs } from './script-args.js';

/** The bench's rows: (a) file sink, fsync 1 s; (b) file sink, group commit; (c) HTTP; (d) backlog. */
export type RowId = 'a' | 'b' | 'c' | 'd';

/** One measured pipeline. */
export interface BenchRow {
  readonly row: RowId;
  /** `node`: Node's own ceiling (scripts/peer-node-ceiling.ts), row (a) only. */
  readonly system: 'tracehive' | 'syslog-ng' | 'node';
  readonly pipeline: string;
  readonly lines: number;
  readonly alerts: number;
  /** Lines ÷ seconds from the first byte sent until the listener had read them all ((d): until all were committed to the spool). */
  readonly linesPerSec: number;
  /** Alerts ÷ seconds from the first byte sent until the last alert arrived; null when none is expected. */
  readonly alertsPerSec: number | null;
  /** Latency under the flood (mostly time queued). */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Latency paced at 1,000 lines/s on the same process after the flood. */
  readonly pacedP50Ms: number | null;
  readonly pacedP99Ms: number | null;
  readonly peakRssMiB: number;
  readonly cpuSecPer100k: number;
  /** tracehive rows: its alerts/s ÷ the syslog-ng row's; null without one. */
  readonly ratio: number | null;
  /** tracehive file rows: its alerts/s ÷ the Node ceiling's lines/s (absent in results of 0.3.0). */
  readonly ceilingRatio?: number | null;
  /** The issue's target, e.g. `≥ 2.5×`; null on peer rows. */
  readonly target: string | null;
  readonly met: boolean | null;
}

/** bench/results/bench.json. */
export interface BenchResult {
  readonly at: string;
  readonly node: string;
  /** `syslog-ng --version`'s first line, or null when it is not installed. */
  readonly syslogNg: string | null;
  readonly machine: string;
  readonly lines: number;
  readonly httpLines: number;
  readonly backlogLines: number;
  readonly connections: number;
  readonly seed: number;
  readonly rows: readonly BenchRow[];
  /** (d): tracehive's VmRSS while the backlog grew. */
  readonly backlogRss: readonly { readonly sent: number; readonly rssMiB: number }[];
  readonly notes: readonly string[];
}

/** bench/results/bench-kv.json (scripts/bench-kv.ts). */
interface KvResult {
  readonly node: string;
  readonly lines: number;
  readonly avgBytes: number;
  readonly rows: readonly { readonly name: string; readonly linesPerSec: number; readonly mbPerSec: number }[];
}

const int = (n: number): string => Math.round(n).toLocaleString('en');
const opt = (n: number | null, f: (n: number) => string = int): string => (n === null || Number.isNaN(n) ? '–' : f(n));

/** The title line, the table and its notes, as markdown. */
export function renderBench(r: BenchResult): string {
  const out = [
    `${int(r.lines)} lines over ${r.connections} connections for (a) and (b), ${int(r.httpLines)} for (c), ${int(r.backlogLines)} for (d); ` +
      `${r.machine}, node ${r.node}, ${r.syslogNg ?? 'syslog-ng not installed'}; ${r.at.slice(0, 10)}`,
    '',
    '| row | pipeline | lines/s | alerts/s | p50 / p99 ms, flood | p50 / p99 ms at 1,000/s | peak RSS MiB | CPU s / 100k lines | × syslog-ng | × Node ceiling | target |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const w of r.rows) {
    const ratio = w.system !== 'tracehive' ? '' : opt(w.ratio, (n) => `${n.toFixed(2)}×`);
    const ofCeiling = w.system !== 'tracehive' ? '' : opt(w.ceilingRatio ?? null, (n) => `${n.toFixed(2)}×`);
    const target = w.target === null ? '' : `${w.target}: ${w.met === null ? 'not measured' : w.met ? '**met**' : '**missed**'}`;
    const pair = (a: number | null, b: number | null): string => (a === null ? '–' : `${int(a)} / ${opt(b)}`);
    out.push(`| ${w.row} | ${w.pipeline} | ${int(w.linesPerSec)} | ${opt(w.alertsPerSec)} | ${pair(w.p50Ms, w.p99Ms)} | ${pair(w.pacedP50Ms, w.pacedP99Ms)} | ${w.peakRssMiB.toFixed(1)} | ${w.cpuSecPer100k.toFixed(2)} | ${ratio} | ${ofCeiling} | ${target} |`);
  }
  if (r.notes.length > 0) out.push('', ...r.notes.map((n) => `- ${n}`));
  return out.join('\n');
}

/** The parse + map table of bench-kv. */
export function renderKv(r: KvResult): string {
  return [
    `\`node dist/scripts/bench-kv.js\`: parse + map + JSON in one process, ${int(r.lines)} lines of ${Math.round(r.avgBytes)} bytes, node ${r.node}`,
    '',
    '| pipeline | lines/s | MiB/s |',
    '|---|---:|---:|',
    ...r.rows.map((w) => `| ${w.name} | ${int(w.linesPerSec)} | ${w.mbPerSec} |`),
  ].join('\n');
}

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/** `readme` with the text between the markers replaced by `body`; throws when a marker is missing. */
export function replaceBetweenMarkers(readme: string, body: string): string {
  const from = readme.indexOf(START);
  const to = readme.indexOf(END, from);
  if (from === -1 || to === -1) throw new Error(`Expected README to hold ${START} and, after it, ${END}.`);
  return `${readme.slice(0, from + START.length)}\n${body}\n${readme.slice(to)}`;
}

function main(): void {
  const values = scriptArgs('bench-readme', 'Usage: node dist/scripts/bench-readme.js [--results DIR] [--readme FILE]', { results: { type: 'string', default: 'bench/results' }, readme: { type: 'string', default: 'README.md' } });
  const benchFile = join(values.results, 'bench.json');
  const kvFile = join(values.results, 'bench-kv.json');
  const fail = (message: string): never => {
    process.stderr.write(`bench-readme: ${message}\n`);
    process.exit(1);
  };
  if (!existsSync(benchFile)) fail(`${benchFile} is missing: run \`make bench\` first.`);
  const parts = [
    '<!-- generated from bench/results/*.json by `node dist/scripts/bench-readme.js` (run by `make bench`): edit the scripts, not this table -->',
    '',
    `\`make bench\` (scripts/bench.ts): ${renderBench(JSON.parse(readFileSync(benchFile, 'utf8')) as BenchResult)}`,
  ];
  if (existsSync(kvFile)) parts.push('', renderKv(JSON.parse(readFileSync(kvFile, 'utf8')) as KvResult));
  const readme = readFileSync(values.readme, 'utf8');
  let next: string;
  try {
    next = replaceBetweenMarkers(readme, parts.join('\n'));
  } catch (err) {
    return fail(`${values.readme}: ${(err as Error).message}`);
  }
  if (next === readme) return void process.stdout.write(`${values.readme}: benchmark tables already current.\n`);
  writeFileSync(values.readme, next);
  process.stdout.write(`${values.readme}: benchmark tables rewritten from ${values.results}/.\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
