/**
 * Logs are bounded whatever a peer sends (issue 11 item 2): a service-alert line is logged at info
 * on every send, so a 60 KiB one would write 60 KiB of log each time. What the log keeps of
 * peer-controlled text is cut, and says so; the data itself is where it belongs (the alert).
 */
import { expect } from 'chai';
import { sendChunked, startApp, waitFor, type Harness } from '../support/harness.js';

describe('log lines stay bounded', function () {
  this.timeout(20_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('logs a 60 KiB service-alert line cut to about 1,000 characters, saying how much was left out', async () => {
    h = await startApp();
    const line = `Apr 16 09:05:41 alert=KL_ALERT_UpdatedFeed feed=Phishing_URL_Data_Feed.json records=200473 note=${'z'.repeat(60 * 1024)}`;
    await sendChunked(h.tcpPort, `${line}\n`, 65536);
    await waitFor('the service alert logged', () => h!.logs.some((l) => l['msg'] === 'CyberTrace service alert.'));
    const entry = h.logs.find((l) => l['msg'] === 'CyberTrace service alert.') as Record<string, unknown>;
    const logged = String(entry['line']);
    expect(logged.length).to.be.below(1100);
    expect(logged).to.match(/… \(\d+ more characters\)$/);
    expect(logged.startsWith(line.slice(0, 500))).to.equal(true);
    expect(JSON.stringify(h.logs).length, 'no log line holds the whole line').to.be.below(line.length);
  });
});
