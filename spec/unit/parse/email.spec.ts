import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DEFAULT_MAIL_LIMITS, looksLikeMail, parseMail, type MailAttachment, type ParsedMail } from '../../../src/parse/email.js';
import { fixturePath } from '../../support/fixtures.js';

const fixture = (name: string): Buffer => readFileSync(fixturePath('mail', name));
const parseFixture = (name: string, limits = {}): Promise<ParsedMail> => parseMail(fixture(name), limits);
const utc = (y: number, mo: number, d: number, h: number, mi: number, s: number, offsetH = 0): number =>
  Date.UTC(y, mo - 1, d, h - offsetH, mi, s);

// Hashes computed with sha256sum/md5sum over the bytes the fixture generator encoded (not by tracehive).
const PDF: MailAttachment = {
  filename: 'scan-report.pdf',
  contentType: 'application/pdf',
  size: 148,
  sha256: '6ed7f3aebfaf2ee3913347e0844980ccf8101f72be9f2e7858922276768012da',
  md5: '9abf9c42813fa90db6ce133ce3c3fcfc',
};
const IOC_TXT: MailAttachment = {
  filename: 'ioc-list.txt',
  contentType: 'text/plain',
  size: 97,
  sha256: '0f8057fa5c0ead1bf2e99a25c01171eda421a5b2ba8a8bbb150b306a9d5aa534',
  md5: '761511112508b8289d1d2eb4ae77df54',
};
const EMPTY: MailAttachment = {
  filename: 'empty.bin',
  contentType: 'application/octet-stream',
  size: 0,
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  md5: 'd41d8cd98f00b204e9800998ecf8427e',
};
const CONTRACT_EML: MailAttachment = {
  filename: 'Please review and sign.eml',
  contentType: 'application/octet-stream',
  size: 596,
  sha256: 'a2684a680767b9faf8ce6acaef7b03df5e690d458af1eee7470dc0485d83a149',
  md5: '0edc602ed4b7cae6acc8bb825faaf68e',
};
// The message/rfc822 part of fwd-rfc822.eml, sliced out of the file with Python (CRLF before the boundary excluded).
const RFC822_PART: MailAttachment = {
  filename: null,
  contentType: 'message/rfc822',
  size: 1346,
  sha256: '60a6847b2008b1ba5e144b04b0ae96ec1b8ecb6c0e312eb1a34b929071dcd814',
  md5: '439d931ae45a0223dfb85db7e4234bee',
};

interface Expected {
  subject: string | null;
  from: string | null;
  to: string[];
  date: number | null;
  messageId: string | null;
  textHas: string[];
  attachments: MailAttachment[];
  forwarded: Array<[ParsedMail['origin'], string | null, string | null]>;
}

