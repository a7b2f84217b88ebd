/**
 * Triage an analyst can act on, end to end (issue 13): the fixture mails polled from a
 * real Dovecot over IMAP, through the mapper and the spool, into the stand-in TheHive, each alert
 * checked against what an analyst expects of it (hand-written below, not computed by tracehive).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startApp, waitFor, type Harness } from '../support/harness.js';
import { startFakeTheHive, type FakeTheHive, type StoredAlert } from '../support/fake-thehive.js';
import { dovecotMissing, startDovecot, type Dovecot } from '../support/dovecot.js';
import { fixturePath } from '../support/fixtures.js';

const fixture = (name: string): Buffer => readFileSync(fixturePath('mail', name));
const raw = (headers: string, body: string): string => `${headers.trim().split('\n').join('\r\n')}\r\n\r\n${body.split('\n').join('\r\n')}\r\n`;

/** A TLP:RED warning from a partner CERT, written for this test. */
const TLP_RED = raw(
  `From: duty@cert-partner.kz
To: soc@corp-bank.kz
Subject: [TLP:RED] Credential phishing against our sector
Message-ID: <red-1@cert-partner.kz>
Date: Wed, 03 Apr 2024 10:00:00 +0500`,
  'PAP:AMBER\nThe kit posts to https://sso-corp-bank.top/collect from 185.244.131.20.',
);
/** An Outlook mail with its empty ATT00001.txt part. */
const OUTLOOK = raw(
  `From: u.ivanov@corp-bank.kz
To: soc@corp-bank.kz
Subject: Suspicious invoice
Message-ID: <att-1@corp-bank.kz>
Date: Wed, 03 Apr 2024 11:00:00 +0500
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"`,
  '--b1\nContent-Type: text/plain\n\nPlease check the link https://invoice-corp-bank.top/v\n--b1\nContent-Type: text/plain; name="ATT00001.txt"\nContent-Disposition: attachment; filename="ATT00001.txt"\nContent-Transfer-Encoding: base64\n\nDQo=\n--b1--',
);
const AUTO_REPLY = raw(
  `From: a.sadykova@corp-bank.kz
To: soc@corp-bank.kz
Subject: Automatic reply: Suspicious invoice
Message-ID: <auto-1@corp-bank.kz>
Date: Wed, 03 Apr 2024 11:05:00 +0500`,
  'I am out of the office until Monday.',
);

const at = (alerts: readonly StoredAlert[], ref: string): StoredAlert => {
  const a = alerts.find((x) => x.sourceRef === ref);
  if (a === undefined) throw new Error(`no alert ${ref}; have ${alerts.map((x) => x.sourceRef).join(', ')}`);
  return a;
};
const tagged = (a: StoredAlert, data: string): string[] => a.observables.find((o) => o.data === data)?.tags ?? [];

