/**
 * `alert.groupWindowMs` (issue 4, point 5): a host scanning a blocklisted destination gives the
 * SOC a handful of alerts that count the sightings, not one alert per connection.
 */
import { expect } from 'chai';
import { sendChunked, sleep, startApp, waitFor, type Harness } from '../support/harness.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';

/** One connection attempt of a scanning host to a CnC address (distinct source port, so each line is distinct). */
function scanLine(i: number): string {
  return `Oct 12 16:14:02 category=KL_BotnetCnC_URL matchedIndicator=cnc.bad-domain.ru url=http://cnc.bad-domain.ru/gate.php src=10.9.8.7 spt=${10000 + i} dst=185.100.87.${i % 4} hostname=ws-0042.corp usrName=jdoe\n`;
}

describe('aggregation: alert.groupWindowMs', function () {
  this.timeout(30000);
  let hive: FakeTheHive;
  let h: Harness | undefined;

  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: 'k-group' });
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await hive.close();
  });

  it('5,000 identical detections inside the window become 5 alerts of 1,000 sightings, every line counted once', async () => {
    h = await startApp({ 'thehive.url': hive.url, 'thehive.apiKey': 'k-group', 'alert.groupWindowMs': 60_000, 'alert.groupMaxSightings': 1000 });
    const other = 'Oct 12 16:14:05 category=KL_Phishing_URL matchedIndicator=login-verify.example-bad.ru src=10.1.1.1\n';
    await sendChunked(h.tcpPort, Array.from({ length: 5000 }, (_, i) => scanLine(i)).join('') + other, 65536);
    await waitFor('5 grouped alerts', () => hive.alerts.filter((a) => a.tags.includes('grouped')).length === 5);
    const grouped = hive.alerts.filter((a) => a.tags.includes('grouped'));
    expect(grouped.map((a) => a.title)).to.deep.equal(Array(5).fill('BotnetCnC URL: cnc.bad-domain.ru (1000 sightings)'));
    expect(grouped[0]?.description).to.match(/^1000 sightings of `cnc\.bad-domain\.ru`/);
    expect(grouped[0]?.observables.filter((o) => o.dataType === 'ip').map((o) => o.data)).to.include.members(['10.9.8.7', '185.100.87.0', '185.100.87.3']);
    // Every scan line is acknowledged with its group; the phishing line is in its own group,
    // sent when its window passes: not yet.
    await waitFor('the 5,000 scan records acknowledged', async () => (await h!.app.telemetry.value('tracehive_spool_records')) === 1);
    expect(hive.alerts).to.have.length(5);
  });

  it('a group closes once its window has passed by the wall clock, and is sent once', async () => {
    h = await startApp({ 'thehive.url': hive.url, 'thehive.apiKey': 'k-group', 'alert.groupWindowMs': 300 });
    await sendChunked(h.tcpPort, Array.from({ length: 40 }, (_, i) => scanLine(i)).join(''), 65536);
    await waitFor('the group sent after its window', () => hive.alerts.length === 1, 10000);
    expect(hive.alerts[0]?.title).to.equal('BotnetCnC URL: cnc.bad-domain.ru (40 sightings)');
    await waitFor('the spool emptied', async () => (await h!.app.telemetry.value('tracehive_spool_records')) === 0);
    await sleep(100);
    expect(hive.alerts).to.have.length(1);
  });
});
