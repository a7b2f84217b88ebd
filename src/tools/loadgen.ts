/**
 * The load generator's engine (`scripts/loadgen.ts` is its command line; the benchmarks call
 * {@link runLoad} in-process): CyberTrace lines over N TCP connections to a listener, flat out or
 * at a total rate, for a number of lines or of seconds. Lines come from the seeded generator
 * (src/tools/cybertrace-gen.ts) or from a corpus cycled through.
 *
 * Each connection runs its own loop and takes the next line numbers from a shared counter, so a
 * slow connection does not hold up the others; it waits for `drain` whenever its socket asks to,
 * so memory stays at one batch plus the socket's buffer per connection whatever the listener does.
 * `chunking` decides how the bytes are cut into writes: `block` (64 KiB of whole lines per write),
 * `line` (one write per line) or `random` (cuts at random byte offsets, through lines and UTF-8
 * sequences, the way a listener's reads arrive split).
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { BridgeError } from '../errors.js';
import { CONNECT_TIMEOUT_MS, connectAll } from '../net/connect.js';
import { createRng, generateLine, type Rng } from './cybertrace-gen.js';
import { startProgress } from './progress.js';

/** How the stream is cut into socket writes. */
export type Chunking = 'random' | 'line' | 'block';

/** What to send, where, how fast and for how long. */
export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  /** @default 1 */
  readonly connections?: number;
  /** Lines to send in all; when neither this nor `seconds` is given, 100,000. */
  readonly lines?: number;
  /** Stop taking new lines after this many seconds (the first of `lines` and `seconds` ends the run). */
  readonly seconds?: number;
  /** Lines per second over all connections together; 0 sends as fast as the listener reads. @default 0 */
  readonly rate?: number;
  /** Lines to cycle through instead of the generator (without newlines). */
  readonly corpus?: readonly string[];
  /** Seed of the generator and of the random cuts. @default 1 */
  readonly seed?: number;
  /** Generator only: share of lines repeating an earlier indicator. @default 0.25 */
  readonly repeatShare?: number;
  /** @default 'block' */
  readonly chunking?: Chunking;
  /** Appends ` seq=<n>` (n = 0, 1, …): every line distinct, so every line is its own alert. @default false */
  readonly unique?: boolean;
  /** Appends ` sent_ms=<epoch ms>` taken when the line's write is issued, for latency. @default false */
  readonly stamp?: boolean;
  /** Where a progress line is drawn; only a TTY gets one. @default none */
  readonly progress?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborting stops taking lines, ends the connections and resolves with what was sent. */
  readonly signal?: AbortSignal;
}

/**
 * What a run did. `errors` counts connections lost after connecting; the other connections take
 * over their share, and lines written to a connection before it failed count in `sent` but may be lost.
 */
export interface LoadSummary {
  sent: number;
  /** Bytes written, newlines included. */
  bytes: number;
  seconds: number;
  linesPerSec: number;
  connections: number;
  errors: number;
  /** The explained last connection error, when `errors` > 0. */
  lastError?: string;
}

/** Counters handed to `onProgress` about five times a second. */
export interface LoadProgress {
  readonly sent: number;
  readonly bytes: number;
  readonly seconds: number;
}

/** A failure to connect, with the system `code` (`ECONNREFUSED`…) and what to do about it in the message. */
export class LoadError extends Error {
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoadError';
    this.code = code;
  }
}

/** The options with their defaults filled in. */
type Resolved = LoadOptions & Required<Pick<LoadOptions, 'connections' | 'rate' | 'seed' | 'repeatShare' | 'chunking'>>;

/** 64 KiB per write in `block`/`random`: one syscall per ~190 lines. */
const BATCH_BYTES = 64 * 1024;
/** `line` mode writes this many lines, one write each, before letting the other connections run. */
const LINE_MODE_LINES = 64;
/** Random cuts are log-uniform up to this size: many tiny pieces, some whole batches of lines. */
const MAX_CUT_BYTES = 16 * 1024;
/** The token bucket holds at most 50 ms worth, so a stall never turns into a burst. */
const BURST_MS = 50;
const MIN_WAIT_MS = 5;
const MAX_CONNECTIONS = 1024;
const DEFAULT_LINES = 100_000;
/** After an abort, how long the listener gets to read what is in flight before we cut the connections. */
const ABORT_GRACE_MS = 2_000;
const PROGRESS_MS = 200;

