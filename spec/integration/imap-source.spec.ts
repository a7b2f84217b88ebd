/**
 * ImapSource against a real, private Dovecot (spec/support/dovecot.ts) and a recording fake
 * MailIntake: what is taken, when it is marked, what survives restarts of tracehive and of
 * the server, and TLS.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import type { Logger } from 'pino';
import { createLogger } from '../../src/log.js';
import { ImapSource, type ImapOptions } from '../../src/sources/imap.js';
import type { MailIntake } from '../../src/sources/mail-intake.js';
import { stateKey } from '../../src/sources/imap-state.js';
import { RecordingIntake } from '../support/recording-intake.js';
import { dovecotMissing, findBinary, startDovecot, type Dovecot } from '../support/dovecot.js';

/** A small RFC 5322 mail with CRLF line ends and some UTF-8 in the body (8bit). */
function mail(subject: string, body = 'Indicator 203.0.113.7 seen on host ws-042 — Ümlaut.'): Buffer {
  return Buffer.from(
    [`From: SIEM <siem@corp.example>`, `To: soc@corp.example`, `Subject: ${subject}`, `Message-ID: <${subject.replace(/\W/g, '')}@corp.example>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', body, ''].join('\r\n'),
    'utf8',
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** A debug logger whose lines the test can read. */
function capture(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger('debug', stream), lines };
}

const silent = createLogger('silent');
let mailboxes = 0;
/** A fresh mailbox name per test, so the tests can share one server. */
const freshMailbox = (): string => `Test${++mailboxes}`;

describe('ImapSource against a real Dovecot', function () {
  this.timeout(20_000);
  let dove: Dovecot;
  let tmp: string;
  const running: ImapSource[] = [];

  before(async function () {
    const missing = dovecotMissing();
    if (missing) {
      console.warn(`    Skipping the IMAP suite: ${missing}.`);
      this.skip();
    }
    dove = await startDovecot();
    tmp = await mkdtemp(join(tmpdir(), 'tracehive-imap-'));
  });

  after(async () => {
    await dove?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop(2000)));
  });

  /** A started source on `dove` with fast test timings. */
  async function start(intake: MailIntake, opts: Partial<ImapOptions> = {}, log: Logger = silent, server: Dovecot = dove): Promise<ImapSource> {
    const source = new ImapSource({ host: server.host, port: server.port, secure: false, starttls: 'off', user: server.user, password: server.password, pollIntervalMs: 150, retryBaseMs: 20, retryMaxMs: 200, ...opts }, intake, log);
    running.push(source);
    await source.start();
    return source;
  }

  it('takes only the unseen mails, byte for byte, and marks them \\Seen', async () => {
    const mailbox = freshMailbox();
    const first = mail('first unseen');
    await dove.append(first, { mailbox });
    await dove.append(mail('already read'), { mailbox, flags: ['\\Seen'] });
    const { uid, uidValidity } = await dove.append(mail('second unseen'), { mailbox });
    const intake = new RecordingIntake();
    await start(intake, { mailbox });
    await waitFor('two mails taken', () => intake.kept.length === 2);
    expect(intake.subjects()).to.deep.equal(['first unseen', 'second unseen']);
    expect(intake.kept[0]?.raw.equals(first)).to.equal(true);
    expect(intake.kept[1]?.origin).to.deep.equal({ via: 'imap', id: `${mailbox}:${uidValidity}:${uid}`, mailbox });
    await waitFor('all marked seen', async () => (await dove.messages(mailbox)).every((m) => m.seen));
    await sleep(400);
    expect(intake.calls).to.have.length(2);
  });

  it('marks a mail seen only after accept() resolves', async () => {
    const mailbox = freshMailbox();
    await dove.append(mail('held'), { mailbox });
    const intake = new RecordingIntake();
    let release = (): void => undefined;
    intake.gate = new Promise((resolve) => (release = resolve));
    await start(intake, { mailbox });
    await waitFor('accept() called', () => intake.calls.length === 1);
    await sleep(400);
    expect((await dove.messages(mailbox)).map((m) => m.seen)).to.deep.equal([false]);
    expect(intake.calls).to.have.length(1);
    release();
    await waitFor('marked seen', async () => (await dove.messages(mailbox))[0]?.seen === true);
  });

  it('marks a quarantined mail seen too: it is kept', async () => {
    const mailbox = freshMailbox();
    await dove.append(mail('unparseable'), { mailbox });
    const intake = new RecordingIntake();
    intake.mode = 'quarantine';
    await start(intake, { mailbox });
    await waitFor('marked seen', async () => (await dove.messages(mailbox))[0]?.seen === true);
    expect(intake.kept).to.have.length(1);
  });

  it('leaves mails unseen while accept() rejects, retries with backoff, then takes them in order', async () => {
    const mailbox = freshMailbox();
    await dove.append(mail('one'), { mailbox });
    await dove.append(mail('two'), { mailbox });
    const intake = new RecordingIntake();
    intake.mode = 'reject';
    const { log, lines } = capture();
    await start(intake, { mailbox }, log);
    await waitFor('three attempts', () => intake.calls.length >= 3);
    // A round stops at the first mail it could not hand on: never skips ahead of it.
    expect(new Set(intake.calls.map((o) => o.id.split(':')[2]))).to.deep.equal(new Set(['1']));
    expect((await dove.messages(mailbox)).map((m) => m.seen)).to.deep.equal([false, false]);
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('could not keep the mail'))).to.equal(true);
    intake.mode = 'accept';
    await waitFor('both taken', () => intake.kept.length === 2);
    expect(intake.subjects()).to.deep.equal(['one', 'two']);
    await waitFor('both marked seen', async () => (await dove.messages(mailbox)).every((m) => m.seen));
  });

  it('does not take a mail again after a restart with the same stateFile, even if it is unseen again', async () => {
    const mailbox = freshMailbox();
    const stateFile = join(tmp, `state-${mailbox}.json`);
    const { uid: uid1 } = await dove.append(mail('before restart'), { mailbox });
    const intakeA = new RecordingIntake();
    const a = await start(intakeA, { mailbox, stateFile });
    await waitFor('taken by the first run', async () => intakeA.kept.length === 1 && (await dove.messages(mailbox))[0]?.seen === true);
    await a.stop();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { mailboxes: Record<string, { lastUid: number }> };
    expect(saved.mailboxes[stateKey(dove, mailbox)]?.lastUid).to.equal(uid1);

    // Someone marks it unread again (or the \Seen flag was refused): the recorded UID still holds.
    await dove.markUnseen(uid1, mailbox);
    await dove.append(mail('after restart'), { mailbox });
    const intakeB = new RecordingIntake();
    await start(intakeB, { mailbox, stateFile });
    await waitFor('the new mail taken', () => intakeB.kept.length === 1);
    await sleep(400);
    expect(intakeB.subjects()).to.deep.equal(['after restart']);
  });

  it('takes every unseen mail again when UIDVALIDITY changed, and says so', async () => {
    const mailbox = freshMailbox();
    const stateFile = join(tmp, `state-${mailbox}.json`);
    await writeFile(stateFile, JSON.stringify({ version: 1, mailboxes: { [mailbox]: { uidValidity: '1', lastUid: 9999 } } }));
    await dove.append(mail('old uid space'), { mailbox });
    const intake = new RecordingIntake();
    const { log, lines } = capture();
    await start(intake, { mailbox, stateFile }, log);
    await waitFor('taken', () => intake.kept.length === 1);
    expect(lines.some((l) => String(l.msg).includes('UIDVALIDITY changed'))).to.equal(true);
  });

  it('picks up a mail appended while it runs, through IDLE (poll interval 60 s)', async () => {
    const mailbox = freshMailbox();
    await dove.append(mail('seed'), { mailbox, flags: ['\\Seen'] });
    const intake = new RecordingIntake();
    await start(intake, { mailbox, pollIntervalMs: 60_000 });
    await sleep(200);
    const appended = Date.now();
    await dove.append(mail('live'), { mailbox });
    await waitFor('live mail taken', () => intake.kept.length === 1, 5000);
    expect(Date.now() - appended).to.be.below(5000);
    expect(intake.subjects()).to.deep.equal(['live']);
  });

  it('moves taken mails to doneMailbox (creating it) and leaves read ones where they are', async () => {
    const mailbox = freshMailbox();
    const doneMailbox = `${mailbox}-done`;
    await dove.append(mail('read before'), { mailbox, flags: ['\\Seen'] });
    await dove.append(mail('to move'), { mailbox });
    const intake = new RecordingIntake();
    await start(intake, { mailbox, doneMailbox });
    await waitFor('moved', async () => (await dove.messages(doneMailbox)).length === 1);
    expect(await dove.messages(mailbox)).to.have.length(1);
    expect(intake.subjects()).to.deep.equal(['to move']);
  });

  it('fetches nothing while the intake is full, and resumes when it has space', async () => {
    const mailbox = freshMailbox();
    await dove.append(mail('waits for space'), { mailbox });
    const intake = new RecordingIntake();
    intake.full = true;
    await start(intake, { mailbox });
    await sleep(500);
    expect(intake.calls).to.have.length(0);
    intake.full = false;
    await waitFor('taken after space', () => intake.kept.length === 1, 3000);
  });

  it('leaves a mail larger than maxBytes unseen, reports it, and goes on with the next', async () => {
    const mailbox = freshMailbox();
    const { uid } = await dove.append(mail('huge', 'x'.repeat(5000)), { mailbox });
    await dove.append(mail('small'), { mailbox });
    const intake = new RecordingIntake();
    const oversize: Array<[string, number]> = [];
    await start(intake, { mailbox, maxBytes: 1000, onOversize: (origin, bytes) => oversize.push([origin.id, bytes]) });
    await waitFor('small taken', () => intake.kept.length === 1);
    expect(intake.subjects()).to.deep.equal(['small']);
    expect(oversize).to.have.length(1);
    expect(oversize[0]?.[0]).to.match(new RegExp(`:${uid}$`));
    expect(oversize[0]?.[1]).to.be.above(5000);
    const flags = await dove.messages(mailbox);
    expect(flags.find((m) => m.uid === uid)?.seen).to.equal(false);
  });

  it('logs a missing mailbox as an error and keeps retrying', async () => {
    const intake = new RecordingIntake();
    const { log, lines } = capture();
    const source = await start(intake, { mailbox: 'NoSuchMailbox' }, log);
    await waitFor('the error logged', () => lines.some((l) => l.level === 50 && String(l.msg).includes('mailbox does not exist')));
    expect(source.connected).to.equal(false);
  });

  it('keeps retrying a refused login with an error log, without crashing, and stops cleanly', async () => {
    const intake = new RecordingIntake();
    const { log, lines } = capture();
    const source = await start(intake, { mailbox: freshMailbox(), password: 'wrong' }, log);
    await waitFor('two failed attempts', () => lines.filter((l) => l.level === 50 && String(l.msg).includes('refused the login')).length >= 2);
    expect(source.connected).to.equal(false);
    const line = lines.find((l) => l.level === 50 && l.component === 'source.imap') ?? {};
    expect(line).to.include.keys('retryInMs', 'nextAttemptAt');
    expect(JSON.stringify(lines)).not.to.include('wrong"');
  });

  it('logs out cleanly on stop()', async () => {
    const mailbox = freshMailbox();
    await dove.append(mail('read'), { mailbox, flags: ['\\Seen'] });
    const intake = new RecordingIntake();
    const source = await start(intake, { mailbox });
    await waitFor('connected', () => source.connected);
    await source.stop();
    running.splice(running.indexOf(source), 1);
    await waitFor('Dovecot logged the logout', async () => /imap\(hive\).*Logged out/.test(await readFile(join(dove.dir, 'dovecot.log'), 'utf8')));
  });

  describe('when the server goes away', () => {
    let own: Dovecot;
    before(async () => {
      own = await startDovecot();
    });
    after(async () => own?.destroy());

    it('reconnects with backoff after Dovecot restarts, and goes on', async () => {
      await own.append(mail('before the outage'));
      const intake = new RecordingIntake();
      const { log, lines } = capture();
      const source = await start(intake, { retryBaseMs: 50, retryMaxMs: 300 }, log, own);
      await waitFor('first mail taken', () => intake.kept.length === 1);
      await own.stop();
      await waitFor('disconnected', () => !source.connected);
      await sleep(300);
      await own.restart();
      await own.append(mail('after the outage'));
      await waitFor('second mail taken', () => intake.kept.length === 2, 8000);
      expect(intake.subjects()).to.deep.equal(['before the outage', 'after the outage']);
      const warn = lines.find((l) => l.level === 40 && /reconnecting/.test(String(l.msg)));
      expect(warn).to.include.keys('retryInMs', 'nextAttemptAt');
    });
  });

  describe('over TLS (ssl = required, self-signed certificate)', () => {
    let tls: Dovecot;
    before(async function () {
      if (!findBinary('openssl')) {
        console.warn('    Skipping the IMAP TLS tests: openssl is not installed.');
        this.skip();
      }
      tls = await startDovecot({ tls: true });
    });
    after(async () => tls?.destroy());

    it('upgrades with STARTTLS (tlsVerify false)', async () => {
      await tls.append(mail('over starttls'), { mailbox: 'Starttls' });
      const intake = new RecordingIntake();
      await start(intake, { mailbox: 'Starttls', starttls: 'required', tlsVerify: false }, silent, tls);
      await waitFor('taken', () => intake.kept.length === 1);
    });

    it('speaks implicit TLS, verifying the certificate against the given CA', async () => {
      await tls.append(mail('over implicit tls'), { mailbox: 'Implicit' });
      const intake = new RecordingIntake();
      await start(intake, { port: tls.tlsPort, secure: true, ca: tls.certPem, mailbox: 'Implicit' }, silent, tls);
      await waitFor('taken', () => intake.kept.length === 1);
    });

    it('refuses an untrusted certificate when tlsVerify is on, and keeps retrying', async () => {
      await tls.append(mail('never fetched'), { mailbox: 'Untrusted' });
      const intake = new RecordingIntake();
      const { log, lines } = capture();
      const source = await start(intake, { port: tls.tlsPort, secure: true, mailbox: 'Untrusted' }, log, tls);
      await waitFor('a failed attempt logged', () => lines.some((l) => l.level === 40 && /reconnecting/.test(String(l.msg))));
      expect(source.connected).to.equal(false);
      expect(intake.calls).to.have.length(0);
    });
  });
});
