/**
 * Issue 11, greedy clients on the SMTP intake, over real sockets: slots (`maxClients`, and one
 * address's share `maxClientsPerPeer`), deadlines (`commandTimeoutMs`: NOOP keeps no session
 * alive; `dataTimeoutMs`), the byte budget of mails in flight (`maxInflightBytes`), the envelope
 * handed to the intake, and peer text clipped in logs. Several clients are played by binding
 * loopback aliases (127.0.0.2, 127.0.0.3…) as the local address, as Linux allows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { sleep, startApp, waitFor, type Harness } from '../support/harness.js';
import { RecordingIntake } from '../support/recording-intake.js';
import { startFakeTheHive } from '../support/fake-thehive.js';
import { startServeProcess } from '../support/serve-process.js';
import { SmtpSource, type SmtpOptions } from '../../src/sources/smtp.js';

/** An SMTP error as nodemailer reports it. */
interface SmtpError extends Error {
  responseCode?: number;
  command?: string;
}

/** A hand-driven SMTP client: everything the server said, and whether it closed the connection. */
class RawClient {
  text = '';
  closed = false;
  readonly socket: net.Socket;
  #read = 0;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.#wake?.();
    });
    // The server may reset a connection it refuses: that is its answer.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.closed = true;
      this.#wake?.();
    });
  }

  static async open(port: number, localAddress = '127.0.0.1'): Promise<RawClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
      s.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** The next whole reply (its last line has a space after the code); '' once the connection closed. */
  async reply(timeoutMs = 5000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.#read);
      const end = /(^|\r\n)\d{3} [^\r\n]*\r\n/.exec(rest);
      if (end) {
        const length = end.index + end[0].length;
        this.#read += length;
        return rest.slice(0, length).replace(/^\r\n/, '');
      }
      if (this.closed) return '';
      if (Date.now() > until) throw new Error(`No reply within ${timeoutMs} ms; the server said: ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }
}

function mailOf(id: string, bodyBytes: number): Buffer {
  const head = `From: Reporter <reporter@corp.example>\r\nTo: trap@tracehive.test\r\nSubject: Mail ${id}\r\nMessage-ID: <${id}@corp.example>\r\n\r\n`;
  return Buffer.from(head + `${'x'.repeat(70)}\r\n`.repeat(Math.ceil(bodyBytes / 72)), 'utf8');
}

function send(port: number, raw: Buffer, extra: { localAddress?: string; size?: number; name?: string } = {}): Promise<{ response: string }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, localAddress: extra.localAddress, name: extra.name });
  const envelope = { from: 'reporter@corp.example', to: ['trap@tracehive.test'], ...(extra.size ? { size: extra.size } : {}) };
  return transport.sendMail({ envelope, raw }).finally(() => transport.close());
}

async function sendError(port: number, raw: Buffer, extra: { localAddress?: string; size?: number } = {}): Promise<SmtpError> {
  try {
    await send(port, raw, extra);
  } catch (err) {
    return err as SmtpError;
  }
  throw new Error('the mail was accepted');
}

function smtpPort(h: Harness): number {
  return (h.logs.find((l) => String(l['msg']).startsWith('SMTP intake listening'))?.['port'] ?? 0) as number;
}

describe('issue 11: greedy SMTP clients (real sockets)', function () {
  this.timeout(30_000);
  let h: Harness | undefined;
  let source: SmtpSource | undefined;
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await source?.stop();
    source = undefined;
    await h?.stop();
    h = undefined;
  });

  async function open(port: number, localAddress?: string): Promise<RawClient> {
    const c = await RawClient.open(port, localAddress);
    clients.push(c);
    return c;
  }

  describe('in the app, from its configuration', () => {
    it('takes email.smtp.maxClients and maxClientsPerPeer: one address cannot take every slot', async () => {
      h = await startApp({ 'email.smtp.enabled': true, 'email.smtp.port': 0, 'email.smtp.maxClients': 3, 'email.smtp.maxClientsPerPeer': 2 });
      const port = smtpPort(h);
      const a = [await open(port, '127.0.0.2'), await open(port, '127.0.0.2')];
      for (const c of a) expect(await c.reply()).to.match(/^220 /);
      const third = await open(port, '127.0.0.2');
      expect(await third.reply()).to.match(/^421 4\.7\.0 Too many connections from your address/);
      await waitFor('the third connection closed', () => third.closed);
      // Another address gets the last slot…
      const b = await open(port, '127.0.0.3');
      expect(await b.reply()).to.match(/^220 /);
      // …and then the global limit holds.
      const d = await open(port, '127.0.0.4');
      expect(await d.reply()).to.match(/^421 .*Too many connected clients/);
      // A closed connection gives its address's share back.
      a[0]!.socket.destroy();
      await sleep(200);
      const again = await open(port, '127.0.0.2');
      expect(await again.reply()).to.match(/^220 /);
      expect(h.logs.some((l) => String(l['msg']).includes('maxClientsPerPeer') && l['peer'] === '127.0.0.2')).to.equal(true);
    });

    it('closes sessions kept alive by NOOP after email.smtp.commandTimeoutMs, so a real mail gets in', async () => {
      h = await startApp({ 'email.smtp.enabled': true, 'email.smtp.port': 0, 'email.smtp.maxClients': 3, 'email.smtp.commandTimeoutMs': 600 });
      const port = smtpPort(h);
      const idlers = await Promise.all([1, 2, 3].map(() => open(port)));
      for (const c of idlers) {
        await c.reply();
        await c.command('EHLO idler.test');
      }
      // NOOP, RSET and friends every 100 ms: far inside the 60 s idle timeout, so only the command deadline ends them.
      const timer = setInterval(() => {
        for (const [i, c] of idlers.entries()) if (!c.closed) c.socket.write(`${['NOOP', 'RSET', 'HELP'][i]}\r\n`);
      }, 100);
      try {
        await waitFor('every idling session closed by the server', () => idlers.every((c) => c.closed), 8000);
      } finally {
        clearInterval(timer);
      }
      for (const c of idlers) expect(c.text).to.match(/\r\n421 4\.4\.2 [^\r]*commandTimeoutMs/);
      const info = await send(port, mailOf('real-1', 500));
      expect(info.response).to.match(/^250 /);
    });

    it('closes a session whose DATA does not end within email.smtp.dataTimeoutMs, and keeps nothing of it', async () => {
      h = await startApp({ 'email.smtp.enabled': true, 'email.smtp.port': 0, 'email.smtp.dataTimeoutMs': 600 });
      const c = await open(smtpPort(h));
      await c.reply();
      for (const cmd of ['EHLO slow.test', 'MAIL FROM:<reporter@corp.example>', 'RCPT TO:<trap@tracehive.test>']) expect(await c.command(cmd)).to.match(/^250/);
      expect(await c.command('DATA')).to.match(/^354/);
      c.socket.write('Subject: slow\r\n\r\n');
      const timer = setInterval(() => c.closed || c.socket.write('one more line\r\n'), 100);
      try {
        await waitFor('the session closed by the server', () => c.closed, 8000);
      } finally {
        clearInterval(timer);
      }
      expect(c.text).to.match(/\r\n421 4\.4\.2 [^\r]*dataTimeoutMs/);
      expect(await h.app.telemetry.value('tracehive_mails_total')).to.equal(0);
    });

    it('refuses to start with email.smtp.maxInflightBytes below email.smtp.maxBytes (such a mail could never get in)', async () => {
      let failure: unknown;
      try {
        h = await startApp({ 'email.smtp.enabled': true, 'email.smtp.port': 0, 'email.smtp.maxBytes': 2_000_000, 'email.smtp.maxInflightBytes': 1_000_000 });
      } catch (err) {
        failure = err;
      }
      expect((failure as { code?: string }).code).to.equal('ERR_CONFIG_INVALID');
      expect(String(failure)).to.match(/email\.smtp\.maxInflightBytes \(1000000\) is below email\.smtp\.maxBytes \(2000000\).*TRACEHIVE_SMTP_MAX_INFLIGHT_BYTES/);
    });
  });

  describe('SmtpSource with a recording intake', () => {
    async function start(intake: RecordingIntake, opts: Partial<SmtpOptions> = {}, log = pino({ level: 'silent' })): Promise<number> {
      source = new SmtpSource({ host: '127.0.0.1', port: 0, ...opts }, intake, log);
      return (await source.start()).port;
    }

    it('does not count the time a mail waits for the intake against the client, and restarts the command deadline after each mail', async () => {
      const intake = new RecordingIntake();
      const port = await start(intake, { commandTimeoutMs: 600, dataTimeoutMs: 600 });
      const c = await open(port);
      await c.reply();
      await c.command('EHLO steady.test');
      let release: () => void = () => undefined;
      intake.gate = new Promise((resolve) => (release = resolve));
      setTimeout(() => release(), 1500); // the intake takes 1.5 s: longer than both deadlines
      for (let i = 0; i < 3; i++) {
        // Each mail starts 400 ms after the last answer: 1.2 s in all, twice the command deadline.
        await sleep(400);
        await c.command('MAIL FROM:<reporter@corp.example>');
        await c.command('RCPT TO:<trap@tracehive.test>');
        expect(await c.command('DATA')).to.match(/^354/);
        expect(await c.command(`${mailOf(`steady-${i}`, 300).toString('utf8')}.`)).to.match(/^250 /);
      }
      expect(c.closed).to.equal(false);
      expect(intake.kept).to.have.length(3);
    });

    it('answers 452 to a mail that would go over maxInflightBytes, reads and drops it, and takes it once the budget is free', async () => {
      const intake = new RecordingIntake();
      const port = await start(intake, { maxBytes: 60_000, maxInflightBytes: 100_000 });
      let release: () => void = () => undefined;
      intake.gate = new Promise((resolve) => (release = resolve));
      // 50 kB held by the intake (waiting to be parsed and spooled)…
      const first = send(port, mailOf('budget-1', 50_000));
      await waitFor('the first mail at the intake', () => intake.calls.length === 1);
      // …so 55 kB more would go over: 452 once DATA ended, and the intake never sees it.
      const second = mailOf('budget-2', 55_000);
      // Taken into the intake instead, it would wait there for the gate: no answer at all.
      const refused = await Promise.race([sendError(port, second), sleep(5000).then(() => ({ responseCode: 0, command: 'no answer within 5 s' }) as SmtpError)]);
      expect(refused.responseCode).to.equal(452);
      expect(refused.command).to.equal('DATA');
      // A declared SIZE that would go over is refused at MAIL FROM, before any byte is sent.
      const sized = await sendError(port, second, { size: second.length });
      expect(sized.responseCode).to.equal(452);
      expect(sized.command).to.match(/^MAIL/);
      expect(intake.calls).to.have.length(1);
      release();
      expect((await first).response).to.match(/^250 /);
      // The budget is free again: the sender's retry is accepted, once.
      expect((await send(port, second, { size: second.length })).response).to.match(/^250 /);
      expect(intake.subjects()).to.deep.equal(['Mail budget-1', 'Mail budget-2']);
    });

    it('gives back the budget of a mail whose client went away in the middle of DATA', async () => {
      const intake = new RecordingIntake();
      const port = await start(intake, { maxBytes: 60_000, maxInflightBytes: 100_000 });
      const c = await open(port);
      await c.reply();
      for (const cmd of ['EHLO gone.test', 'MAIL FROM:<reporter@corp.example>', 'RCPT TO:<trap@tracehive.test>', 'DATA']) await c.command(cmd);
      c.socket.write(mailOf('gone', 55_000).subarray(0, 54_000));
      await sleep(200);
      c.socket.destroy();
      await sleep(200);
      // Were the 54 kB still counted, 54 + 55 would go over 100 kB.
      expect((await send(port, mailOf('after', 55_000))).response).to.match(/^250 /);
      expect(intake.subjects()).to.deep.equal(['Mail after']);
    });

    it('three sessions declaring a big SIZE and trickling DATA hold only what they sent: a real mail still gets in', async () => {
      const intake = new RecordingIntake();
      const port = await start(intake, { maxBytes: 60_000, maxInflightBytes: 100_000, maxClientsPerPeer: 10 });
      const tricklers: RawClient[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await open(port, `127.0.0.${10 + i}`);
        await c.reply();
        for (const cmd of ['EHLO slow.test', 'MAIL FROM:<slow@corp.example> SIZE=59000', 'RCPT TO:<trap@tracehive.test>', 'DATA']) expect(await c.command(cmd)).to.match(/^(250|354)/);
        c.socket.write('Subject: slow\r\n');
        tricklers.push(c);
      }
      // 3 × 59 kB declared against a 100 kB budget: had the SIZEs been reserved, this mail would get 452.
      expect((await send(port, mailOf('real', 30_000))).response).to.match(/^250 /);
      expect(intake.subjects()).to.deep.equal(['Mail real']);
      for (const c of tricklers) c.socket.destroy();
    });

    it('hands the intake the envelope: sender, recipients, client address and HELO name', async () => {
      const intake = new RecordingIntake();
      const port = await start(intake);
      await send(port, mailOf('envelope', 200), { localAddress: '127.0.0.5', name: 'mta.corp.example' });
      expect(intake.kept[0]?.origin.envelope).to.deep.equal({ mailFrom: 'reporter@corp.example', rcptTo: ['trap@tracehive.test'], clientAddress: '127.0.0.5', helo: 'mta.corp.example' });
      expect(intake.kept[0]?.origin.id).to.match(/ 127\.0\.0\.5$/);
    });

    it('clips what a client controls before it reaches the log', async () => {
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
          cb();
        },
      });
      const port = await start(new RecordingIntake(), { allowFrom: ['@corp.example'] }, pino({ level: 'debug' }, sink));
      const c = await open(port);
      await c.reply();
      await c.command('EHLO long.test');
      // smtp-server takes addresses up to 253 characters (RFC 5321's path limit): more than a log line needs.
      const sender = `${'a'.repeat(230)}@elsewhere.example`;
      expect(await c.command(`MAIL FROM:<${sender}>`)).to.match(/^550 /);
      const refused = lines.find((l) => String(l['msg']).startsWith('SMTP sender refused'));
      expect(refused, 'the refusal is logged').to.not.equal(undefined);
      const logged = String(refused?.['sender']);
      expect(logged).to.equal(`${'a'.repeat(200)}…`);
    });
  });
});

/** Mails sent at once: 8 × 24 MiB, more than any budget here lets in together. */
const BIG_MAILS = 8;
/**
 * Growth of serve's peak RSS the test allows. Parsing a 24 MiB text mail costs serve about
 * 160 MiB on its own; with one such mail in flight at a time, eight sent at once grew RSS by
 * 210–240 MiB here, and by 500 MiB without the budget (the issue saw 96 → 598 MB for six).
 */
const MAX_RSS_GROWTH_MIB = 350;

describe('issue 11: big mails in flight on a real tracehive serve', function () {
  this.timeout(180_000);

  it('keeps concurrent 24 MiB mails within email.smtp.maxInflightBytes: some wait (452), RSS stays bounded, each is delivered once', async () => {
    const hive = await startFakeTheHive({ apiKey: 'k-big' });
    const dir = await mkdtemp(join(tmpdir(), 'tracehive-inflight-'));
    const serve = await startServeProcess({ THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-big', TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_SMTP_ENABLED: 'true', TRACEHIVE_SMTP_PORT: '0', TRACEHIVE_SMTP_MAX_INFLIGHT_BYTES: String(25 * 1024 * 1024) }, dir);
    try {
      let port = 0;
      await waitFor('the SMTP intake to log its port', () => (port = (serve.logs().find((l) => String(l['msg']).startsWith('SMTP intake listening'))?.['port'] ?? 0) as number) > 0);
      const before = serve.peakRssMiB();
      const line = 'Beacon to update-check[.]bad-cdn.example.net from 10.1.2.3, see hxxps://bad-cdn[.]ru/gate.php\r\n';
      const body = Buffer.from(line.repeat(Math.floor((24 * 1024 * 1024) / line.length)), 'utf8');
      // One mail of the largest size email.smtp.maxBytes (25 MiB) lets in fits the budget at a time.
      const mails = Array.from({ length: BIG_MAILS }, (_, i) => Buffer.concat([Buffer.from(`From: noc@corp.example\r\nTo: soc@corp.example\r\nSubject: Proxy log extract ${i}\r\nMessage-ID: <big-${i}@corp.example>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`), body]));
      let deferred = 0;
      // An MTA's retry loop; half the senders declare SIZE (as Postfix does), half do not.
      const deliver = async (raw: Buffer, i: number): Promise<string> => {
        for (;;) {
          try {
            return (await send(port, raw, i % 2 === 0 ? { size: raw.length } : {})).response;
          } catch (err) {
            if ((err as SmtpError).responseCode !== 452) throw err;
            deferred++;
            await sleep(250);
          }
        }
      };
      const answers = await Promise.all(mails.map((raw, i) => deliver(raw, i)));
      const grown = serve.peakRssMiB() - before;
      for (const a of answers) expect(a).to.match(/^250 .*Accepted as mail-/);
      expect(deferred, 'mails told to come back later').to.be.greaterThan(0);
      await waitFor('every alert in TheHive', () => hive.alerts.length >= BIG_MAILS, 60_000);
      await sleep(500);
      expect(hive.alerts.map((a) => a.title).sort()).to.deep.equal(mails.map((_, i) => `Proxy log extract ${i}`).sort());
      expect(new Set(hive.alerts.map((a) => a.sourceRef)).size).to.equal(BIG_MAILS);
      // Once: no mail was spooled twice, so TheHive was asked once per mail.
      expect(hive.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/alert'))).to.have.length(BIG_MAILS);
      expect(grown, 'RSS growth in MiB').to.be.below(MAX_RSS_GROWTH_MIB);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
      await hive.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
