/**
 * SmtpSource on a free loopback port, driven by a real SMTP client (nodemailer), with a
 * recording fake MailIntake: what each answer is, and that nothing is recorded when the
 * answer is a refusal.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import nodemailer from 'nodemailer';
import { createLogger } from '../../src/log.js';
import type { MailIntake } from '../../src/sources/mail-intake.js';
import { RecordingIntake } from '../support/recording-intake.js';
import { senderMatcher, SmtpSource, type SmtpOptions } from '../../src/sources/smtp.js';
import { findBinary } from '../support/dovecot.js';

/** An SMTP error as nodemailer reports it. */
interface SmtpError extends Error {
  responseCode?: number;
  response?: string;
  command?: string;
}

const raw = Buffer.from(
  ['From: Phish Reporter <reporter@corp.example>', 'To: trap@tracehive.test', 'Subject: Suspicious invoice', 'Message-ID: <r1@corp.example>', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', 'Click hxxp://evil[.]example/pay — Grüße', '.leading dot line', ''].join('\r\n'),
  'utf8',
);

describe('SmtpSource with a real SMTP client', function () {
  this.timeout(10_000);
  const log = createLogger('silent');
  let source: SmtpSource | undefined;

  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });

  async function start(intake: MailIntake, opts: Partial<SmtpOptions> = {}): Promise<number> {
    source = new SmtpSource({ host: '127.0.0.1', port: 0, ...opts }, intake, log);
    return (await source.start()).port;
  }

  function send(port: number, message: Buffer = raw, from = 'reporter@corp.example', extra: Record<string, unknown> = {}): Promise<{ response: string }> {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...extra });
    return transport.sendMail({ envelope: { from, to: ['trap@tracehive.test'] }, raw: message }).finally(() => transport.close());
  }

  async function sendError(port: number, message?: Buffer, from?: string): Promise<SmtpError> {
    try {
      await send(port, message, from);
    } catch (err) {
      return err as SmtpError;
    }
    throw new Error('the mail was accepted');
  }

  it('answers 250 with the sourceRef once the intake kept the mail, which got the exact bytes', async () => {
    const intake = new RecordingIntake(() => 'mail-0123456789abcdef');
    const port = await start(intake);
    const info = await send(port);
    expect(info.response).to.match(/^250 .*Accepted as mail-0123456789abcdef/);
    expect(intake.kept).to.have.length(1);
    expect(intake.kept[0]?.raw.equals(raw)).to.equal(true);
    expect(intake.kept[0]?.origin.via).to.equal('smtp');
    expect(intake.kept[0]?.origin.id).to.match(/^\S+ 127\.0\.0\.1$/);
  });

  it('answers 250 for a quarantined mail too: it is kept', async () => {
    const intake = new RecordingIntake(() => 'mail-0123456789abcdef');
    intake.mode = 'quarantine';
    const info = await send(await start(intake));
    expect(info.response).to.match(/^250 .*quarantined/);
  });

  it('refuses a sender outside allowFrom with 550 and records nothing; allows its addresses and @domains', async () => {
    const intake = new RecordingIntake(() => 'mail-0123456789abcdef');
    const port = await start(intake, { allowFrom: ['@corp.example', 'Alerts@SIEM.example'] });
    const err = await sendError(port, raw, 'someone@elsewhere.example');
    expect(err.responseCode).to.equal(550);
    expect(err.response).to.match(/5\.7\.1 Sender not allowed/);
    expect(intake.calls).to.have.length(0);
    // A subdomain is another domain.
    expect((await sendError(port, raw, 'x@sub.corp.example')).responseCode).to.equal(550);
    await send(port, raw, 'reporter@CORP.example');
    await send(port, raw, 'alerts@siem.example');
    expect(intake.kept).to.have.length(2);
  });

  it('refuses a client outside allowPeers at connect with 554', async () => {
    const intake = new RecordingIntake(() => 'mail-0123456789abcdef');
    const port = await start(intake, { allowPeers: ['10.0.0.0/8', '::2'] });
    const err = await sendError(port);
    expect(err.responseCode).to.equal(554);
    expect(intake.calls).to.have.length(0);
  });

  it('refuses a mail over maxBytes with 552 and does not hand it on', async () => {
    const intake = new RecordingIntake(() => 'mail-0123456789abcdef');
    const port = await start(intake, { maxBytes: 1000 });
    const big = Buffer.concat([raw, Buffer.from(`${'x'.repeat(70)}\r\n`.repeat(60))]);
    const err = await sendError(port, big);
    expect(err.responseCode).to.equal(552);
    expect(intake.calls).to.have.length(0);
    // Without a SIZE declaration the limit is found while reading DATA: same answer, the session goes on.
    const session = await converse(port, ['EHLO client.test', 'MAIL FROM:<reporter@corp.example>', 'RCPT TO:<trap@tracehive.test>', 'DATA', `${big.toString('utf8')}.`, 'MAIL FROM:<reporter@corp.example>', 'RCPT TO:<trap@tracehive.test>', 'DATA', `${raw.toString('utf8')}.`]);
    expect(session).to.match(/\r\n552 [^\r]*maximum message size 1000\r\n/);
    expect(session).to.match(/\r\n250 2\.6\.0 Accepted as mail-0123456789abcdef\r\n/);
    expect(intake.calls).to.have.length(1);
    expect(intake.kept[0]?.raw.equals(raw)).to.equal(true);
  });

  it('answers 451 when the intake could not keep the mail, so the sender retries', async () => {
    const intake = new RecordingIntake(() => 'mail-0123456789abcdef');
    intake.mode = 'reject';
    const err = await sendError(await start(intake));
    expect(err.responseCode).to.equal(451);
    expect(err.response).to.match(/4\.3\.0/);
    expect(intake.calls).to.have.length(1);
    expect(intake.kept).to.have.length(0);
  });

  it('answers 452 at MAIL FROM while the intake is full', async () => {
    const intake = new RecordingIntake(() => 'mail-0123456789abcdef');
    intake.full = true;
    const err = await sendError(await start(intake));
    expect(err.responseCode).to.equal(452);
    expect(err.command).to.match(/MAIL/i);
    expect(intake.calls).to.have.length(0);
  });

  it('offers no STARTTLS and no AUTH without a certificate', async () => {
    const port = await start(new RecordingIntake(() => 'mail-0123456789abcdef'));
    const ehlo = await converse(port, ['EHLO client.test']);
    expect(ehlo).to.match(/^250[- ]SIZE 26214400/m);
    expect(ehlo).not.to.match(/STARTTLS|AUTH/);
  });

  it('stops listening on stop()', async () => {
    const port = await start(new RecordingIntake(() => 'mail-0123456789abcdef'));
    await source?.stop();
    source = undefined;
    const refused = await new Promise<boolean>((resolve) => net.connect(port, '127.0.0.1').once('connect', () => resolve(false)).once('error', () => resolve(true)));
    expect(refused).to.equal(true);
  });

  it('rejects an allowFrom entry that is a client address, pointing to allowPeers', () => {
    expect(() => senderMatcher(['10.1.2.0/24'])).to.throw(TypeError, /allowPeers/);
    expect(() => new SmtpSource({ port: 0, allowPeers: ['not-an-ip'] }, new RecordingIntake(() => 'mail-0123456789abcdef'), log)).to.throw(TypeError, /allowPeers/);
  });

  describe('with a certificate', () => {
    let dir: string;
    before(async function () {
      const openssl = findBinary('openssl');
      if (!openssl) {
        console.warn('    Skipping the SMTP STARTTLS test: openssl is not installed.');
        this.skip();
      }
      dir = await mkdtemp(join(tmpdir(), 'tracehive-smtp-'));
      await promisify(execFile)(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    });
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('offers STARTTLS and takes mail over it', async () => {
      const intake = new RecordingIntake(() => 'mail-0123456789abcdef');
      const port = await start(intake, { tlsKeyFile: join(dir, 'key.pem'), tlsCertFile: join(dir, 'cert.pem') });
      const ca = await readFile(join(dir, 'cert.pem'), 'utf8');
      const info = await send(port, raw, undefined, { ignoreTLS: false, requireTLS: true, tls: { ca } });
      expect(info.response).to.match(/^250 /);
      expect(intake.kept[0]?.raw.equals(raw)).to.equal(true);
    });
  });
});

/** Sends SMTP commands one by one and returns everything the server said (QUIT is added). */
async function converse(port: number, commands: string[]): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8');
  const next = (): Promise<void> =>
    new Promise((resolve) => {
      const onData = (chunk: string): void => {
        text += chunk;
        // A reply ends with a line whose code is followed by a space.
        if (/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(text)) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
    });
  await next();
  for (const c of [...commands, 'QUIT']) {
    socket.write(`${c}\r\n`);
    await next();
  }
  socket.destroy();
  return text;
}
