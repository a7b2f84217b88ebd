/**
 * Mails of several IMAP mailboxes (issue 14 point 2): what the origin a mailbox's source gives its
 * mails does to their alerts — its `target` becomes `meta.target` unless a rule chose one, rules
 * match its mailbox (`match.mail.mailbox`), and its role replaces `email.imap.role`.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailPipeline, type MailTrust } from '../../src/mail-pipeline.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_POLICY } from '../../src/map/alert.js';
import { withDefaultTarget } from '../../src/map/alert-target.js';
import { DEFAULT_MAIL_POLICY } from '../../src/map/mail-policy.js';
import { decodeRecord } from '../../src/queue/spool-payload.js';
import type { MailOrigin } from '../../src/sources/mail-intake.js';
import { Telemetry } from '../../src/telemetry.js';
import type { Alert, AlertPolicy } from '../../src/types.js';
import { fixturePath } from '../support/fixtures.js';
import { RecordingSpool } from '../support/recording-spool.js';

const fixture = (name: string): Buffer => readFileSync(fixturePath('mail', name));
const TENANT_B: MailOrigin = { via: 'imap', id: 'INBOX/tenant-b:1:7', mailbox: 'INBOX/tenant-b', target: 'tenant-b' };
const PLAIN_IMAP: MailOrigin = { via: 'imap', id: 'INBOX:1:7', mailbox: 'INBOX' };
const SMTP: MailOrigin = { via: 'smtp', id: 's1 192.0.2.25' };

describe('mail-pipeline: several IMAP mailboxes, each with its target, rules and role (issue 14)', () => {
  let dir: string;
  let spool: RecordingSpool;
  const pipeline = (policy: AlertPolicy = DEFAULT_POLICY, trust?: MailTrust): MailPipeline =>
    new MailPipeline({
      policy,
      mailPolicy: DEFAULT_MAIL_POLICY,
      spool: () => spool,
      quarantineDir: join(dir, 'quarantine'),
      telemetry: new Telemetry(createLogger('silent'), () => 0),
      now: () => Date.parse('2026-12-04T10:05:00Z'),
      ...(trust ? { trust } : {}),
    });
  const alerts = (): Alert[] => spool.appended.map((p) => decodeRecord(p)).flatMap((r) => (r.kind === 'alert' ? [r.alert] : []));
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-mailboxes-'));
    spool = new RecordingSpool();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("a mail from a mailbox with a target is spooled with meta.target; others as before, without meta", async () => {
    const p = pipeline();
    for (const origin of [TENANT_B, PLAIN_IMAP, SMTP]) expect((await p.accept(fixture('fwd-inline.eml'), origin)).kind).to.equal('accepted');
    const [b, plain, smtp] = alerts();
    expect(b?.meta).to.deep.equal({ rules: [], setBy: [], target: 'tenant-b' });
    // The same mail, the same alert otherwise: the target is routing, not content.
    expect({ ...b, meta: undefined }).to.deep.equal({ ...plain, meta: undefined });
    expect(plain).to.not.have.property('meta');
    expect(smtp).to.not.have.property('meta');
  });

  it('rules match the mailbox by glob (match.mail.mailbox, any case), may read it as {{mailbox}}, and keep the target', async () => {
    const rules = [
      { name: 'tenants', match: { mail: { mailbox: 'inbox/TENANT-*' } }, set: { tags: ['mailbox:{{mailbox}}'] } },
      { name: 'inbox', match: { mail: { mailbox: 'INBOX' } }, set: { tags: ['main'] } },
    ];
    const p = pipeline({ ...DEFAULT_POLICY, rules });
    for (const origin of [TENANT_B, PLAIN_IMAP, SMTP]) await p.accept(fixture('fwd-inline.eml'), origin);
    const [b, plain, smtp] = alerts();
    expect(b?.tags).to.include('mailbox:INBOX/tenant-b').and.not.include('main');
    expect(b?.meta?.rules).to.deep.equal(['alert.rules[0] (tenants)']);
    expect(b?.meta?.target).to.equal('tenant-b');
    expect(plain?.tags).to.include('main').and.not.include('mailbox:INBOX');
    expect(plain?.meta?.target).to.equal(undefined);
    // A mail that came by SMTP has no mailbox: no mailbox rule matches it.
    expect(smtp).to.not.have.property('meta');
  });

  it("a mailbox's role replaces email.imap.role for its mails, and the quarantine reason names its key", async () => {
    const trust: MailTrust = { policy: { senders: ['siem@alerts.example.org'], ips: ['192.0.2.0/28'], authservId: 'mx.example.com' }, roles: { imap: 'mixed', smtp: 'mixed', ingest: 'mixed' } };
    const p = pipeline(DEFAULT_POLICY, trust);
    const notifications: MailOrigin = { ...TENANT_B, role: { value: 'notifications', key: 'email.imap.mailboxes[1].role' } };
    expect((await p.accept(fixture('siem-forged.eml'), notifications)).kind).to.equal('quarantined');
    // The same forged notification from the mailbox without a role of its own: email.imap.role (mixed).
    expect((await p.accept(fixture('siem-forged.eml'), PLAIN_IMAP)).kind).to.equal('accepted');
    const names = await readdir(join(dir, 'quarantine'));
    const record = JSON.parse(await readFile(join(dir, 'quarantine', names.find((n) => n.endsWith('.json')) as string), 'utf8')) as { reason: string };
    expect(record.reason).to.match(/^ERR_MAIL_UNTRUSTED: /).and.include('email.imap.mailboxes[1].role is notifications');
  });
});

describe('map/alert-target', () => {
  const alert = { sourceRef: 'mail-x', title: 't' } as Alert;

  it("a rule's target wins over the mailbox's; no target leaves the alert as it is", () => {
    const ruled = { ...alert, meta: { rules: ['alert.rules[0]'], setBy: [], target: 'tenant-a' } };
    expect(withDefaultTarget(ruled, 'tenant-b')).to.equal(ruled);
    expect(withDefaultTarget(alert, undefined)).to.equal(alert);
    const shaped = { ...alert, meta: { rules: ['alert.rules[0]'], setBy: [{ field: 'caseTemplate', rule: 'alert.rules[0]' }] } };
    expect(withDefaultTarget(shaped, 'tenant-b').meta).to.deep.equal({ ...shaped.meta, target: 'tenant-b' });
  });
});
