/**
 * The `tracehive` command as operators run it: a real child process, real signals,
 * real exit codes and messages.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { connect, sendChunked, startApp, waitFor, type Harness } from '../support/harness.js';
import { detectionLine, detectionLines } from '../support/lines.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { startServeProcess } from '../support/serve-process.js';

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
      const serve = await startServeProcess({}, dir, { configuredPorts: true });
      expect(serve.tcpPort).to.equal(9998);
      await sendChunked(9998, detectionLines(3).join(''), 4096);
      const file = join(dir, 'data', 'alerts.ndjson');
      await waitFor('3 alerts in data/alerts.ndjson', () => existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').length === 3);
      serve.child.kill('SIGTERM');
      const code = await serve.exited;
      expect(code).to.equal(0);
    });

    it('on SIGTERM stops accepting and delivers the queued alerts before exiting 0', async () => {
      hive = await startFakeTheHive({ apiKey: 'k-drain' });
      const serve = await startServeProcess(
        { THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-drain', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_RATE_PER_SEC: '20', TRACEHIVE_SHUTDOWN_TIMEOUT_MS: '10000' },
        dir,
      );
      const lines = detectionLines(30);
      await sendChunked(serve.tcpPort, lines.join(''), 4096);
      await waitFor('first alert', () => hive!.alerts.length > 0);
      serve.child.kill('SIGTERM');
      const code = await serve.exited;
      expect(code).to.equal(0);
      expect(hive.alerts).to.have.length(30);
      expect(serve.out()).to.include('All accepted alerts delivered.');
    });

    it('after SIGTERM refuses new connections; every line it had read is delivered or in the spool, and sent after restart', async () => {
      hive = await startFakeTheHive({ apiKey: 'k-full' });
      await hive.down();
      const spool = join(dir, 'spool');
      const env = { THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-full', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: spool, TRACEHIVE_MAX_PENDING: '20', TRACEHIVE_RATE_PER_SEC: '0', TRACEHIVE_SHUTDOWN_TIMEOUT_MS: '1500', TRACEHIVE_RETRY_BASE_MS: '50', TRACEHIVE_RETRY_MAX_MS: '200', LOG_LEVEL: 'info' };
      const serve = await startServeProcess(env, dir);
      const lines = detectionLines(2000);
      const socket = await connect(serve.tcpPort);
      socket.on('error', () => undefined);
      socket.write(lines.join(''));
      await waitFor('deliveries failing', () => serve.out().includes('Delivery failed'));
      serve.child.kill('SIGTERM');
      await waitFor('shutdown to start', () => serve.out().includes('Shutting down'));
      const refused = await connect(serve.tcpPort).then(
        (s) => (s.destroy(), false),
        (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED',
      );
      expect(refused, 'a new connection after SIGTERM is refused').to.equal(true);
      const code = await serve.exited;
      expect(code).to.equal(0);
      const logs = serve.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const summary = logs.find((l) => String(l['msg']).startsWith('Stopped:'));
      expect(summary, 'the shutdown summary line').to.not.equal(undefined);
      // Every line the listener handed on was accepted into the spool and is still there: TheHive was down.
      expect(summary?.['accepted']).to.equal(summary?.['linesReceived']);
      expect(summary?.['committed']).to.equal(summary?.['accepted']);
      expect(summary?.['spooled']).to.equal(summary?.['accepted']);
      expect(summary?.['alertsDead']).to.equal(0);
      // The next start sends every one of them, once.
      await hive.up();
      const again = await startServeProcess(env, dir);
      await waitFor('every accepted line in TheHive', () => hive!.alerts.length === summary?.['accepted'], 20000);
      expect(new Set(hive.alerts.map((a) => a.sourceRef)).size).to.equal(hive.alerts.length);
      again.child.kill('SIGTERM');
      expect(await again.exited).to.equal(0);
    });

    it('stops cleanly when SIGTERM arrives while TheHive is still being checked at start-up', async () => {
      // A TCP server that accepts and never answers: the key check hangs until its timeout.
      const silent = net.createServer(() => undefined);
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
      try {
        const port = (silent.address() as net.AddressInfo).port;
        const serve = await startServeProcess({ THEHIVE_URL: `http://127.0.0.1:${port}`, THEHIVE_API_KEY: 'k', THEHIVE_TIMEOUT_MS: '20000', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: join(dir, 'spool') }, dir);
        const started = Date.now();
        serve.child.kill('SIGTERM');
        const code = await serve.exited;
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

    it('leaves in the spool what it could not deliver before the shutdown deadline, and says so', async () => {
      hive = await startFakeTheHive({ apiKey: 'k-dl' });
      await hive.down();
      const spool = join(dir, 'spool');
      const serve = await startServeProcess({ THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-dl', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: spool, TRACEHIVE_SHUTDOWN_TIMEOUT_MS: '500' }, dir);
      await sendChunked(serve.tcpPort, detectionLines(5).join(''), 4096);
      await waitFor('lines read', () => serve.out().includes('Delivery failed'));
      serve.child.kill('SIGTERM');
      const code = await serve.exited;
      expect(code).to.equal(0);
      expect(serve.out()).to.include('Undelivered alerts stay in the spool and are sent at the next start.');
      expect(existsSync(join(spool, 'dead')), 'nothing dead-lettered').to.equal(false);
      const stats = await runCli(['spool', 'stats', '--json'], { cwd: dir, env: { TRACEHIVE_SPOOL_DIR: spool } });
      expect(stats.code).to.equal(0);
      expect((JSON.parse(stats.stdout) as { queue: { records: number } }).queue.records).to.equal(5);
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

  describe('spool', () => {
    let hive: FakeTheHive | undefined;
    afterEach(async () => {
      await hive?.close();
      hive = undefined;
    });

    it('stats and requeue-dead while serve runs: a rejected alert goes to dead/, comes back after the fix and reaches TheHive', async () => {
      hive = await startFakeTheHive({ apiKey: 'k-rq' });
      // A validation error TheHive gives for good (here: until the operator fixes the cause).
      hive.fault({ kind: 'status', status: 400, body: { type: 'BadRequest', message: 'Invalid value for custom field' } }, 3);
      const spool = join(dir, 'spool');
      const env = { THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-rq', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: spool, TRACEHIVE_CONCURRENCY: '1', LOG_LEVEL: 'info' };
      const serve = await startServeProcess(env, dir);
      await sendChunked(serve.tcpPort, detectionLines(5).join(''), 4096);
      await waitFor('2 delivered, 3 dead-lettered', () => hive!.alerts.length === 2 && serve.out().split('Alert dead-lettered').length === 4);
      const stats = await runCli(['spool', 'stats'], { cwd: dir, env: { TRACEHIVE_SPOOL_DIR: spool } });
      expect(stats.code).to.equal(0);
      expect(stats.stdout).to.match(/dead: +3 alerts in 1 files \(3 ERR_SINK_REJECTED\)/);
      expect(stats.stdout).to.match(/queue: +0 alerts waiting/);
      expect(stats.stdout).to.include('tracehive spool requeue-dead');
      const requeue = await runCli(['spool', 'requeue-dead'], { cwd: dir, env: { TRACEHIVE_SPOOL_DIR: spool } });
      expect(requeue.code).to.equal(0);
      expect(requeue.stdout).to.include('tracehive serve is running on this spool');
      await waitFor('the requeued alerts in TheHive', () => hive!.alerts.length === 5, 15000);
      expect(serve.out()).to.include('Dead letters requeued');
      const after = JSON.parse((await runCli(['spool', 'stats', '--json'], { cwd: dir, env: { TRACEHIVE_SPOOL_DIR: spool } })).stdout) as { dead: { total: number } };
      expect(after.dead.total).to.equal(0);
      serve.child.kill('SIGTERM');
      expect(await serve.exited).to.equal(0);
    });

    it('requeue-dead without a running serve puts the alerts in the spool for its next start', async () => {
      const spool = join(dir, 'spool');
      await mkdir(join(spool, 'dead'), { recursive: true });
      const alert = (ref: string): object => ({ type: 'cybertrace', source: 'CyberTrace', sourceRef: ref, title: `t ${ref}`, description: 'd', severity: 2, date: 1, tags: [], tlp: 2, pap: 2, observables: [] });
      const entry = (ref: string): string => JSON.stringify({ time: '2026-11-20T10:00:00.000Z', reason: 'ERR_SINK_REJECTED: HTTP 400', status: 400, body: '{}', attempts: 1, alert: alert(ref) });
      await writeFile(join(spool, 'dead', 'dead-2026-11-20.ndjson'), `${entry('ct-aaa')}\n${entry('ct-bbb')}\nnot a dead letter\n`);
      const event = { sourceRef: 'ct-ccc', title: 'critical', severity: 4, previousSeverity: null, sightings: 1, firstSeen: 1, lastSeen: 1, organisation: '', iocs: [] };
      await writeFile(join(spool, 'dead', 'notify-2026-11-20.ndjson'), `${JSON.stringify({ version: 1, time: '2026-11-20T10:00:00.000Z', kind: 'notification', key: 'k', channel: 'mail', reason: 'ERR_NOTIFY_ATTEMPTS: down', status: null, attempts: 16, event })}\n`);
      const r = await runCli(['spool', 'requeue-dead'], { cwd: dir, env: { TRACEHIVE_SPOOL_DIR: spool } });
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/^Requeued 2 alerts and 1 notifications from 2 files; 1 lines were no dead letters/);
      // The notification waits in the outbox for serve's next start.
      expect(await readdir(join(spool, 'notify'))).to.have.length(1);
      const stats = JSON.parse((await runCli(['spool', 'stats', '--json'], { cwd: dir, env: { TRACEHIVE_SPOOL_DIR: spool } })).stdout) as { queue: { records: number }; dead: { total: number } };
      expect(stats.queue.records).to.equal(2);
      expect(stats.dead.total).to.equal(0);
      hive = await startFakeTheHive({ apiKey: 'k-next' });
      const serve = await startServeProcess({ THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-next', TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: spool }, dir);
      await waitFor('both requeued alerts in TheHive', () => hive!.alerts.length === 2);
      expect(hive.alerts.map((a) => a.sourceRef).sort()).to.deep.equal(['ct-aaa', 'ct-bbb']);
      serve.child.kill('SIGTERM');
      await serve.exited;
    });

    it('refuses a second serve on the same spool, naming the pid of the first', async () => {
      const spool = join(dir, 'spool');
      const first = await startServeProcess({ TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: spool, TRACEHIVE_FILE_PATH: join(dir, 'a.ndjson') }, dir);
      const second = await runCli(['serve'], { cwd: dir, env: { TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0', TRACEHIVE_SPOOL_DIR: spool } });
      expect(second.code).to.equal(2);
      expect(second.stderr).to.include(String(first.child.pid)).and.include('TRACEHIVE_SPOOL_DIR');
      first.child.kill('SIGTERM');
      await first.exited;
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
