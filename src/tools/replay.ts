/**
 * `tracehive replay`: sends a captured CyberTrace stream to a listener, as
 * `nc 127.0.0.1 9998 < capture.log` would, but over several connections, at a chosen rate,
 * with progress on a TTY and a summary.
 *
 * Captures run to gigabytes, so the file is streamed: at any time memory holds one read chunk,
 * split2's few buffered lines, and at most one batch plus the socket's own buffer per connection.
 * Bytes go through unchanged: the file is read as latin1 (one char per byte) and written back as
 * latin1, so invalid UTF-8 in a capture reaches the listener as it was captured, and so does
 * the `sourceRef` the listener derives from it.
 */
import { createReadStream, fstatSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import split2 from 'split2';
import { BridgeError } from '../errors.js';
import { connectAll } from '../net/connect.js';
import { formatBytes, startProgress } from './progress.js';

/** What to replay, where, and how fast. */
export interface ReplayOptions {
  /** The capture to send; `-` reads stdin. */
  readonly file: string;
  readonly host: string;
  readonly port: number;
  /** Lines per second over all connections together; 0 sends as fast as the listener takes them. */
  readonly rate: number;
  /** Connections to spread the lines over, round-robin; each keeps the file's order. */
  readonly connections: number;
  /**
   * Where progress is drawn; only a TTY gets any.
   * @default process.stderr
   */
  readonly progress?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborting stops reading, ends the connections and resolves with what was sent. */
  readonly signal?: AbortSignal;
}

/** What a replay did. */
export interface ReplaySummary {
  /** Lines sent, each with its `\n`. */
  lines: number;
  /** Bytes sent, newlines included. */
  bytes: number;
  seconds: number;
  linesPerSec: number;
  connections: number;
  /** Empty lines (after stripping `\r`) in the file, which were not sent. */
  skippedEmpty: number;
}

/** A failure of replay, with the system error's `code` (`ECONNREFUSED`, `ENOENT`…) and a hint of what to do. */
export class ReplayError extends Error {
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReplayError';
    this.code = code;
  }
}

/** 64 KiB per write: one syscall per few hundred lines instead of one per line. */
const BATCH_CHARS = 64 * 1024;
/** Bounds memory on a file that is not newline-delimited, while leaving room to test long-line handling. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;
/** How often a rate-limited replay wakes up to send: small enough to look smooth on the listener. */
const TICK_MS = 10;
/** The token bucket holds at most this much time's worth, so a stall never turns into a burst. */
const BURST_MS = 50;
/** Each connection holds a batch; past this many the memory bound stops being small. */
const MAX_CONNECTIONS = 1024;
/** After an abort, how long the listener gets to read what is in flight before we cut the connections. */
const ABORT_GRACE_MS = 2_000;

const HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'is tracehive serve running? (start it with make run)',
  ENOTFOUND: 'check --host',
  EAI_AGAIN: 'check --host and the DNS',
  ETIMEDOUT: 'check --host, --port and any firewall in between',
  EHOSTUNREACH: 'check --host, --port and any firewall in between',
  ENETUNREACH: 'check --host, --port and any firewall in between',
  ECONNRESET: 'the listener dropped the connection: check its log (tcp.maxConnections, tcp.allow)',
  EPIPE: 'the listener dropped the connection: check its log (tcp.maxConnections, tcp.allow)',
  ENOENT: 'check the FILE argument (- reads stdin)',
  EACCES: 'check the permissions of FILE',
  EISDIR: 'FILE must be a capture file, not a directory',
};

