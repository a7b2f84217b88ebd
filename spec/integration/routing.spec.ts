/**
 * Routing to several TheHive targets end to end (issue 14, point 2): a real `tracehive serve`, two
 * stand-in TheHives (thehive.url's, and tenant-b's with its own key and organisation), a rule that
 * sends phishing to tenant-b. While tenant-b's TheHive is down, the other target's alerts must
 * still be delivered at once and input must stay open; once it is back, tenant-b gets every alert
 * it missed, once. Past its share of the spool, tenant-b's backlog goes to its own dead letters
 * (ERR_TARGET_BACKLOG) and comes back with `spool requeue-dead`.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, connect, endSocket, waitFor } from '../support/harness.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { requestRequeue } from '../../src/queue/requeue.js';

const phish = (i: number): string => `Oct 12 16:15:${String(i % 60).padStart(2, '0')} category=KL_Phishing_URL matchedIndicator=phish-${i}.example.test url=http://phish-${i}.example.test/login src=10.20.3.${i % 250} usrName=user${i}`;
const malware = (i: number): string => `Oct 12 16:17:${String(i % 60).padStart(2, '0')} category=KL_Malicious_URL matchedIndicator=bad-${i}.example.test src=10.20.1.${i % 250}`;

/** The value of one series of a metric on /metrics, or NaN. */
async function series(serve: ServeProcess, name: string, target: string): Promise<number> {
  const { body } = await admin(serve.httpPort, '/metrics');
  const m = new RegExp(`^${name}\\{target="${target}"\\} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : NaN;
}

describe('routing to several TheHive targets (issue 14)', function () {
  this.timeout(90_000);
  let a: FakeTheHive;
  let b: FakeTheHive;
  let dir: string;
  let serve: ServeProcess | undefined;

  const start = async (target: Record<string, unknown>, env: Record<string, string> = {}): Promise<ServeProcess> => {
    const config = join(dir, 'routing.json');
    await writeFile(
      config,
      JSON.stringify({
        alert: { rules: [{ name: 'tenant-b phishing', match: { category: '*_Phishing_*' }, set: { target: 'tenant-b' } }] },
        thehive: { targets: { 'tenant-b': { url: b.url, apiKey: 'key-b', organisation: 'tenant-b', api: 'v1', ...target } } },
      }),
    );
    return startServeProcess({ TRACEHIVE_CONFIG: config, THEHIVE_URL: a.url, THEHIVE_API_KEY: 'key-a', THEHIVE_ORG: 'soc', THEHIVE_API: 'v1', TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_RATE_PER_SEC: '0', TRACEHIVE_RETRY_MAX_MS: '500', ...env }, dir);
  };
  const send = async (lines: readonly string[]): Promise<void> => {
    const socket = await connect((serve as ServeProcess).tcpPort);
    socket.write(`${lines.join('\n')}\n`);
    await endSocket(socket);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-routing-'));
    a = await startFakeTheHive({ apiKey: 'key-a', organisation: 'soc' });
    b = await startFakeTheHive({ apiKey: 'key-b', organisation: 'tenant-b' });
  });

  afterEach(async () => {
    serve?.child.kill('SIGTERM');
    await serve?.exited;
    serve = undefined;
    await Promise.all([a.close(), b.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps delivering to one target while the other’s TheHive is down, then gives the other everything it missed, once', async () => {
    // With the alert lifecycle on: each target keeps its own alert state.
    serve = await start({}, { TRACEHIVE_ALERT_UPDATE_WINDOW_MS: '60000', TRACEHIVE_ALERT_UPDATE_FLUSH_MS: '200' });
    await waitFor('both key checks', async () => (await admin(serve!.httpPort, '/readyz/delivery')).status === 200);
    await b.down();
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) lines.push(phish(i), malware(i));
    await send(lines);
    await waitFor('the 30 alerts of thehive.url in its TheHive', () => a.alerts.length === 30, 20_000);
    expect(b.alerts).to.have.length(0);
    expect(a.alerts.every((x) => x.organisation === 'soc' && x.title.includes('bad-'))).to.equal(true);
    // Input stays open; delivery names the target that is down.
    expect((await admin(serve.httpPort, '/readyz')).status).to.equal(200);
    await waitFor('tenant-b not ready', async () => (await series(serve!, 'tracehive_target_ready', 'tenant-b')) === 0, 20_000);
    const delivery = await admin(serve.httpPort, '/readyz/delivery');
    expect(delivery.status).to.equal(503);
    expect(delivery.body).to.include('tenant-b:');
    expect(await series(serve, 'tracehive_target_ready', 'default')).to.equal(1);
    // More input meanwhile reaches thehive.url's TheHive at once.
    await send([malware(100)]);
    await waitFor('the next alert of thehive.url', () => a.alerts.length === 31, 10_000);

    await b.up();
    await waitFor('tenant-b’s 30 alerts', () => b.alerts.length === 30, 30_000);
    expect(b.alerts.every((x) => x.organisation === 'tenant-b' && x.title.includes('phish-'))).to.equal(true);
    expect([...b.countBySourceRef().values()].every((n) => n === 1)).to.equal(true);
    expect([...a.countBySourceRef().values()].every((n) => n === 1)).to.equal(true);
    await waitFor('the spool empty', async () => (await serve!.metric('tracehive_spool_records')) === 0, 10_000);
    // Each target's lifecycle state lives apart: tenant-b's under spool.dir/targets.
    expect(await readdir(join(dir, 'spool', 'targets', 'tenant-b', 'alerts'))).to.not.have.length(0);
  });

  it('puts a target’s backlog over its share of the spool in its own dead letters, keeps the other target going, and requeues it once it is back', async () => {
    serve = await start({ spoolMaxBytes: 2048, maxPending: 4 });
    await waitFor('both key checks', async () => (await admin(serve!.httpPort, '/readyz/delivery')).status === 200);
    await b.down();
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push(phish(i), malware(i));
    await send(lines);
    await waitFor('thehive.url’s 40 alerts', () => a.alerts.length === 40, 20_000);
    await waitFor('tenant-b over its share', async () => (await series(serve!, 'tracehive_target_overflow', 'tenant-b')) === 1, 20_000);
    const deadDir = join(dir, 'spool', 'dead');
    await waitFor('tenant-b’s dead letters', async () => (await readdir(deadDir).catch(() => [])).some((n) => n.startsWith('dead.tenant-b-')), 10_000);
    const file = (await readdir(deadDir)).find((n) => n.startsWith('dead.tenant-b-')) as string;
    const dead = (await readFile(join(deadDir, file), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { reason: string; alert: { title: string } });
    expect(dead.length).to.be.at.least(1);
    expect(dead.every((d) => d.reason.startsWith('ERR_TARGET_BACKLOG:') && d.alert.title.includes('phish-'))).to.equal(true);
    expect((await admin(serve.httpPort, '/readyz')).status, 'input stays open').to.equal(200);
    // Nothing of thehive.url's target is in tenant-b's dead letters, and no dead letter of its own.
    expect((await readdir(deadDir)).filter((n) => n.startsWith('dead-'))).to.deep.equal([]);

    await b.up();
    await waitFor('tenant-b delivers again, back under its share', async () => (await series(serve!, 'tracehive_target_overflow', 'tenant-b')) === 0, 30_000);
    await requestRequeue(join(dir, 'spool'), []);
    await waitFor('every phish in tenant-b’s TheHive', () => b.alerts.length === 40, 30_000);
    expect([...b.countBySourceRef().values()].every((n) => n === 1)).to.equal(true);
    expect(b.alerts.every((x) => x.organisation === 'tenant-b')).to.equal(true);
  });
});
