/**
 * Several IMAP mailboxes (issue 14 point 2) against a real, private Dovecot (spec/support/dovecot.ts):
 * a configuration with two folders, each with its target, loaded as serve loads it, becomes one
 * ImapSource per folder feeding the real MailPipeline; each mail's spooled alert carries its
 * folder's target, a rule matching one folder applies to its mails only, and both folders resume
 * by UID from the one state file, including one an earlier release wrote.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { imapOptionsOf, mailPolicyOf, mailTrustOf } from '../../src/app-options.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { MailPipeline } from '../../src/mail-pipeline.js';
import { decodeRecord } from '../../src/queue/spool-payload.js';
import { ImapSource } from '../../src/sources/imap.js';
import { stateKey } from '../../src/sources/imap-state.js';
import { Telemetry } from '../../src/telemetry.js';
import type { Alert } from '../../src/types.js';
import { dovecotMissing, startDovecot, type Dovecot } from '../support/dovecot.js';
import { RecordingSpool } from '../support/recording-spool.js';

function mail(subject: string): Buffer {
  return Buffer.from(
    [`From: Analyst <analyst@corp.example>`, `To: soc@corp.example`, `Subject: ${subject}`, `Message-ID: <${subject.replace(/\W/g, '')}@corp.example>`, 'Content-Type: text/plain; charset=utf-8', '', `Seen 203.0.113.7 on ws-042 (${subject}).`, ''].join('\r\n'),
    'utf8',
  );
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
}

const silent = createLogger('silent');
let run = 0;

describe('several IMAP mailboxes against a real Dovecot (email.imap.mailboxes)', function () {
  this.timeout(20_000);
  let dove: Dovecot;
  let tmp: string;
  const running: ImapSource[] = [];

  before(async function () {
    const missing = dovecotMissing();
    if (missing) {
      console.warn(`    Skipping the IMAP mailboxes suite: ${missing}.`);
      this.skip();
    }
    dove = await startDovecot();
    tmp = await mkdtemp(join(tmpdir(), 'tracehive-mailboxes-'));
  });

  after(async () => {
    await dove?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop(2000)));
  });

  /** The configuration serve would load: Dovecot as email.imap, `mailboxes` as TRACEHIVE_IMAP_MAILBOXES. */
  function configWith(mailboxes: unknown[], extra: Record<string, string> = {}): Config {
    return loadConfig({
      useDefaultFile: false,
      env: {
        TRACEHIVE_IMAP_ENABLED: 'true',
        TRACEHIVE_IMAP_HOST: dove.host,
        TRACEHIVE_IMAP_PORT: String(dove.port),
        TRACEHIVE_IMAP_SECURE: 'false',
        TRACEHIVE_IMAP_STARTTLS: 'off',
        TRACEHIVE_IMAP_USER: dove.user,
        TRACEHIVE_IMAP_PASSWORD: dove.password,
        TRACEHIVE_IMAP_POLL_INTERVAL_MS: '150',
        TRACEHIVE_RETRY_MAX_MS: '200',
        TRACEHIVE_SPOOL_DIR: join(tmp, `spool-${++run}`),
        TRACEHIVE_IMAP_MAILBOXES: JSON.stringify(mailboxes),
        // The targets the entries name (check-config refuses a mailbox naming a target thehive.targets lacks).
        THEHIVE_URL: 'http://127.0.0.1:9',
        THEHIVE_API_KEY: 'unused',
        THEHIVE_TARGETS: JSON.stringify(Object.fromEntries(mailboxes.flatMap((m) => (typeof (m as { target?: unknown }).target === 'string' ? [[(m as { target: string }).target, { organisation: (m as { target: string }).target }]] : [])))),
        ...extra,
      },
    });
  }

  /** One started source per mailbox, as serve starts them, into the real mail pipeline and a recording spool. */
  async function serve(config: Config): Promise<{ spool: RecordingSpool; alerts: () => Alert[] }> {
    const spool = new RecordingSpool();
    const pipeline = new MailPipeline({
      policy: config.alert,
      mailPolicy: mailPolicyOf(config),
      trust: mailTrustOf(config),
      spool: () => spool,
      quarantineDir: join(config.spool.dir, 'quarantine'),
      telemetry: new Telemetry(silent, () => 0),
      now: () => Date.now(),
    });
    const sources = imapOptionsOf(config).map((o) => new ImapSource(o, pipeline, silent));
    running.push(...sources);
    await Promise.all(sources.map((s) => s.start()));
    const alerts = (): Alert[] => spool.appended.map((p) => decodeRecord(p)).flatMap((r) => (r.kind === 'alert' ? [r.alert] : []));
    return { spool, alerts };
  }

  it("gives each folder's mails their folder's target, and a folder's rules only to its mails", async () => {
    // Dovecot's maildir separates folders with a dot, as Courier does (`INBOX.tenant-b`).
    const [a, b] = [`Tenants${run}.a`, `Tenants${run}.b`];
    await dove.append(mail('for tenant a'), { mailbox: a });
    await dove.append(mail('for tenant b'), { mailbox: b });
    await dove.append(mail('another for b'), { mailbox: b });
    const rules = [{ name: 'b-folder', match: { mail: { mailbox: '*.B' } }, set: { tags: ['from:{{mailbox}}'] } }];
    const config = configWith([{ mailbox: a, target: 'tenant-a' }, { name: 'b', mailbox: b, target: 'tenant-b', doneMailbox: `${b}-done` }], { TRACEHIVE_ALERT_RULES: JSON.stringify(rules) });
    const { alerts } = await serve(config);
    await waitFor('three alerts spooled', () => alerts().length === 3);
    const byTitle = new Map(alerts().map((x) => [x.title, x]));
    expect(byTitle.get('for tenant a')?.meta?.target).to.equal('tenant-a');
    expect(byTitle.get('for tenant a')?.tags).to.not.include(`from:${b}`);
    for (const title of ['for tenant b', 'another for b']) {
      expect(byTitle.get(title)?.meta?.target, title).to.equal('tenant-b');
      expect(byTitle.get(title)?.tags, title).to.include(`from:${b}`);
      expect(byTitle.get(title)?.meta?.rules, title).to.deep.equal(['alert.rules[0] (b-folder)']);
    }
    // Each folder is acknowledged its own way: a's mails marked seen, b's moved to its done mailbox.
    await waitFor('a marked seen, b emptied', async () => (await dove.messages(a)).every((m) => m.seen) && (await dove.messages(b)).length === 0);
    expect(await dove.messages(`${b}-done`)).to.have.length(2);
    // One state file, one entry per account and folder.
    const state = JSON.parse(await readFile(join(config.spool.dir, 'imap-state.json'), 'utf8')) as { mailboxes: Record<string, { lastUid: number }> };
    expect(Object.keys(state.mailboxes).sort()).to.deep.equal([stateKey(dove, a), stateKey(dove, b)].sort());
  });

  it('resumes from the state file an earlier release wrote for the one mailbox, and takes the new folder from its start', async () => {
    const [old, added] = [`Upgrade${run}.main`, `Upgrade${run}.new`];
    // Taken by the earlier release, then marked unread again (or its \Seen refused): the recorded UID must hold.
    const { uid, uidValidity } = await dove.append(mail('taken before the upgrade'), { mailbox: old });
    await dove.append(mail('after the upgrade'), { mailbox: old });
    await dove.append(mail('in the new folder'), { mailbox: added });
    const config = configWith([{ mailbox: old }, { mailbox: added, target: 'tenant-new' }]);
    const file = join(config.spool.dir, 'imap-state.json');
    await mkdir(config.spool.dir, { recursive: true });
    await writeFile(file, JSON.stringify({ version: 1, mailboxes: { [old]: { uidValidity, lastUid: uid } } }));
    const { alerts } = await serve(config);
    await waitFor('two alerts spooled', () => alerts().length === 2);
    await new Promise((r) => setTimeout(r, 400));
    expect(alerts().map((x) => [x.title, x.meta?.target]).sort()).to.deep.equal([
      ['after the upgrade', undefined],
      ['in the new folder', 'tenant-new'],
    ]);
    // The earlier release's key is replaced by the account's.
    await waitFor('state saved', async () => {
      const saved = JSON.parse(await readFile(file, 'utf8')) as { mailboxes: Record<string, { lastUid: number }> };
      return Object.keys(saved.mailboxes).sort().join() === [stateKey(dove, added), stateKey(dove, old)].sort().join() && saved.mailboxes[stateKey(dove, old)]?.lastUid === uid + 1;
    });
  });
});
