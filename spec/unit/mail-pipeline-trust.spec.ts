import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailPipeline, type MailTrust } from '../../src/mail-pipeline.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_POLICY } from '../../src/map/alert.js';
import { DEFAULT_MAIL_POLICY } from '../../src/map/mail-policy.js';
import { decodeRecord } from '../../src/queue/spool-payload.js';
import type { MailOrigin } from '../../src/sources/mail-intake.js';
import { Telemetry } from '../../src/telemetry.js';
import type { Alert } from '../../src/types.js';
import { fixturePath } from '../support/fixtures.js';
import { RecordingSpool } from '../support/recording-spool.js';

const fixture = (name: string): Buffer => readFileSync(fixturePath('mail', name));
const SMTP: MailOrigin = { via: 'smtp', id: 's1 192.0.2.25' };
const IMAP: MailOrigin = { via: 'imap', id: 'INBOX:1:7' };
const STDIN: MailOrigin = { via: 'stdin', id: 'stdin' };

/** Our SIEM, as the README's example sets it; SMTP is the SIEM's own intake, IMAP the phishing-report mailbox. */
const TRUST: MailTrust = {
  policy: { senders: ['siem@alerts.example.org'], ips: ['192.0.2.0/28'], authservId: 'mx.example.com' },
  roles: { imap: 'mixed', smtp: 'notifications', ingest: 'reports' },
};

describe('mail-pipeline: SIEM notifications only from trusted senders (issue 13, point 6)', () => {
  let dir: string;
  let spool: RecordingSpool;
  const pipeline = (trust?: MailTrust): MailPipeline =>
    new MailPipeline({
      policy: DEFAULT_POLICY,
      mailPolicy: DEFAULT_MAIL_POLICY,
      spool: () => spool,
      quarantineDir: join(dir, 'quarantine'),
      telemetry: new Telemetry(createLogger('silent'), () => 0),
      now: () => Date.parse('2026-12-04T10:05:00Z'),
      ...(trust ? { trust } : {}),
    });
  const alerts = (): Alert[] => spool.appended.map((p) => decodeRecord(p)).flatMap((r) => (r.kind === 'alert' ? [r.alert] : []));
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-trust-'));
    spool = new RecordingSpool();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('quarantines a forged notification on a notifications source, with every reason in its .json, and pages no one', async () => {
    const verdict = await pipeline(TRUST).accept(fixture('siem-forged.eml'), SMTP);
    expect(verdict.kind).to.equal('quarantined');
    expect(alerts()).to.deep.equal([]);
    const names = await readdir(join(dir, 'quarantine'));
    const record = JSON.parse(await readFile(join(dir, 'quarantine', names.find((n) => n.endsWith('.json')) as string), 'utf8')) as { reason: string; via: string };
    expect(record.via).to.equal('smtp');
    expect(record.reason).to.match(/^ERR_MAIL_UNTRUSTED: /);
    expect(record.reason).to.include('198.51.100.23').and.include('dmarc=fail').and.include('email.smtp.role');
    expect(readFileSync(join(dir, 'quarantine', names.find((n) => n.endsWith('.eml')) as string))).to.deep.equal(fixture('siem-forged.eml'));
  });

  it('maps the genuine notification as the incident on the same source', async () => {
    const verdict = await pipeline(TRUST).accept(fixture('siem-trusted.eml'), SMTP);
    expect(verdict).to.deep.equal({ kind: 'accepted', sourceRef: 'mail-INC-2026-0771' });
    const [alert] = alerts();
    expect(alert?.type).to.equal('siem-mail');
    expect(alert?.severity).to.equal(4);
    expect(alert?.tags).to.include('siem-notification').and.not.include('untrusted-notification');
  });

  it('maps a forged notification on a mixed or reports source as an ordinary mail, tagged and explained, at the default severity', async () => {
    const p = pipeline(TRUST);
    for (const origin of [IMAP, STDIN]) {
      const verdict = await p.accept(fixture('siem-forged.eml'), origin);
      expect(verdict.kind, origin.via).to.equal('accepted');
    }
    const [viaImap, viaIngest] = alerts();
    for (const alert of [viaImap, viaIngest]) {
      expect(alert?.type).to.equal('mail');
      expect(alert?.sourceRef).to.not.equal('mail-INC-2026-0999');
      expect(alert?.severity).to.equal(DEFAULT_POLICY.defaultSeverity);
      expect(alert?.tags).to.include('untrusted-notification').and.not.include('siem-notification');
      expect(alert?.description).to.include('not trusted to send one').and.include('198.51.100.23');
      // Still triaged as a mail (its documentation addresses and domains are on the default ignore list).
      expect(alert?.title).to.equal('[SIEM] Incident INC-2026-0999: Ransomware on the domain controller');
      expect(alert?.observables.map((o) => o.dataType)).to.include('mail-subject');
    }
  });

  it('never gates an ordinary mail, whoever sent it, even on a notifications source', async () => {
    const verdict = await pipeline(TRUST).accept(fixture('fwd-inline.eml'), SMTP);
    expect(verdict.kind).to.equal('accepted');
    expect(alerts()[0]?.tags).to.not.include('untrusted-notification');
  });

  it('changes nothing without trust keys: every sender may notify, as before', async () => {
    for (const trust of [undefined, { policy: { senders: [], ips: [], authservId: '' }, roles: { imap: 'notifications', smtp: 'notifications', ingest: 'notifications' } } as const]) {
      spool = new RecordingSpool();
      const verdict = await pipeline(trust).accept(fixture('siem-forged.eml'), SMTP);
      expect(verdict).to.deep.equal({ kind: 'accepted', sourceRef: 'mail-INC-2026-0999' });
    }
  });
});
