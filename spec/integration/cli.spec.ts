/**
 * The `tracehive` command as operators run it: a real child process, real signals,
 * real exit codes and messages.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { connect, sendChunked, startApp, waitFor, type Harness } from '../support/harness.js';
import { detectionLine, detectionLines } from '../support/lines.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';

const CLI = resolve('dist/src/cli.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], opts: { env?: Record<string, string>; input?: string; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? process.cwd(), env: { PATH: process.env['PATH'] ?? '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Starts `tracehive serve` and resolves once its listener logged its port. */
async function startServe(env: Record<string, string>, cwd: string): Promise<{ child: ChildProcess; port: number; out: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve'], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env } });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let port = 0;
  await waitFor('the listener to log its port', () => {
    for (const line of out.split('\n')) {
      if (!line.includes('CyberTrace listener ready')) continue;
      port = (JSON.parse(line) as { port: number }).port;
      return true;
    }
    return false;
  });
  return { child, port, out: () => out };
}

describe('tracehive command', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('serve', () => {
    let hive: FakeTheHive | undefined;
    afterEach(async () => {
      await hive?.close();
      hive = undefined;
    });

    it('runs on its embedded defaults: 127.0.0.1:9998, alerts to data/alerts.ndjson, then exits 0 on SIGTERM', async () => {
      for (const port of [9998, 9999]) {
        const busy = await connect(port).then(
          (s) => (s.destroy(), true),
          () => false,
        );
        expect(busy, `port ${port} must be free for this test: stop \`make run\` or anything else listening there`).to.equal(false);
      }
      const serve = await startServe({}, dir);
      expect(serve.port).to.equal(9998);
      await sendChunked(9998, detectionLines(3).join(''), 4096);
      const file = join(dir, 'data', 'alerts.ndjson');
      await waitFor('3 alerts in data/alerts.ndjson', () => existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').length === 3);
      serve.child.kill('SIGTERM');
      const code = await new Promise((r) => serve.child.once('exit', r));
      expect(code).to.equal(0);
    });

    it('on SIGTERM stops accepting and delivers the queued alerts before exiting 0', async () => {
      hive = await startFakeTheHive({ apiKey: 'k-drain' });
      const serve = await startServe(
        { THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-drain', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_RATE_PER_SEC: '20', TRACEHIVE_SHUTDOWN_TIMEOUT_MS: '10000' },
        dir,
      );
      const lines = detectionLines(30);
      await sendChunked(serve.port, lines.join(''), 4096);
      await waitFor('first alert', () => hive!.alerts.length > 0);
      serve.child.kill('SIGTERM');
      const code = await new Promise((r) => serve.child.once('exit', r));
      expect(code).to.equal(0);
      expect(hive.alerts).to.have.length(30);
      expect(serve.out()).to.include('All queued alerts delivered.');
    });

    it('after SIGTERM refuses new connections, and every line it had read is delivered or dead-lettered', async () => {
      hive = await startFakeTheHive({ apiKey: 'k-full' });
      await hive.down();
      const spool = join(dir, 'spool');
      const serve = await startServe(
        { THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-full', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: spool, TRACEHIVE_MAX_PENDING: '20', TRACEHIVE_SHUTDOWN_TIMEOUT_MS: '1500', TRACEHIVE_RETRY_BASE_MS: '50', TRACEHIVE_RETRY_MAX_MS: '200', LOG_LEVEL: 'info' },
        dir,
      );
      // More than the queue holds: the rest waits in socket and line buffers when SIGTERM comes.
      const lines = detectionLines(2000);
      const socket = await connect(serve.port);
      socket.on('error', () => undefined);
      socket.write(lines.join(''));
      await waitFor('the queue to fill', () => serve.out().includes('Delivery failed'));
      serve.child.kill('SIGTERM');
      await waitFor('shutdown to start', () => serve.out().includes('Shutting down'));
      const refused = await connect(serve.port).then(
        (s) => (s.destroy(), false),
        (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED',
      );
      expect(refused, 'a new connection after SIGTERM is refused').to.equal(true);
      await hive.up();
      const code = await new Promise((r) => serve.child.once('exit', r));
      expect(code).to.equal(0);
      const deadDir = join(spool, 'dead');
      const dead = existsSync(deadDir) ? readdirSync(deadDir).flatMap((f) => readFileSync(join(deadDir, f), 'utf8').trim().split('\n')) : [];
      const logs = serve.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      // Every line the listener handed on became an alert that is in TheHive or in the dead-letter log.
      const summary = logs.find((l) => String(l['msg']).startsWith('Stopped:'));
      expect(summary, 'the shutdown summary line').to.not.equal(undefined);
      const delivered = hive.alerts.length;
      expect(summary?.['alertsQueued']).to.equal(summary?.['linesReceived']);
      expect(delivered + dead.length, `delivered ${delivered} + dead ${dead.length}`).to.equal(summary?.['alertsQueued']);
      expect(summary?.['alertsDelivered']).to.equal(delivered);
      expect(delivered + dead.length).to.be.at.least(20);
      const countsOnce = new Set([...hive.alerts.map((a) => a.sourceRef), ...dead.map((d) => (JSON.parse(d) as { alert: { sourceRef: string } }).alert.sourceRef)]);
      expect(countsOnce.size).to.equal(delivered + dead.length);
      expect(logs.filter((l) => l['level'] === 50 && String(l['msg']).startsWith('Alert dead-lettered'))).to.have.length(0);
    });

    it('stops cleanly when SIGTERM arrives while TheHive is still being checked at start-up', async () => {
      // A TCP server that accepts and never answers: the key check hangs until its timeout.
      const silent = net.createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      try {
        const port = (silent.address() as net.AddressInfo).port;
        const serve = await startServe({ THEHIVE_URL: `http://127.0.0.1:${port}`, THEHIVE_API_KEY: 'k', THEHIVE_TIMEOUT_MS: '20000', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: join(dir, 'spool') }, dir);
        const started = Date.now();
        serve.child.kill('SIGTERM');
        const code = await new Promise((r) => serve.child.once('exit', r));
        expect(code).to.equal(0);
        expect(Date.now() - started).to.be.below(5000);
      } finally {
        silent.close();
      }
    });

    it('exits 2 saying what to do when spool.dir cannot be written', async () => {
      const r = await runCli(['serve'], { cwd: dir, env: { TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: '/dev/null/spool' } });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('spool.dir').and.include('TRACEHIVE_SPOOL_DIR');
    });

    it('dead-letters what it could not deliver before the shutdown deadline, and says so', async () => {
      hive = await startFakeTheHive({ apiKey: 'k-dl' });
      await hive.down();
      const spool = join(dir, 'spool');
      const serve = await startServe({ THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-dl', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: spool, TRACEHIVE_SHUTDOWN_TIMEOUT_MS: '500' }, dir);
      await sendChunked(serve.port, detectionLines(5).join(''), 4096);
      await waitFor('lines read', () => serve.out().includes('Delivery failed'));
      serve.child.kill('SIGTERM');
      const code = await new Promise((r) => serve.child.once('exit', r));
      expect(code).to.equal(0);
      expect(serve.out()).to.include('undelivered');
      const deadDir = join(spool, 'dead');
      const dead = readdirSync(deadDir).flatMap((f) => readFileSync(join(deadDir, f), 'utf8').trim().split('\n'));
      expect(dead).to.have.length(5);
      expect(JSON.parse(dead[0] as string)).to.include.keys('reason', 'alert', 'time');
    });

    it('exits 1 with advice when the port is taken', async () => {
      const h: Harness = await startApp();
      try {
        const r = await runCli(['serve'], { cwd: dir, env: { TRACEHIVE_TCP_PORT: String(h.tcpPort), TRACEHIVE_HTTP_PORT: '0' } });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.include('EADDRINUSE').and.include('TRACEHIVE_TCP_PORT');
      } finally {
        await h.stop();
      }
    });
  });

  describe('check-config', () => {
    it('prints the effective config with the API key redacted', async () => {
      const r = await runCli(['check-config'], { cwd: dir, env: { THEHIVE_URL: 'https://thehive.example.org', THEHIVE_API_KEY: 'S3CRET-KEY-XYZ' } });
      expect(r.code).to.equal(0);
      expect(r.stdout).to.not.include('S3CRET-KEY-XYZ');
      const config = JSON.parse(r.stdout) as { thehive: { apiKey: string; url: string }; tcp: { port: number } };
      expect(config.thehive.apiKey).to.equal('[redacted]');
      expect(config.tcp.port).to.equal(9998);
    });

    it('exits 2 naming the key and its environment variable for a bad value', async () => {
      const r = await runCli(['check-config'], { cwd: dir, env: { TRACEHIVE_TCP_PORT: '70000' } });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('tcp.port').and.include('TRACEHIVE_TCP_PORT');
    });

    it('exits 2 naming an unknown key of a config file', async () => {
      const file = join(dir, 'bad.json');
      await writeFile(file, JSON.stringify({ tcp: { prot: 9000 } }));
      const r = await runCli(['check-config', '--config', file], { cwd: dir });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('tcp.prot').and.include('unknown key');
    });

    it('exits 2 for a bad TheHive URL and for a URL without an API key', async () => {
      const bad = await runCli(['check-config'], { cwd: dir, env: { THEHIVE_URL: 'ftp://x' } });
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.include('thehive.url');
      const noKey = await runCli(['check-config'], { cwd: dir, env: { THEHIVE_URL: 'https://thehive.example.org' } });
      expect(noKey.code).to.equal(2);
      expect(noKey.stderr).to.include('THEHIVE_API_KEY');
    });

    it('exits 2 for a config file that is not JSON, saying which file', async () => {
      const file = join(dir, 'broken.json');
      await writeFile(file, '{ "tcp": ');
      const r = await runCli(['check-config', '--config', file], { cwd: dir });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('broken.json').and.include('not valid JSON');
    });
  });

  describe('map', () => {
    it('prints one alert per detection line and reports rejected lines by line number', async () => {
      const input = [detectionLine(0), 'Ip=192.0.2.100 Geo=ru,br', detectionLine(1), 'LookupFinished', ''].join('\n');
      const r = await runCli(['map'], { cwd: dir, input });
      expect(r.code).to.equal(0);
      const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { title: string });
      expect(alerts).to.have.length(2);
      expect(r.stderr).to.match(/^line 2: ERR_KV_NO_CATEGORY: /m);
      expect(r.stderr).to.include('4 lines: 2 alerts, 0 service alerts (logged only: alert.serviceAlerts=log), 1 LookupFinished, 1 rejected.');
    });

    it('makes alerts of service alerts when TRACEHIVE_SERVICE_ALERTS=alert', async () => {
      const input = 'Oct 12 07:31:02 alert=KL_ALERT_FailedToUpdateFeed feed=IP_Reputation_Data_Feed.json error=Error while applying feed\n';
      const quiet = await runCli(['map'], { cwd: dir, input });
      expect(quiet.stdout).to.equal('');
      expect(quiet.stderr).to.include('1 service alerts (logged only');
      const loud = await runCli(['map'], { cwd: dir, input, env: { TRACEHIVE_SERVICE_ALERTS: 'alert' } });
      const alert = JSON.parse(loud.stdout) as { type: string; severity: number; tags: string[] };
      expect(alert.type).to.equal('cybertrace-service');
      expect(alert.severity).to.equal(2);
      expect(alert.tags).to.include('alert:KL_ALERT_FailedToUpdateFeed');
    });
  });

  describe('map (bad input)', () => {
    it('exits 2 naming a capture file it cannot read', async () => {
      const r = await runCli(['map', join(dir, 'missing.log')], { cwd: dir });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('missing.log').and.include('ENOENT');
    });
  });

  describe('replay', () => {
    it('sends a capture file to a listener over several connections and prints a summary', async () => {
      const h = await startApp();
      try {
        const capture = join(dir, 'capture.log');
        await writeFile(capture, detectionLines(300).join(''));
        const r = await runCli(['replay', capture, '--port', String(h.tcpPort), '--connections', '3']);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.match(/300 lines/);
        await waitFor('300 alerts', () => existsSync(h.app.config.file.path) && readFileSync(h.app.config.file.path, 'utf8').trim().split('\n').length === 300);
      } finally {
        await h.stop();
      }
    });

    it('exits 1 with a hint when nothing listens', async () => {
      const capture = join(dir, 'capture.log');
      await writeFile(capture, detectionLines(1).join(''));
      const r = await runCli(['replay', capture, '--port', '1']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('ECONNREFUSED');
    });

    it('exits 2 naming a capture file it cannot read', async () => {
      const r = await runCli(['replay', join(dir, 'nope.log'), '--port', '1']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('nope.log').and.include('ENOENT');
    });

    it('exits 2 for a bad option', async () => {
      const r = await runCli(['replay', 'x', '--rate', 'fast']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('--rate');
    });
  });
});
