/**
 * Issue 11: a mail with more MIME parts than mailparser reads (mailsplit's 1,000 child nodes)
 * made parseMail fall back to scanning the raw text, which hashes no attachment: a malware hash
 * visible with 50 parts vanished with 1,001. The mails here are built by a small generator; the
 * expected hashes are computed from the bytes the generator encoded, not by the parser.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { parseMail, type MailAttachment } from '../../../src/parse/email.js';

/** Deterministic bytes standing in for a malware sample (an `MZ` header, then noise). */
const MALWARE = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919 + 13) % 256))]);
const MALWARE_ATTACHMENT: MailAttachment = {
  filename: 'invoice_0314.exe',
  contentType: 'application/x-msdownload',
  size: MALWARE.length,
  sha256: createHash('sha256').update(MALWARE).digest('hex'),
  md5: createHash('md5').update(MALWARE).digest('hex'),
};

const base64Lines = (bytes: Buffer): string => (bytes.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');

/** One part of a generated mail: its header lines and its body as written. */
type Part = string;

const TEXT_PART: Part = 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nPlease pay the attached invoice at https://pay-invoice.top/kz/0314 =E2=80=94 thanks.';
const MALWARE_PART: Part =
  'Content-Type: application/x-msdownload; name="invoice_0314.exe"\r\nContent-Disposition: attachment; filename="invoice_0314.exe"\r\n' +
  `Content-Transfer-Encoding: base64\r\n\r\n${base64Lines(MALWARE)}`;
const filler = (i: number): Part => `Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="pad${i}.bin"\r\n\r\npad ${i}`;

/** A multipart/mixed mail of `parts` in order. */
function mail(parts: readonly Part[], extraHeaders = ''): Buffer {
  const head = `From: Billing <billing@pay-invoice.top>\r\nTo: accounting@qazlogistik.kz\r\nSubject: Invoice 0314\r\nDate: Thu, 14 Mar 2024 09:00:00 +0600\r\n${extraHeaders}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="pp-0314"\r\n\r\n`;
  return Buffer.from(`${head}${parts.map((p) => `--pp-0314\r\n${p}\r\n`).join('')}--pp-0314--\r\n`);
}

/** The text part, the malware, then fillers up to `count` parts. */
const invoice = (count: number): Buffer => mail([TEXT_PART, MALWARE_PART, ...Array.from({ length: count - 2 }, (_, i) => filler(i))]);

describe('issue 11: a mail over mailparser\'s part limit', () => {
  it('with 50 parts, the malware is hashed (as it always was)', async () => {
    const parsed = await parseMail(invoice(50));
    expect(parsed.attachments[0]).to.deep.equal(MALWARE_ATTACHMENT);
    expect(parsed.warnings).to.deep.equal([]);
  });

  it('with 1,001 parts, the malware is still hashed, the text decoded, and a warning says why', async () => {
    const parsed = await parseMail(invoice(1001));
    expect(parsed.attachments[0]).to.deep.equal(MALWARE_ATTACHMENT);
    expect(parsed.attachments).to.have.length(100); // maxAttachments, as for any mail
    expect(parsed.subject).to.equal('Invoice 0314');
    expect(parsed.from).to.deep.equal({ name: 'Billing', address: 'billing@pay-invoice.top' });
    expect(parsed.text).to.equal('Please pay the attached invoice at https://pay-invoice.top/kz/0314 — thanks.');
    expect(parsed.warnings).to.deep.equal([
      'The mail has more MIME parts than mailparser reads (1000); its parts were read one by one instead.',
      '900 of 1000 attachments were not hashed (maxAttachments/maxParts).',
    ]);
  });

  it('hashes every kind of part exactly as mailparser does below the limit', async () => {
    const names = ['=?UTF-8?B?0YHRh9C10YIucGRm?=', 'report.html', 'data.csv', 'a b.txt'];
    const varied: Part[] = [
      TEXT_PART,
      MALWARE_PART,
      `Content-Type: application/pdf; name="${names[0]}"\r\nContent-Disposition: attachment; filename="${names[0]}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(Buffer.from('%PDF-1.4 fake'))}`,
      `Content-Type: text/html; charset=utf-8\r\nContent-Disposition: attachment; filename="${names[1]}"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D"https://x.top/">x</a>=\r\n soft break`,
      `Content-Type: text/csv\r\nContent-Disposition: attachment; filename*=UTF-8''${encodeURIComponent(names[2] as string)}\r\n\r\na,b\r\n1,2`,
      `Content-Disposition: attachment; filename="${names[3]}"\r\n\r\nno content type`,
      'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n--alt\r\nContent-Type: text/plain\r\n\r\nalt text\r\n--alt\r\nContent-Type: image/png; name="logo.png"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--alt--',
      'Content-Type: message/rfc822; name="fwd.eml"\r\nContent-Disposition: attachment; filename="fwd.eml"\r\n\r\nFrom: x@phish.top\r\nSubject: inner\r\n\r\ninner body https://phish.top/a',
    ];
    const small = await parseMail(mail([...varied, ...Array.from({ length: 20 }, (_, i) => filler(i))]));
    const big = await parseMail(mail([...varied, ...Array.from({ length: 1000 }, (_, i) => filler(i))]));
    expect(small.warnings).to.deep.equal([]);
    expect(big.attachments.slice(0, small.attachments.length)).to.deep.equal(small.attachments);
    expect(big.text).to.include('Please pay the attached invoice');
    expect(big.forwarded.map((f) => [f.origin, f.subject, f.text.trim()])).to.deep.equal([['rfc822', 'inner', 'inner body https://phish.top/a']]);
  });

  it('text hidden after a thousand empty parts is still read', async () => {
    const parsed = await parseMail(mail([...Array.from({ length: 1200 }, () => 'Content-Type: text/plain\r\n\r\n'), 'Content-Type: text/plain\r\n\r\nlogin at https://hidden-login.top/']));
    expect(parsed.text).to.include('https://hidden-login.top/');
  });

  it('keeps the bounds: maxAttachments, and a walk that stops after its own part limit', async function () {
    this.timeout(20_000);
    const five = await parseMail(invoice(1001), { maxAttachments: 5 });
    expect(five.attachments).to.have.length(5);
    expect(five.warnings[1]).to.equal('995 of 1000 attachments were not hashed (maxAttachments/maxParts).');
    // 30,000 empty parts in 1.2 MB: read up to the walk's limit, then left unread, and said so.
    const flood = await parseMail(mail([TEXT_PART, MALWARE_PART, ...Array.from({ length: 30_000 }, () => '')]));
    expect(flood.attachments[0]).to.deep.equal(MALWARE_ATTACHMENT);
    expect(flood.warnings[0]).to.match(/^The mail has more MIME parts than mailparser reads \(1000\); its parts were read one by one instead, up to \d+ parts: the rest was not read\.$/);
  });
});
