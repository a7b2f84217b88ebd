/**
 * A private Dovecot for the IMAP tests, as Debian packages it (dovecot-imapd), run the way that works as root: its own
 * config, base, state, log and maildir in one temp dir, listening on a free loopback port,
 * one user with a plain password, started in the foreground as our child (so it is reaped
 * and never outlives the run) and stopped by the PID in `<base_dir>/master.pid`. Installs
 * nothing: the tests need Debian `dovecot-imapd` (and `openssl` for the TLS case), see
 * scripts/install-test-deps.sh.
 *
 * Root can run it only if its login and internal processes are not root, and the mail user is
 * `nobody`; any other user runs every process as itself.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';

const run = promisify(execFile);
/** How long the master gets to stop on SIGTERM before its process group is killed. */
const STOP_GRACE_MS = 200;

/** The path of a program on PATH or in the sbin directories (not on a user's PATH on Debian), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  return dirs.filter((d) => d.startsWith('/')).map((d) => join(d, name)).find((p) => existsSync(p));
}

/** Why the IMAP suite cannot run here, or undefined when it can. */
export function dovecotMissing(): string | undefined {
  return findBinary('dovecot') ? undefined : 'the `dovecot` binary is not installed (Debian: apt-get install dovecot-imapd, or scripts/install-test-deps.sh)';
}

export interface DovecotOptions {
  /** `ssl = required` with a fresh self-signed certificate for 127.0.0.1, plus an implicit-TLS port. */
  readonly tls?: boolean;
}

