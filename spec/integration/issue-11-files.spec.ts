/**
 * Issue 11, "Shared spool" and "Unbounded disk outside the spool", as operators meet them: the
 * real `tracehive` command, real directories, modes, owners and links. spool.dir must be private;
 * `tracehive ingest` leaves raw mails in ingest.dropDir, which serve validates and maps (a drop
 * carries a mail, never an alert); a drop serve cannot remove is taken once; rejected lines and
 * quarantined mails stay within their byte caps. Tests that change file owners need root (CI runs
 * as root) and say so when they skip.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, sendChunked, startApp, waitFor, sleep } from '../support/harness.js';
import { detectionLine } from '../support/lines.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { fixturePath } from '../support/fixtures.js';

const CLI = resolve('dist/src/cli.js');
/** The user the ownership tests hand things to: "nobody" on Debian. */
const OTHER_UID = 65534;
const OTHER_GID = 65534;
const isRoot = process.geteuid?.() === 0;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], cwd: string, env: Record<string, string>, input: Buffer | string = '', uid?: number): Promise<Result> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env }, ...(uid !== undefined ? { uid, gid: uid } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const mail = (name: string): Buffer => readFileSync(fixturePath('mail', name));
const alertsIn = (file: string): { sourceRef: string; title: string; severity: number }[] =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { sourceRef: string; title: string; severity: number }) : [];
const mode = (path: string): number => statSync(path).mode & 0o7777;
const DROP_NAME = /^\d{15}-\d+-[0-9a-f]{12}\.mail$/;

