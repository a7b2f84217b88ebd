/**
 * End to end against the stand-in TheHive (spec/support/fake-thehive): lines in over TCP,
 * alerts out over HTTP, with the failures TheHive and its proxies really produce.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { admin, sendChunked, sleep, startApp, waitFor, type Harness } from '../support/harness.js';
import { detectionLine, detectionLines } from '../support/lines.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { sourceRefFor } from '../../src/map/source-ref.js';

const KEY = 'it-key-5f1e0c';

function theHive(hive: FakeTheHive, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { 'thehive.url': hive.url, 'thehive.apiKey': KEY, 'thehive.timeoutMs': 1000, ...extra };
}

function deadLetters(h: Harness): Record<string, unknown>[] {
  const dir = join(h.app.config.spool.dir, 'dead');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

function expectEachOnce(hive: FakeTheHive, lines: string[]): void {
  const counts = hive.countBySourceRef();
  for (const line of lines) expect(counts.get(sourceRefFor(line.trimEnd())), line.slice(0, 60)).to.equal(1);
  expect(hive.alerts).to.have.length(lines.length);
}

describe('Delivery to TheHive (stand-in faithful to thehive-api §7.2)', function () {
  let h: Harness | undefined;
  let hive: FakeTheHive;
  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: KEY });
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await hive.close();
  });

  it('posts one alert per detection with typed observables and the documented fields', async () => {
    h = await startApp(theHive(hive));
    await sendChunked(h.tcpPort, detectionLines(5).join(''), 4096);
    await waitFor('5 alerts in TheHive', () => hive.alerts.length === 5);
    const url = hive.alerts.find((a) => a.title === 'Malicious URL: host0.example-bad.test');
    expect(url, 'alert for line 0').to.not.equal(undefined);
    expect(url?.severity).to.equal(2);
    expect(url?.tags).to.include.members(['cybertrace', 'category:KL_Malicious_URL', 'threat:HEUR:Trojan.Script.Generic']);
    const observables = (url?.observables ?? []) as { dataType: string; data: string; ioc?: boolean }[];
    expect(observables.find((o) => o.data === 'host0.example-bad.test')?.ioc).to.equal(true);
    expect(observables.some((o) => o.dataType === 'ip' && o.data === '10.20.1.44')).to.equal(true);
    expect(observables.some((o) => o.dataType === 'url' && o.data.startsWith('http://host0.example-bad.test/path'))).to.equal(true);
  });

  it('makes one alert of a line CyberTrace resends after a hiccup (duplicate answer = delivered)', async () => {
    h = await startApp(theHive(hive));
    const line = `${detectionLine(1)}\n`;
    await sendChunked(h.tcpPort, line + line + line, 4096);
    await waitFor('3 create requests', () => hive.requests.filter((r) => r.method === 'POST').length === 3);
    await waitFor('delivered counted 3 times', async () => (await h!.app.telemetry.value('tracehive_alerts_delivered_total')) === 3);
    expectEachOnce(hive, [line]);
    expect(hive.requests.filter((r) => r.status === 400)).to.have.length(2);
    expect(deadLetters(h)).to.have.length(0);
  });

  it('delivers everything exactly once after an outage ends', async () => {
    h = await startApp(theHive(hive));
    await hive.down();
    const lines = detectionLines(40);
    await sendChunked(h.tcpPort, lines.join(''), 4096);
    await waitFor('retries while TheHive is down', async () => (await h!.app.telemetry.value('tracehive_alerts_retried_total')) > 0);
    await waitFor('delivery not ready', async () => (await admin(h!.httpPort, '/readyz/delivery')).status === 503);
    // The spool absorbs the outage: a load balancer must keep sending here.
    expect((await admin(h.httpPort, '/readyz')).status, '/readyz during a TheHive outage').to.equal(200);
    await sleep(300);
    await hive.up();
    await waitFor('40 alerts after the outage', () => hive.alerts.length === 40, 15000);
    expectEachOnce(hive, lines);
    await waitFor('delivery ready again', async () => (await admin(h!.httpPort, '/readyz/delivery')).status === 200);
  });

  it('keeps everything while the API key is wrong, reports not ready, and delivers once it is fixed', async () => {
    hive.setApiKey('the-rotated-key');
    h = await startApp(theHive(hive));
    await waitFor('the key check fails', async () => /API key|THEHIVE_API_KEY/.test((await admin(h!.httpPort, '/readyz/delivery')).body));
    const ready = await admin(h.httpPort, '/readyz/delivery');
    expect(ready.status).to.equal(503);
    expect((await admin(h.httpPort, '/readyz')).status, 'input is still accepted').to.equal(200);
    const lines = detectionLines(10);
    await sendChunked(h.tcpPort, lines.join(''), 4096);
    await waitFor('401 answers', () => hive.requests.some((r) => r.status === 401 && r.method === 'POST'));
    expect(hive.alerts).to.have.length(0);
    expect(h.logs.some((l) => l['level'] === 50 && /API key|THEHIVE_API_KEY/.test(String(l['reason'])))).to.equal(true);
    hive.setApiKey(KEY);
    await waitFor('10 alerts after the key was fixed', () => hive.alerts.length === 10, 15000);
    expectEachOnce(hive, lines);
    expect(deadLetters(h)).to.have.length(0);
    expect(JSON.stringify(h.logs)).to.not.include(KEY);
    expect(JSON.stringify(hive.alerts)).to.not.include(KEY);
  });

  it('stays not ready while TheHive refuses alerts with 403, even though the key itself checks out', async function () {
    this.timeout(20000);
    const denied = { type: 'AuthorizationError', message: "Your are not authorized to create alert, you haven't the permission manageAlert/create" };
    hive.fault({ kind: 'status', status: 403, body: denied }, 1000);
    h = await startApp(theHive(hive, { 'queue.authRetryMs': 300 }));
    await waitFor('ready after the key check', async () => (await admin(h!.httpPort, '/readyz/delivery')).status === 200);
    await sendChunked(h.tcpPort, detectionLines(3).join(''), 4096);
    await waitFor('not ready after a 403 on create', async () => (await admin(h!.httpPort, '/readyz/delivery')).status === 503);
    // The periodic key check (every 5 s) passes, but only a delivered alert may restore readiness.
    for (let i = 0; i < 12; i++) {
      await sleep(500);
      const ready = await admin(h.httpPort, '/readyz/delivery');
      expect(ready.status, `readyz at ${(i + 1) * 0.5} s`).to.equal(503);
      expect(ready.body).to.include('403').and.not.include(KEY);
    }
    expect(hive.alerts).to.have.length(0);
    expect(deadLetters(h)).to.have.length(0);
    expect((await admin(h.httpPort, '/metrics')).body).to.match(/^tracehive_sink_ready 0$/m);
  });

  it('reports tracehive_sink_ready 1 while alerts flow', async () => {
    h = await startApp(theHive(hive));
    await sendChunked(h.tcpPort, detectionLines(1).join(''), 4096);
    await waitFor('1 alert', () => hive.alerts.length === 1);
    expect((await admin(h.httpPort, '/metrics')).body).to.match(/^tracehive_sink_ready 1$/m);
  });

  it('respects queue.ratePerSec at TheHive', async function () {
    this.timeout(20000);
    h = await startApp(theHive(hive, { 'queue.ratePerSec': 10, 'queue.concurrency': 4 }));
    const lines = detectionLines(35);
    await sendChunked(h.tcpPort, lines.join(''), 4096);
    await waitFor('35 alerts', () => hive.alerts.length === 35, 15000);
    // p-queue's strict window: never more than 10 starts in any second. Counted where they land,
    // over windows 50 ms shorter than a second: the first request also opens the connection, so
    // it lands up to tens of ms after it started while the next window's requests land at once.
    const starts = hive.requests.filter((r) => r.method === 'POST').map((r) => r.at).sort((a, b) => a - b);
    let busiest = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while ((starts[i] as number) - (starts[j] as number) >= 950) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    expect(busiest).to.equal(10);
    expect((starts.at(-1) as number) - (starts[0] as number)).to.be.at.least(2900);
    expect(hive.createRequestsPerSecond().length).to.be.at.least(3);
  });

  it('retries 5xx, resets, slow answers and 429 with Retry-After, and still creates each alert once', async function () {
    this.timeout(20000);
    h = await startApp(theHive(hive, { 'thehive.timeoutMs': 300 }));
    hive.fault({ kind: 'status', status: 500 }, 2);
    hive.fault({ kind: 'reset' }, 2);
    hive.fault({ kind: 'reset-mid-body' }, 1);
    hive.fault({ kind: 'slow', ms: 800 }, 1);
    hive.fault({ kind: 'throttle', retryAfterSec: 1 }, 1);
    hive.fault({ kind: 'accept-then-fail', status: 502 }, 2);
    const lines = detectionLines(12);
    await sendChunked(h.tcpPort, lines.join(''), 4096);
    await waitFor('12 alerts', () => hive.alerts.length === 12, 15000);
    await waitFor('queue empty', async () => (await h!.app.telemetry.value('tracehive_queue_depth')) === 0);
    expectEachOnce(hive, lines);
    expect(deadLetters(h)).to.have.length(0);
  });

  it('dead-letters an alert TheHive rejects for good, with the answer body, and goes on', async () => {
    h = await startApp(theHive(hive));
    hive.fault({ kind: 'status', status: 400, body: { type: 'AttributeCheckingError', message: '[Invalid custom field]', errors: [] } }, 1);
    const lines = detectionLines(3);
    await sendChunked(h.tcpPort, lines[0] as string, 4096);
    await waitFor('a dead letter', () => deadLetters(h!).length === 1);
    await sendChunked(h.tcpPort, (lines[1] as string) + lines[2], 4096);
    await waitFor('2 alerts', () => hive.alerts.length === 2);
    const [dead] = deadLetters(h);
    expect(dead?.['status']).to.equal(400);
    expect(String(dead?.['body'])).to.include('AttributeCheckingError');
    expect((dead?.['alert'] as { sourceRef: string }).sourceRef).to.equal(sourceRefFor((lines[0] as string).trimEnd()));
    expect(await h.app.telemetry.value('tracehive_alerts_dead_total')).to.equal(1);
  });

  it('talks TheHive 4 v0: POST /api/alert with artifacts', async () => {
    h = await startApp(theHive(hive, { 'thehive.api': 'v0' }));
    await sendChunked(h.tcpPort, detectionLines(2).join(''), 4096);
    await waitFor('2 alerts', () => hive.alerts.length === 2);
    expect(hive.requests.filter((r) => r.method === 'POST').every((r) => r.path === '/api/alert')).to.equal(true);
  });

  it('pauses reading when the spool is full instead of buffering without limit, and loses nothing', async function () {
    this.timeout(40000);
    h = await startApp(theHive(hive, { 'spool.maxBytes': 1048576, 'spool.segmentBytes': 65536, 'queue.maxPending': 100 }));
    await hive.down();
    const lines = detectionLines(6000); // about 2 MB: twice what the spool takes
    let sent = false;
    const sending = sendChunked(h.tcpPort, lines.join(''), 65536).then(() => (sent = true));
    await waitFor('the spool full', async () => (await h!.app.telemetry.value('tracehive_spool_full')) === 1);
    await sleep(300);
    expect(sent, 'the sender is held back by TCP flow control').to.equal(false);
    expect(await h.app.telemetry.value('tracehive_spool_bytes')).to.be.at.most(1048576 + 65536);
    expect(await h.app.telemetry.value('tracehive_queue_depth')).to.be.at.most(100);
    expect(await h.app.telemetry.value('tracehive_lines_received_total')).to.be.below(6000);
    expect(h.app.readiness().reasons.join(' ')).to.include('the spool is full');
    expect(h.logs.some((l) => String(l['msg']).startsWith('Spool full: input paused'))).to.equal(true);
    await hive.up();
    await sending;
    await waitFor('6000 alerts', () => hive.alerts.length === 6000, 35000);
    expectEachOnce(hive, lines);
  });
});
