/**
 * Issue 11, "Files and privileges": what tracehive writes in spool.dir is private whatever the
 * umask (directories 0700, files 0600), and a symbolic link, a hard link or a FIFO planted at a
 * name tracehive opens is refused, never followed. Real files, real modes, real links.
 */
import { execFileSync } from 'node:child_process';
import { chown, link, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createDeadLetterLog } from '../../../src/queue/dead-letter.js';
import { createDailyNdjson } from '../../../src/io/daily-ndjson.js';
import { MailPipeline, NOT_A_MAIL, quarantineStem } from '../../../src/mail-pipeline.js';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { createLogger } from '../../../src/log.js';
import { Telemetry } from '../../../src/telemetry.js';
import { loadImapState, saveImapState } from '../../../src/sources/imap-state.js';
import { createFileSink } from '../../../src/sinks/file.js';
import { requeueDead, requestRequeue } from '../../../src/queue/requeue.js';
import { RecordingSpool } from '../../support/recording-spool.js';
import { testAlert } from '../../support/alerts.js';

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o7777;
const NOW = Date.parse('2026-11-26T08:00:00.000Z');

/** What an error says, as one string: its code and message. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`;
  }
  return 'no error';
}

function quarantineOf(dir: string): MailPipeline {
  return new MailPipeline({
    policy: DEFAULT_POLICY,
    mailPolicy: DEFAULT_MAIL_POLICY,
    spool: () => new RecordingSpool(),
    quarantineDir: dir,
    telemetry: new Telemetry(createLogger('silent'), () => 0),
    now: () => NOW,
  });
}

describe('issue 11: files tracehive keeps are private and never opened through a link', () => {
  let root: string;
  let umask: number;
  let victim: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tracehive-files-'));
    // A file the attacker wants written: outside spool.dir, owned by whoever runs serve.
    victim = join(root, 'victim.conf');
    await writeFile(victim, 'root-only content\n', { mode: 0o600 });
    // The most permissive umask: whatever mode a file gets, tracehive chose it.
    umask = process.umask(0);
  });
  afterEach(async () => {
    process.umask(umask);
    await rm(root, { recursive: true, force: true });
  });

  describe('modes, whatever the umask', () => {
    it('dead letters: dead/ is 0700 and its day files 0600', async () => {
      const log = createDeadLetterLog(join(root, 'spool', 'dead'), () => new Date(NOW));
      await log.write({ alert: testAlert('ct-1'), reason: 'ERR_SINK_REJECTED: HTTP 400', attempts: 1 });
      await log.close();
      expect(await mode(join(root, 'spool', 'dead'))).to.equal(0o700);
      expect(await mode(join(root, 'spool', 'dead', 'dead-2026-11-26.ndjson'))).to.equal(0o600);
    });

    it('rejected lines: rejected/ is 0700 and its day files 0600', async () => {
      const log = createDailyNdjson(join(root, 'rejected'), 'rejected', () => new Date(NOW));
      await log.append({ line: 'garbage' });
      await log.close();
      expect(await mode(join(root, 'rejected'))).to.equal(0o700);
      expect(await mode(join(root, 'rejected', 'rejected-2026-11-26.ndjson'))).to.equal(0o600);
    });

    it('quarantine: quarantine/ is 0700, the mail and its reason 0600', async () => {
      const verdict = await quarantineOf(join(root, 'quarantine')).accept(Buffer.from('not a mail at all\n'), { via: 'stdin', id: 'stdin' });
      expect(verdict.kind).to.equal('quarantined');
      expect(await mode(join(root, 'quarantine'))).to.equal(0o700);
      const names = await readdir(join(root, 'quarantine'));
      expect(names).to.have.length(2);
      for (const name of names) expect(await mode(join(root, 'quarantine', name)), name).to.equal(0o600);
    });

    it('the IMAP state: its directory is 0700 and the file 0600', async () => {
      await saveImapState(join(root, 'state', 'imap-state.json'), new Map([['INBOX', { uidValidity: '7', lastUid: 3 }]]));
      expect(await mode(join(root, 'state'))).to.equal(0o700);
      expect(await mode(join(root, 'state', 'imap-state.json'))).to.equal(0o600);
    });

    it('the file sink: the directories it creates are 0700 and the alerts file 0600', async () => {
      const sink = createFileSink(join(root, 'out', 'alerts.ndjson'));
      const alert = testAlert('ct-1');
      expect(await sink.send([{ sourceRef: alert.sourceRef, body: sink.encode(alert) }], new AbortController().signal)).to.deep.equal({ kind: 'delivered' });
      await sink.close();
      expect(await mode(join(root, 'out'))).to.equal(0o700);
      expect(await mode(join(root, 'out', 'alerts.ndjson'))).to.equal(0o600);
    });

    it('requeue: requeue/ is 0700, a request and the unreadable lines kept aside 0600', async () => {
      const spoolDir = join(root, 'spool');
      await mkdir(join(spoolDir, 'dead'), { recursive: true, mode: 0o700 });
      await writeFile(join(spoolDir, 'dead', 'dead-2026-11-26.ndjson'), 'not json\n');
      const request = await requestRequeue(spoolDir, ['dead-2026-11-26.ndjson']);
      expect(await mode(join(spoolDir, 'requeue'))).to.equal(0o700);
      expect(await mode(request)).to.equal(0o600);
      await requeueDead(spoolDir, new RecordingSpool(), { request });
      const [kept] = await readdir(join(spoolDir, 'requeue'));
      expect(kept).to.match(/^unreadable-/);
      expect(await mode(join(spoolDir, 'requeue', kept as string))).to.equal(0o600);
    });
  });

  it('a requeue request root leaves on a spool of another user is handed to that user, so serve can read it (root only)', async function () {
    if (process.geteuid?.() !== 0) this.skip(); // chown needs root; CI runs as root
    const spoolDir = join(root, 'spool');
    await mkdir(spoolDir, { mode: 0o700 });
    await chown(spoolDir, 65534, 65534);
    const request = await requestRequeue(spoolDir, []);
    for (const path of [join(spoolDir, 'requeue'), request]) expect((await stat(path)).uid, path).to.equal(65534);
    expect(await mode(request)).to.equal(0o600);
  });

  describe('links and special files planted where tracehive writes or reads', () => {
    it('a symlink planted as today\'s rejected file is refused; the file it points at is untouched', async () => {
      await mkdir(join(root, 'rejected'));
      await symlink(victim, join(root, 'rejected', 'rejected-2026-11-26.ndjson'));
      const log = createDailyNdjson(join(root, 'rejected'), 'rejected', () => new Date(NOW));
      const why = await failure(log.append({ line: 'attacker text' }));
      await log.close();
      expect(why).to.match(/^ERR_FILE_UNSAFE .*symbolic link/);
      expect(await readFile(victim, 'utf8')).to.equal('root-only content\n');
    });

    it('a symlink planted as today\'s dead-letter file is refused (the dead letter is not written through it)', async () => {
      await mkdir(join(root, 'dead'));
      await symlink(victim, join(root, 'dead', 'dead-2026-11-26.ndjson'));
      const log = createDeadLetterLog(join(root, 'dead'), () => new Date(NOW));
      const why = await failure(log.write({ alert: testAlert('ct-1'), reason: 'ERR_SINK_REJECTED: HTTP 400', attempts: 1 }));
      await log.close();
      expect(why).to.match(/^ERR_FILE_UNSAFE /);
      expect(await readFile(victim, 'utf8')).to.equal('root-only content\n');
    });

    it('a hard link planted as today\'s rejected file is refused as well', async () => {
      await mkdir(join(root, 'rejected'));
      await link(victim, join(root, 'rejected', 'rejected-2026-11-26.ndjson'));
      const log = createDailyNdjson(join(root, 'rejected'), 'rejected', () => new Date(NOW));
      const why = await failure(log.append({ line: 'attacker text' }));
      await log.close();
      expect(why).to.match(/^ERR_FILE_UNSAFE .*link/);
      expect(await readFile(victim, 'utf8')).to.equal('root-only content\n');
    });

    it('a symlink planted at the name a quarantined mail gets makes the mail not kept (the source retries), never written through', async () => {
      const raw = Buffer.from('not a mail at all\n');
      const name = `${quarantineStem(raw, { via: 'stdin', id: 'stdin' }, NOT_A_MAIL, NOW)}.eml`;
      await mkdir(join(root, 'quarantine'));
      await symlink(victim, join(root, 'quarantine', name));
      const why = await failure(quarantineOf(join(root, 'quarantine')).accept(raw, { via: 'stdin', id: 'stdin' }));
      expect(why).to.match(/^ERR_FILE_UNSAFE /);
      expect(await readFile(victim, 'utf8')).to.equal('root-only content\n');
    });

    it('a symlink planted at the IMAP state\'s temporary name is not written through; the state is saved all the same', async () => {
      const file = join(root, 'imap-state.json');
      await symlink(victim, `${file}.${process.pid}.tmp`);
      await saveImapState(file, new Map([['INBOX', { uidValidity: '7', lastUid: 3 }]]));
      expect(await readFile(victim, 'utf8')).to.equal('root-only content\n');
      expect((await lstat(file)).isFile()).to.equal(true);
      expect([...(await loadImapState(file)).mailboxes.keys()]).to.deep.equal(['INBOX']);
    });

    it('an IMAP state file that is a symlink is refused, not read', async () => {
      await writeFile(victim, JSON.stringify({ version: 1, mailboxes: { INBOX: { uidValidity: '7', lastUid: 999999 } } }));
      await symlink(victim, join(root, 'imap-state.json'));
      expect(await failure(loadImapState(join(root, 'imap-state.json')))).to.match(/^ERR_FILE_UNSAFE .*symbolic link/);
    });

    it('an IMAP state file that is a FIFO is refused at once instead of hanging serve', async function () {
      this.timeout(5000);
      execFileSync('mkfifo', [join(root, 'imap-state.json')]);
      expect(await failure(loadImapState(join(root, 'imap-state.json')))).to.match(/^ERR_FILE_UNSAFE .*not a regular file/);
    });
  });
});