/** A running private Dovecot. */
export interface Dovecot {
  readonly host: '127.0.0.1';
  /** IMAP port (STARTTLS required when started with `tls`). */
  readonly port: number;
  /** Implicit-TLS port, only with `tls`. */
  readonly tlsPort: number | undefined;
  /** The self-signed certificate (PEM), only with `tls`: trust it as a CA. */
  readonly certPem: string | undefined;
  readonly user: string;
  readonly password: string;
  readonly dir: string;
  /** APPENDs a mail (creating the mailbox when missing); resolves with its UID. */
  append(raw: string | Buffer, opts?: { mailbox?: string; flags?: string[] }): Promise<{ uid: number; uidValidity: string }>;
  /** The mails in a mailbox with their flags, by UID; empty when the mailbox does not exist. */
  messages(mailbox?: string): Promise<Array<{ uid: number; flags: string[]; seen: boolean }>>;
  /** Removes `\Seen` from a mail. */
  markUnseen(uid: number, mailbox?: string): Promise<void>;
  /** Stops the server (SIGTERM to the master: connected clients are dropped); the mail is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same mail. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** Starts a throwaway Dovecot; rejects with its log when it does not come up. */
export async function startDovecot(opts: DovecotOptions = {}): Promise<Dovecot> {
  const binary = findBinary('dovecot');
  if (!binary) throw new Error(dovecotMissing());
  const dir = await mkdtemp(join(tmpdir(), 'tracehive-dovecot-'));
  // mkdtemp makes 0700; dovecot's unprivileged processes must traverse it.
  await chmod(dir, 0o755);
  const root = process.getuid?.() === 0;
  const me = userInfo();
  const mailDir = join(dir, 'mail');
  for (const d of ['run', 'state', 'mail']) await mkdir(join(dir, d), { mode: 0o755 });
  if (root) await chown(mailDir, uidOf('nobody'), gidOf('nogroup'));
  const user = 'hive';
  const password = 'hive-secret';
  await writeFile(join(dir, 'passwd'), `${user}:{PLAIN}${password}\n`, { mode: 0o644 });
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : undefined;
  let certPem: string | undefined;
  if (opts.tls) certPem = await selfSignedCert(dir);
  const conf = [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `log_path = ${dir}/dovecot.log`,
    'protocols = imap',
    'listen = 127.0.0.1',
    `default_login_user = ${root ? 'dovenull' : me.username}`,
    `default_internal_user = ${root ? 'dovecot' : me.username}`,
    `default_internal_group = ${root ? 'dovecot' : groupName()}`,
    'first_valid_uid = 1',
    `mail_location = maildir:${mailDir}/%u`,
    opts.tls ? `ssl = required\nssl_cert = <${dir}/cert.pem\nssl_key = <${dir}/key.pem` : 'ssl = no',
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    // No 2 s delay per failed login, and no growing penalty for 127.0.0.1 after one (a test
    // logs in wrongly on purpose; the penalty would slow every later test's login).
    'auth_failure_delay = 0',
    `passdb {\n  driver = passwd-file\n  args = ${dir}/passwd\n}`,
    `userdb {\n  driver = static\n  args = uid=${root ? 'nobody' : me.uid} gid=${root ? 'nogroup' : me.gid} home=${mailDir}/%u\n}`,
    'service imap-login {',
    `  inet_listener imap {\n    address = 127.0.0.1\n    port = ${port}\n  }`,
    `  inet_listener imaps {\n    address = 127.0.0.1\n    port = ${tlsPort ?? 0}\n  }`,
    root ? '' : '  chroot =',
    '}',
    `service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n${root ? '' : '  chroot =\n'}}`,
    '',
  ].join('\n');
  const confFile = join(dir, 'dovecot.conf');
  await writeFile(confFile, conf);

  let child: ChildProcess | undefined;
  const up = async (): Promise<void> => {
    // -F: in the foreground, as our child, so it is reaped and its exit is seen.
    // detached: its own process group, so stop() can take down the processes that outlive the master.
    const proc = spawn(binary, ['-F', '-c', confFile], { stdio: 'ignore', detached: true });
    child = proc;
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`dovecot exited with ${code}`))));
    exited.catch(() => undefined);
    try {
      await Promise.race([waitForPort(port, true), exited]);
    } catch (err) {
      const log = await readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => '');
      throw new Error(`Dovecot did not start: ${(err as Error).message}\n${log}`);
    }
  };
  const down = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const pid = Number((await readFile(join(dir, 'run', 'master.pid'), 'utf8').catch(() => '')).trim()) || proc.pid;
    if (pid) process.kill(pid, 'SIGTERM');
    // The master takes a second to shut down, and its session (imap), log and stats processes
    // outlive it, keeping clients connected: an outage drops them, so the group is killed.
    const timer = setTimeout(() => proc.pid && killGroup(proc.pid), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    if (proc.pid) killGroup(proc.pid);
    await waitForPort(port, false);
  };
  await up();

  const client = async (): Promise<ImapFlow> => {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: tlsPort ?? port,
      secure: tlsPort !== undefined,
      tls: certPem ? { ca: certPem } : {},
      auth: { user, pass: password },
      logger: false,
      disableAutoIdle: true,
    });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  const withMailbox = async <T>(mailbox: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> => {
    const c = await client();
    try {
      const lock = await c.getMailboxLock(mailbox);
      try {
        return await fn(c);
      } finally {
        lock.release();
      }
    } finally {
      await c.logout().catch(() => c.close());
    }
  };

  return {
    host: '127.0.0.1',
    port,
    tlsPort,
    certPem,
    user,
    password,
    dir,
    async append(raw, o = {}) {
      const mailbox = o.mailbox ?? 'INBOX';
      const c = await client();
      try {
        await c.mailboxCreate(mailbox);
        const res = await c.append(mailbox, raw, o.flags ?? []);
        if (!res || res.uid === undefined) throw new Error('APPEND returned no UID');
        return { uid: res.uid, uidValidity: String(res.uidValidity) };
      } finally {
        await c.logout().catch(() => c.close());
      }
    },
    async messages(mailbox = 'INBOX') {
      const c = await client();
      try {
        if (!(await c.list()).some((m) => m.path === mailbox)) return [];
      } finally {
        await c.logout().catch(() => c.close());
      }
      return withMailbox(mailbox, async (m) => {
        if (m.mailbox === false || m.mailbox.exists === 0) return [];
        const all = await m.fetchAll('1:*', { uid: true, flags: true });
        return all.map((x) => ({ uid: x.uid, flags: [...(x.flags ?? [])], seen: x.flags?.has('\\Seen') ?? false })).sort((a, b) => a.uid - b.uid);
      });
    },
    async markUnseen(uid, mailbox = 'INBOX') {
      await withMailbox(mailbox, (m) => m.messageFlagsRemove(String(uid), ['\\Seen'], { uid: true }));
    },
    stop: down,
    restart: up,
    async destroy() {
      await down();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** SIGKILLs what is left of a process group; nothing left is fine. */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** A port that was free a moment ago (bind to 0, read it, close). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits until the port accepts connections (`open`) or refuses them (`!open`). */
async function waitForPort(port: number, open: boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const accepted = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (accepted === open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`port ${port} still ${open ? 'closed' : 'open'} after ${timeoutMs} ms`);
}

/** A self-signed EC certificate for 127.0.0.1 / localhost in `dir` (cert.pem, key.pem); returns the PEM. */
async function selfSignedCert(dir: string): Promise<string> {
  const openssl = findBinary('openssl');
  if (!openssl) throw new Error('openssl is not installed');
  await run(openssl, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ]);
  await chmod(join(dir, 'key.pem'), 0o600);
  return readFile(join(dir, 'cert.pem'), 'utf8');
}

function uidOf(name: string): number {
  return Number(lookup('/etc/passwd', name)[2]);
}

function gidOf(name: string): number {
  return Number(lookup('/etc/group', name)[2]);
}

function groupName(): string {
  const gid = String(userInfo().gid);
  const line = readLines('/etc/group').find((l) => l.split(':')[2] === gid);
  return line?.split(':')[0] ?? gid;
}

function lookup(file: string, name: string): string[] {
  const line = readLines(file).find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`${name} is not in ${file}`);
  return line.split(':');
}

function readLines(file: string): string[] {
  // Synchronous on purpose: read once per server start, tiny files.
  return readFileSync(file, 'utf8').split('\n');
}