describe('triage end to end through IMAP (issue 13)', function () {
  this.timeout(60_000);
  let hive: FakeTheHive;
  let dovecot: Dovecot;
  let h: Harness | undefined;

  before(function () {
    const missing = dovecotMissing();
    if (missing) throw new Error(`${missing}: make test installs it (scripts/install-test-deps.sh)`);
  });
  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: 'k-triage' });
    dovecot = await startDovecot();
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await dovecot.destroy();
    await hive.close();
  });

  /** serve polling the test's Dovecot, delivering to the stand-in. */
  const imapToHive = (): Record<string, unknown> => ({
    'tcp.enabled': false,
    'thehive.url': hive.url,
    'thehive.apiKey': 'k-triage',
    'email.imap.enabled': true,
    'email.imap.host': dovecot.host,
    'email.imap.port': dovecot.port,
    'email.imap.secure': false,
    'email.imap.starttls': 'off',
    'email.imap.user': dovecot.user,
    'email.imap.password': dovecot.password,
    'email.imap.pollIntervalMs': 200,
  });

  it('gives each fixture the alert an analyst expects', async () => {
    const mails = [fixture('siem-kuma-ru.eml'), fixture('siem-fortisiem-en.eml'), fixture('siem-qradar-en.eml'), fixture('advisory-ioc-refs.eml'), TLP_RED, OUTLOOK, AUTO_REPLY];
    for (const m of mails) await dovecot.append(m);
    h = await startApp({ ...imapToHive(), 'email.dropSubjects': ['Automatic reply:*'] });
    await waitFor('6 alerts (the auto-reply makes none)', () => hive.alerts.length === 6, 30_000);
    const harness = h;
    await waitFor('the auto-reply taken', () => harness.logs.some((l) => l['msg'] === 'Mail dropped by policy: no alert.'), 10_000);
    const alerts = hive.alerts;

    // KUMA: no "Incident ID:" line, yet a SIEM alert; its times in the mail's +0500.
    const kuma = at(alerts, 'mail-6a1f0c52-8d7e-4b1e-9c33-2f4e5d7a9b10');
    expect(kuma).to.include({ type: 'siem-mail', severity: 3, date: Date.UTC(2024, 3, 2, 8, 55, 10) });
    // Roles from the field names (the attacker's host is a documentation name, ignored by default).
    expect(tagged(kuma, '10.20.4.12')).to.include('victim');
    expect(tagged(kuma, 'CORP\\i.petrova')).to.include('user');
    // FortiSIEM: "Incident Severity: HIGH" wins over "Event Severity: 9"; the victim is no source.
    const forti = at(alerts, 'mail-48213');
    expect(forti).to.include({ severity: 3, date: Date.UTC(2024, 3, 2, 8, 55, 10) });
    expect(tagged(forti, '10.30.1.23')).to.include.members(['victim', 'destination']).and.not.include('source');
    // QRadar: magnitude 8 of 10 is HIGH; the user named.
    const qradar = at(alerts, 'mail-5127');
    expect(qradar.severity).to.equal(3);
    expect(tagged(qradar, 'svc_backup')).to.include('user');

    // The advisory: TLP:AMBER in its subject, listed indicators are IoCs, references are reading.
    const advisory = alerts.find((a) => a.title.startsWith('[TLP:AMBER] Bulletin 2026-77')) as StoredAlert;
    expect(advisory.tlp).to.equal(2);
    for (const ioc of ['https://parcel-track-kz.top/gate.php', '185.244.130.9']) expect(advisory.observables.find((o) => o.data === ioc)?.ioc, ioc).to.equal(true);
    expect(advisory.observables.some((o) => (o.data ?? '').includes('attack.mitre.org'))).to.equal(false);
    expect(advisory.description).to.contain('References, to read (not sent as observables)');

    // TLP:RED and PAP:AMBER: the alert and every observable.
    const red = alerts.find((a) => a.title.includes('Credential phishing')) as StoredAlert;
    expect([red.tlp, red.pap]).to.deep.equal([4, 2]);
    expect(red.observables.length).to.be.above(0);
    for (const o of red.observables) expect([o.tlp, o.pap], o.data).to.deep.equal([4, 2]);

    // Outlook's empty ATT00001.txt is no attachment.
    const outlook = alerts.find((a) => a.title === 'Suspicious invoice') as StoredAlert;
    expect(outlook.observables.filter((o) => o.dataType === 'hash' || o.dataType === 'filename')).to.deep.equal([]);
    expect(outlook.description).to.contain('ATT00001.txt holds only white space');
  });

  it('a reported phish in each of the three shapes reaches TheHive with its files (multipart), and the file store empties', async () => {
    for (const name of ['phish-report-rfc822.eml', 'phish-report-eml.eml', 'phish-report-outlook-en.eml']) await dovecot.append(fixture(name));
    // The alert lifecycle on (the default; the harness turns it off): a further report of a phish updates its alert.
    h = await startApp({ ...imapToHive(), 'alert.updateWindowMs': 86_400_000 });
    // The rfc822 and .eml reports forward the same phish (one Message-ID): one alert, updated by the second report (issue 13).
    await waitFor('2 alerts, one of them reported twice', () => hive.alerts.length === 2 && hive.alerts.some((a) => a.description.includes('**Reports** (2)')), 30_000);
    const files = (a: StoredAlert): string[][] => a.observables.filter((o) => o.dataType === 'file').map((o) => [o.attachment?.name ?? '', o.attachment?.hashes?.[0] ?? '', ...o.tags]);
    // The phish's own bytes (sha256 of its .eml as attached: see reported-phish.spec.ts) and its attachment, by TheHive's digests.
    const PHISH = 'd728a3ed9d261b43e29fd90866935a3d0680506a052856f1d5d5bcc2903a247c';
    const INVOICE = '3b203d7610273e3e24d8e2e7122b759278a16261d144a686657c25116352b1e7';
    const SCREENSHOT = 'f4cbce8d14647525d11d54c0481df488d8c1989212aa7fa78e93d292bc741357';
    // Files of one alert by name: the merged alert got the screenshot with the rfc822 report, whichever came first.
    const byShape = hive.alerts.map((a) => files(a).sort((x, y) => String(x[0]).localeCompare(String(y[0])))).sort((x, y) => x.length - y.length);
    expect(byShape).to.deep.equal([
      // Outlook inline: the phish has no bytes of its own: the report is the .eml.
      [['invoice_4412.html', INVOICE, 'attachment:invoice_4412.html', 'filetype:html'], ['report.eml', 'fbadf3d15ec95b45542ab445eb38a892ea2e678276934727693d1a1ddd670f55', 'eml', 'filetype:eml']],
      [['invoice_4412.html', INVOICE, 'attachment:invoice_4412.html', 'filetype:html'], ['reported-mail.eml', PHISH, 'eml', 'filetype:eml'], ['screenshot.png', SCREENSHOT, 'attachment:screenshot.png', 'filetype:png']],
    ]);
    for (const a of hive.alerts) expect(a.tags).to.include('reported');
    // The second report named under the first: one PATCH, nothing to add (the phish and its files are the same).
    expect(hive.requests.filter((r) => r.method === 'PATCH').map((r) => r.status)).to.deep.equal([204]);
    expect(hive.requests.filter((r) => r.path.endsWith('/observable'))).to.deep.equal([]);
    // Each create was one multipart request, its JSON in `_json`.
    const creates = hive.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/alert');
    expect(creates.map((r) => (r.contentType ?? '').split(';')[0])).to.deep.equal(['multipart/form-data', 'multipart/form-data']);
    const store = join((h as Harness).dir, 'spool', 'files');
    await waitFor('the file store emptied', async () => (await readdir(store).catch(() => [])).length === 0, 10_000);
  });
});