/** Replays `opts.file`; resolves once every connection is closed, i.e. the listener has read everything. */
export async function replay(opts: ReplayOptions): Promise<ReplaySummary> {
  check(opts);
  const totalBytes = await inputSize(opts);
  const started = performance.now();
  const counts = { lines: 0, bytes: 0, inputBytes: 0, skippedEmpty: 0 };
  // One signal for every wait: the caller's abort, or the first socket or file error.
  const stop = new AbortController();
  let failure: Error | undefined;
  const fail = (err: Error): void => {
    failure ??= err;
    stop.abort();
  };
  const onAbort = (): void => stop.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const progress = startProgress({ stream: opts.progress ?? process.stderr, label: 'replay', totalBytes, read: () => counts });
  let sockets: Socket[] = [];
  const input = openInput(opts.file);
  input.source.on('error', (err) => fail(explain(err, opts)));
  input.lines.on('error', (err) => fail(explain(err, opts)));
  input.source.on('data', (chunk: string) => (counts.inputBytes += chunk.length));
  try {
    sockets = await connectAll(opts.connections, { host: opts.host, port: opts.port, signal: stop.signal, explain: (err) => explain(err, opts) });
    let ending = false;
    for (const socket of sockets) {
      socket.on('error', (err) => fail(explain(err, opts)));
      // The listener closing first means it reads no more, and Node would drop our later writes silently.
      socket.on('end', () => ending || fail(explain(Object.assign(new Error(`write EPIPE ${opts.host}:${opts.port}`), { code: 'EPIPE' }), opts)));
    }
    const batches = await pump(input.lines, sockets, counts, opts.rate, stop.signal);
    ending = true;
    if (!failure) {
      await Promise.all(sockets.map((s, i) => finish(s, batches[i] ?? '', counts, stop.signal)));
    }
  } catch (err) {
    // The caller aborting while we connect is a normal end; anything else is a failure.
    if (!(opts.signal?.aborted && err === stop.signal.reason)) fail(err instanceof Error ? err : new Error(String(err)));
  } finally {
    progress.stop();
    opts.signal?.removeEventListener('abort', onAbort);
    input.close();
    if (failure) for (const s of sockets) s.destroy();
  }
  if (failure) throw failure;
  const seconds = (performance.now() - started) / 1000;
  const { lines, bytes, skippedEmpty } = counts;
  return { lines, bytes, seconds, linesPerSec: seconds > 0 ? lines / seconds : 0, connections: opts.connections, skippedEmpty };
}

/** One plain line for the end of a replay, e.g. `replay: sent 100000 lines (32.1 MiB) over 4 connections in 3.20 s (31250 lines/s)`. */
export function formatSummary(s: ReplaySummary): string {
  const over = `${s.connections} connection${s.connections === 1 ? '' : 's'}`;
  const skipped = s.skippedEmpty > 0 ? `; skipped ${s.skippedEmpty} empty line${s.skippedEmpty === 1 ? '' : 's'}` : '';
  return `replay: sent ${s.lines} lines (${formatBytes(s.bytes)}) over ${over} in ${s.seconds.toFixed(2)} s (${Math.round(s.linesPerSec)} lines/s)${skipped}`;
}

/**
 * Reads lines and hands them round-robin to the sockets' batches until the input ends or `signal`
 * aborts. Batches are written when full, when the input runs dry and before each rate wait;
 * a socket that asked to `drain` is waited for before it gets more. Returns the unwritten rest.
 */
async function pump(lines: Readable, sockets: Socket[], counts: { lines: number; bytes: number; skippedEmpty: number }, rate: number, signal: AbortSignal): Promise<string[]> {
  const batches = sockets.map(() => '');
  const flush = async (i: number): Promise<void> => {
    const socket = sockets[i] as Socket;
    if (socket.writableNeedDrain) await waitFor(signal, { emitter: socket, events: ['drain'] });
    const batch = batches[i] ?? '';
    if (signal.aborted || batch === '') return;
    batches[i] = '';
    counts.bytes += batch.length;
    socket.write(batch, 'latin1');
  };
  const flushAll = async (): Promise<void> => {
    for (let i = 0; i < sockets.length && !signal.aborted; i++) await flush(i);
  };
  const takeToken = rate > 0 ? tokenBucket(rate) : undefined;
  let next = 0;
  let flushed = false;
  while (!signal.aborted) {
    const line = lines.read() as string | null;
    if (line === null) {
      if (lines.readableEnded) break;
      // Write what we have before waiting, then read again: data may have come in meanwhile.
      if (!flushed) await flushAll();
      else await waitFor(signal, { emitter: lines, events: ['readable', 'end'] });
      flushed = !flushed;
      continue;
    }
    flushed = false;
    let end = line.length;
    while (end > 0 && line.charCodeAt(end - 1) === 13 /* \r */) end--;
    if (end === 0) {
      counts.skippedEmpty++;
      continue;
    }
    for (let wait = takeToken?.() ?? 0; wait > 0 && !signal.aborted; wait = takeToken?.() ?? 0) {
      await flushAll();
      await waitFor(signal, { ms: wait });
    }
    if (signal.aborted) break;
    const i = next++ % sockets.length;
    const batch = `${batches[i] ?? ''}${end === line.length ? line : line.slice(0, end)}\n`;
    batches[i] = batch;
    counts.lines++;
    if (batch.length >= BATCH_CHARS) await flush(i);
  }
  return batches;
}