/** Sends the load; resolves once every connection is closed (the listener has read everything). Rejects with {@link LoadError} when a connection cannot be opened. */
export async function runLoad(opts: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<LoadSummary> {
  const o: Resolved = { ...opts, connections: opts.connections ?? 1, rate: opts.rate ?? 0, seed: opts.seed ?? 1, repeatShare: opts.repeatShare ?? 0.25, chunking: opts.chunking ?? 'block' };
  const limit = o.lines ?? (o.seconds === undefined ? DEFAULT_LINES : Infinity);
  check(o, limit);
  const where = `${o.host}:${o.port}`;
  const sockets = await connectAll(o.connections, { host: o.host, port: o.port, explain: (err) => explain(err, where) });
  const started = performance.now();
  const deadline = o.seconds === undefined ? Infinity : started + o.seconds * 1000;
  const c = { taken: 0, sent: 0, bytes: 0, errors: 0, lastError: undefined as string | undefined };
  const rng = createRng(o.seed);
  const cuts = createRng(o.seed ^ 0x5bd1e995);
  const take = o.rate > 0 ? tokenBucket(o.rate) : (n: number): number => n;
  const elapsed = (): number => (performance.now() - started) / 1000;
  const progress = o.progress === undefined ? undefined : startProgress({ stream: o.progress, label: 'loadgen', totalBytes: Number.isFinite(limit) ? limit : undefined, read: () => ({ lines: c.sent, bytes: c.bytes, inputBytes: c.sent }) }); // percentage of lines, not bytes
  const timer = onProgress && setInterval(() => onProgress({ sent: c.sent, bytes: c.bytes, seconds: elapsed() }), PROGRESS_MS);
  timer?.unref();
  const lineAt = (i: number, now: number): string => {
    let line = o.corpus === undefined ? generateLine(rng, i, { repeatShare: o.repeatShare }) : (o.corpus[i % o.corpus.length] as string);
    if (o.unique === true) line += ` seq=${i}`;
    if (o.stamp === true) line += ` sent_ms=${now}`;
    return `${line}\n`;
  };

  async function pump(socket: Socket): Promise<void> {
    let lost = false;
    const fail = (err: unknown): void => {
      if (lost) return;
      lost = true;
      c.errors++;
      c.lastError = explain(err, where).message;
    };
    // The listener closing first means it reads no more: Node would drop later writes silently.
    const onEnd = (): void => fail(Object.assign(new Error(`the listener at ${where} closed the connection`), { code: 'ECONNRESET' }));
    socket.on('error', fail).on('end', onEnd);
    while (!lost && !o.signal?.aborted && c.taken < limit && performance.now() < deadline) {
      const want = Math.min(limit - c.taken, o.chunking === 'line' ? LINE_MODE_LINES : 1024);
      const granted = take(want);
      if (granted === 0) {
        await sleep(Math.max(MIN_WAIT_MS, 1000 / o.rate));
        continue;
      }
      const now = Date.now();
      let n = 0;
      let text = '';
      if (o.chunking === 'line') {
        for (; n < granted; n++) {
          const line = lineAt(c.taken++, now);
          c.bytes += Buffer.byteLength(line);
          socket.write(line);
        }
      } else {
        for (; n < granted && text.length < BATCH_BYTES; n++) text += lineAt(c.taken++, now);
        const bytes = Buffer.from(text);
        c.bytes += bytes.length;
        if (o.chunking === 'block') socket.write(bytes);
        else for (const piece of randomCuts(bytes, cuts)) socket.write(piece);
      }
      c.sent += n;
      if (n < granted) take(-(granted - n)); // a batch full before its tokens ran out gives the rest back
      if (socket.writableNeedDrain) await drained(socket, o.signal);
      else await nextTurn();
    }
    socket.off('end', onEnd);
    await finish(socket, o.signal);
  }

  try {
    await Promise.all(sockets.map(pump));
  } finally {
    progress?.stop();
    clearInterval(timer);
  }
  const seconds = elapsed();
  onProgress?.({ sent: c.sent, bytes: c.bytes, seconds });
  const summary: LoadSummary = { sent: c.sent, bytes: c.bytes, seconds: Math.round(seconds * 1000) / 1000, linesPerSec: seconds > 0 ? Math.round(c.sent / seconds) : 0, connections: o.connections, errors: c.errors };
  if (c.lastError !== undefined) summary.lastError = c.lastError;
  return summary;
}

/** `bytes` cut at random offsets, log-uniform piece sizes from 1 byte to {@link MAX_CUT_BYTES}. */
function* randomCuts(bytes: Buffer, r: Rng): Generator<Buffer> {
  for (let at = 0; at < bytes.length; ) {
    const size = Math.max(1, Math.floor(Math.exp(r.next() * Math.log(MAX_CUT_BYTES))));
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

/**
 * A token bucket of `rate` lines a second, shared by the connections. `take(n)` grants up to n
 * lines now (0 means: wait a little and ask again); a negative n gives tokens back.
 */
function tokenBucket(rate: number): (n: number) => number {
  const capacity = Math.max(1, (rate * BURST_MS) / 1000);
  let tokens = 1;
  let last = performance.now();
  return (n) => {
    const now = performance.now();
    tokens = Math.min(capacity, tokens + ((now - last) * rate) / 1000);
    last = now;
    const granted = n < 0 ? n : Math.min(n, Math.floor(tokens));
    tokens -= granted;
    return Math.max(0, granted);
  };
}

/** Resolves on `drain`, on `close` or when `signal` aborts, whichever comes first. */
function drained(socket: Socket, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done).off('close', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    socket.once('drain', done).once('close', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Ends the socket and waits for `close`: the listener has then read up to our FIN. */
function finish(socket: Socket, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
    // Unless aborted, no deadline: a listener slow to read must still get everything.
    if (signal?.aborted) setTimeout(() => socket.destroy(), ABORT_GRACE_MS).unref();
    socket.end();
  });
}

const HINTS: Readonly<Record<string, (where: string) => string>> = {
  ECONNREFUSED: (w) => `nothing listens on ${w}: start \`tracehive serve\` first`,
  ENOTFOUND: (w) => `cannot resolve the host of ${w}: check --host`,
  EAI_AGAIN: (w) => `cannot resolve the host of ${w}: check --host and the DNS`,
  ETIMEDOUT: (w) => `no answer from ${w} within ${CONNECT_TIMEOUT_MS / 1000} s: check --host, --port and any firewall in between`,
  EHOSTUNREACH: (w) => `no route to ${w}: check --host and the network`,
  ECONNRESET: (w) => `the listener at ${w} dropped the connection: check its log (tcp.maxConnections, tcp.allow)`,
  EPIPE: (w) => `the listener at ${w} dropped the connection: check its log (tcp.maxConnections, tcp.allow)`,
};

/** The error as the operator should read it: what happened and what to do. */
function explain(err: unknown, where: string): LoadError {
  if (err instanceof LoadError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? 'ERR_LOADGEN';
  const hint = HINTS[code];
  return new LoadError(hint === undefined ? `${where}: ${e.message || code}` : hint(where), code, { cause: err });
}

function check(o: Resolved, limit: number): void {
  const usage = (name: string, expected: string, got: unknown): BridgeError => new BridgeError('ERR_USAGE', `Expected \`${name}\` to be ${expected}, got ${JSON.stringify(got)}.`);
  if (typeof o.host !== 'string' || o.host === '') throw usage('host', 'a host name or address', o.host);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw usage('port', 'an integer from 1 to 65535', o.port);
  if (!Number.isInteger(o.connections) || o.connections < 1 || o.connections > MAX_CONNECTIONS) throw usage('connections', `an integer from 1 to ${MAX_CONNECTIONS}`, o.connections);
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) throw usage('lines', 'an integer ≥ 0', o.lines);
  if (o.seconds !== undefined && !(Number.isFinite(o.seconds) && o.seconds > 0)) throw usage('seconds', 'a number > 0', o.seconds);
  if (!Number.isFinite(o.rate) || o.rate < 0) throw usage('rate', 'a number ≥ 0 (0 = as fast as the listener reads)', o.rate);
  if (!Number.isInteger(o.seed)) throw usage('seed', 'an integer', o.seed);
  if (!(o.repeatShare >= 0 && o.repeatShare <= 1)) throw usage('repeatShare', 'a number from 0 to 1', o.repeatShare);
  if (!['random', 'line', 'block'].includes(o.chunking)) throw usage('chunking', '`random`, `line` or `block`', o.chunking);
  if (o.corpus !== undefined && o.corpus.length === 0) throw usage('corpus', 'at least one line', o.corpus.length);
}

/** The non-empty lines of a corpus file's text, `\r` stripped. */
export function corpusLines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r+$/, '')).filter((l) => l.trim() !== '');
}
