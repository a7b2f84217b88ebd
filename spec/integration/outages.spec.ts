/**
 * TheHive misbehaves for a while (issue 4, point 7): down, 30 % errors, slower than our timeout,
 * connections reset mid-answer, 429 with Retry-After, a wrong key fixed by the operator. Each
 * case ends with every alert in TheHive exactly once, and while the backlog waits only the
 * delivery window (`queue.maxPending`) is in memory: the rest is in the spool on disk.
 */
import { expect } from 'chai';
import { sendChunked, sleep, startApp, waitFor, type Harness } from '../support/harness.js';
import { detectionLines } from '../support/lines.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';

const BACKLOG = 3000;
const WINDOW = 200;

describe('outages: every alert reaches TheHive once, memory holds only the window', function () {
  this.timeout(60000);
  let hive: FakeTheHive;
  let h: Harness | undefined;

  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: 'k-out' });
  });

  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await hive.close();
  });

  async function start(over: Record<string, unknown> = {}): Promise<Harness> {
    h = await startApp({ 'thehive.url': hive.url, 'thehive.apiKey': 'k-out', 'thehive.timeoutMs': 1000, 'queue.concurrency': 8, 'queue.maxPending': WINDOW, ...over });
    return h;
  }

  const value = (name: string, labels: Record<string, string> = {}): Promise<number> => (h as Harness).app.telemetry.value(name, labels);

  /** Sends the backlog and checks, while it waits, that memory holds the window and disk the rest. */
  async function sendBacklog(opts: { whileWaiting?: boolean } = {}): Promise<void> {
    const { tcpPort } = h as Harness;
    let peakDepth = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakDepth = Math.max(peakDepth, await value('tracehive_queue_depth'));
        await sleep(10);
      }
    })();
    await sendChunked(tcpPort, detectionLines(BACKLOG).join(''), 65536);
    await waitFor('the backlog committed to the spool', async () => (await value('tracehive_spool_committed_records_total')) === BACKLOG);
    if (opts.whileWaiting !== false) {
      expect(await value('tracehive_spool_records'), 'the backlog waits on disk').to.be.greaterThan(BACKLOG - 2 * WINDOW);
    }
    sampling = false;
    await sampler;
    expect(peakDepth, 'alerts held in memory at most').to.be.at.most(WINDOW);
  }

  async function expectAllOnce(): Promise<void> {
    await waitFor(`all ${BACKLOG} alerts in TheHive`, () => hive.alerts.length >= BACKLOG, 45000);
    await waitFor('the spool emptied', async () => (await value('tracehive_spool_records')) === 0);
    await sleep(200);
    const counts = hive.countBySourceRef();
    expect(counts.size).to.equal(BACKLOG);
    expect([...counts.values()].every((n) => n === 1)).to.equal(true);
    expect(await value('tracehive_alerts_dead_total')).to.equal(0);
  }

  it('TheHive down for a while, then up', async () => {
    await hive.down();
    await start();
    await sendBacklog();
    await sleep(500);
    expect(hive.alerts).to.have.length(0);
    expect((h as Harness).app.deliveryReadiness().ready).to.equal(false);
    await hive.up();
    await expectAllOnce();
  });

  it('30 % of requests answered 500', async () => {
    hive.failRate(0.3, { kind: 'status', status: 500 }, 7);
    await start();
    await sendBacklog({ whileWaiting: false });
    await expectAllOnce();
    expect(hive.requests.filter((r) => r.status === 500).length, 'errors were injected').to.be.greaterThan(100);
  });

  it('answers slower than thehive.timeoutMs (the alert is created; the resend is a duplicate)', async () => {
    hive.fault({ kind: 'slow', ms: 1500 }, 20);
    await start();
    await sendBacklog({ whileWaiting: false });
    await expectAllOnce();
    expect(await value('tracehive_alerts_delivered_total', { duplicate: 'true' })).to.be.at.least(1);
  });

  it('connections reset in the middle of the answer', async () => {
    hive.failRate(0.1, { kind: 'reset-mid-body' }, 3);
    await start();
    await sendBacklog({ whileWaiting: false });
    await expectAllOnce();
    expect(hive.requests.filter((r) => r.fault === 'reset-mid-body').length).to.be.greaterThan(50);
  });

  it('429 with Retry-After from a proxy in front of TheHive', async () => {
    hive.fault({ kind: 'throttle', retryAfterSec: 1 }, 30);
    await start();
    await sendBacklog({ whileWaiting: false });
    await expectAllOnce();
    const throttled = hive.requests.filter((r) => r.status === 429).map((r) => r.at);
    expect(throttled.length).to.be.at.least(1);
  });

  it('a wrong API key, fixed by the operator: nothing is lost meanwhile', async () => {
    hive.setApiKey('k-rotated');
    await start({ 'queue.authRetryMs': 300 });
    await sendBacklog();
    await waitFor('not ready: the key is refused', () => !(h as Harness).app.deliveryReadiness().ready);
    expect((h as Harness).app.deliveryReadiness().reasons.join(' ')).to.match(/401|key/i);
    hive.setApiKey('k-out');
    await expectAllOnce();
  });
});
