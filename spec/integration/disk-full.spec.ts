/**
 * Issue 11's "Done when": a real `tracehive serve` whose spool sits on a full 64 MiB tmpfs. Lines
 * pushed at it make /readyz 503 with ENOSPC within a second, memory stays flat (input pauses at
 * the first failed write, TCP flow control holds the sender), and once space comes back every line
 * reaches the stand-in TheHive exactly once. Also: SIGTERM on a failing disk and on a full spool
 * ends within shutdown.timeoutMs and closes every port.
 */
import { expect } from 'chai';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import net from 'node:net';
import { admin, connect, sleep, waitFor } from '../support/harness.js';
import { detectionLine } from '../support/lines.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { mountTmpfs, tmpfsUnavailable, type Tmpfs } from '../support/tmpfs.js';
import { sourceRefFor } from '../../src/map/source-ref.js';

const KEY = 'k-disk';
/** A distinct detection line of about 8 KB (a long feed context), newline included. */
const bigLine = (i: number): string => `${detectionLine(i)} note=${'n'.repeat(8 * 1024 - detectionLine(i).length - 7)}\n`;

function rssMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmRSS:\s+(\d+)/.exec(s)?.[1]) / 1024);
}

/** Writes `lines` honouring backpressure until done or the socket breaks; `written.n` counts lines handed to the socket. */
async function stream(socket: net.Socket, lines: readonly string[], written: { n: number }): Promise<void> {
  const broken = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  for (let i = 0; i < lines.length; i += 16) {
    const ok = socket.write(lines.slice(i, i + 16).join(''));
    written.n = Math.min(lines.length, i + 16);
    if (!ok && (await Promise.race([new Promise<boolean>((r) => socket.once('drain', () => r(true))), broken.then(() => false)])) === false) return;
  }
}