/**
 * A token bucket of `rate` tokens a second. The returned function takes a token and returns 0,
 * or returns the milliseconds to wait (at least one tick) before asking again.
 */
function tokenBucket(rate: number): () => number {
  const capacity = Math.max(1, (rate * BURST_MS) / 1000);
  let tokens = 1;
  let last = performance.now();
  return () => {
    const now = performance.now();
    tokens = Math.min(capacity, tokens + ((now - last) * rate) / 1000);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return Math.max(TICK_MS, ((1 - tokens) * 1000) / rate);
  };
}

/** Writes the rest, ends the socket and waits for `close`: the listener has then read up to our FIN. */
function finish(socket: Socket, rest: string, counts: { bytes: number }, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    let timer: NodeJS.Timeout | undefined;
    // Unless aborted, no deadline: a listener that is slow to read (spool full) must still get everything.
    const onAbort = (): void => void (timer = setTimeout(() => socket.destroy(), ABORT_GRACE_MS));
    socket.once('close', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    counts.bytes += rest.length;
    if (rest === '') socket.end();
    else socket.end(rest, 'latin1');
  });
}

/** The error as the operator should read it: what happened, then what to do. */
function explain(err: unknown, opts: ReplayOptions): ReplayError {
  if (err instanceof ReplayError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.message === 'maximum buffer reached') {
    return new ReplayError(`${opts.file}: a line is longer than ${formatBytes(MAX_LINE_CHARS)}: is it a newline-delimited capture?`, 'ERR_LINE_TOO_LONG', { cause: err });
  }
  const code = e.code ?? 'ERR_REPLAY';
  // Connecting to a name with several addresses fails with an AggregateError that has no message.
  const what = e.message || `connect ${code} ${opts.host}:${opts.port}`;
  const hint = HINTS[code];
  return new ReplayError(hint === undefined ? what : `${what}: ${hint}`, code, { cause: err });
}

function check(o: ReplayOptions): void {
  const usage = (name: string, expected: string, got: unknown): BridgeError =>
    new BridgeError('ERR_USAGE', `Expected \`${name}\` to be ${expected}, got ${JSON.stringify(got)}.`);
  if (typeof o.file !== 'string' || o.file === '') throw usage('file', 'a path or -', o.file);
  if (typeof o.host !== 'string' || o.host === '') throw usage('host', 'a host name or address', o.host);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw usage('port', 'an integer from 1 to 65535', o.port);
  if (!Number.isFinite(o.rate) || o.rate < 0) throw usage('rate', 'a number ≥ 0 (0 = as fast as possible)', o.rate);
  if (!Number.isInteger(o.connections) || o.connections < 1 || o.connections > MAX_CONNECTIONS) {
    throw usage('connections', `an integer from 1 to ${MAX_CONNECTIONS}`, o.connections);
  }
}

/** Size of the input when it is a regular file (for the percentage); undefined for pipes and terminals. */
async function inputSize(opts: ReplayOptions): Promise<number | undefined> {
  const file = opts.file;
  try {
    const st = file === '-' ? fstatSync(0) : await stat(file);
    if (st.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${file}'`), { code: 'EISDIR' });
    return st.isFile() ? st.size : undefined;
  } catch (err) {
    if (file === '-') return undefined;
    throw explain(err, opts);
  }
}

/** The input as latin1 text split into lines; `close` stops reading (stdin is paused, not destroyed). */
function openInput(file: string): { source: Readable; lines: Readable; close(): void } {
  const source: Readable = file === '-' ? process.stdin.setEncoding('latin1') : createReadStream(file, { encoding: 'latin1' });
  // decodeStrings: false hands split2 the latin1 strings as they are (its decoder passes strings through).
  const lines = source.pipe(split2('\n', { maxLength: MAX_LINE_CHARS, decodeStrings: false }));
  return {
    source,
    lines,
    close: () => {
      source.unpipe(lines);
      lines.destroy();
      if (file === '-') source.pause();
      else source.destroy();
    },
  };
}

/** Resolves on the first of `events`, after `ms` if given, or when `signal` aborts: callers check `signal.aborted`. */
function waitFor(signal: AbortSignal, on: { emitter?: NodeJS.EventEmitter; events?: readonly string[]; ms?: number }): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      for (const e of on.events ?? []) on.emitter?.off(e, done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = on.ms === undefined ? undefined : setTimeout(done, on.ms);
    for (const e of on.events ?? []) on.emitter?.once(e, done);
    signal.addEventListener('abort', done, { once: true });
  });
}
