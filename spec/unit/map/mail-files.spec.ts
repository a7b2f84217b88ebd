/**
 * Issue 13 point 2: which files of a mail become `file` observables, within email.files.*, with
 * the type their magic bytes show. Digests by sha256sum of the fixtures and of the parts' bytes.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY, type MailPolicy } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import type { Alert, Observable } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

const RECEIVED = Date.UTC(2024, 2, 20, 6, 0, 0);
const files = (a: Alert): Observable[] => a.observables.filter((o) => o.dataType === 'file');
const summary = (a: Alert): string[][] => files(a).map((o) => [o.attachment?.name ?? '', o.attachment?.contentType ?? '', String(o.attachment?.size), o.data, ...(o.tags ?? [])]);
const withFiles = (maxBytes: number, maxTotalBytes: number): MailPolicy => ({ ...DEFAULT_MAIL_POLICY, files: { maxBytes, maxTotalBytes } });

async function alertOf(raw: Buffer | string, mp: MailPolicy = DEFAULT_MAIL_POLICY): Promise<Alert> {
  return alertFromMail(await parseMail(Buffer.isBuffer(raw) ? raw : Buffer.from(raw)), DEFAULT_POLICY, mp, RECEIVED);
}

const ATTACHMENTS = readFileSync(fixturePath('mail', 'attachments.eml'));
// sha256sum attachments.eml; the parts' digests as in spec/unit/parse/email.spec.ts.
const MAIL_SHA = 'a11ad89e337f5ef3bec55d4a23f7e5d77a17e687822de4cde1a9a2c9377c5534';
const IOC_TXT = '0f8057fa5c0ead1bf2e99a25c01171eda421a5b2ba8a8bbb150b306a9d5aa534';
const PDF = '6ed7f3aebfaf2ee3913347e0844980ccf8101f72be9f2e7858922276768012da';

/** A mail with one base64 attachment of `content`, declared `type`, named `name`. */
function withAttachment(name: string, type: string, content: Buffer): string {
  return [
    'From: a@sender-one.top', 'To: soc@qazlogistik.kz', 'Subject: see attached', 'Message-ID: <files-1@sender-one.top>',
    'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '', '--b', 'Content-Type: text/plain', '', 'Please check.', '--b',
    `Content-Type: ${type}; name="${name}"`, `Content-Disposition: attachment; filename="${name}"`, 'Content-Transfer-Encoding: base64', '',
    content.toString('base64'), '--b--', '',
  ].join('\r\n');
}
const EXE = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62), Buffer.from('PE\0\0')]);

describe('mail files (issue 13 point 2)', () => {
  it('an ordinary mail: each attachment (attachments first), then the mail itself, each tagged with its detected type', async () => {
    const a = await alertOf(ATTACHMENTS);
    expect(summary(a)).to.deep.equal([
      ['ioc-list.txt', 'text/plain', '97', IOC_TXT, 'attachment:ioc-list.txt', 'filetype:txt'],
      ['scan-report.pdf', 'application/pdf', '148', PDF, 'attachment:scan-report.pdf', 'filetype:pdf'],
      ['mail.eml', 'message/rfc822', String(ATTACHMENTS.length), MAIL_SHA, 'eml', 'filetype:eml'],
    ]);
    // Every file names the mail's reference in the store: the first 32 hex of its sha256.
    expect(new Set(files(a).map((o) => o.attachment?.ref))).to.deep.equal(new Set([MAIL_SHA.slice(0, 32)]));
    // The hashes stay too: TheHive's similarity and CyberTrace's hash detections match on them.
    expect(a.observables.filter((o) => o.dataType === 'hash').map((o) => o.data)).to.include(PDF);
  });

  it('the type is read from the magic bytes, not the declared MIME type: an .exe sent as a PDF is tagged type-mismatch', async () => {
    const a = await alertOf(withAttachment('invoice.pdf', 'application/pdf', EXE));
    const [exe] = files(a);
    expect(exe?.attachment?.contentType).to.equal('application/x-msdownload');
    expect(exe?.tags).to.deep.equal(['attachment:invoice.pdf', 'filetype:exe', 'type-mismatch']);
  });

  it('a PDF declared application/octet-stream is a PDF, and no mismatch', async () => {
    const pdf = readFileSync(fixturePath('mail', 'attachments.eml')).toString('latin1');
    const bytes = Buffer.from(/JVBER[A-Za-z0-9+/=\r\n]+/.exec(pdf)?.[0].replace(/\s/g, '') ?? '', 'base64');
    const a = await alertOf(withAttachment('scan', 'application/octet-stream', bytes));
    expect(files(a)[0]?.tags).to.deep.equal(['attachment:scan', 'filetype:pdf']);
  });

  it('over email.files.maxBytes: hashes and name only, and the description says which file and why', async () => {
    const a = await alertOf(ATTACHMENTS, withFiles(120, 1_000_000));
    expect(summary(a).map((s) => s[0])).to.deep.equal(['ioc-list.txt']);
    expect(a.description).to.include(`Not attached as a file (over email.files.maxBytes 120): scan-report.pdf, 148 bytes, sha256 ${PDF}.`);
    expect(a.description).to.include(`mail.eml, ${ATTACHMENTS.length} bytes, sha256 ${MAIL_SHA}`);
    expect(a.observables.filter((o) => o.dataType === 'hash').map((o) => o.data)).to.include(PDF);
  });

  it('over email.files.maxTotalBytes for the mail: the first files that fit, then hashes and name only', async () => {
    const a = await alertOf(ATTACHMENTS, withFiles(1_000_000, 97 + 148));
    expect(summary(a).map((s) => s[0])).to.deep.equal(['ioc-list.txt', 'scan-report.pdf']);
    expect(a.description).to.include('(over email.files.maxTotalBytes 245 for one mail): mail.eml');
  });

  it('email.files.maxBytes 0: no files at all', async () => {
    expect(files(await alertOf(ATTACHMENTS, withFiles(0, 0)))).to.deep.equal([]);
  });

  it('a blank part (Outlook\'s ATT00001.txt, a CRLF) is neither a file nor a hash', async () => {
    const a = await alertOf(withAttachment('ATT00001.txt', 'text/plain', Buffer.from('\r\n')));
    expect(summary(a).map((s) => s[0])).to.deep.equal(['mail.eml']);
    expect(a.observables.some((o) => o.dataType === 'hash' || o.dataType === 'filename')).to.equal(false);
  });

  it('a SIEM notification sends no .eml of itself: it is the SIEM\'s text, already in the alert', async () => {
    const a = await alertOf(readFileSync(fixturePath('mail', 'siem-en.eml')));
    expect(a.type).to.equal('siem-mail');
    expect(files(a)).to.deep.equal([]);
  });

  it('a file name is cleaned: no path, no control characters', async () => {
    const a = await alertOf(withAttachment('..\\\\evil\\x01/run.exe', 'application/octet-stream', EXE));
    expect(files(a)[0]?.attachment?.name).to.equal('run.exe');
  });
});
