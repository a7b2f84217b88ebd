/**
 * The load generator over real sockets, against a plain `net` listener started here that
 * reassembles and records complete lines: framing under every chunking, the rate, backpressure,
 * connection errors, and the command line's JSON summary.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseLine } from '../../src/parse/kv.js';
import { createRng, generateLine } from '../../src/tools/cybertrace-gen.js';
import { LoadError, runLoad, type LoadOptions, type LoadSummary } from '../../src/tools/loadgen.js';
import { runSyslogNg, startPostCounter, syslogNgAvailable } from '../../scripts/peer-syslog-ng.js';

const run = promisify(execFile);

/** What the listener saw: complete lines in arrival order, reads, and connections. */
interface Listener {
  readonly port: number;
  readonly lines: string[];
  /** Sizes of the reads that ended inside a line: proof that lines arrived split. */
  readonly splitReads: number[];
  /** Complete lines seen, also when they are not kept. */
  count: number;
  connections: number;
  close(): Promise<void>;
}

async function listen(opts: { keep?: boolean; onConnection?: (socket: Socket, index: number) => void } = {}): Promise<Listener> {
  const state: Listener = { port: 0, lines: [], splitReads: [], count: 0, connections: 0, close: async () => undefined };
  const server: Server = createServer((socket) => {
    const index = state.connections++;
    opts.onConnection?.(socket, index);
    // Bytes, not strings: a cut inside a UTF-8 sequence must not be decoded early.
    let rest = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (chunk[chunk.length - 1] !== 10) state.splitReads.push(chunk.length);
      let buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10)) {
        state.count++;
        if (opts.keep !== false) state.lines.push(buf.subarray(0, nl).toString('utf8'));
        buf = buf.subarray(nl + 1);
      }
      rest = Buffer.from(buf);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return Object.assign(state, { port: address.port, close: () => new Promise<void>((ok) => server.close(() => ok())) });
}

/** The lines `runLoad` sends for `seed` with `unique`, computed from the generator directly. */
function expectedLines(seed: number, count: number): string[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, i) => `${generateLine(rng, i)} seq=${i}`);
}

function load(port: number, more: Partial<LoadOptions> = {}, onProgress?: Parameters<typeof runLoad>[1]): Promise<LoadSummary> {
  return runLoad({ host: '127.0.0.1', port, ...more }, onProgress);
}

async function freePort(): Promise<number> {
  const l = await listen();
  await l.close();
  return l.port;
}

