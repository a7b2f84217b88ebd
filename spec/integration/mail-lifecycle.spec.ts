/**
 * A SIEM re-notification end to end (issue 12): a real `tracehive serve` taking mail over SMTP, the
 * stand-in TheHive, and a real SMTP relay for notifications. The incident's second mail raises its
 * alert to CRITICAL in place and sends exactly one notification mail, also across a `kill -9` and a
 * resend of the same notification.
 */
import { expect } from 'chai';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { sleep, waitFor } from '../support/harness.js';
import { fixturePath } from '../support/fixtures.js';
import { startFakeTheHive, type FakeTheHive, type StoredAlert } from '../support/fake-thehive.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { Relay } from '../support/smtp-relay.js';

const KEY = 'k-mail-lifecycle';

describe('SIEM re-notification end to end (issue 12)', function () {
  this.timeout(120_000);
  let dir: string;
  let hive: FakeTheHive;
  let relay: Relay;
  let relayPort: number;
  const started: ServeProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-mail-lifecycle-'));
    hive = await startFakeTheHive({ apiKey: KEY });
    relay = new Relay();
    relayPort = await relay.start();
  });

  afterEach(async () => {
    for (const s of started.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await relay.stop();
    await hive.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(): Promise<{ s: ServeProcess; smtpPort: number }> {
    const s = await startServeProcess(
      {
        THEHIVE_URL: hive.url,
        THEHIVE_API_KEY: KEY,
        TRACEHIVE_SPOOL_DIR: join(dir, 'spool'),
        TRACEHIVE_ALERT_UPDATE_WINDOW_MS: '86400000',
        TRACEHIVE_SMTP_ENABLED: 'true',
        TRACEHIVE_SMTP_PORT: '0',
        TRACEHIVE_NOTIFY_SMTP_HOST: '127.0.0.1',
        TRACEHIVE_NOTIFY_SMTP_PORT: String(relayPort),
        TRACEHIVE_NOTIFY_SMTP_STARTTLS: 'off',
        TRACEHIVE_NOTIFY_TO: 'soc-duty@example.org',
        TRACEHIVE_RETRY_BASE_MS: '50',
      },
      dir,
    );
    started.push(s);
    let smtpPort = 0;
    await waitFor('the SMTP intake port', () => (smtpPort = (s.logs().find((l) => String(l['msg']).startsWith('SMTP intake listening'))?.['port'] ?? 0) as number) > 0);
    return { s, smtpPort };
  }

  async function mail(port: number, fixture: string): Promise<void> {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({ envelope: { from: 'siem-noreply@soc.qazlogistik.kz', to: ['soc-alerts@qazlogistik.kz'] }, raw: await readFile(fixturePath('mail', fixture)) });
    } finally {
      transport.close();
    }
  }

  const incident = (): StoredAlert | undefined => hive.alerts.find((a) => a.sourceRef.includes('INC-2024-0042'));

  it('raises the incident’s alert to CRITICAL in place and mails exactly one notification, across a kill -9 and a resend', async () => {
    const first = await serve();
    await mail(first.smtpPort, 'siem-en.eml');
    await waitFor('the incident’s alert', () => incident() !== undefined, 20_000);
    expect(incident()?.severity).to.equal(3);
    await mail(first.smtpPort, 'siem-en-escalated.eml');
    await waitFor('the alert raised to critical', () => incident()?.severity === 4, 20_000);
    await waitFor('the notification mail', () => relay.mails.length >= 1, 20_000);
    const alert = incident() as StoredAlert;
    expect(hive.alerts).to.have.length(1);
    expect(alert.description).to.contain('Updates');
    expect(alert.description).to.match(/Escalated/);
    const [note] = relay.mails;
    expect(note?.subject).to.match(/CRITICAL/);
    expect(note?.subject).to.contain('Brute force against VPN gateway');
    expect(note?.text).to.contain(alert._id);
    expect(note?.to).to.contain('soc-duty@example.org');

    // Notifications are at least once: killed between the relay's 250 and the outbox's "sent"
    // mark, serve would send it again after the restart (with the same Message-ID). Kill after it.
    await waitFor('the notification marked sent', async () => (await (await fetch(`http://127.0.0.1:${first.s.httpPort}/metrics`)).text()).includes('tracehive_notifications_total{channel="mail",outcome="sent"} 1'), 20_000);
    first.s.child.kill('SIGKILL');
    await first.s.exited;
    const second = await serve();
    await mail(second.smtpPort, 'siem-en-escalated-resend.eml');
    await sleep(3000);
    expect(hive.alerts).to.have.length(1);
    expect(incident()?.severity).to.equal(4);
    expect(relay.mails).to.have.length(1);
  });
});
