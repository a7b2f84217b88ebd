/**
 * Issue 11: with `email.imap.secure=false`, the password must never cross in clear unless the
 * operator said so. A minimal fake IMAP server on a real socket, offering no STARTTLS, records
 * whether a LOGIN or AUTHENTICATE arrives; a real Dovecot with `ssl = required` and a self-signed
 * certificate is reached with STARTTLS and `email.imap.caFile`, through the whole app.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { sleep, startApp, waitFor, type Harness } from '../support/harness.js';
import { dovecotMissing, findBinary, startDovecot, type Dovecot } from '../support/dovecot.js';

const PASSWORD = 'never-in-clear-7f3a';

/** An IMAP server that offers no STARTTLS and refuses every login; it records what clients send. */
interface FakeImap {
  readonly port: number;
  readonly connections: number;
  /** Every byte received, as text. */
  readonly received: string;
  /** The commands received (LOGIN, AUTHENTICATE, CAPABILITY, …). */
  readonly commands: string[];
  close(): Promise<void>;
}

async function startFakeImap(): Promise<FakeImap> {
  let connections = 0;
  let received = '';
  const commands: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN-REFERRALS] fake server ready\r\n');
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      buffer += chunk.toString('latin1');
      for (let nl = buffer.indexOf('\r\n'); nl >= 0; nl = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const [tag = '*', name = ''] = line.split(' ');
        const command = name.toUpperCase();
        commands.push(command);
        if (command === 'CAPABILITY') socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK CAPABILITY completed\r\n`);
        else if (command === 'LOGOUT') socket.end(`* BYE logging out\r\n${tag} OK LOGOUT completed\r\n`);
        else if (command === 'LOGIN' || command === 'AUTHENTICATE') socket.write(`${tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n`);
        else socket.write(`${tag} BAD unknown command\r\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    get received() {
      return received;
    },
    commands,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function imapConfig(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'email.imap.enabled': true,
    'email.imap.host': '127.0.0.1',
    'email.imap.port': port,
    'email.imap.secure': false,
    'email.imap.user': 'hive',
    'email.imap.password': PASSWORD,
    'email.imap.pollIntervalMs': 200,
    ...extra,
  };
}

describe('IMAP without implicit TLS (issue 11)', function () {
  this.timeout(30000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  describe('a server that offers no STARTTLS', () => {
    let fake: FakeImap;
    beforeEach(async () => {
      fake = await startFakeImap();
    });
    afterEach(() => fake.close());

    it('never receives the password with the default (email.imap.starttls=required): refused, logged as an error naming the key, retried', async () => {
      h = await startApp(imapConfig(fake.port));
      const app = h;
      await waitFor('two connection attempts', () => fake.connections >= 2);
      expect(fake.commands).to.not.include('LOGIN');
      expect(fake.commands).to.not.include('AUTHENTICATE');
      expect(fake.received).to.not.include(PASSWORD);
      expect(fake.received).to.not.include(Buffer.from(`\0hive\0${PASSWORD}`).toString('base64'));
      await waitFor('an error log naming the key', () => app.logs.some((l) => l['level'] === 50 && String(l['msg']).includes('email.imap.starttls')));
      const line = app.logs.find((l) => l['level'] === 50 && String(l['msg']).includes('email.imap.starttls')) ?? {};
      expect(line).to.include.keys('retryInMs', 'nextAttemptAt');
      expect(JSON.stringify(app.logs)).to.not.include(PASSWORD);
    });

    it('sends it in clear only when told to (starttls=when-offered), with a warning', async () => {
      h = await startApp(imapConfig(fake.port, { 'email.imap.starttls': 'when-offered' }));
      const app = h;
      await waitFor('a login attempt', () => fake.commands.includes('LOGIN') || fake.commands.includes('AUTHENTICATE'));
      expect(app.logs.some((l) => l['level'] === 40 && /starttls|STARTTLS/.test(String(l['msg'])))).to.equal(true);
    });
  });

  describe('a real Dovecot with ssl = required (STARTTLS on the plain port)', () => {
    let dove: Dovecot;
    before(async function () {
      const missing = dovecotMissing() ?? (findBinary('openssl') ? undefined : 'openssl is not installed');
      if (missing) {
        console.warn(`    Skipping the Dovecot STARTTLS tests: ${missing}.`);
        this.skip();
      }
      dove = await startDovecot({ tls: true });
    });
    after(async () => dove?.destroy());

    const mail = (subject: string): string =>
      [`From: SIEM <siem@corp.example>`, 'To: soc@corp.example', `Subject: ${subject}`, `Message-ID: <${subject.replace(/\W/g, '')}@corp.example>`, '', 'Indicator 203.0.113.7 seen on ws-042.', ''].join('\r\n');

    it('upgrades with STARTTLS, verifies the certificate against email.imap.caFile, and takes the mail', async () => {
      await dove.append(mail('over verified starttls'), { mailbox: 'Verified' });
      const caFile = join(dove.dir, 'trusted-ca.pem');
      await writeFile(caFile, dove.certPem as string);
      h = await startApp(imapConfig(dove.port, { 'email.imap.user': dove.user, 'email.imap.password': dove.password, 'email.imap.mailbox': 'Verified', 'email.imap.caFile': caFile }));
      const file = h.app.config.file.path;
      await waitFor('the mail as an alert in the file sink', () => existsSync(file) && readFileSync(file, 'utf8').includes('over verified starttls'), 15000);
      const connected = h.logs.find((l) => String(l['msg']).startsWith('Connected to the IMAP server')) ?? {};
      expect(connected['tls']).to.equal(true);
    });

    it('refuses the server’s self-signed certificate without email.imap.caFile, and never logs in', async () => {
      await dove.append(mail('never fetched'), { mailbox: 'Untrusted' });
      // The helper's own APPEND logged in; count the logins from here on.
      await sleep(300);
      const logins = (): number => readFileSync(join(dove.dir, 'dovecot.log'), 'utf8').split('Login: user=<hive>').length - 1;
      const before = logins();
      h = await startApp(imapConfig(dove.port, { 'email.imap.user': dove.user, 'email.imap.password': dove.password, 'email.imap.mailbox': 'Untrusted' }));
      const app = h;
      await waitFor('two failed attempts logged', () => app.logs.filter((l) => (l['level'] as number) >= 40 && l['component'] === 'source.imap').length >= 2);
      await sleep(300);
      expect(logins()).to.equal(before);
      expect(existsSync(app.app.config.file.path)).to.equal(false);
      expect((await dove.messages('Untrusted')).map((m) => m.seen)).to.deep.equal([false]);
    });
  });
});
