/**
 * Mail to TheHive end to end (issue 5): a real Dovecot polled over IMAP, a real SMTP client, and
 * `tracehive ingest` as an MTA pipe, each through the one mapper and the spool to the stand-in
 * TheHive. The fixture mails are this repository's own (spec/fixtures/mail).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import { sleep, startApp, waitFor, type Harness } from '../support/harness.js';
import { startFakeTheHive, type FakeTheHive, type StoredAlert } from '../support/fake-thehive.js';
import { dovecotMissing, startDovecot, type Dovecot } from '../support/dovecot.js';
import { fixturePath } from '../support/fixtures.js';
import { startServeProcess } from '../support/serve-process.js';

const mail = (name: string): Buffer => readFileSync(fixturePath('mail', name));
const CLI = resolve('dist/src/cli.js');

/** The mails a SOC mailbox gets, one of each shape. */
const MAILBOX = ['siem-en.eml', 'siem-ru-base64.eml', 'siem-ru-qp.eml', 'fwd-inline.eml', 'fwd-rfc822.eml', 'fwd-octet-eml.eml', 'defanged.eml', 'attachments.eml', 'html-only.eml', 'broken-boundary.eml', 'broken-base64.eml', 'broken-charset.eml', 'broken-folding.eml', 'nested-deep.eml'];

function observables(alert: StoredAlert | undefined, dataType: string): string[] {
  return (alert?.observables ?? []).filter((o) => o.dataType === dataType).map((o) => o.data ?? '');
}