/** What each fixture parses to, written by hand from the .eml files. */
const TABLE: Record<string, Expected> = {
  'siem-en.eml': {
    subject: '[SIEM] Incident INC-2024-0042: Brute force against VPN gateway',
    from: 'siem-noreply@soc.qazlogistik.kz',
    to: ['soc-alerts@qazlogistik.kz'],
    date: utc(2024, 3, 14, 9, 23, 11, 6),
    messageId: '20240314092311.4711@siem01.soc.qazlogistik.kz',
    textHas: ['Incident ID: INC-2024-0042', 'Raw Events\n2024-03-14T09:16:02+06:00 vpn-gw02 sshd[2211]'],
    attachments: [],
    forwarded: [],
  },
  'siem-ru-base64.eml': {
    subject: 'Инцидент 7731',
    from: 'kuma@soc.qazlogistik.kz',
    to: ['soc-alerts@qazlogistik.kz'],
    date: utc(2024, 3, 14, 10, 6, 2, 6),
    messageId: 'kuma-7731-1710389162@soc.qazlogistik.kz',
    textHas: ['Критичность: Критическая', 'Исходные события:', 'hxxp://cdn-static.docs-viewer[.]online/dl/inv_0314.hta'],
    attachments: [],
    forwarded: [],
  },
  'siem-ru-qp.eml': {
    subject: 'Инцидент 118',
    from: 'kuma@soc.qazlogistik.kz',
    to: ['soc-alerts@qazlogistik.kz'],
    date: utc(2024, 3, 15, 14, 3, 0, 6),
    messageId: 'kuma-118@soc.qazlogistik.kz',
    textHas: ['ID инцидента: KUMA/2024/118', 'Важность: высокая', 'view.php?doc=118&lang=ru 200'],
    attachments: [],
    forwarded: [],
  },
  'fwd-inline.eml': {
    subject: 'Fwd: Your parcel is on hold',
    from: 'a.sadykova@qazlogistik.kz',
    to: ['phishing@qazlogistik.kz'],
    date: utc(2024, 3, 14, 8, 2, 45, 6),
    messageId: 'CAF3x9Qk-inline-0001@mail.qazlogistik.kz',
    textHas: ['---------- Forwarded message ---------', 'support[at]kazpost-delivery[.]info'],
    attachments: [],
    forwarded: [['inline', 'notify@kazpost-delivery.info', 'Your parcel is on hold']],
  },
  'fwd-rfc822.eml': {
    subject: 'Подозрительное письмо',
    from: 'd.omarov@qazlogistik.kz',
    to: ['phishing@qazlogistik.kz'],
    date: utc(2024, 3, 12, 11, 40, 0, 6),
    messageId: 'rfc822-carrier-0002@mail.qazlogistik.kz',
    textHas: ['пересылаю как вложение'],
    // Marked: the part is the forwarded mail, not a file of the report (issue 13).
    attachments: [{ ...RFC822_PART, forwardedMail: true }],
    forwarded: [['rfc822', 'bonus@kaspi-gold-bonus.top', 'Ваш бонус 50 000 ₸']],
  },
  'fwd-octet-eml.eml': {
    subject: 'Suspicious DocuSign mail',
    from: 'accounting@qazlogistik.kz',
    to: ['phishing@qazlogistik.kz'],
    date: utc(2024, 3, 11, 16, 45, 0, 6),
    messageId: 'octet-carrier-0003@mail.qazlogistik.kz',
    // windows-1251 bytes decoded.
    textHas: ['Добрый день! Пересылаю подозрительное письмо от "DocuSign"', 'С уважением, бухгалтерия'],
    attachments: [{ ...CONTRACT_EML, forwardedMail: true }],
    forwarded: [['attachment', 'docs@docu-sign-kz.com', 'Please review and sign: Contract_2024_03.pdf']],
  },
  'defanged.eml': {
    subject: 'Advisory 2024-031: indicators of the "SilkRoad Courier" campaign',
    from: 'advisories@cert-notice.kz',
    to: ['soc-alerts@qazlogistik.kz'],
    date: utc(2024, 3, 15, 7, 30, 0),
    messageId: 'adv-2024-031@cert-notice.kz',
    textHas: ['hXXps://login[.]qazbank-secure(.)com/auth'],
    attachments: [],
    forwarded: [],
  },
  'attachments.eml': {
    subject: 'Sandbox report and IoC list',
    from: 't.bekov@qazlogistik.kz',
    to: ['soc-alerts@qazlogistik.kz'],
    date: utc(2024, 3, 16, 12, 0, 0, 6),
    messageId: 'attach-0004@mail.qazlogistik.kz',
    textHas: ['Report and IoC list attached'],
    // empty.bin (0 bytes) is no attachment: neither a file nor a hash (issue 13); a warning says so.
    attachments: [IOC_TXT, PDF],
    forwarded: [],
  },
  'html-only.eml': {
    subject: 'Action required: password expires today',
    from: 'no-reply@m365-secure-notice.com',
    to: ['soc-alerts@qazlogistik.kz'],
    date: utc(2024, 3, 16, 6, 12, 0),
    messageId: 'html-only-0005@m365-secure-notice.com',
    // Text derived from the HTML (mailparser's converter keeps link targets in brackets).
    textHas: ['Your password for soc-alerts@qazlogistik.kz expires today.', 'https://login.microsoftonline.com/'],
    attachments: [],
    forwarded: [],
  },
  'broken-boundary.eml': {
    subject: 'Scanned document from MFP-3F',
    from: 'scanner@print-hub.qazlogistik.kz',
    to: ['soc-alerts@qazlogistik.kz'],
    date: utc(2024, 3, 17, 9, 0, 0, 6),
    messageId: 'broken-boundary-0006@print-hub.qazlogistik.kz',
    textHas: ['https://scan-share.filedrop-kz.online/d/8812'],
    // The truncated base64 still decodes to some bytes: an attachment, whatever its hash.
    attachments: [],
    forwarded: [],
  },
  'broken-charset.eml': {
    subject: 'Blocked connection',
    from: 'notify@alerts.qazlogistik.kz',
    to: ['soc-alerts@qazlogistik.kz'],
    date: utc(2024, 3, 17, 10, 0, 0, 6),
    messageId: 'broken-charset-0007@alerts.qazlogistik.kz',
    // An unknown charset falls back to UTF-8: the QP bytes of "—" and "été" come out right.
    textHas: ['178.20.45.199 port 4444 — process rundll32.exe été'],
    attachments: [],
    forwarded: [],
  },
  'broken-base64.eml': {
    subject: 'Quarantined message report',
    from: 'notify@alerts.qazlogistik.kz',
    to: ['soc-alerts@qazlogistik.kz'],
    date: utc(2024, 3, 17, 11, 0, 0, 6),
    messageId: 'broken-base64-0008@alerts.qazlogistik.kz',
    // The decoder skips the invalid characters: the first line survives.
    textHas: ['Quarantined: https://payroll-qazlog.click/view?id=9'],
    attachments: [],
    forwarded: [],
  },
  'broken-folding.eml': {
    subject: 'Salary adjustment',
    from: 'finance@qazlogistik-payroll.com',
    to: ['soc-alerts@qazlogistik.kz'],
    // The bare CR glues Message-ID onto Date: neither is readable, and the date is not "now".
    date: null,
    messageId: null,
    textHas: ['https://qazlogistik-payroll.com/table?m=03'],
    attachments: [],
    forwarded: [],
  },
};

