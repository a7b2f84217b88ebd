import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { expect } from 'chai';
import { formatSummary, replay, ReplayError, type ReplayOptions } from '../../../src/tools/replay.js';
import { formatBytes, formatProgress } from '../../../src/tools/progress.js';

/** What the fake listener saw on one connection: whole lines (latin1, so bytes stay bytes) and when each arrived. */
interface Seen {
  lines: string[];
  times: number[];
  bytes: number;
}

/** A plain `net` listener on a free port that records every line per connection. */
async function listen(opts: { keep?: boolean; onConnection?: (socket: Socket) => void } = {}): Promise<{ port: number; conns: Seen[]; close(): Promise<void> }> {
  const conns: Seen[] = [];
  const server: Server = createServer((socket) => {
    const seen: Seen = { lines: [], times: [], bytes: 0 };
    conns.push(seen);
    opts.onConnection?.(socket);
    let rest = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const now = performance.now();
      seen.bytes += chunk.length;
      if (opts.keep === false) return;
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        seen.lines.push(line);
        seen.times.push(now);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, conns, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Collects what a stream is given; `isTTY` makes it look like a terminal. */
class Collector extends Writable {
  readonly chunks: string[] = [];
  readonly isTTY: boolean;
  constructor(isTTY: boolean) {
    super();
    this.isTTY = isTTY;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
}

const silent = new Collector(false);

function opts(file: string, port: number, more: Partial<ReplayOptions> = {}): ReplayOptions {
  return { file, host: '127.0.0.1', port, rate: 0, connections: 1, progress: silent, ...more };
}

function sorted(lines: readonly string[]): string[] {
  return [...lines].sort();
}

describe('tools/replay', function () {
  this.timeout(15_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-replay-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function capture(name: string, content: string | Buffer): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, content);
    return file;
  }

  it('delivers every line exactly once and whole, over several connections', async () => {
    const sent = Array.from({ length: 5000 }, (_, i) => `category=KL_Malicious_URL matchedIndicator=http://ex${i}.test/${'x'.repeat(i % 300)} é ✓`);
    const file = await capture('many.log', `${sent.join('\n')}\n`);
    const server = await listen();
    const summary = await replay(opts(file, server.port, { connections: 3 }));
    await server.close();
    const got = server.conns.flatMap((c) => c.lines).map((l) => Buffer.from(l, 'latin1').toString('utf8'));
    expect(sorted(got)).to.deep.equal(sorted(sent));
    expect(summary.lines).to.equal(5000);
    expect(summary.bytes).to.equal(Buffer.byteLength(`${sent.join('\n')}\n`));
    expect(summary.connections).to.equal(3);
  });

  it('passes bytes through unchanged, invalid UTF-8 included', async () => {
    const raw = Buffer.from([0x61, 0xff, 0xfe, 0x3d, 0xc3, 0x0a, 0x62, 0x0a]); // "a\xff\xfe=\xc3\nb\n"
    const file = await capture('binary.log', raw);
    const server = await listen();
    await replay(opts(file, server.port));
    await server.close();
    expect(Buffer.from(`${server.conns[0]?.lines.join('\n')}\n`, 'latin1')).to.deep.equal(raw);
  });

  it('strips \\r from CRLF lines and sends the last line even without a newline', async () => {
    const file = await capture('crlf.log', 'a=1\r\nb=2\r\n\r\nc=3\r');
    const server = await listen();
    const summary = await replay(opts(file, server.port));
    await server.close();
    expect(server.conns[0]?.lines).to.deep.equal(['a=1', 'b=2', 'c=3']);
    expect(summary).to.include({ lines: 3, bytes: 12, skippedEmpty: 1 });
  });

  it('skips empty lines and counts them', async () => {
    const file = await capture('empty.log', '\n\nx=1\n\n\ny=2\n\n');
    const server = await listen();
    const summary = await replay(opts(file, server.port, { connections: 2 }));
    await server.close();
    expect(sorted(server.conns.flatMap((c) => c.lines))).to.deep.equal(['x=1', 'y=2']);
    expect(summary).to.include({ lines: 2, skippedEmpty: 5 });
  });

  it('uses 4 connections round-robin and keeps the order on each', async () => {
    const file = await capture('order.log', Array.from({ length: 2000 }, (_, i) => `seq=${i}\n`).join(''));
    const server = await listen();
    await replay(opts(file, server.port, { connections: 4 }));
    await server.close();
    expect(server.conns).to.have.length(4);
    const firsts = new Set<number>();
    for (const c of server.conns) {
      const seqs = c.lines.map((l) => Number(l.slice(4)));
      expect(seqs).to.have.length(500);
      firsts.add(seqs[0] ?? -1);
      // Round-robin: each connection gets every 4th line, in file order.
      seqs.forEach((s, i) => expect(s).to.equal((seqs[0] ?? 0) + 4 * i));
    }
    expect([...firsts].sort()).to.deep.equal([0, 1, 2, 3]);
  });

  it('spreads a rate-limited replay smoothly (200 lines/s, 100 lines)', async () => {
    const file = await capture('rate.log', Array.from({ length: 100 }, (_, i) => `n=${i}\n`).join(''));
    const server = await listen();
    const summary = await replay(opts(file, server.port, { rate: 200, connections: 2 }));
    await server.close();
    const times = server.conns.flatMap((c) => c.times).sort((a, b) => a - b);
    expect(times).to.have.length(100);
    expect(summary.seconds).to.be.at.least(0.4);
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).to.be.at.least(350);
    // 200 lines/s is 20 per 100 ms; the bucket allows 50 ms of burst on top, so 40 leaves room for timer jitter.
    let busiest = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while ((times[i] ?? 0) - (times[j] ?? 0) >= 100) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    expect(busiest).to.be.at.most(40);
  });

  it('rejects a refused connection with what to do, keeping the code', async () => {
    const server = await listen();
    const port = server.port;
    await server.close();
    const file = await capture('refused.log', 'a=1\n');
    const err = await replay(opts(file, port, { connections: 2 })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ReplayError);
    expect((err as ReplayError).code).to.equal('ECONNREFUSED');
    expect((err as Error).message).to.equal(`connect ECONNREFUSED 127.0.0.1:${port}: is tracehive serve running? (start it with make run)`);
  });

  it('rejects a missing file with ENOENT and the path', async () => {
    const err = await replay(opts(join(dir, 'nope.log'), 9)).catch((e: unknown) => e);
    expect((err as ReplayError).code).to.equal('ENOENT');
    expect((err as Error).message).to.contain('nope.log').and.contain('check the FILE argument');
  });

  it('rejects bad options as usage errors', async () => {
    const err = await replay(opts('x.log', 9, { connections: 0 })).catch((e: unknown) => e);
    expect(err).to.include({ code: 'ERR_USAGE', message: 'Expected `connections` to be an integer from 1 to 1024, got 0.' });
  });

  it('fails clearly on a file that is not newline-delimited', async () => {
    const file = await capture('one-huge-line.bin', Buffer.alloc(17 * 1024 * 1024, 0x41));
    const server = await listen({ keep: false });
    const err = await replay(opts(file, server.port)).catch((e: unknown) => e);
    await server.close();
    expect(err).to.include({ code: 'ERR_LINE_TOO_LONG' });
    expect((err as Error).message).to.contain('one-huge-line.bin: a line is longer than 16.0 MiB');
  });

  it('fails fast instead of hanging when the listener drops the connection mid-stream', async () => {
    // Rate-limited so the client is still writing after the drop: data that already sat in the
    // kernel buffers when the listener closed cannot be told apart from a clean close (a TCP limit).
    const file = await capture('dropped.log', Array.from({ length: 5000 }, (_, i) => `seq=${i}\n`).join(''));
    const server = await listen({ onConnection: (s) => s.once('data', () => s.destroy()) });
    const started = performance.now();
    const err = await replay(opts(file, server.port, { rate: 1000 })).catch((e: unknown) => e);
    await server.close();
    expect((err as ReplayError).code).to.be.oneOf(['ECONNRESET', 'EPIPE']);
    expect((err as Error).message).to.contain('the listener dropped the connection');
    expect(performance.now() - started).to.be.below(1000);
  });

  it('stops on abort, ends the connections and resolves with what was sent', async () => {
    const file = await capture('abort.log', Array.from({ length: 1000 }, (_, i) => `n=${i}\n`).join(''));
    const server = await listen();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const summary = await replay(opts(file, server.port, { rate: 100, connections: 2, signal: controller.signal }));
    await server.close();
    expect(summary.seconds).to.be.below(1);
    expect(summary.lines).to.be.within(10, 60);
    expect(server.conns.flatMap((c) => c.lines)).to.have.length(summary.lines);
  });

  it('resolves with nothing sent, without connecting, when aborted before the start', async () => {
    const file = await capture('pre-abort.log', 'a=1\n');
    const server = await listen();
    const summary = await replay(opts(file, server.port, { signal: AbortSignal.abort() }));
    await server.close();
    expect(summary).to.include({ lines: 0, bytes: 0 });
    expect(server.conns).to.have.length(0);
  });

  it('streams a 50 MB capture with bounded memory', async () => {
    const file = join(dir, 'big.log');
    const out = createWriteStream(file);
    const line = `category=KL_Malicious_Hash matchedIndicator=${'a'.repeat(32)} ${'k=v '.repeat(68)}\n`; // ~320 bytes
    const count = Math.ceil((50 * 1024 * 1024) / line.length);
    for (let i = 0; i < count; i++) if (!out.write(line)) await new Promise((r) => out.once('drain', () => r(undefined)));
    out.end();
    await finished(out);
    const server = await listen({ keep: false });
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const summary = await replay(opts(file, server.port, { connections: 4 }));
    clearInterval(sampler);
    await server.close();
    expect(summary.lines).to.equal(count);
    expect(server.conns.reduce((n, c) => n + c.bytes, 0)).to.equal(count * line.length);
    expect(peak - before).to.be.below(100 * 1024 * 1024);
  });

  it('redraws one line with \\r on a TTY, at most ~10 times a second', async () => {
    const file = await capture('tty.log', Array.from({ length: 100 }, (_, i) => `n=${i}\n`).join(''));
    const server = await listen();
    const tty = new Collector(true);
    const summary = await replay(opts(file, server.port, { rate: 200, progress: tty }));
    await server.close();
    const draws = tty.chunks.filter((c) => /lines\/s/.test(c));
    expect(draws.length).to.be.at.least(2).and.at.most(summary.seconds * 10 + 2);
    for (const d of draws) expect(d).to.match(/^\rreplay: \d+ lines {2}\d+ lines\/s {2}[\d.]+ (B|KiB) {2}[\d.]+ s {2}\d+%\x1b\[K$/);
    expect(tty.chunks.at(-1)).to.equal('\r\x1b[K');
  });

  it('writes no progress when the stream is not a TTY', async () => {
    const file = await capture('notty.log', Array.from({ length: 60 }, (_, i) => `n=${i}\n`).join(''));
    const server = await listen();
    const pipe = new Collector(false);
    await replay(opts(file, server.port, { rate: 200, progress: pipe }));
    await server.close();
    expect(pipe.chunks).to.deep.equal([]);
  });

  it('formats the summary and progress in plain words', () => {
    const s = { lines: 100000, bytes: 33_659_290, seconds: 3.2, linesPerSec: 31250, connections: 4, skippedEmpty: 0 };
    expect(formatSummary(s)).to.equal('replay: sent 100000 lines (32.1 MiB) over 4 connections in 3.20 s (31250 lines/s)');
    expect(formatSummary({ ...s, connections: 1, skippedEmpty: 1 })).to.match(/over 1 connection in .*; skipped 1 empty line$/);
    expect(formatProgress({ lines: 10, bytes: 2048, inputBytes: 50 }, 2000, 'replay', 200)).to.equal('replay: 10 lines  5 lines/s  2.0 KiB  2.0 s  25%');
    expect(formatProgress({ lines: 0, bytes: 0 }, 0)).to.equal('progress: 0 lines  0 lines/s  0 B  0.0 s');
    expect([formatBytes(512), formatBytes(1536), formatBytes(3 * 1024 ** 3)]).to.deep.equal(['512 B', '1.5 KiB', '3.0 GiB']);
  });
});