describe('tools/loadgen (real sockets)', function () {
  this.timeout(30_000);
  let l: Listener | undefined;
  afterEach(async () => {
    await l?.close();
    l = undefined;
  });

  for (const chunking of ['random', 'line', 'block'] as const) {
    it(`delivers every line whole and once over 3 connections with ${chunking} chunking`, async () => {
      l = await listen();
      const summary = await load(l.port, { connections: 3, lines: 3000, seed: 5, chunking, unique: true });
      expect(summary).to.include({ sent: 3000, connections: 3, errors: 0 });
      expect(l.connections).to.equal(3);
      expect(l.lines).to.have.length(3000);
      expect([...l.lines].sort()).to.deep.equal(expectedLines(5, 3000).sort());
      expect(summary.bytes).to.equal(l.lines.reduce((n, line) => n + Buffer.byteLength(line) + 1, 0));
      for (const line of l.lines.slice(0, 200)) expect(parseLine(line)).to.deep.include({ ok: true });
      if (chunking === 'random') expect(l.splitReads.length, 'reads ending inside a line').to.be.above(10);
    });
  }

  it('stamps each line with its send time and a sequence number', async () => {
    l = await listen();
    const before = Date.now();
    await load(l.port, { lines: 500, unique: true, stamp: true });
    const after = Date.now();
    const fields = l.lines.map((line) => /seq=(\d+) sent_ms=(\d+)$/.exec(line));
    expect(fields.every((m) => m !== null)).to.equal(true);
    expect(fields.map((m) => Number(m?.[1]))).to.deep.equal(Array.from({ length: 500 }, (_, i) => i));
    for (const m of fields) expect(Number(m?.[2])).to.be.within(before, after);
  });

  it('cycles through a corpus instead of generating', async () => {
    l = await listen();
    const corpus = ['Apr 16 09:05:41 alert=KL_ALERT_UpdatedFeed feed=Phishing_URL_Data_Feed.json records=200473', 'Oct 12 16:20:33 category=KL_Malicious_Hash_MD5 matchedIndicator=C912705B4BBB14EC7E78FA8B370532C9'];
    await load(l.port, { lines: 5, corpus, unique: true });
    expect(l.lines).to.deep.equal([0, 1, 2, 3, 4].map((i) => `${corpus[i % 2]} seq=${i}`));
  });

  it('honours the rate over --seconds: about rate × seconds lines', async () => {
    l = await listen();
    const summary = await load(l.port, { connections: 2, rate: 400, seconds: 1.5 });
    // 600 expected; the bucket starts with one token and holds at most 50 ms worth.
    expect(summary.sent).to.be.within(420, 660);
    expect(l.lines).to.have.length(summary.sent);
  });

  it('waits for a listener that stops reading instead of buffering the run (write() false → drain)', async () => {
    let paused: Socket | undefined;
    l = await listen({ keep: false, onConnection: (socket) => ((paused = socket), socket.pause()) });
    let sent = 0;
    const running = load(l.port, { lines: 200_000 }, (p) => (sent = p.sent));
    await new Promise((r) => setTimeout(r, 700));
    const stalledAt = sent;
    await new Promise((r) => setTimeout(r, 300));
    // Only the kernel's socket buffers (a few MiB on loopback) and one batch are ahead of the listener.
    expect(sent, 'no progress while the listener reads nothing').to.equal(stalledAt);
    expect(stalledAt).to.be.below(100_000);
    paused?.resume();
    const summary = await running;
    expect(summary.sent).to.equal(200_000);
    expect(l.count).to.equal(200_000);
  });

  it('rejects a refused connection with what to do, keeping the code', async () => {
    const port = await freePort();
    const err = await load(port, { lines: 10 }).then(
      () => expect.fail('should reject'),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(LoadError);
    expect(err).to.include({ code: 'ECONNREFUSED', message: `nothing listens on 127.0.0.1:${port}: start \`tracehive serve\` first` });
  });

  it('counts a connection the listener drops and goes on with the others', async () => {
    l = await listen({ onConnection: (socket, index) => index === 0 && socket.once('data', () => socket.destroy()) });
    const summary = await load(l.port, { connections: 2, lines: 20_000 });
    expect(summary.errors).to.equal(1);
    expect(summary.lastError).to.match(/dropped the connection|closed the connection/);
    expect(summary.sent).to.be.above(10_000);
  });

  it('rejects bad options as usage errors', async () => {
    for (const bad of [{ connections: 0 }, { rate: -1 }, { chunking: 'bytes' }, { seconds: 0 }, { corpus: [] }] as Partial<LoadOptions>[]) {
      const err = await load(1, bad).catch((e: unknown) => e);
      expect(err, JSON.stringify(bad)).to.include({ code: 'ERR_USAGE' });
      expect((err as Error).message).to.match(/^Expected `\w+` to be /);
    }
  });

  describe('the syslog-ng peer (scripts/peer-syslog-ng), when installed', () => {
    before(async function () {
      if (!(await syslogNgAvailable())) this.skip(); // the bench says how to install it
    });

    it('file: one JSON object per line, the line whole in `description`, kv-parser as lossy as documented', async () => {
      const peer = await runSyslogNg('file');
      try {
        const summary = await load(peer.port, { connections: 2, lines: 2000, seed: 9, unique: true, chunking: 'random' });
        expect(summary.errors).to.equal(0);
        await waitFor(() => peer.written() >= 2000, 15_000);
        const out = (await readFile(peer.output as string, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { description: string; event: Record<string, string> });
        expect(out.map((o) => o.description).sort()).to.deep.equal(expectedLines(9, 2000).sort());
        // Not equivalent to tracehive: a comma-space ends a value, a repeated key keeps its last value.
        const geo = out.find((o) => / geo=\w\w, /.test(o.description));
        expect(geo?.event['geo']).to.match(/^\w\w$/);
        const ipRep = out.find((o) => o.description.includes('category=KL_IP_Reputation'));
        expect(ipRep?.event['category']).to.not.equal('KL_IP_Reputation');
        expect(peer.stats().peakRssMiB).to.be.above(0);
      } finally {
        const stats = await peer.stop();
        expect(stats.cpuSeconds).to.be.at.least(0);
      }
    });

    it('http: one POST per message to the endpoint given', async () => {
      const counter = await startPostCounter((body) => / seq=\d+$/.test((JSON.parse(body) as { description?: string }).description ?? ''));
      const peer = await runSyslogNg('http', { url: counter.url, workers: 2 });
      try {
        await load(peer.port, { lines: 300, unique: true });
        await waitFor(() => counter.posts() >= 300, 15_000);
        expect(counter.good()).to.equal(300);
      } finally {
        await peer.stop();
        await counter.close();
      }
    });
  });

  describe('command line (scripts/loadgen)', () => {
    // Next to this compiled spec, whatever the output directory.
    const script = fileURLToPath(new URL('../../scripts/loadgen.js', import.meta.url));
    let dir: string;
    before(async () => (dir = await mkdtemp(join(tmpdir(), 'tracehive-loadgen-'))));
    after(async () => rm(dir, { recursive: true, force: true }));

    it('prints the JSON summary on stdout and writes it to --json, quiet otherwise', async () => {
      l = await listen();
      const file = join(dir, 'out', 'summary.json');
      const { stdout, stderr } = await run(process.execPath, [script, '--port', String(l.port), '--connections', '2', '--lines', '1000', '--chunking', 'random', '--json', file]);
      const summary = JSON.parse(stdout) as LoadSummary;
      expect(Object.keys(summary).sort()).to.deep.equal(['bytes', 'connections', 'errors', 'linesPerSec', 'seconds', 'sent']);
      expect(summary).to.include({ sent: 1000, connections: 2, errors: 0 });
      expect(JSON.parse(await readFile(file, 'utf8'))).to.deep.equal(summary);
      expect(stderr, 'no progress bar off a TTY').to.equal('');
      await waitFor(() => l!.lines.length === 1000);
    });

    it('reads --corpus and exits 1 with the clear message when nothing listens', async () => {
      const corpus = join(dir, 'corpus.txt');
      await writeFile(corpus, 'Oct 12 16:14:02 category=KL_Malicious_URL matchedIndicator=fakess123.nu\r\n\n');
      const port = await freePort();
      const err = (await run(process.execPath, [script, '--port', String(port), '--corpus', corpus]).catch((e: unknown) => e)) as { code: number; stderr: string };
      expect(err.code).to.equal(1);
      expect(err.stderr).to.equal(`loadgen: nothing listens on 127.0.0.1:${port}: start \`tracehive serve\` first\n`);
    });

    it('exits 2 on a usage error', async () => {
      const err = (await run(process.execPath, [script, '--rate', 'fast']).catch((e: unknown) => e)) as { code: number; stderr: string };
      expect(err.code).to.equal(2);
      expect(err.stderr).to.match(/^loadgen: Expected `--rate` to be a number, got "fast"\./);
    });
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