describe('parseMail: fixtures', () => {
  for (const [name, exp] of Object.entries(TABLE)) {
    it(name, async () => {
      const mail = await parseFixture(name);
      expect(mail.origin).to.equal('top');
      expect(mail.depth).to.equal(0);
      expect(mail.subject).to.equal(exp.subject);
      expect(mail.from?.address ?? null).to.equal(exp.from);
      expect(mail.to.map((a) => a.address)).to.deep.equal(exp.to);
      expect(mail.date).to.equal(exp.date);
      expect(mail.messageId).to.equal(exp.messageId);
      for (const piece of exp.textHas) expect(mail.text).to.include(piece);
      if (name !== 'broken-boundary.eml') expect(mail.attachments).to.deep.equal(exp.attachments);
      expect(mail.forwarded.map((f) => [f.origin, f.from?.address ?? null, f.subject])).to.deep.equal(exp.forwarded);
      expect(mail.bodyDigest).to.match(/^[0-9a-f]{64}$/);
    });
  }

  it('keeps display names, Cc and the date header text', async () => {
    const mail = await parseFixture('fwd-rfc822.eml');
    expect(mail.from).to.deep.equal({ address: 'd.omarov@qazlogistik.kz', name: 'Даурен Омаров' });
    expect(mail.cc).to.deep.equal([{ address: 'it-security@qazlogistik.kz', name: '' }]);
    expect(mail.headers['date']).to.equal('Tue, 12 Mar 2024 11:40:00 +0600');
  });

  it('reads the forwarded rfc822 mail: HTML-only text inside multipart/mixed, its own attachment', async () => {
    const [inner] = (await parseFixture('fwd-rfc822.eml')).forwarded;
    expect(inner?.depth).to.equal(1);
    expect(inner?.html).to.include('href="https://kaspi-gold-bonus.top/login?ref=mail&amp;u=77"');
    expect(inner?.text).to.include('Вам начислен бонус 50 000 ₸. Подтвердите получение:');
    expect(inner?.text).to.include('https://qazbank.kz/bonus');
    expect(inner?.attachments).to.deep.equal([{ ...PDF, filename: 'bonus_terms.pdf' }]);
    expect(inner?.date).to.equal(utc(2024, 3, 12, 11, 14, 58, 6));
  });

  it('reads the forwarded .eml sent as application/octet-stream', async () => {
    const [inner] = (await parseFixture('fwd-octet-eml.eml')).forwarded;
    expect(inner?.messageId).to.equal('ds-20240311-5521@docu-sign-kz.com');
    expect(inner?.text).to.include('open http://45.156.23.118/ds/5521 in your browser');
  });

  it('records the inline-forwarded block: sender, subject, date text, recipient, its text', async () => {
    const [block] = (await parseFixture('fwd-inline.eml')).forwarded;
    expect(block).to.include({ origin: 'inline', depth: 1, subject: 'Your parcel is on hold', date: null, messageId: null });
    expect(block?.from).to.deep.equal({ address: 'notify@kazpost-delivery.info', name: 'KazPost Delivery' });
    expect(block?.to).to.deep.equal([{ address: 'a.sadykova@qazlogistik.kz', name: '' }]);
    expect(block?.headers['date']).to.equal('Wed, Mar 13, 2024 at 4:41 PM');
    expect(block?.text.startsWith('Dear customer,')).to.equal(true);
    expect(block?.text).to.include('hxxps://kazpost-delivery[.]info/track?id=KZ-55810214');
  });

  it('stops at the depth bound and says so, keeping the deeper mail as an attachment', async () => {
    const top = await parseFixture('nested-deep.eml');
    const chain: ParsedMail[] = [];
    for (let m: ParsedMail | undefined = top; m !== undefined; m = m.forwarded[0]) chain.push(m);
    expect(chain.map((m) => [m.depth, m.subject])).to.deep.equal([[0, 'Level 0'], [1, 'Level 1'], [2, 'Level 2'], [3, 'Level 3']]);
    const level3 = chain[3] as ParsedMail;
    expect(level3.attachments.map((a) => a.filename)).to.deep.equal(['level4.eml']);
    expect(level3.warnings).to.deep.equal(['A forwarded mail (level4.eml) at depth 4 was not parsed (maxDepth 3).']);
    expect(top.warnings).to.deep.equal([]);
  });

  it('takes maxDepth from the limits', async () => {
    const top = await parseFixture('nested-deep.eml', { maxDepth: 1 });
    expect(top.forwarded.map((f) => f.subject)).to.deep.equal(['Level 1']);
    expect(top.forwarded[0]?.forwarded).to.deep.equal([]);
    expect(top.forwarded[0]?.warnings[0]).to.match(/at depth 2 was not parsed \(maxDepth 1\)/);
  });

  it('never puts "now" in place of an unreadable Date', async () => {
    const a = await parseMail(Buffer.from('Subject: x\r\nDate: someday soon\r\n\r\nbody'));
    const b = await parseMail(Buffer.from('Subject: x\r\n\r\nbody'));
    expect(a.date).to.equal(null);
    expect(b.date).to.equal(null);
  });
});

