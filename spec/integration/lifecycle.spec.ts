/**
 * The alert lifecycle end to end (issue 12): a real `tracehive serve`, real sockets, `kill -9`, and
 * the stand-in TheHive 5 and 4 (thehive-api §7.2) an analyst acts on. Repeats of a detection update
 * one open alert with an exact sighting count; an alert imported into a case, closed or deleted
 * makes the next sighting a new alert; a 403 is never a reason to create one.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, connect, endSocket, sleep, waitFor } from '../support/harness.js';
import { startFakeTheHive, type FakeTheHive, type StoredAlert } from '../support/fake-thehive.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const KEY = 'k-lifecycle';
const HOUR_START = Date.UTC(2026, 9, 12, 16, 0, 0);

/** `%Date%` as CyberTrace writes it (`Oct 12 16:18:20`) for `ms`. */
function syslogDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `Oct ${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** Detection `n` (0-based) of indicator `k`: the same feed record, its own second of the hour and source. */
function sightingLine(k: number, n: number): string {
  const host = `evil${k}.example-bad.test`;
  const at = HOUR_START + n * 18_000; // 200 sightings spread over an hour
  return `${syslogDate(at)} category=KL_Malicious_URL matchedIndicator=${host} url=http://${host}/p src=10.1.${n >> 8}.${n & 255} ip=- md5=- sha1=- sha256=- usrName=user${n % 7} mask=${host} type=1 first_seen=10.07.2015 23:53 popularity=5 threat=HEUR:Trojan.Script.Generic\n`;
}

/** `perKey` sightings of each of `keys` indicators, interleaved as a feed would send them. */
function stream(keys: number, perKey: number, from = 0): string[] {
  const lines: string[] = [];
  for (let n = from; n < from + perKey; n++) for (let k = 0; k < keys; k++) lines.push(sightingLine(k, n));
  return lines;
}