describe('issue 11: files and privileges', function () {
  this.timeout(60000);
  let dir: string;
  let spool: string;
  let drop: string;
  let alerts: string;
  let env: Record<string, string>;
  const serves: ServeProcess[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-files-'));
    spool = join(dir, 'spool');
    drop = join(dir, 'drop');
    alerts = join(dir, 'out', 'alerts.ndjson');
    env = { TRACEHIVE_SPOOL_DIR: spool, TRACEHIVE_INGEST_DROP_DIR: drop, TRACEHIVE_FILE_PATH: alerts, TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0' };
  });
  afterEach(async () => {
    for (const serve of serves.splice(0)) {
      if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGTERM');
      await serve.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });
  const serve = async (more: Record<string, string> = {}, opts: { uid?: number; gid?: number } = {}): Promise<ServeProcess> => {
    const s = await startServeProcess({ ...env, ...more }, dir, opts);
    serves.push(s);
    return s;
  };
  const stop = async (s: ServeProcess): Promise<void> => {
    s.child.kill('SIGTERM');
    expect(await s.exited).to.equal(0);
  };

  describe('spool.dir must be private', () => {
    it('serve refuses a group-writable spool.dir (exit 2), saying which chmod fixes it', async () => {
      await mkdir(spool);
      await chmod(spool, 0o770);
      const r = await runCli(['serve'], dir, env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(spool).and.include('group- or world-writable').and.include(`chmod 700 ${spool}`);
    });

    it('serve refuses a world-writable spool.dir (exit 2)', async () => {
      await mkdir(spool);
      await chmod(spool, 0o1777);
      const r = await runCli(['serve'], dir, env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(`chmod 700 ${spool}`);
    });

    it('serve refuses a spool.dir owned by another user (exit 2), saying which chown fixes it (root only)', async function () {
      if (!isRoot) this.skip(); // chown to another user needs root; CI runs as root
      await mkdir(spool, { mode: 0o700 });
      await chown(spool, OTHER_UID, OTHER_GID);
      const r = await runCli(['serve'], dir, env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(`owned by uid ${OTHER_UID}`).and.include(`chown ${process.geteuid?.()} ${spool}`);
    });

    it('serve refuses a link or a writable directory in place of a directory it keeps in spool.dir (exit 2)', async () => {
      await mkdir(spool, { mode: 0o700 });
      const elsewhere = join(dir, 'elsewhere');
      await mkdir(elsewhere, { mode: 0o700 });
      await symlink(elsewhere, join(spool, 'dead'));
      let r = await runCli(['serve'], dir, env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('dead/ is a symbolic link').and.include(`rm ${join(spool, 'dead')}`);
      await rm(join(spool, 'dead'));
      await mkdir(join(spool, 'quarantine'), { mode: 0o700 });
      await chmod(join(spool, 'quarantine'), 0o777);
      r = await runCli(['serve'], dir, env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('quarantine/ is group- or world-writable').and.include(`chmod 700 ${join(spool, 'quarantine')}`);
    });

    it('serve creates a missing spool.dir 0700 whatever the umask, and tightens a readable one of its own', async () => {
      const umask = process.umask(0); // inherited by the child
      try {
        const s = await serve();
        expect(mode(spool)).to.equal(0o700);
        await stop(s);
        await chmod(spool, 0o755); // what 0.1.0 left under umask 022
        await stop(await serve());
        expect(mode(spool)).to.equal(0o700);
      } finally {
        process.umask(umask);
      }
    });

    it('serve refuses an ingest.dropDir inside spool.dir (exit 2)', async () => {
      const r = await runCli(['serve'], dir, { ...env, TRACEHIVE_INGEST_DROP_DIR: join(spool, 'incoming') });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('ingest.dropDir').and.include('outside spool.dir');
    });
  });

  describe('tracehive ingest leaves the raw mail in ingest.dropDir; serve maps it', () => {
    it('ingest writes one drop file: a versioned header, then the mail exactly as piped; nothing in spool.dir', async () => {
      const raw = mail('siem-en.eml');
      const r = await runCli(['ingest'], dir, env, raw);
      expect(r.code, r.stderr).to.equal(0);
      expect(existsSync(spool), 'ingest does not touch spool.dir').to.equal(false);
      const names = await readdir(drop);
      expect(names).to.have.length(1);
      expect(names[0]).to.match(DROP_NAME);
      const bytes = await readFile(join(drop, names[0] as string));
      const eol = bytes.indexOf(0x0a);
      const header = bytes.subarray(0, eol).toString('utf8');
      expect(header).to.match(/^tracehive-drop\/1 \{/);
      const fields = JSON.parse(header.slice(header.indexOf(' ') + 1)) as Record<string, unknown>;
      expect(fields).to.include({ via: 'stdin', origin: 'stdin', bytes: raw.length });
      expect(Date.parse(String(fields['receivedAt']))).to.be.closeTo(Date.now(), 60_000);
      expect(bytes.subarray(eol + 1).equals(raw), 'the raw mail, not an alert').to.equal(true);
      // Readable through the drop directory (serve may be another user); the directory guards it.
      expect(mode(join(drop, names[0] as string))).to.equal(0o644);
    });

    it('ingest exit codes: 66 unreadable, 65 too large, 75 when the drop directory cannot be written', async () => {
      expect((await runCli(['ingest', join(dir, 'nope.eml')], dir, env)).code).to.equal(66);
      expect((await runCli(['ingest'], dir, { ...env, TRACEHIVE_SMTP_MAX_BYTES: '65536' }, Buffer.concat([mail('siem-en.eml'), Buffer.alloc(70_000, 'x')]))).code).to.equal(65);
      expect(existsSync(drop), 'nothing kept').to.equal(false);
      await writeFile(join(dir, 'not-a-dir'), 'x');
      const r = await runCli(['ingest'], dir, { ...env, TRACEHIVE_INGEST_DROP_DIR: join(dir, 'not-a-dir', 'drop') }, mail('siem-en.eml'));
      expect(r.code).to.equal(75);
      expect(r.stderr).to.match(/not kept, try again later/);
    });

    it('serve maps each drop like any mail: the alert is delivered, garbage is quarantined, the drop files are gone', async () => {
      expect((await runCli(['ingest'], dir, env, mail('siem-en.eml'))).code).to.equal(0);
      expect((await runCli(['ingest'], dir, env, Buffer.from([0, 1, 2, 255, 10]))).code, 'garbage is kept too: serve decides').to.equal(0);
      const s = await serve();
      await waitFor('the mail in the file sink', () => alertsIn(alerts).some((a) => a.sourceRef === 'mail-INC-2024-0042'));
      await waitFor('the drop directory emptied', () => readdirSync(drop).filter((n) => DROP_NAME.test(n)).length === 0);
      const kept = readdirSync(join(spool, 'quarantine'));
      expect(kept.filter((n) => n.endsWith('.eml'))).to.have.length(1);
      const record = JSON.parse(readFileSync(join(spool, 'quarantine', kept.find((n) => n.endsWith('.json')) as string), 'utf8')) as Record<string, unknown>;
      expect(record).to.include({ version: 1, via: 'stdin' });
      expect(String(record['reason'])).to.match(/^ERR_MAIL_PARSE: /);
      // While serve runs, a new drop is taken within its poll.
      expect((await runCli(['ingest', fixturePath('mail', 'fwd-inline.eml')], dir, env)).code).to.equal(0);
      await waitFor('the second mail in the file sink', () => alertsIn(alerts).length === 2, 15000);
      await stop(s);
    });

    it('a hand-written drop never becomes an alert: alerts, bad headers, wrong sizes, newer versions and links are kept in serve\'s quarantine with their reason, never in the drop directory', async () => {
      await mkdir(drop, { mode: 0o700 });
      const forged = readFileSync(fixturePath('spool-0.1.0', 'incoming', '001796402432429-6411-e2143a5c7ecc.rec'), 'utf8').replace('"severity":2', '"severity":4,"caseTemplate":"Exfil","customFields":{"x":{"string":"y"}}');
      const raw = mail('siem-en.eml');
      const header = (fields: Record<string, unknown>, version = 1): string => `tracehive-drop/${version} ${JSON.stringify({ receivedAt: '2026-12-04T16:40:33.012Z', via: 'stdin', origin: 'stdin', bytes: raw.length, ...fields })}\n`;
      const planted: Record<string, string | Buffer> = {
        '001796402432429-6411-e2143a5c7ecc.rec': forged, // 0.1.0's drop: a finished alert
        '001796402432430-6411-000000000001.mail': forged, // the same under a drop's name
        '001796402432431-6411-000000000002.mail': Buffer.concat([Buffer.from(header({ bytes: raw.length + 5 })), raw]), // byte count wrong
        '001796402432432-6411-000000000003.mail': Buffer.concat([Buffer.from(header({}, 2)), raw]), // a newer format
        '001796402432433-6411-000000000004.mail': Buffer.concat([Buffer.from(header({ via: 'smtp', severity: 4 })), raw]), // fields it may not have
      };
      for (const [name, body] of Object.entries(planted)) await writeFile(join(drop, name), body);
      // A link named like a drop, to a valid drop elsewhere: never followed.
      const elsewhere = join(dir, 'valid.mail');
      await writeFile(elsewhere, Buffer.concat([Buffer.from(header({})), raw]));
      await symlink(elsewhere, join(drop, '001796402432434-6411-000000000005.mail'));
      const s = await serve();
      await waitFor('every planted file taken out of the drop directory', () => readdirSync(drop).length === 0);
      const q = join(spool, 'quarantine');
      const records = readdirSync(q).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(q, n), 'utf8')) as { via: string; origin: string; reason: string });
      expect(records.every((r) => r.via === 'drop')).to.equal(true);
      const reasons = Object.fromEntries(records.map((r) => [r.origin.slice(r.origin.lastIndexOf('/') + 1), r.reason]));
      expect(Object.keys(reasons).sort()).to.deep.equal([...Object.keys(planted), '001796402432434-6411-000000000005.mail'].sort());
      expect(reasons['001796402432429-6411-e2143a5c7ecc.rec']).to.match(/^ERR_DROP_INVALID: /);
      expect(reasons['001796402432430-6411-000000000001.mail']).to.match(/^ERR_DROP_INVALID: .*header/);
      expect(reasons['001796402432431-6411-000000000002.mail']).to.match(/^ERR_DROP_INVALID: .*bytes/);
      expect(reasons['001796402432432-6411-000000000003.mail']).to.match(/^ERR_FORMAT_NEWER: /);
      expect(reasons['001796402432433-6411-000000000004.mail']).to.match(/^ERR_DROP_INVALID: .*(via|severity)/);
      expect(reasons['001796402432434-6411-000000000005.mail']).to.match(/^ERR_FILE_UNSAFE: .*symbolic link/);
      await sleep(2500); // one more poll: nothing is sent later either
      expect(alertsIn(alerts)).to.deep.equal([]);
      expect(readFileSync(elsewhere).subarray(-raw.length).equals(raw), 'the link target is untouched').to.equal(true);
      await stop(s);
    });

    it('the legacy spool.dir/incoming/ of 0.1.0 is drained once, strictly: its alert is sent, a forged one never', async () => {
      await mkdir(join(spool, 'incoming'), { recursive: true, mode: 0o700 });
      await chmod(spool, 0o700);
      const legit = '001796402432429-6411-e2143a5c7ecc.rec';
      await copyFile(fixturePath('spool-0.1.0', 'incoming', legit), join(spool, 'incoming', legit));
      const forged = readFileSync(fixturePath('spool-0.1.0', 'incoming', legit), 'utf8')
        .replace('mail-83852f31e3d13e2f7cf3', 'mail-forged0000000000000')
        .replace('"severity":2', '"severity":4,"caseTemplate":"Exfil","customFields":{"x":{"string":"y"}}');
      await writeFile(join(spool, 'incoming', '001796402432430-6411-000000000001.rec'), forged);
      const s = await serve();
      await waitFor('the legacy alert in the file sink', () => alertsIn(alerts).some((a) => a.sourceRef === 'mail-83852f31e3d13e2f7cf3'));
      await sleep(2500);
      expect(alertsIn(alerts).map((a) => a.sourceRef)).to.deep.equal(['mail-83852f31e3d13e2f7cf3']);
      expect(readdirSync(join(spool, 'incoming'))).to.deep.equal(['001796402432430-6411-000000000001.rec.invalid']);
      const legacy = s.logs().find((l) => String(l['msg']).startsWith('Legacy drop directory'));
      expect(legacy).to.include({ taken: 1, refused: 1 });
      await stop(s);
    });

    it('a drop serve cannot remove is taken once, also across restarts, and forgotten once it is gone (root only)', async function () {
      if (!isRoot) this.skip(); // needs two users: serve runs as "nobody", ingest as root; CI runs as root
      await chmod(dir, 0o755);
      // serve's own directories, owned by the user it runs as.
      for (const d of [spool, join(dir, 'out')]) {
        await mkdir(d, { mode: 0o700 });
        await chown(d, OTHER_UID, OTHER_GID);
      }
      // A drop directory serve may read but not clean: sticky, and neither it nor the files are serve's.
      await mkdir(drop);
      await chmod(drop, 0o1777);
      expect((await runCli(['ingest'], dir, env, mail('siem-en.eml'))).code).to.equal(0);
      const [name] = readdirSync(drop);
      let s = await serve({}, { uid: OTHER_UID, gid: OTHER_GID });
      await waitFor('the mail in the file sink', () => alertsIn(alerts).length > 0);
      await sleep(5000); // two more polls
      expect(alertsIn(alerts).map((a) => a.sourceRef)).to.deep.equal(['mail-INC-2024-0042']);
      expect(readdirSync(drop), 'serve could not remove it').to.deep.equal([name]);
      expect(s.logs().some((l) => String(l['msg']).startsWith('Drop file taken but not removable'))).to.equal(true);
      await stop(s);
      s = await serve({}, { uid: OTHER_UID, gid: OTHER_GID });
      await sleep(3000);
      expect(alertsIn(alerts), 'not taken again after a restart').to.have.length(1);
      // Once the operator removes it, the record of it goes too; a new drop is taken as usual.
      await rm(join(drop, name as string));
      expect((await runCli(['ingest', fixturePath('mail', 'fwd-inline.eml')], dir, env)).code).to.equal(0);
      await waitFor('the second mail in the file sink', () => alertsIn(alerts).length === 2, 15000);
      const ledger = JSON.parse(await readFile(join(spool, 'drops-taken.json'), 'utf8')) as { version: number; taken: Record<string, unknown> };
      expect(ledger.version).to.equal(1);
      expect(Object.keys(ledger.taken)).to.not.include(name);
      await stop(s);
    });
  });

  describe('budgets of the directories beside the queue', () => {
    it('2,000 garbage lines leave at most spool.rejected.maxBytes in rejected/; the rest is counted, and spool stats says so', async () => {
      env['TRACEHIVE_SPOOL_REJECTED_MAX_BYTES'] = '65536';
      const s = await serve();
      const garbage = Array.from({ length: 2000 }, (_, i) => `garbage ${i} ${'x'.repeat(1000)}\n`).join('');
      await sendChunked(s.tcpPort, garbage, 65536);
      await waitFor('every line rejected', async () => (await s.metric('tracehive_lines_rejected_total')) === 2000);
      await waitFor('the lines not kept counted', async () => (await s.metric('tracehive_rejected_lines_not_kept_total')) > 0);
      const files = readdirSync(join(spool, 'rejected'));
      const bytes = files.reduce((sum, n) => sum + statSync(join(spool, 'rejected', n)).size, 0);
      expect(bytes).to.be.above(0).and.at.most(65536);
      expect(await s.metric('tracehive_kept_bytes')).to.be.at.most(65536);
      const stats = JSON.parse((await runCli(['spool', 'stats', '--json'], dir, env)).stdout) as { rejected: { bytes: number; maxBytes: number; retentionDays: number } };
      expect(stats.rejected).to.include({ bytes, maxBytes: 65536, retentionDays: 7 });
      await stop(s);
    });

    it('at start, what is past its retention is deleted: old dead letters, rejected lines and quarantined mails', async () => {
      const DAY = 86_400_000;
      const day = (offset: number): string => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);
      const stamp = (offset: number): string => new Date(Date.now() + offset * DAY).toISOString().replace(/[:.]/g, '-');
      for (const d of ['dead', 'rejected', 'quarantine']) await mkdir(join(spool, d), { recursive: true, mode: 0o700 });
      await chmod(spool, 0o700);
      const old = [join('dead', `dead-${day(-40)}.ndjson`), join('rejected', `rejected-${day(-10)}.ndjson`), join('quarantine', `${stamp(-40)}-0123456789ab.eml`), join('quarantine', `${stamp(-40)}-0123456789ab.json`)];
      const recent = [join('dead', `dead-${day(-1)}.ndjson`), join('rejected', `rejected-${day(-1)}.ndjson`), join('quarantine', `${stamp(-1)}-0123456789ab.eml`), join('quarantine', `${stamp(-1)}-0123456789ab.json`)];
      for (const f of [...old, ...recent]) await writeFile(join(spool, f), '{}\n');
      const s = await serve();
      await waitFor('the old files deleted', () => old.every((f) => !existsSync(join(spool, f))));
      expect(recent.filter((f) => existsSync(join(spool, f)))).to.deep.equal(recent);
      expect(await s.metric('tracehive_kept_deleted_total')).to.equal(4);
      await stop(s);
    });

    it('dead letters over spool.dead.maxBytes: serve says why input must pause, and spool stats shows it', async () => {
      await mkdir(join(spool, 'dead'), { recursive: true, mode: 0o700 });
      await chmod(spool, 0o700);
      await copyFile(fixturePath('spool-0.1.0', 'dead', 'dead-2026-11-30.ndjson'), join(spool, 'dead', `dead-${new Date().toISOString().slice(0, 10)}.ndjson`));
      env['TRACEHIVE_SPOOL_DEAD_MAX_BYTES'] = '100';
      const s = await serve();
      await waitFor('the budget logged', () => s.logs().some((l) => String(l['msg']).startsWith('Dead letters over their budget')));
      const line = s.logs().find((l) => String(l['msg']).startsWith('Dead letters over their budget'));
      expect(String(line?.['reason'])).to.match(/over spool\.dead\.maxBytes \(100\): requeue them/);
      // Input is paused: /readyz says why, and a line sent now is not read (TCP holds it).
      const ready = await fetch(`http://127.0.0.1:${s.httpPort}/readyz`);
      expect(ready.status).to.equal(503);
      expect(await ready.text()).to.include('over spool.dead.maxBytes');
      const socket = await connect(s.tcpPort);
      socket.write(`${detectionLine(1)}\n`);
      await sleep(1500);
      expect(await s.metric('tracehive_lines_received_total'), 'the first line is read, then input waits').to.be.at.most(1);
      socket.write(`${detectionLine(2)}\n`);
      await sleep(1500);
      expect(await s.metric('tracehive_lines_received_total'), 'no further line is read while over budget').to.be.at.most(1);
      socket.destroy();
      const text = (await runCli(['spool', 'stats'], dir, env)).stdout;
      expect(text).to.match(/of 0\.0 MiB \(spool\.dead\.maxBytes\) — OVER/);
      await stop(s);
    });

    it('a mail that would be quarantined is refused for now once quarantine/ holds spool.quarantine.maxBytes', async () => {
      const h = await startApp({ 'spool.quarantine.maxBytes': 1500 }); // room for one such mail and its reason
      try {
        const junk = (i: number): Buffer => Buffer.from(`not a mail ${i} ${'y'.repeat(600)}\n`);
        expect((await h.app.mail.accept(junk(1), { via: 'smtp', id: 's1 127.0.0.1' })).kind).to.equal('quarantined');
        let code = '';
        await h.app.mail.accept(junk(2), { via: 'smtp', id: 's2 127.0.0.1' }).catch((err: { code?: string }) => (code = err.code ?? 'error'));
        expect(code).to.equal('ERR_QUARANTINE_FULL');
        expect((await readdir(join(h.dir, 'spool', 'quarantine'))).filter((n) => n.endsWith('.eml'))).to.have.length(1);
      } finally {
        await h.stop();
      }
    });
  });

  it('stat: the drop directory a fresh ingest creates is private to its user', async () => {
    const umask = process.umask(0);
    try {
      expect((await runCli(['ingest'], dir, env, mail('siem-en.eml'))).code).to.equal(0);
    } finally {
      process.umask(umask);
    }
    expect((await stat(drop)).mode & 0o7777).to.equal(0o700);
  });
});
