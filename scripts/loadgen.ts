/**
 * `make load`: sends CyberTrace detection lines to a listener (`tracehive serve`, or any peer of
 * the benchmarks) over N connections, flat out or at a rate, and prints a JSON summary on stdout.
 * The engine is src/tools/loadgen.ts; lines come from src/tools/cybertrace-gen.ts unless
 * `--corpus` names a file of lines to cycle through.
 *
 * Usage: node dist/scripts/loadgen.js [--host H] [--port P] [--connections N] [--lines N | --seconds S]
 *          [--rate R] [--corpus FILE] [--seed N] [--repeat-share X] [--chunking random|line|block]
 *          [--unique] [--stamp] [--json FILE]
 * Exit codes: 0 done, 1 a connection failed (the message says what to do), 2 usage.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { BridgeError } from '../src/errors.js';
import { corpusLines, LoadError, runLoad, type Chunking, type LoadOptions } from '../src/tools/loadgen.js';

const HELP = `Usage: node dist/scripts/loadgen.js [options]
  --host H             listener host (default 127.0.0.1)
  --port P             listener port (default 9998)
  --connections N      TCP connections, lines spread over them (default 1)
  --lines N            lines to send (default 100000 unless --seconds is given)
  --seconds S          stop after S seconds (with --lines: whichever comes first)
  --rate R             lines per second over all connections; 0 = flat out (default 0)
  --corpus FILE        cycle through the lines of FILE instead of generating them
  --seed N             generator seed (default 1): the same seed sends the same lines
  --repeat-share X     share of generated lines repeating an earlier indicator (default 0.25)
  --chunking MODE      block (64 KiB writes, default), line (one write per line) or
                       random (cuts at random byte offsets, through lines)
  --unique             append seq=<n> to every line: one alert per line
  --stamp              append sent_ms=<epoch ms> to every line, for latency
  --json FILE          also write the summary to FILE
Prints {sent, bytes, seconds, linesPerSec, connections, errors} as JSON on stdout.`;

function usage(message: string): never {
  process.stderr.write(`loadgen: ${message}\n${HELP}\n`);
  process.exit(2);
}

function num(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) usage(`Expected \`--${name}\` to be a number, got ${JSON.stringify(text)}.`);
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '9998' },
      connections: { type: 'string', default: '1' },
      lines: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string', default: '0' },
      corpus: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'repeat-share': { type: 'string' },
      chunking: { type: 'string', default: 'block' },
      unique: { type: 'boolean', default: false },
      stamp: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  usage((err as Error).message);
}
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

let corpus: string[] | undefined;
if (values.corpus !== undefined) {
  try {
    corpus = corpusLines(readFileSync(values.corpus, 'utf8'));
  } catch (err) {
    process.stderr.write(`loadgen: cannot read --corpus ${values.corpus}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (corpus.length === 0) usage(`--corpus ${values.corpus} holds no line.`);
}

const abort = new AbortController();
// Ctrl-C ends the run cleanly: the summary still tells what was sent.
process.once('SIGINT', () => abort.abort());
process.once('SIGTERM', () => abort.abort());

const opts: LoadOptions = {
  host: values.host,
  port: num('port', values.port) as number,
  connections: num('connections', values.connections) as number,
  lines: num('lines', values.lines),
  seconds: num('seconds', values.seconds),
  rate: num('rate', values.rate) as number,
  corpus,
  seed: num('seed', values.seed) as number,
  repeatShare: num('repeat-share', values['repeat-share']),
  chunking: values.chunking as Chunking,
  unique: values.unique,
  stamp: values.stamp,
  progress: process.stderr,
  signal: abort.signal,
};

try {
  const summary = await runLoad(opts);
  const json = JSON.stringify(summary);
  process.stdout.write(`${json}\n`);
  if (values.json !== undefined) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, `${JSON.stringify(summary, null, 2)}\n`);
  }
  if (summary.errors > 0) {
    process.stderr.write(`loadgen: ${summary.errors} connection(s) lost: ${summary.lastError ?? 'unknown error'}\n`);
    process.exitCode = 1;
  }
} catch (err) {
  if (err instanceof BridgeError && err.code === 'ERR_USAGE') usage(err.message);
  process.stderr.write(`loadgen: ${err instanceof LoadError ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