describe('mail intake end to end', function () {
  this.timeout(60000);
  let hive: FakeTheHive;
  let h: Harness | undefined;
  let dovecot: Dovecot | undefined;

  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: 'k-mail' });
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await dovecot?.destroy();
    dovecot = undefined;
    await hive.close();
  });

  const theHive = { 'thehive.url': '', 'thehive.apiKey': 'k-mail', 'tcp.enabled': false };

  describe('IMAP (a real Dovecot)', () => {
    before(function () {
      const missing = dovecotMissing();
      if (missing) throw new Error(`${missing}: make test installs it (scripts/install-test-deps.sh)`);
    });

    function imapConfig(d: Dovecot, spoolDir?: string): Record<string, unknown> {
      return {
        ...theHive,
        'thehive.url': hive.url,
        'email.imap.enabled': true,
        'email.imap.host': d.host,
        'email.imap.port': d.port,
        'email.imap.secure': false,
        'email.imap.starttls': 'off',
        'email.imap.user': d.user,
        'email.imap.password': d.password,
        'email.imap.pollIntervalMs': 200,
        ...(spoolDir ? { 'spool.dir': spoolDir } : {}),
      };
    }

    it('turns every unseen mail into one alert, marks it seen, and does not alert again after a restart', async () => {
      dovecot = await startDovecot();
      for (const name of MAILBOX) await dovecot.append(mail(name));
      // A mail the analyst already read is not an incident to raise.
      await dovecot.append(mail('siem-en.eml').toString('latin1').replace(/INC-2024-0042/g, 'INC-2024-0001'), { flags: ['\\Seen'] });
      const spoolDir = await mkdtemp(join(tmpdir(), 'tracehive-mail-spool-'));
      try {
        h = await startApp(imapConfig(dovecot, spoolDir));
        await waitFor(`${MAILBOX.length} alerts`, () => hive.alerts.length === MAILBOX.length, 30000);
        const byRef = new Map(hive.alerts.map((a) => [a.sourceRef, a]));
        // SIEM notifications: one alert per incident ID, whatever the language and encoding.
        expect([...byRef.keys()]).to.include.members(['mail-INC-2024-0042', 'mail-7731', 'mail-KUMA-2024-118-8b745ee8']);
        expect(byRef.has('mail-INC-2024-0001'), 'a seen mail is left alone').to.equal(false);
        const siem = byRef.get('mail-INC-2024-0042');
        expect(siem?.type).to.equal('siem-mail');
        // Defanged indicators arrive refanged and typed.
        const advisory = hive.alerts.find((a) => a.title.startsWith('Advisory 2024-031'));
        expect(observables(advisory, 'url')).to.include.members(['http://update-kzpost.xyz/parcel.apk', 'https://login.qazbank-secure.com/auth']);
        expect(observables(advisory, 'ip')).to.include('185.244.129.7');
        // Attachments: their hashes and names.
        const sandbox = hive.alerts.find((a) => a.title === 'Sandbox report and IoC list');
        expect(observables(sandbox, 'hash')).to.include('0f8057fa5c0ead1bf2e99a25c01171eda421a5b2ba8a8bbb150b306a9d5aa534');
        expect(observables(sandbox, 'filename')).to.include.members(['ioc-list.txt', 'scan-report.pdf']);
        const messages = await dovecot.messages();
        expect(messages.every((m) => m.seen), 'every mail marked seen').to.equal(true);
        expect(await h.app.telemetry.value('tracehive_mails_total', { via: 'imap', outcome: 'accepted' })).to.equal(MAILBOX.length);

        // Restart on the same spool and mailbox: nothing new, nothing sent again; a new mail is taken.
        await h.stop();
        const creates = hive.requests.filter((r) => r.method === 'POST').length;
        h = await startApp(imapConfig(dovecot, spoolDir));
        await sleep(1000);
        expect(hive.requests.filter((r) => r.method === 'POST').length, 'no alert sent again').to.equal(creates);
        await dovecot.append(mail('siem-en.eml').toString('latin1').replace(/INC-2024-0042/g, 'INC-2024-0077'));
        await waitFor('the new mail as an alert', () => hive.alerts.some((a) => a.sourceRef === 'mail-INC-2024-0077'), 15000);
        expect(hive.alerts).to.have.length(MAILBOX.length + 1);
      } finally {
        // Stop first: a running app still writes its ack state into the spool being removed.
        await h?.stop();
        h = undefined;
        await rm(spoolDir, { recursive: true, force: true });
      }
    });

    it('a reported phish in each shape becomes an alert about the phish (issue 13)', async () => {
      dovecot = await startDovecot();
      const reports = ['phish-report-rfc822.eml', 'phish-report-eml.eml', 'phish-report-outlook-en.eml', 'phish-report-outlook-ru.eml'];
      for (const name of reports) await dovecot.append(mail(name));
      h = await startApp({ ...imapConfig(dovecot), 'email.internalRelays': ['91.215.40.0/28'] });
      // The rfc822 and .eml reports forward the same phish (one Message-ID): one alert (issue 13), the second a duplicate.
      await waitFor(`${reports.length - 1} alerts`, () => hive.alerts.length === reports.length - 1 && h !== undefined && h.logs.filter((l) => l['msg'] === 'Alert delivered.').length >= reports.length, 30000);
      for (const a of hive.alerts) {
        expect(a.tags).to.include('reported');
        expect(observables(a, 'mail')).to.include('billing@halyk-billing-kz.top');
        expect(observables(a, 'mail')).not.to.include.members(['r.ivanov@qazlogistik.kz', 'a.serikova@qazlogistik.kz']);
      }
      expect(hive.alerts.map((a) => a.title).sort()).to.deep.equal(['Urgent: invoice 4412 overdue', 'Urgent: invoice 4412 overdue', 'Срочно: счёт 4412 просрочен']);
      // The whole phish (rfc822, .eml): its transport headers, our MX (email.internalRelays) left out.
      const whole = hive.alerts.filter((a) => observables(a, 'other').includes('20240318071500.4412@halyk-billing-kz.top'));
      expect(whole).to.have.length(1);
      for (const a of whole) {
        const ips = (a.observables ?? []).filter((o) => o.dataType === 'ip').map((o) => [o.data, o.tags]);
        expect(ips).to.deep.equal([['5.188.206.14', ['x-originating-ip', 'received:hop4']], ['185.231.153.44', ['received:hop3']]]);
        expect(observables(a, 'mail')).to.include.members(['payments@invoice-settle.online', 'bounce-4412@halyk-billing-kz.top']);
        expect(observables(a, 'filename')).to.include('invoice_4412.html');
        expect(observables(a, 'filename')).not.to.include('Urgent invoice 4412 overdue.eml');
      }
    });

    it('a mail resent with the same incident ID is not a second alert', async () => {
      dovecot = await startDovecot();
      h = await startApp(imapConfig(dovecot));
      await dovecot.append(mail('siem-en.eml'));
      await waitFor('the first alert', () => hive.alerts.length === 1, 15000);
      // The SIEM sends its notification again (a reminder, an update): same incident ID.
      await dovecot.append(mail('siem-en.eml').toString('latin1').replace('Brute force against VPN gateway', 'Brute force against VPN gateway (reminder)'));
      await waitFor('the second mail taken', async () => (await h!.app.telemetry.value('tracehive_mails_total', { via: 'imap' })) === 2, 15000);
      await waitFor('the spool emptied', async () => (await h!.app.telemetry.value('tracehive_spool_records')) === 0);
      expect(hive.alerts).to.have.length(1);
      expect(await h.app.telemetry.value('tracehive_alerts_delivered_total', { duplicate: 'true' })).to.equal(1);
    });
  });

  describe('SMTP (nodemailer as the client)', () => {
    it('answers 250 with the sourceRef once the alert is in the spool, and delivers it', async () => {
      h = await startApp({ ...theHive, 'thehive.url': hive.url, 'email.smtp.enabled': true, 'email.smtp.port': 0, 'email.smtp.allowFrom': ['@cert-notice.kz'] });
      const port = (h.logs.find((l) => String(l['msg']).startsWith('SMTP intake listening'))?.['port'] ?? 0) as number;
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      const info = await transport.sendMail({ envelope: { from: 'advisories@cert-notice.kz', to: ['soc@corp.local'] }, raw: mail('defanged.eml') });
      expect(info.response).to.match(/^250 .*Accepted as mail-[0-9a-f]{20}/);
      await waitFor('the alert in TheHive', () => hive.alerts.length === 1);
      expect(hive.alerts[0]?.title).to.equal('Advisory 2024-031: indicators of the "SilkRoad Courier" campaign');
      const refused = await transport.sendMail({ envelope: { from: 'someone@elsewhere.example', to: ['soc@corp.local'] }, raw: mail('defanged.eml') }).then(
        () => 'sent',
        (err: { responseCode?: number }) => err.responseCode,
      );
      expect(refused).to.equal(550);
      transport.close();
    });
  });

  describe('serve as the tracehive command runs it (its own heap limit)', () => {
    it('takes a 24 MiB mail over SMTP under --max-old-space-size from the CLI\'s first line, and delivers its alert', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tracehive-bigmail-'));
      const serve = await startServeProcess({ THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-mail', TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_SMTP_ENABLED: 'true', TRACEHIVE_SMTP_PORT: '0' }, dir);
      try {
        const cmdline = readFileSync(`/proc/${serve.child.pid}/cmdline`, 'utf8').split('\0');
        expect(cmdline.some((a) => a.startsWith('--max-old-space-size='))).to.equal(true);
        let port = 0;
        await waitFor('the SMTP intake to log its port', () => (port = (serve.logs().find((l) => String(l['msg']).startsWith('SMTP intake listening'))?.['port'] ?? 0) as number) > 0);
        // One text part of 24 MiB: the biggest kind of mail the default email.smtp.maxBytes (25 MiB) lets in.
        const line = 'Beacon to update-check[.]bad-cdn.example.net from 10.1.2.3, see hxxps://bad-cdn[.]ru/gate.php\r\n';
        const body = line.repeat(Math.floor((24 * 1024 * 1024) / line.length));
        const raw = `From: noc@corp.example\r\nTo: soc@corp.example\r\nSubject: Proxy log extract\r\nMessage-ID: <big-1@corp.example>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${body}`;
        const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
        const info = await transport.sendMail({ envelope: { from: 'noc@corp.example', to: ['soc@corp.example'] }, raw });
        transport.close();
        expect(info.response).to.match(/^250 /);
        await waitFor('the big mail in TheHive', () => hive.alerts.length === 1, 30000);
        expect(observables(hive.alerts[0], 'domain')).to.include('bad-cdn.ru');
        expect(serve.child.exitCode).to.equal(null);
      } finally {
        serve.child.kill('SIGTERM');
        await serve.exited;
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('tracehive ingest (an MTA pipe)', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tracehive-ingest-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    function ingest(args: string[], input: Buffer | string, spool: string): Promise<{ code: number | null; stderr: string }> {
      return new Promise((done) => {
        const child = spawn(process.execPath, [CLI, 'ingest', ...args], { cwd: dir, env: { PATH: process.env['PATH'] ?? '', TRACEHIVE_SPOOL_DIR: spool } });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => done({ code, stderr }));
        child.stdin.end(input);
      });
    }

    it('while serve runs: a piped mail reaches TheHive; garbage is kept (exit 0 both times) and serve quarantines it with its reason', async () => {
      const spool = join(dir, 'spool');
      const serve = await startServeProcess({ THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-mail', TRACEHIVE_SPOOL_DIR: spool }, dir);
      try {
        const piped = await ingest([], mail('siem-ru-qp.eml'), spool);
        expect(piped.code).to.equal(0);
        await waitFor('the piped mail in TheHive', () => hive.alerts.some((a) => a.sourceRef === 'mail-KUMA-2024-118-8b745ee8'), 15000);
        const garbage = await ingest([], Buffer.from([0, 1, 2, 3, 255, 254, 10, 10]), spool);
        expect(garbage.code).to.equal(0);
        expect(garbage.stderr).to.match(/kept for tracehive serve/i);
        // ingest only keeps the raw mail; serve parses it and quarantines what is no mail.
        // The reason file is written after the mail's bytes: wait until it is whole.
        const reasonOf = (): { reason: string; via: string } | null => {
          const names = existsSync(join(spool, 'quarantine')) ? readdirSync(join(spool, 'quarantine')) : [];
          const json = names.find((n) => n.endsWith('.json'));
          try {
            return json === undefined ? null : (JSON.parse(readFileSync(join(spool, 'quarantine', json), 'utf8')) as { reason: string; via: string });
          } catch {
            return null;
          }
        };
        await waitFor('the garbage in quarantine', () => reasonOf() !== null);
        const kept = readdirSync(join(spool, 'quarantine'));
        expect(kept.filter((n) => n.endsWith('.eml'))).to.have.length(1);
        const reason = reasonOf() as { reason: string; via: string };
        expect(reason.via).to.equal('stdin');
        expect(reason.reason).to.match(/^ERR_MAIL_PARSE: /);
        const files = await ingest([fixturePath('mail', 'fwd-inline.eml'), fixturePath('mail', 'nope.eml')], '', spool);
        expect(files.code, 'a missing file is EX_NOINPUT').to.equal(66);
        await waitFor('the file mail in TheHive', () => hive.alerts.length === 2, 15000);
      } finally {
        serve.child.kill('SIGTERM');
        await serve.exited;
      }
    });

    it('without a running serve the mail waits on disk, and the next serve delivers it', async () => {
      const spool = join(dir, 'spool');
      const r = await ingest([fixturePath('mail', 'siem-en.eml')], '', spool);
      expect(r.code).to.equal(0);
      // ingest.dropDir defaults to data/incoming beside the working directory, outside spool.dir.
      const drop = join(dir, 'data', 'incoming');
      expect(existsSync(drop) && readdirSync(drop).length).to.equal(1);
      expect(existsSync(spool), 'ingest does not touch spool.dir').to.equal(false);
      const serve = await startServeProcess({ THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-mail', TRACEHIVE_SPOOL_DIR: spool }, dir);
      try {
        await waitFor('the waiting mail in TheHive', () => hive.alerts.some((a) => a.sourceRef === 'mail-INC-2024-0042'), 15000);
        await waitFor('the drop directory emptied', () => readdirSync(drop).length === 0);
      } finally {
        serve.child.kill('SIGTERM');
        await serve.exited;
      }
    });
  });
});
