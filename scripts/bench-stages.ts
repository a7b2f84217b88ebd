/**
 * What each part of the mapper costs a line, on the load generator's lines (src/tools/cybertrace-gen.ts):
 * parse, map (observables, description, SHA-256… as alertFromDetection does them), encode, and the
 * whole batch as the map worker runs it. With `--against DIR` (the root of another build of
 * tracehive, built with `make build`), the same stages of that build run in this process too, in
 * alternated rounds, so that two builds are compared on one machine at one moment: on a shared
 * machine, separate runs move by more than most single changes (issue 15 measured its mapper
 * cuts this way). Prints the minimum and median µs a line of each. One stage a run: a stage run
 * after another in the same process is slowed by what the first left in the heap and in V8's
 * caches (by up to half), so the script measures one, in a process of its own.
 *
 * Usage: node dist/scripts/bench-stages.js [--stage parse|observables|map|encode|full|batch] [--rounds N] [--lines N] [--against DIR]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { numberOption, scriptArgs } from './script-args.js';
import { createRng, generateLine } from '../src/tools/cybertrace-gen.js';
import type { AlertPolicy, CyberTraceRecord, DetectionRecord } from '../src/types.js';

const USAGE = 'Usage: node dist/scripts/bench-stages.js [--stage parse|observables|map|encode|full|batch] [--rounds N] [--lines N] [--against DIR]';
const values = scriptArgs('bench-stages', USAGE, {
  stage: { type: 'string', default: 'full' },
  rounds: { type: 'string', default: '12' },
  lines: { type: 'string', default: '50000' },
  against: { type: 'string' },
});
const rounds = numberOption('bench-stages', 'rounds', values.rounds, 2);
const perRound = numberOption('bench-stages', 'lines', values.lines, 1000);
const STAGES = ['parse', 'observables', 'map', 'encode', 'full', 'batch'] as const;
type Stage = (typeof STAGES)[number];
if (!(STAGES as readonly string[]).includes(values.stage)) {
  process.stderr.write(`bench-stages: Unknown stage '${values.stage}' (${STAGES.join(', ')}).\n`);
  process.exit(2);
}
const stage = values.stage as Stage;

/** The modules a build's stages call, loaded from its dist/. */
interface Build {
  readonly name: string;
  readonly parseLine: (line: string) => { ok: boolean; value?: CyberTraceRecord };
  readonly alertFromDetection: (rec: DetectionRecord, policy: AlertPolicy, receivedAt: number) => object;
  readonly detectionObservables: (rec: DetectionRecord) => unknown;
  readonly mapLineBatch: (batch: { lines: readonly string[]; times: ArrayLike<number> }, policy: AlertPolicy) => unknown[];
  readonly policy: AlertPolicy;
}

async function load(name: string, root: string): Promise<Build> {
  const at = (file: string): string => pathToFileURL(resolve(root, 'dist/src', file)).href;
  const kv = (await import(at('parse/kv.js'))) as Pick<Build, 'parseLine'>;
  const alert = (await import(at('map/alert.js'))) as Pick<Build, 'alertFromDetection' | 'detectionObservables'> & { DEFAULT_POLICY: AlertPolicy };
  const batch = (await import(at('map/line-batch.js'))) as Pick<Build, 'mapLineBatch'>;
  return { name, parseLine: kv.parseLine, alertFromDetection: alert.alertFromDetection, detectionObservables: alert.detectionObservables, mapLineBatch: batch.mapLineBatch, policy: alert.DEFAULT_POLICY };
}

const RECEIVED = 1_700_000_000_000;
const rng = createRng(7);
const corpus = Array.from({ length: 1000 }, (_, i) => generateLine(rng, i));
const BATCH = 512;
const times = new Array<number>(BATCH).fill(RECEIVED);

/** One call of `stage` for line `i` of the corpus (a batch stage: one batch every BATCH calls). */
function stageOf(build: Build, stage: Stage): (i: number) => unknown {
  const records = corpus.map((l) => build.parseLine(l).value).filter((r): r is DetectionRecord => r?.kind === 'detection');
  const alerts = records.map((r) => build.alertFromDetection(r, build.policy, RECEIVED));
  const rec = (i: number): DetectionRecord => records[i % records.length] as DetectionRecord;
  switch (stage) {
    case 'parse':
      return (i) => build.parseLine(corpus[i % corpus.length] as string);
    case 'observables':
      return (i) => build.detectionObservables(rec(i));
    case 'map':
      return (i) => build.alertFromDetection(rec(i), build.policy, RECEIVED);
    case 'encode':
      return (i) => JSON.stringify(alerts[i % alerts.length]);
    case 'full':
      return (i) => JSON.stringify(build.alertFromDetection(build.parseLine(corpus[i % corpus.length] as string).value as DetectionRecord, build.policy, RECEIVED));
    case 'batch': {
      const lines = corpus.slice(0, BATCH);
      return (i) => (i % BATCH === 0 ? build.mapLineBatch({ lines, times }, build.policy) : undefined);
    }
  }
}

/** µs a line of one round of `fn`. */
function round(fn: (i: number) => unknown): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < perRound; i++) if (fn(i) !== null) sink++;
  if (sink < 0) throw new Error('unreachable');
  return Number(process.hrtime.bigint() - t0) / 1e3 / perRound;
}

const builds = [await load('this build', resolve('.'))];
if (values.against !== undefined) builds.push(await load(values.against, values.against));
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

console.log(`mapper stage ${stage}, µs a line: ${rounds} rounds of ${perRound} of 1,000 generated lines${builds.length > 1 ? ', builds alternated' : ''}, node ${process.version}`);
console.log('| stage | build | min | median |');
console.log('|---|---|---:|---:|');
const fns = builds.map((b) => stageOf(b, stage));
for (const fn of fns) for (let i = 0; i < 30_000; i++) fn(i); // warm-up for the JIT
const took: number[][] = builds.map(() => []);
for (let r = 0; r < rounds; r++) {
  // Alternate which build goes first, so neither always runs on a warmer or colder machine.
  const order = r % 2 === 0 ? fns.map((_, k) => k) : fns.map((_, k) => fns.length - 1 - k);
  for (const k of order) (took[k] as number[]).push(round(fns[k] as (i: number) => unknown));
}
builds.forEach((b, k) => console.log(`| ${stage} | ${b.name} | ${Math.min(...(took[k] as number[])).toFixed(2)} | ${median(took[k] as number[]).toFixed(2)} |`));
