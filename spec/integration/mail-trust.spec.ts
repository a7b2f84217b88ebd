/**
 * Issue 13, point 6, over a real socket: a forged SIEM notification sent to serve's SMTP intake
 * (nodemailer as the client) pages no one: on a `notifications` intake it is quarantined with its
 * reason, on a `mixed` one it reaches the stand-in TheHive as an ordinary mail, tagged; the
 * genuine notification from the trusted SIEM still becomes the incident.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { sleep, startApp, waitFor, type Harness } from '../support/harness.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { fixturePath } from '../support/fixtures.js';

const mail = (name: string): Buffer => readFileSync(fixturePath('mail', name));

describe('mail trust end to end: SMTP intake to the stand-in TheHive (issue 13)', function () {
  this.timeout(60000);
  let hive: FakeTheHive;
  let h: Harness | undefined;
  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: 'k-trust' });
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await hive.close();
  });

  async function serve(role: string): Promise<ReturnType<typeof nodemailer.createTransport>> {
    h = await startApp({
      'tcp.enabled': false,
      'thehive.url': hive.url,
      'thehive.apiKey': 'k-trust',
      'email.smtp.enabled': true,
      'email.smtp.port': 0,
      'email.smtp.role': role,
      'email.trustedSenders': ['siem@alerts.example.org'],
      'email.trustedSenderIps': ['192.0.2.0/28'],
      'email.authservId': 'mx.example.com',
    });
    const port = (h.logs.find((l) => String(l['msg']).startsWith('SMTP intake listening'))?.['port'] ?? 0) as number;
    return nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  }
  const envelope = { from: 'siem@alerts.example.org', to: ['soc@example.com'] };

  it('on a notifications intake: the forged one is quarantined with its reason, the genuine one is the incident', async () => {
    const transport = await serve('notifications');
    const forged = await transport.sendMail({ envelope, raw: mail('siem-forged.eml') });
    expect(forged.response).to.match(/^250 .*quarantined/);
    const genuine = await transport.sendMail({ envelope, raw: mail('siem-trusted.eml') });
    expect(genuine.response).to.match(/^250 .*Accepted as mail-INC-2026-0771/);
    await waitFor('the genuine incident in TheHive', () => hive.alerts.length === 1);
    await sleep(300);
    expect(hive.alerts.map((a) => [a.sourceRef, a.type, a.severity])).to.deep.equal([['mail-INC-2026-0771', 'siem-mail', 4]]);
    const dir = join(h?.dir ?? '', 'spool', 'quarantine');
    const record = readdirSync(dir).find((n) => n.endsWith('.json')) as string;
    const reason = (JSON.parse(readFileSync(join(dir, record), 'utf8')) as { reason: string }).reason;
    expect(reason).to.match(/^ERR_MAIL_UNTRUSTED: /).and.include('198.51.100.23').and.include('dmarc=fail');
    transport.close();
  });

  it('on a mixed intake: the forged one arrives as an ordinary mail at the default severity, tagged untrusted-notification', async () => {
    const transport = await serve('mixed');
    const forged = await transport.sendMail({ envelope, raw: mail('siem-forged.eml') });
    expect(forged.response).to.match(/^250 .*Accepted as mail-[0-9a-f]{20}/);
    await waitFor('the mail in TheHive', () => hive.alerts.length === 1);
    const alert = hive.alerts[0];
    expect(alert?.type).to.equal('mail');
    expect(alert?.severity).to.equal(2);
    expect(alert?.tags).to.include('untrusted-notification').and.not.include('siem-notification');
    expect(alert?.description).to.include('not trusted to send one');
    transport.close();
  });
});
