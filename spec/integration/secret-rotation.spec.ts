/**
 * Rotating TheHive's API key without a restart (issue 17): a real `tracehive serve` reads the key
 * from THEHIVE_API_KEY_FILE; the file and the stand-in TheHive's key change while detections keep
 * arriving, SIGHUP, and every detection becomes one alert: none lost, none dead-lettered, the
 * process never restarted, no key in its output. Also: a file that went bad on SIGHUP keeps the
 * key in use, and `check-config` refuses a key given twice with exit 2.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Socket } from 'node:net';
import { connect, endSocket, sleep, waitFor } from '../support/harness.js';
import { detectionLine } from '../support/lines.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

/** Writes one detection every few milliseconds until stopped: CyberTrace, steadily. */
class Feed {
  sent = 0;
  #stopped = false;
  readonly #done: Promise<void>;
  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
    this.#done = (async () => {
      while (!this.#stopped) {
        if (!socket.write(`${detectionLine(this.sent)}\n`)) await new Promise((r) => socket.once('drain', r));
        this.sent++;
        await sleep(5);
      }
    })();
  }

  async stop(): Promise<number> {
    this.#stopped = true;
    await this.#done;
    await endSocket(this.socket);
    return this.sent;
  }
}

describe('secret files: rotating the TheHive API key on SIGHUP', function () {
  this.timeout(60000);
  let dir: string;
  let keyFile: string;
  let hive: FakeTheHive;
  let serve: ServeProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-rotate-'));
    keyFile = join(dir, 'thehive-api-key');
    await writeFile(keyFile, 'key-one-0123456789\n', { mode: 0o600 });
    hive = await startFakeTheHive({ apiKey: 'key-one-0123456789' });
  });
  afterEach(async () => {
    if (serve && serve.child.exitCode === null) {
      serve.child.kill('SIGKILL');
      await serve.exited;
    }
    serve = undefined;
    await hive.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<ServeProcess> =>
    (serve = await startServeProcess({ THEHIVE_URL: hive.url, THEHIVE_API_KEY_FILE: keyFile, THEHIVE_API: 'v1', TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_RATE_PER_SEC: '0', TRACEHIVE_AUTH_RETRY_MS: '100', TRACEHIVE_RETRY_BASE_MS: '50', TRACEHIVE_RETRY_MAX_MS: '200' }, dir));

  it('swaps the key in the running client: alerts keep flowing with the new key, none lost', async () => {
    const s = await start();
    const feed = new Feed(await connect(s.tcpPort));
    await waitFor('alerts with the first key', () => hive.alerts.length >= 20);
    // TheHive's key is rotated first (as an admin does), then the file: requests between get 401.
    hive.setApiKey('key-two-9876543210');
    await waitFor('TheHive refusing the old key', () => hive.requests.some((r) => r.status === 401));
    await writeFile(keyFile, 'key-two-9876543210\n');
    const before = hive.alerts.length;
    s.child.kill('SIGHUP');
    await waitFor('the key replaced', () => s.out().includes('TheHive API key replaced from its file'));
    await waitFor('alerts with the new key', () => hive.alerts.length >= before + 20, 20000);
    const sent = await feed.stop();
    await waitFor(`all ${sent} detections in TheHive`, () => hive.alerts.length === sent, 20000);
    expect(new Set(hive.alerts.map((a) => a.sourceRef)).size, 'each detection once').to.equal(sent);
    expect(s.child.exitCode, 'still the same process').to.equal(null);
    expect(await s.metric('tracehive_alerts_dead_total')).to.satisfy((n: number) => Number.isNaN(n) || n === 0);
    const reload = s.logs().find((l) => l['msg'] === 'SIGHUP: secret files read again.');
    expect(reload?.['replaced']).to.deep.equal(['thehive.apiKey']);
    s.child.kill('SIGTERM');
    expect(await s.exited).to.equal(0);
    expect(s.out()).to.not.include('key-one-0123456789').and.not.include('key-two-9876543210');
  });

  it('keeps the key in use when the file is empty at SIGHUP, and says so', async () => {
    const s = await start();
    await writeFile(keyFile, '');
    s.child.kill('SIGHUP');
    await waitFor('the error logged', () => s.out().includes('ERR_CONFIG_SECRET_FILE'));
    const error = s.logs().find((l) => l['code'] === 'ERR_CONFIG_SECRET_FILE');
    expect(String(error?.['msg'])).to.include(`thehive.apiKeyFile ${keyFile} is empty`).and.include('The secret in use is kept');
    const feed = new Feed(await connect(s.tcpPort));
    await waitFor('alerts with the kept key', () => hive.alerts.length >= 5);
    const sent = await feed.stop();
    await waitFor(`all ${sent} detections in TheHive`, () => hive.alerts.length === sent, 20000);
    s.child.kill('SIGTERM');
    expect(await s.exited).to.equal(0);
  });

  it('check-config exits 2 when the key is given both as a value and as a file, naming both', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [resolve('dist/src/cli.js'), 'check-config'], { cwd: dir, env: { PATH: process.env['PATH'] ?? '', THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'value-key-555', THEHIVE_API_KEY_FILE: keyFile } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => done({ code, stderr }));
    });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('thehive.apiKey (THEHIVE_API_KEY) and thehive.apiKeyFile (THEHIVE_API_KEY_FILE) are both set');
    expect(result.stderr).to.not.include('value-key-555').and.not.include('key-one-0123456789');
  });
});