describe('parseMail: bounds and hostile input', () => {
  it('cuts a mail over maxRawBytes and warns', async () => {
    const raw = fixture('attachments.eml');
    const mail = await parseMail(raw, { maxRawBytes: 400 });
    expect(mail.warnings).to.deep.equal([`The mail has ${raw.length} bytes; only the first 400 were parsed (maxRawBytes).`]);
    expect(mail.subject).to.equal('Sandbox report and IoC list');
  });

  it('cuts text over maxTextChars and warns', async () => {
    const body = 'x'.repeat(5000);
    const mail = await parseMail(Buffer.from(`Subject: long\r\n\r\n${body}`), { maxTextChars: 1000 });
    expect(mail.text.length).to.equal(1000);
    expect(mail.warnings[0]).to.match(/^The text has 500[01] characters; only the first 1000 were kept \(maxTextChars\)\.$/);
  });

  it('hashes at most maxAttachments and counts the rest', async () => {
    const mail = await parseFixture('attachments.eml', { maxAttachments: 2 });
    expect(mail.attachments).to.deep.equal([IOC_TXT, PDF]);
    expect(mail.warnings).to.deep.equal(['1 of 3 attachments were not hashed (maxAttachments/maxParts).']);
  });

  it('shares maxParts over the whole tree', async () => {
    const mail = await parseFixture('nested-deep.eml', { maxParts: 3 });
    // Level 0's attachment (1) and its parse (2), level 1's attachment (3): nothing left to parse level 2.
    expect(mail.forwarded[0]?.forwarded).to.deep.equal([]);
    expect(mail.forwarded[0]?.warnings).to.deep.equal(['A forwarded mail (level2.eml) was not parsed (maxParts/maxTotalBytes).']);
  });

  it('shares maxTotalBytes over the whole tree', async () => {
    const raw = fixture('nested-deep.eml');
    const mail = await parseMail(raw, { maxTotalBytes: raw.length + 10 });
    expect(mail.forwarded).to.deep.equal([]);
    expect(mail.warnings).to.deep.equal(['A forwarded mail (level1.eml) was not parsed (maxParts/maxTotalBytes).']);
  });

  it('reads the parts one by one when there are more than mailparser takes (issue 11: was a raw-text scan)', async () => {
    let raw = 'From: Flood <flood@parts-flood.top>\r\nSubject: many parts\r\nMessage-ID: <flood-1@parts-flood.top>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n';
    for (let i = 0; i < 1100; i++) raw += `--b\r\nContent-Type: text/plain\r\n\r\npart ${i} https://parts-flood.top/p/${i}\r\n`;
    raw += '--b--\r\n';
    const mail = await parseMail(Buffer.from(raw));
    expect(mail.warnings).to.deep.equal(['The mail has more MIME parts than mailparser reads (1000); its parts were read one by one instead.']);
    // The decoded text of the parts, no MIME syntax.
    expect(mail.text).to.not.include('--b');
    expect(mail.text.startsWith('part 0 https://parts-flood.top/p/0\npart 1 ')).to.equal(true);
    expect(mail.subject).to.equal('many parts');
    expect(mail.messageId).to.equal('flood-1@parts-flood.top');
    expect(mail.from?.address).to.equal('flood@parts-flood.top');
    expect(mail.text).to.include('https://parts-flood.top/p/1099');
  });

  const HOSTILE: Array<[string, Buffer]> = [
    ['empty input', Buffer.alloc(0)],
    ['binary garbage', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 256))],
    ['headers only, no blank line', Buffer.from('Subject: x\r\nFrom: a@b.kz')],
    ['an unterminated multipart', Buffer.from('Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhi')],
    ['a boundary-less multipart', Buffer.from('Content-Type: multipart/mixed\r\n\r\nno parts here')],
    ['nested message/rfc822 with no headers', Buffer.from('Content-Type: message/rfc822\r\n\r\n')],
    ['2 MB header', Buffer.from(`X-Long: ${'a'.repeat(2_000_000)}\r\n\r\nbody`)],
    ['deep multipart nesting', Buffer.from(Array.from({ length: 200 }, (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`).join(''))],
  ];
  for (const [label, raw] of HOSTILE) {
    it(`does not reject: ${label}`, async () => {
      const mail = await parseMail(raw);
      expect(mail.origin).to.equal('top');
      expect(mail.text).to.be.a('string');
      expect(mail.warnings).to.be.an('array');
    });
  }

  it('takes a string by mistake without rejecting', async () => {
    const mail = await parseMail('Subject: typed wrong\r\n\r\nbody' as unknown as Buffer);
    expect(mail.subject).to.equal('typed wrong');
  });

  it('has documented defaults', () => {
    expect(DEFAULT_MAIL_LIMITS).to.deep.equal({
      maxRawBytes: 26_214_400,
      maxTextChars: 1_000_000,
      maxAttachments: 100,
      maxDepth: 3,
      maxTotalBytes: 52_428_800,
      maxParts: 500,
    });
  });
});

describe('parseMail: which attachments are forwarded mails', () => {
  const carrier = (type: string, name: string | null, content: string): Buffer =>
    Buffer.from(
      'Subject: carrier\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n' +
        `--c\r\nContent-Type: ${type}${name === null ? '' : `; name="${name}"`}\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
        `${Buffer.from(content).toString('base64')}\r\n--c--\r\n`,
    );
  const MAIL_TEXT = 'Received: from x by y\r\nFrom: Phish <p@phish-site.top>\r\nSubject: inner one\r\n\r\nclick https://phish-site.top/a\r\n';

  it('an octet-stream without .eml name that reads like a mail', async () => {
    const mail = await parseMail(carrier('application/octet-stream', 'message.bin', MAIL_TEXT));
    expect(mail.forwarded.map((f) => [f.origin, f.subject])).to.deep.equal([['attachment', 'inner one']]);
  });

  it('not an octet-stream that does not read like a mail', async () => {
    const mail = await parseMail(carrier('application/octet-stream', 'blob.bin', '\u0000\u0001binary\r\nFrom: not at top'));
    expect(mail.forwarded).to.deep.equal([]);
    expect(mail.attachments).to.have.length(1);
  });

  it('not a PDF even when it starts with header-like lines', async () => {
    const mail = await parseMail(carrier('application/pdf', 'x.pdf', MAIL_TEXT));
    expect(mail.forwarded).to.deep.equal([]);
  });

  it('looksLikeMail: header block with a key header and two lines, mbox From_ line allowed', () => {
    expect(looksLikeMail(Buffer.from(MAIL_TEXT))).to.equal(true);
    expect(looksLikeMail(Buffer.from(`From sender@x Mon Mar 18 00:00:00 2024\n${MAIL_TEXT}`))).to.equal(true);
    expect(looksLikeMail(Buffer.from('Subject: only one\r\n\r\nbody'))).to.equal(false);
    expect(looksLikeMail(Buffer.from('X-A: 1\r\nX-B: 2\r\n\r\nno key header'))).to.equal(false);
    expect(looksLikeMail(Buffer.from('%PDF-1.4\nFrom: x\n'))).to.equal(false);
    expect(looksLikeMail(Buffer.alloc(0))).to.equal(false);
  });
});

describe('parseMail: blank parts (issue 13)', () => {
  it('leaves out empty and white-space-only parts, says so, and keeps the mail\'s identity', async () => {
    const mail = await parseFixture('attachments.eml');
    expect(mail.attachments.map((a) => a.filename)).to.not.include(EMPTY.filename);
    expect(mail.warnings).to.include('The part empty.bin holds nothing (0 bytes): neither a file nor a hash.');
    const crlf = Buffer.from(
      'From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
        '--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n' +
        '--b\r\nContent-Type: text/plain; name="ATT00001.txt"\r\nContent-Disposition: attachment; filename="ATT00001.txt"\r\nContent-Transfer-Encoding: base64\r\n\r\nDQo=\r\n' +
        '--b--\r\n',
    );
    const outlook = await parseMail(crlf);
    expect(outlook.attachments).to.deep.equal([]);
    expect(outlook.warnings).to.include('The part ATT00001.txt holds only white space (2 bytes): neither a file nor a hash.');
  });
});

describe('parseMail: the Date header\'s offset (issue 13)', () => {
  const withDate = (date: string): Buffer => Buffer.from(`From: siem@example.org\r\nTo: soc@example.org\r\nSubject: s\r\nDate: ${date}\r\n\r\nbody\r\n`);
  it('keeps the zone the sender wrote its times in, when the Date header says it', async () => {
    expect((await parseFixture('siem-ru-base64.eml')).dateOffset).to.equal(360);
    expect((await parseMail(withDate('Fri, 15 Mar 2024 09:03:00 -0330'))).dateOffset).to.equal(-210);
    expect((await parseMail(withDate('Fri, 15 Mar 2024 09:03:00 +0500 (YEKT)'))).dateOffset).to.equal(300);
  });

  it('has none for -0000 (zone unknown, RFC 5322), a zone name or no Date', async () => {
    expect((await parseMail(withDate('Fri, 15 Mar 2024 09:03:00 -0000'))).dateOffset).to.equal(undefined);
    expect((await parseMail(withDate('Fri, 15 Mar 2024 09:03:00 GMT'))).dateOffset).to.equal(undefined);
    expect((await parseMail(Buffer.from('From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n'))).dateOffset).to.equal(undefined);
  });
});
