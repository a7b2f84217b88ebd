/**
 * `tracehive_thehive_request_duration_seconds`: every exchange with TheHive is counted by how it
 * ended, as an on-call reads it on /metrics (the TheHive error-rate alert and the dashboard use it).
 */
import { expect } from 'chai';
import { admin, sendChunked, startApp, waitFor, type Harness } from '../support/harness.js';
import { detectionLines } from '../support/lines.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { sampleValue } from '../support/metrics-text.js';

const KEY = 'metrics-key-0b1d';
const NAME = 'tracehive_thehive_request_duration_seconds_count';

describe('TheHive request metrics', function () {
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

  async function count(result: string): Promise<number> {
    const value = sampleValue((await admin(h!.httpPort, '/metrics')).body, NAME, { result });
    return Number.isNaN(value) ? 0 : value;
  }

  it('counts answers by status class, and timeouts apart from answers', async () => {
    // The first two exchanges (the key check at start, then what follows) meet a 503 and a stall.
    // thehive.version given: no GET /api/status before them (its own exchange, counted as well).
    hive.faultAny({ kind: 'status', status: 503 });
    hive.faultAny({ kind: 'slow', ms: 2000 });
    h = await startApp({ 'thehive.url': hive.url, 'thehive.apiKey': KEY, 'thehive.api': 'v1', 'thehive.version': '5.2', 'thehive.timeoutMs': 300 });
    await sendChunked(h.tcpPort, detectionLines(3).join(''), 4096);
    await waitFor('3 alerts in TheHive', () => hive.alerts.length === 3, 15000);
    await waitFor('the creates counted', async () => (await count('2xx')) >= 3);
    expect(await count('5xx')).to.equal(1);
    expect(await count('timeout')).to.equal(1);
    expect(await count('network')).to.equal(0);
  });

  it('counts a refused connection as network', async () => {
    await hive.down();
    h = await startApp({ 'thehive.url': hive.url, 'thehive.apiKey': KEY, 'thehive.api': 'v1' });
    await waitFor('the key check counted', async () => (await count('network')) >= 1);
    expect(await count('2xx')).to.equal(0);
  });
});
