import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailPipeline } from '../../src/mail-pipeline.js';
import { RecordingSpool } from '../support/recording-spool.js';
import { DEFAULT_POLICY } from '../../src/map/alert.js';
import { DEFAULT_MAIL_POLICY } from '../../src/map/mail-policy.js';
import { decodeRecord } from '../../src/queue/spool-payload.js';
import { createLogger } from '../../src/log.js';
import { Telemetry } from '../../src/telemetry.js';
import { fixturePath } from '../support/fixtures.js';
import { readFileSync } from 'node:fs';

const fixture = (name: string): Buffer => readFileSync(fixturePath('mail', name));

describe('mail-pipeline', () => {
  let dir: string;
  let spool: RecordingSpool;
  let pipeline: MailPipeline;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-mailpipe-'));
    spool = new RecordingSpool();
    const telemetry = new Telemetry(createLogger('silent'), () => 0);
    pipeline = new MailPipeline({ policy: DEFAULT_POLICY, mailPolicy: DEFAULT_MAIL_POLICY, spool: () => spool, quarantineDir: join(dir, 'quarantine'), telemetry, now: () => 1_764_144_000_000 });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('takes many mails at once (parsed a few at a time): each resolves accepted after its alert is committed', async () => {
    const names = ['siem-en.eml', 'siem-ru-base64.eml', 'fwd-inline.eml', 'defanged.eml', 'attachments.eml', 'html-only.eml', 'broken-base64.eml', 'nested-deep.eml'];
    const verdicts = await Promise.all(names.map((n, i) => pipeline.accept(fixture(n), { via: 'smtp', id: `s${i} 127.0.0.1` })));
    expect(verdicts.map((v) => v.kind)).to.deep.equal(names.map(() => 'accepted'));
    expect(spool.committed).to.equal(names.length);
    const refs = spool.appended.map((p) => decodeRecord(p)).map((r) => (r.kind === 'alert' ? r.alert.sourceRef : r.kind));
    expect(new Set(refs)).to.deep.equal(new Set(verdicts.map((v) => (v.kind === 'accepted' ? v.sourceRef : ''))));
  });

  it('drops a mail whose subject matches email.dropSubjects: taken, no alert, nothing quarantined, counted (issue 13)', async () => {
    const telemetry = new Telemetry(createLogger('silent'), () => 0);
    const dropping = new MailPipeline({ policy: DEFAULT_POLICY, mailPolicy: { ...DEFAULT_MAIL_POLICY, dropSubjects: ['automatic reply:*', '*out of office*'] }, spool: () => spool, quarantineDir: join(dir, 'quarantine'), telemetry, now: () => 1_764_144_000_000 });
    const auto = Buffer.from('From: a@corp-bank.kz\r\nTo: soc@corp-bank.kz\r\nSubject: Automatic reply: Suspicious login\r\nMessage-ID: <ar1@corp-bank.kz>\r\n\r\nI am away until Monday.\r\n');
    const verdict = await dropping.accept(auto, { via: 'imap', id: 'INBOX/7' });
    expect(verdict).to.deep.equal({ kind: 'dropped', reason: 'its subject matches "automatic reply:*" of email.dropSubjects' });
    expect(spool.appended).to.have.length(0);
    expect(await readdir(join(dir, 'quarantine')).catch(() => [])).to.deep.equal([]);
    expect(await telemetry.registry.metrics()).to.include('tracehive_mails_total{via="imap",outcome="dropped"} 1');
    // Another subject goes through as usual.
    expect((await dropping.accept(fixture('siem-en.eml'), { via: 'imap', id: 'INBOX/8' })).kind).to.equal('accepted');
  });

  it('quarantines what is no mail, with its reason, and appends nothing', async () => {
    const verdict = await pipeline.accept(Buffer.from([0, 1, 2, 255]), { via: 'stdin', id: 'stdin' });
    expect(verdict.kind).to.equal('quarantined');
    expect(spool.appended).to.have.length(0);
    const kept = (await readdir(join(dir, 'quarantine'))).sort();
    expect(kept.map((n) => n.slice(n.lastIndexOf('.')))).to.deep.equal(['.eml', '.json']);
    const reason = JSON.parse(await readFile(join(dir, 'quarantine', kept.find((n) => n.endsWith('.json')) as string), 'utf8')) as { reason: string; via: string };
    expect(reason).to.include({ via: 'stdin' });
    expect(reason.reason).to.match(/^ERR_MAIL_PARSE: /);
  });

  it('refuses, not quarantines, mails whose spool closed while they waited to be parsed', async () => {
    const taking = ['siem-en.eml', 'fwd-inline.eml', 'defanged.eml'].map((n, i) => pipeline.accept(fixture(n), { via: 'smtp', id: `s${i} 127.0.0.1` }));
    spool.closed = true; // shutdown begins before any of them got a parse slot
    const codes = await Promise.all(taking.map((p) => p.then(() => 'kept', (err: { code?: string }) => err.code ?? 'error')));
    expect(codes).to.deep.equal(['ERR_SPOOL_CLOSED', 'ERR_SPOOL_CLOSED', 'ERR_SPOOL_CLOSED']);
    expect(spool.appended).to.have.length(0);
    expect(await readdir(dir)).to.deep.equal([]); // no quarantine directory either
  });

  it('refuses (rejects) a mail while there is no open spool, so the source leaves it in place', async () => {
    spool.closed = true;
    let code = '';
    await pipeline.accept(fixture('siem-en.eml'), { via: 'imap', id: 'INBOX:1:1' }).catch((err: { code?: string }) => (code = err.code ?? ''));
    expect(code).to.equal('ERR_SPOOL_CLOSED');
  });
});