function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('a full disk under serve (tmpfs)', function () {
  this.timeout(120_000);
  let fs: Tmpfs | undefined;
  let hive: FakeTheHive;
  let serve: ServeProcess | undefined;

  before(function () {
    const why = tmpfsUnavailable();
    if (why !== null) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
  });

  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: KEY });
  });

  afterEach(async () => {
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
    await serve?.exited;
    serve = undefined;
    await hive.close();
    await fs?.unmount();
    fs = undefined;
  });

  const env = (spool: string, extra: Record<string, string> = {}): Record<string, string> => ({
    THEHIVE_URL: hive.url,
    THEHIVE_API_KEY: KEY,
    TRACEHIVE_SPOOL_DIR: spool,
    TRACEHIVE_RATE_PER_SEC: '0',
    TRACEHIVE_CONCURRENCY: '8',
    TRACEHIVE_RETRY_BASE_MS: '50',
    TRACEHIVE_RETRY_MAX_MS: '300',
    ...extra,
  });

  it('5,000 lines of 8 KB at a full 64 MiB spool: /readyz 503 with ENOSPC within a second, RSS +<40 MiB, then every line once', async () => {
    fs = await mountTmpfs(64 * 1024 * 1024);
    const spool = join(fs.dir, 'spool');
    await mkdir(spool, { mode: 0o700 });
    serve = await startServeProcess(env(spool), fs.dir);
    const pid = serve.child.pid as number;
    // Warm up while there is space, so the baseline includes the code paths of a delivery.
    const warm = await connect(serve.tcpPort);
    const warmLines = Array.from({ length: 50 }, (_, i) => bigLine(100_000 + i));
    warm.end(warmLines.join(''));
    await waitFor('the warm-up delivered', () => hive.alerts.length === 50, 20_000);
    const before = await rssMiB(pid);
    const hwmBefore = serve.peakRssMiB();

    await fs.fill();
    const lines = Array.from({ length: 5000 }, (_, i) => bigLine(i));
    const socket = await connect(serve.tcpPort);
    const written = { n: 0 };
    const started = Date.now();
    const sending = stream(socket, lines, written);
    let reason = '';
    await waitFor(
      '/readyz 503 naming ENOSPC',
      async () => {
        const r = await admin(serve!.httpPort, '/readyz');
        reason = r.body;
        return r.status === 503 && r.body.includes('ENOSPC');
      },
      5000,
    );
    const tookMs = Date.now() - started;
    expect(tookMs, `/readyz said so after ${tookMs} ms: ${reason}`).to.be.below(1000);
    // Input is paused: the sender is held back, memory does not fill with what it sends.
    await sleep(2000);
    expect(written.n, 'the sender is held by TCP flow control').to.be.below(5000);
    const grown = Math.max(serve.peakRssMiB() - hwmBefore, serve.peakRssMiB() - before, (await rssMiB(pid)) - before);
    console.log(`      (/readyz 503 after ${tookMs} ms; RSS ${before.toFixed(1)} MiB before, grew by ${grown.toFixed(1)} MiB; ${written.n} of 5000 lines handed to the socket while paused)`);
    expect(grown, `RSS grew by ${grown.toFixed(1)} MiB`).to.be.below(40);
    expect(await serve.metric('tracehive_spool_write_blocked')).to.equal(1);
    expect(await serve.metric('tracehive_input_ready')).to.equal(0);

    await fs.free();
    await sending;
    socket.end();
    await waitFor('every line delivered once', () => hive.alerts.length === 5050, 90_000);
    // Exactly once: every line one create request (the stand-in refuses a second create of a
    // sourceRef with 400, so its stored alerts alone could not show a duplicate).
    const creates = new Map<string, number>();
    for (const r of hive.requests) if (r.method === 'POST' && r.sourceRef !== undefined) creates.set(r.sourceRef, (creates.get(r.sourceRef) ?? 0) + 1);
    for (const line of [...lines, ...warmLines]) expect(creates.get(sourceRefFor(line.slice(0, -1))), `line ${line.slice(0, 60)}`).to.equal(1);
    expect(creates.size).to.equal(5050);
    expect(await serve.metric('tracehive_alerts_delivered_total')).to.equal(5050);
    expect((await admin(serve.httpPort, '/readyz')).status).to.equal(200);
    expect(await serve.metric('tracehive_spool_write_blocked')).to.equal(0);
  });

  it('SIGTERM while the disk fails: exits within shutdown.timeoutMs, closes every port, says what it lost', async () => {
    fs = await mountTmpfs(8 * 1024 * 1024);
    const spool = join(fs.dir, 'spool');
    await mkdir(spool, { mode: 0o700 });
    serve = await startServeProcess(env(spool, { TRACEHIVE_SHUTDOWN_TIMEOUT_MS: '3000' }), fs.dir);
    await fs.fill();
    const socket = await connect(serve.tcpPort);
    socket.on('error', () => undefined);
    void stream(socket, Array.from({ length: 2000 }, (_, i) => bigLine(i)), { n: 0 });
    await waitFor('writes fail', async () => (await serve!.metric('tracehive_spool_write_blocked')) === 1, 10_000);
    const t0 = Date.now();
    serve.child.kill('SIGTERM');
    const code = await serve.exited;
    const took = Date.now() - t0;
    // Within shutdown.timeoutMs and a little: not by the CLI's last-resort exit 5 s later.
    expect(took, `exited after ${took} ms`).to.be.below(3000 + 1500);
    expect(code).to.equal(1);
    expect(await portClosed(serve.tcpPort)).to.equal(true);
    expect(await portClosed(serve.httpPort)).to.equal(true);
    expect(serve.out()).to.match(/could not be written at close .*ENOSPC.*they are lost/);
  });

  it('SIGTERM while the spool is full (spool.maxBytes): exits within shutdown.timeoutMs with exit code 0, nothing accepted lost', async () => {
    const spool = join(await mountTmpfsDir(), 'spool');
    serve = await startServeProcess(env(spool, { TRACEHIVE_SHUTDOWN_TIMEOUT_MS: '3000', TRACEHIVE_SPOOL_MAX_BYTES: '1048576', TRACEHIVE_SPOOL_SEGMENT_BYTES: '65536' }), fs!.dir);
    await hive.down();
    const socket = await connect(serve.tcpPort);
    socket.on('error', () => undefined);
    void stream(socket, Array.from({ length: 2000 }, (_, i) => bigLine(i)), { n: 0 });
    await waitFor('the spool full', async () => (await serve!.metric('tracehive_spool_full')) === 1, 20_000);
    const committed = await serve.metric('tracehive_spool_committed_records_total');
    const t0 = Date.now();
    serve.child.kill('SIGTERM');
    const code = await serve.exited;
    const took = Date.now() - t0;
    expect(took, `exited after ${took} ms`).to.be.below(3000 + 1500);
    expect(code).to.equal(0);
    expect(await portClosed(serve.tcpPort)).to.equal(true);
    expect(await portClosed(serve.httpPort)).to.equal(true);
    // The next start finds at least every committed line in the spool.
    await hive.up();
    serve = await startServeProcess(env(spool), fs!.dir);
    await waitFor('the spooled lines delivered', () => hive.alerts.length >= committed, 60_000);
  });

  async function mountTmpfsDir(): Promise<string> {
    fs = await mountTmpfs(64 * 1024 * 1024);
    return fs.dir;
  }
});