async function send(port: number, lines: readonly string[]): Promise<void> {
  const socket = await connect(port);
  for (let i = 0; i < lines.length; i += 500) {
    if (!socket.write(lines.slice(i, i + 500).join(''))) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await endSocket(socket);
}

const sightingsOf = (a: StoredAlert): number => Number(/\((\d+) sightings\)$/.exec(a.title)?.[1] ?? 1);

describe('alert lifecycle end to end (issue 12)', function () {
  this.timeout(240_000);
  let dir: string;
  let hive: FakeTheHive;
  const started: ServeProcess[] = [];

  async function setUp(version: 4 | 5 = 5): Promise<void> {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-lifecycle-'));
    hive = await startFakeTheHive({ apiKey: KEY, version });
  }

  afterEach(async () => {
    for (const s of started.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await hive?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(extra: Record<string, string> = {}): Promise<ServeProcess> {
    const s = await startServeProcess(
      {
        THEHIVE_URL: hive.url,
        THEHIVE_API_KEY: KEY,
        TRACEHIVE_SPOOL_DIR: join(dir, 'spool'),
        TRACEHIVE_RETRY_BASE_MS: '50',
        TRACEHIVE_RETRY_MAX_MS: '500',
        TRACEHIVE_AUTH_RETRY_MS: '300',
        TRACEHIVE_ALERT_UPDATE_WINDOW_MS: '86400000',
        TRACEHIVE_ALERT_UPDATE_FLUSH_MS: '1000',
        ...extra,
      },
      dir,
    );
    started.push(s);
    return s;
  }

  async function kill(s: ServeProcess): Promise<void> {
    s.child.kill('SIGKILL');
    await s.exited;
  }

  /** Waits until the spool holds nothing unacknowledged and the alerts say `perKey` sightings each. */
  async function settled(s: ServeProcess, keys: number, perKey: number, timeoutMs = 120_000): Promise<void> {
    await waitFor(`${keys} alerts of ${perKey} sightings`, async () => hive.alerts.length >= keys && hive.alerts.every((a) => sightingsOf(a) === perKey) && (await s.metric('tracehive_spool_records')) === 0, timeoutMs);
  }

  it('10,000 detections of 50 indicators, each sent twice, kill -9 halfway, TheHive down for 3 s: 50 alerts, each of exactly 200 sightings', async () => {
    await setUp();
    const lines = stream(50, 200);
    const twice = [...lines, ...lines];
    const first = await serve();
    await send(first.tcpPort, twice.slice(0, lines.length));
    await waitFor('some alerts created and updated', () => hive.alerts.length === 50 && hive.alerts.some((a) => sightingsOf(a) > 1), 60_000);
    await kill(first);
    const second = await serve();
    const sending = send(second.tcpPort, twice);
    // A TheHive outage in the middle of it: sightings wait in the spool, input goes on.
    await sleep(300);
    await hive.down();
    await sleep(3000);
    expect((await admin(second.httpPort, '/readyz')).status).to.equal(200);
    await hive.up();
    await sending;
    await settled(second, 50, 200);
    expect(hive.alerts).to.have.length(50);
    expect([...hive.countBySourceRef().values()].every((n) => n === 1)).to.equal(true);
    for (const a of hive.alerts) {
      expect(a.title).to.match(/^Malicious URL.* \(200 sightings\)$/);
      expect(a.description).to.contain('200 sightings of');
      expect(a.sourceRef).to.match(/^ct-k[0-9a-f]+$/);
    }
    const requests = hive.requests.length;
    console.log(`      (${requests} requests to TheHive for ${twice.length + lines.length / 2} lines sent, ${lines.length} distinct detections: ${(requests / lines.length).toFixed(4)} per detection)`);
    expect(requests / lines.length).to.be.below(0.1);
    expect(await second.metric('tracehive_alerts_dead_total')).to.satisfy((n: number) => Number.isNaN(n) || n === 0);
  });

  it('a TheHive outage in the middle: sightings wait in the spool and arrive as updates, counts exact, nothing dead', async () => {
    await setUp();
    const s = await serve();
    await send(s.tcpPort, stream(10, 20));
    await settled(s, 10, 20);
    await hive.down();
    await send(s.tcpPort, stream(10, 30, 20));
    await sleep(2500);
    expect(hive.alerts.every((a) => sightingsOf(a) === 20)).to.equal(true);
    const ready = await admin(s.httpPort, '/readyz');
    expect(ready.status).to.equal(200); // input is still accepted: the spool holds what waits
    await hive.up();
    await settled(s, 10, 50);
    expect(hive.alerts).to.have.length(10);
  });

  it('an alert imported into a case, closed or deleted: the next sighting opens a new alert that links it, across a kill -9', async () => {
    await setUp();
    const s = await serve();
    await send(s.tcpPort, stream(3, 3));
    await settled(s, 3, 3);
    const byKey = (k: number): StoredAlert => hive.alerts.find((a) => a.title.includes(`evil${k}.`)) as StoredAlert;
    const [imported, closed, deleted] = [byKey(0), byKey(1), byKey(2)];
    hive.importIntoCase(imported.sourceRef);
    hive.closeAlert(closed.sourceRef);
    const deletedId = deleted._id;
    hive.deleteAlert(deleted.sourceRef);
    await kill(s);
    const again = await serve();
    await send(again.tcpPort, stream(3, 2, 3));
    await waitFor('three second-generation alerts', () => hive.alerts.filter((a) => a.sourceRef.endsWith('-2')).length === 3, 30_000);
    await waitFor('the spool drained', async () => (await again.metric('tracehive_spool_records')) === 0, 30_000);
    for (const [old, id] of [[imported, imported._id], [closed, closed._id], [deleted, deletedId]] as const) {
      const next = hive.alert(`${old.sourceRef}-2`) as StoredAlert;
      expect(next, old.sourceRef).to.not.equal(undefined);
      expect(sightingsOf(next)).to.equal(2);
      expect(next.description).to.contain(`Follows alert \`${id}\``);
    }
    expect(sightingsOf(hive.alert(imported.sourceRef) as StoredAlert)).to.equal(3); // the case's alert is left alone
    expect(hive.alert(closed.sourceRef)?.stage).to.equal('Closed');
  });

  it('state lost (its file removed while serve was down): the next sighting finds the open alert by its sourceRef and updates it, no second alert', async () => {
    await setUp();
    const first = await serve();
    await send(first.tcpPort, stream(2, 3));
    await settled(first, 2, 3);
    await kill(first);
    await rm(join(dir, 'spool', 'alerts'), { recursive: true, force: true });
    const again = await serve();
    await send(again.tcpPort, stream(2, 2, 3));
    await waitFor('both alerts updated', async () => hive.alerts.every((a) => a.title.endsWith('sightings)') && a._updatedAt !== undefined && a.description.includes('10.1.0.4')) && (await again.metric('tracehive_spool_records')) === 0, 30_000);
    expect(hive.alerts).to.have.length(2);
    const exists = hive.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/alert' && r.status === 400);
    expect(exists).to.have.length(2); // each key's create met "already exists" and found its alert
  });

  it('a 403 is a permission problem: not ready, retried, and never a second alert', async () => {
    await setUp();
    const s = await serve();
    await send(s.tcpPort, stream(1, 2));
    await settled(s, 1, 2);
    hive.faultAny({ kind: 'status', status: 403, body: { type: 'AuthorizationError', message: 'Operation not permitted' } }, 4);
    await send(s.tcpPort, stream(1, 1, 2));
    await waitFor('delivery not ready on the 403', async () => (await admin(s.httpPort, '/readyz/delivery')).status === 503, 20_000);
    await settled(s, 1, 3);
    expect(hive.alerts).to.have.length(1);
    expect(hive.requests.filter((r) => r.status === 403).length).to.equal(4);
  });

  it('with TheHive’s webhooks configured: no GET per flush, and a close event makes the next sighting a new alert', async () => {
    await setUp();
    const s = await serve({ TRACEHIVE_HTTP_THEHIVE_WEBHOOK_TOKEN: 'hook-token' });
    await send(s.tcpPort, stream(1, 2));
    await settled(s, 1, 2);
    await send(s.tcpPort, stream(1, 2, 2));
    await settled(s, 1, 4);
    expect(hive.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/alert/')).length).to.equal(0);
    const alert = hive.alerts[0] as StoredAlert;
    hive.closeAlert(alert.sourceRef);
    const event = { operation: 'update', objectType: 'Alert', objectId: alert._id, object: { _id: alert._id, sourceRef: alert.sourceRef, title: alert.title, severity: alert.severity, status: 'FalsePositive', stage: 'Closed' } };
    const posted = await fetch(`http://127.0.0.1:${s.httpPort}/webhooks/thehive`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer hook-token' }, body: JSON.stringify(event) });
    expect(posted.status).to.equal(200);
    await send(s.tcpPort, stream(1, 1, 4));
    await waitFor('the next alert', () => hive.alert(`${alert.sourceRef}-2`) !== undefined, 20_000);
    expect(hive.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/alert/')).length).to.equal(0);
    expect(sightingsOf(hive.alert(alert.sourceRef) as StoredAlert)).to.equal(4);
  });

  it('TheHive 4 (thehive.api auto): the same updates through the v0 API', async () => {
    await setUp(4);
    const s = await serve();
    await send(s.tcpPort, stream(5, 20));
    await settled(s, 5, 20);
    expect(hive.alerts).to.have.length(5);
    const paths = new Set(hive.requests.map((r) => `${r.method} ${r.path.replace(/~\d+/, '{id}')}`));
    expect([...paths]).to.include.members(['GET /api/status', 'POST /api/alert', 'PATCH /api/alert/{id}']);
    expect([...paths].some((p) => p.includes('/api/v1/alert'))).to.equal(false);
  });

  it('the file sink of `make run` shows the alert, then its updates', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-lifecycle-'));
    const path = join(dir, 'alerts.ndjson');
    const s = await startServeProcess({ TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_FILE_PATH: path, TRACEHIVE_ALERT_UPDATE_WINDOW_MS: '86400000', TRACEHIVE_ALERT_UPDATE_FLUSH_MS: '300' }, dir);
    started.push(s);
    await send(s.tcpPort, stream(1, 1));
    await waitFor('the alert line', async () => (await readFile(path, 'utf8').catch(() => '')).length > 0, 10_000);
    await send(s.tcpPort, stream(1, 2, 1));
    await waitFor('an update line', async () => (await readFile(path, 'utf8')).includes('"update"'), 10_000);
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const alert = lines[0] as { sourceRef: string; title: string };
    expect(alert.sourceRef).to.match(/^ct-k[0-9a-f]+$/);
    const update = lines.find((l) => 'update' in l) as { update: { sourceRef: string; set: { title: string } } };
    expect(update.update.sourceRef).to.equal(alert.sourceRef);
    expect(update.update.set.title).to.equal(`${alert.title} (3 sightings)`);
  });
});
