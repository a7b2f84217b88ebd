/**
 * Issue 13, point 1: a mail forwarding exactly one other is a report, and its alert is about the
 * forwarded mail (the phish), in each of the three shapes a phish reaches the SOC: as an attached
 * message (message/rfc822), as an `.eml` file, and inline (Outlook, in English and Russian).
 * Expectations written by hand from the fixtures' text.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mailPolicyOf } from '../../../src/app-options.js';
import { loadConfig } from '../../../src/config.js';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail, mailSourceRef } from '../../../src/map/mail-alert.js';
import { sendingHops } from '../../../src/map/mail-phish.js';
import { phishSourceRef } from '../../../src/map/phish-ref.js';
import { DEFAULT_MAIL_POLICY, ignoreMatcher, type MailPolicy } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import type { Alert, Observable } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

const RECEIVED = Date.UTC(2024, 2, 20, 6, 0, 0);
const utc = (y: number, mo: number, d: number, h: number, mi: number, s: number, offsetH = 0): number => Date.UTC(y, mo - 1, d, h - offsetH, mi, s);
const o = (dataType: Observable['dataType'], data: string, tags: string[] = []): Observable => ({ dataType, data, ioc: false, tags });

const raw = (name: string): Buffer => readFileSync(fixturePath('mail', name));
async function alertOf(name: string, mailPolicy: MailPolicy = DEFAULT_MAIL_POLICY): Promise<Alert> {
  return alertFromMail(await parseMail(raw(name)), DEFAULT_POLICY, mailPolicy, RECEIVED);
}

// invoice_4412.html, the phish's attachment (and the one Outlook keeps on an inline forward): sha256sum/md5sum.
const INVOICE = [
  o('hash', '3b203d7610273e3e24d8e2e7122b759278a16261d144a686657c25116352b1e7', ['attachment:invoice_4412.html']),
  o('hash', 'b9d3a1163e0cebf50bfac3ab089769dd', ['attachment:invoice_4412.html']),
  o('filename', 'invoice_4412.html'),
];
// screenshot.png, which the reporter attached besides the phish.
const SCREENSHOT = [
  o('hash', 'f4cbce8d14647525d11d54c0481df488d8c1989212aa7fa78e93d292bc741357', ['attachment:screenshot.png']),
  o('hash', '935fba453c8c7fbce44c7d3ac460a531', ['attachment:screenshot.png']),
  o('filename', 'screenshot.png'),
];

/**
 * `file` observables (issue 13 point 2): what TheHive gets as files. `ref` is the first 32 hex of the
 * received mail's sha256 (sha256sum of the fixture): the reference it holds in the file store.
 */
const file = (fixture: string, name: string, contentType: string, size: number, sha256: string, tags: string[], message: string): Observable => ({
  dataType: 'file', data: sha256, ioc: false, attachment: { name, contentType, size, sha256, ref: REFS[fixture] as string }, tags, message,
});
// sha256sum of each fixture.
const REFS: Record<string, string> = {
  'phish-report-rfc822.eml': '887424cf48bf361d692c073a7b834433',
  'phish-report-eml.eml': '473a5a8a7f38f3df95a4409c04c38360',
  'phish-report-outlook-en.eml': 'fbadf3d15ec95b45542ab445eb38a892',
  'phish-report-outlook-ru.eml': 'f9993e437f2f67bd7ab7eaf14f0cd2bb',
};
// The phish itself, 1734 bytes, as the .eml attachment holds it (Python's email module decodes the same digest).
const PHISH_EML = 'd728a3ed9d261b43e29fd90866935a3d0680506a052856f1d5d5bcc2903a247c';
const WHOLE_PHISH_MESSAGE = 'The reported mail as it was forwarded to us, headers and all: for EmlParser.';
const INVOICE_FILE = (fixture: string): Observable =>
  file(fixture, 'invoice_4412.html', 'text/html', 120, INVOICE_SHA256, ['attachment:invoice_4412.html', 'filetype:html'], 'Attachment invoice_4412.html, declared text/html, 120 bytes.');
const INLINE_MESSAGE = 'The report as received: the phish was forwarded inline, so its own headers are not in it.';
const INVOICE_SHA256 = '3b203d7610273e3e24d8e2e7122b759278a16261d144a686657c25116352b1e7';

/**
 * The phish's observables when it arrives whole (rfc822 or .eml). Its Received chain, topmost first:
 * hop1 10.10.5.21 (our mailbox server, private), hop2 91.215.40.10 (our MX: public, so kept unless
 * email.internalRelays names it), hop3 185.231.153.44 (the phisher's server), hop4 5.188.206.14
 * (the phisher's client, also its X-Originating-IP).
 */
const WHOLE_PHISH = (relaysListed: boolean): Observable[] => [
  o('mail', 'billing@halyk-billing-kz.top', ['sender']),
  o('mail', 'payments@invoice-settle.online', ['reply-to']),
  o('mail', 'bounce-4412@halyk-billing-kz.top', ['return-path']),
  o('other', '20240318071500.4412@halyk-billing-kz.top', ['message-id']),
  o('ip', '5.188.206.14', ['x-originating-ip', 'received:hop4']),
  ...(relaysListed ? [] : [o('ip', '91.215.40.10', ['received:hop2'])]),
  o('ip', '185.231.153.44', ['received:hop3']),
  o('mail-subject', 'Urgent: invoice 4412 overdue'),
  o('url', 'https://halyk-billing-kz.top/pay?inv=4412'),
  o('domain', 'halyk-billing-kz.top'),
  ...INVOICE,
];

/** Nothing of the report itself: its sender, its Received hops, its X-Originating-IP, its text's link. */
function nothingOfTheReport(a: Alert): void {
  const data = a.observables.map((x) => x.data);
  for (const own of ['r.ivanov@qazlogistik.kz', 'a.serikova@qazlogistik.kz', 'phishing@qazlogistik.kz', '10.10.40.31', '10.10.40.44', '10.10.5.22', 'intranet.qazlogistik.kz']) {
    expect(data.some((d) => d.includes(own)), own).to.equal(false);
  }
  expect(a.observables.some((x) => x.dataType === 'mail-subject' && /^(?:FW|ПЕРЕСЛ):/.test(x.data))).to.equal(false);
}

describe('reported phish: the alert is about the forwarded mail (issue 13)', () => {
  it('forwarded as message/rfc822: the phish\'s headers, hops, links and files; the reporter\'s screenshot; not the .eml part', async () => {
    const a = await alertOf('phish-report-rfc822.eml');
    expect(a.title).to.equal('Urgent: invoice 4412 overdue');
    expect(a.tags).to.deep.equal(['mail', 'reported']);
    // The phish's Date (+0300), not the report's.
    expect(a.date).to.equal(utc(2024, 3, 18, 7, 15, 0, 3));
    expect(a.observables).to.deep.equal([
      ...WHOLE_PHISH(false),
      ...SCREENSHOT,
      // The files: the phish's attachment, the reporter's screenshot, then the phish as an .eml (never the report's).
      INVOICE_FILE('phish-report-rfc822.eml'),
      file('phish-report-rfc822.eml', 'screenshot.png', 'image/png', 52, 'f4cbce8d14647525d11d54c0481df488d8c1989212aa7fa78e93d292bc741357', ['attachment:screenshot.png', 'filetype:png'], 'Attachment screenshot.png, declared image/png, 52 bytes.'),
      file('phish-report-rfc822.eml', 'reported-mail.eml', 'message/rfc822', 1734, PHISH_EML, ['eml', 'filetype:eml'], WHOLE_PHISH_MESSAGE),
    ]);
    nothingOfTheReport(a);
  });

  it('forwarded as an .eml attachment: the same phish, the same observables', async () => {
    const a = await alertOf('phish-report-eml.eml');
    expect([a.title, a.tags, a.date]).to.deep.equal(['Urgent: invoice 4412 overdue', ['mail', 'reported'], utc(2024, 3, 18, 7, 15, 0, 3)]);
    expect(a.observables).to.deep.equal([
      ...WHOLE_PHISH(false),
      INVOICE_FILE('phish-report-eml.eml'),
      // The same bytes as the rfc822 part: the same file in TheHive.
      file('phish-report-eml.eml', 'reported-mail.eml', 'message/rfc822', 1734, PHISH_EML, ['eml', 'filetype:eml'], WHOLE_PHISH_MESSAGE),
    ]);
    nothingOfTheReport(a);
  });

  it('email.internalRelays: the hop of our own MX is left out; the other hops keep their numbers', async () => {
    const a = await alertOf('phish-report-rfc822.eml', { ...DEFAULT_MAIL_POLICY, internalRelays: ['91.215.40.0/28'] });
    expect(a.observables.filter((x) => x.dataType !== 'file')).to.deep.equal([...WHOLE_PHISH(true), ...SCREENSHOT]);
  });

  it('email.internalRelays from the configuration reaches the mapping (TRACEHIVE_EMAIL_INTERNAL_RELAYS)', async () => {
    const mp = mailPolicyOf(loadConfig({ env: { TRACEHIVE_EMAIL_INTERNAL_RELAYS: '91.215.40.0/28' }, useDefaultFile: false }));
    const a = await alertOf('phish-report-eml.eml', mp);
    expect(a.observables.map((x) => x.data)).not.to.include('91.215.40.10');
    expect(a.observables.map((x) => x.data)).to.include('185.231.153.44');
  });

  it('Outlook inline forward in English ("From:/Sent:/To:/Subject:" under a rule): the pasted sender, the text\'s links, the kept attachment', async () => {
    const a = await alertOf('phish-report-outlook-en.eml');
    expect(a.title).to.equal('Urgent: invoice 4412 overdue');
    expect(a.tags).to.deep.equal(['mail', 'reported']);
    // An inline block's "Sent:" has no zone: the report's Date.
    expect(a.date).to.equal(utc(2024, 3, 18, 10, 40, 11, 6));
    expect(a.observables).to.deep.equal([
      o('mail', 'billing@halyk-billing-kz.top', ['sender']),
      o('mail-subject', 'Urgent: invoice 4412 overdue'),
      o('url', 'https://halyk-billing-kz.top/pay?inv=4412'),
      o('domain', 'halyk-billing-kz.top'),
      ...INVOICE,
      INVOICE_FILE('phish-report-outlook-en.eml'),
      // Forwarded inline, the phish has no bytes of its own: the report is the .eml (sha256sum of the fixture).
      file('phish-report-outlook-en.eml', 'report.eml', 'message/rfc822', 1429, 'fbadf3d15ec95b45542ab445eb38a892ea2e678276934727693d1a1ddd670f55', ['eml', 'filetype:eml'], INLINE_MESSAGE),
    ]);
    nothingOfTheReport(a);
  });

  it('Outlook inline forward in Russian ("От:/Отправлено:/Кому:/Тема:", [mailto:])', async () => {
    const a = await alertOf('phish-report-outlook-ru.eml');
    expect(a.title).to.equal('Срочно: счёт 4412 просрочен');
    expect(a.tags).to.deep.equal(['mail', 'reported']);
    expect(a.observables).to.deep.equal([
      o('mail', 'billing@halyk-billing-kz.top', ['sender']),
      o('mail-subject', 'Срочно: счёт 4412 просрочен'),
      o('url', 'https://halyk-billing-kz.top/pay?inv=4412&lang=ru'),
      o('domain', 'halyk-billing-kz.top'),
      o('mail', 'support@halyk-billing-kz.top'),
      file('phish-report-outlook-ru.eml', 'report.eml', 'message/rfc822', 1156, 'f9993e437f2f67bd7ab7eaf14f0cd2bb75d30eb0f7b33b437a9e61e5956ca392', ['eml', 'filetype:eml'], INLINE_MESSAGE),
    ]);
    nothingOfTheReport(a);
  });

  it('the description names the reporter, the report and its note, the phish\'s headers and Received chain', async () => {
    const a = await alertOf('phish-report-rfc822.eml');
    expect(a.description).to.include('Reported by `Ruslan Ivanov <r.ivanov@qazlogistik.kz>` (`FW: Urgent: invoice 4412 overdue`)');
    expect(a.description).to.include('forwarded as an attached message (message/rfc822), with 1 attachment.');
    expect(a.description).to.include('| From | Halyk Billing \\<billing@halyk-billing-kz.top\\> |');
    expect(a.description).to.include('| Reply-To | Billing Department \\<payments@invoice-settle.online\\> |');
    expect(a.description).to.include('| Received | hop3: from mail.halyk-billing-kz.top (mail.halyk-billing-kz.top \\[185.231.153.44\\]) by mx1.qazlogistik.kz');
    expect(a.description).to.include('| Reported by | Ruslan Ivanov \\<r.ivanov@qazlogistik.kz\\> |');
    expect(a.description).to.include('| Report subject | FW: Urgent: invoice 4412 overdue |');
    expect(a.description).to.include('| Reporter note | Hi SOC, this one looks fake, I did not open the invoice.');
    expect(a.description).to.include('| Report attachment | screenshot.png (image/png');
    expect(a.description).to.include('| Forwarded as | Urgent invoice 4412 overdue.eml (message/rfc822, 1734 bytes');
    expect(a.description).to.include('**Text of the reported mail**');
    const inline = await alertOf('phish-report-outlook-ru.eml');
    // The reporter's words, not the pasted block.
    expect(inline.description).to.include('| Reporter note | Коллеги, похоже на фишинг, ссылку не открывала. |');
  });

  it('the sourceRef is the phish\'s (issue 13: every report of one phish is one alert), neither the report\'s nor the phish as an ordinary mail', async () => {
    const mail = await parseMail(raw('phish-report-rfc822.eml'));
    const a = alertFromMail(mail, DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
    expect(a.sourceRef).to.equal(phishSourceRef(mail.forwarded[0] as NonNullable<(typeof mail.forwarded)[0]>));
    expect(a.sourceRef).not.to.equal(mailSourceRef(mail));
    expect(a.sourceRef).not.to.equal(mailSourceRef(mail.forwarded[0] as NonNullable<(typeof mail.forwarded)[0]>));
  });

  it('a title from the report\'s subject without FW:/Fwd:/ПЕРЕСЛ: when the pasted block has no subject', async () => {
    const text = 'From: r@corp.kz\r\nSubject: ПЕРЕСЛ: FW: Ваш пакет\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nсм. ниже\r\n\r\n-----Original Message-----\r\nFrom: x@evil-parcel.top\r\n\r\nhttps://evil-parcel.top/p\r\n';
    const a = alertFromMail(await parseMail(Buffer.from(text)), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
    expect(a.title).to.equal('Ваш пакет');
  });

  it('several forwarded mails: the alert stays about the forwarding mail (which one is the phish is a guess), no forwarded part hashed', async () => {
    const inner = (n: number): string => `From: p${n}@evil-${n}.top\r\nSubject: inner ${n}\r\nMessage-ID: <m${n}@evil-${n}.top>\r\n\r\nhttps://evil-${n}.top/x\r\n`;
    const text =
      'From: r@corp.kz\r\nSubject: FW: two of them\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nboth\r\n' +
      `--b\r\nContent-Type: message/rfc822\r\n\r\n${inner(1)}--b\r\nContent-Type: message/rfc822\r\n\r\n${inner(2)}--b--\r\n`;
    const a = alertFromMail(await parseMail(Buffer.from(text)), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
    expect(a.title).to.equal('FW: two of them');
    expect(a.tags).to.deep.equal(['mail', 'forwarded']);
    expect(a.observables.filter((x) => x.dataType === 'hash' || x.dataType === 'filename')).to.deep.equal([]);
    expect(a.observables.filter((x) => x.dataType === 'mail').map((x) => x.data)).to.deep.equal(['r@corp.kz', 'p1@evil-1.top', 'p2@evil-2.top']);
  });

  it('a reply quoting the mail it answers (Outlook\'s same header block, subject RE:/Ответ:) is no report', async () => {
    for (const subject of ['RE: invoice 4412', 'Ответ: счёт 4412']) {
      const text = `From: r@corp.kz\r\nSubject: ${subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPaid yesterday.\r\n\r\n________________________________\r\nFrom: Partner <a@partner-firm.kz>\r\nSent: Monday, March 18, 2024 10:15 AM\r\nSubject: invoice 4412\r\n\r\nPlease pay https://partner-firm.kz/inv/4412\r\n`;
      const a = alertFromMail(await parseMail(Buffer.from(text)), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
      expect([a.title, a.tags]).to.deep.equal([subject, ['mail', 'forwarded']]);
    }
  });

  it('a SIEM notification forwarding a mail stays a notification', async () => {
    const text = 'From: siem@corp.kz\r\nSubject: Incident 7\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nIncident ID: 7\r\nSeverity: High\r\n' +
      '--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: p@evil-1.top\r\nSubject: bait\r\n\r\nhttps://evil-1.top/x\r\n--b--\r\n';
    const a = alertFromMail(await parseMail(Buffer.from(text)), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
    expect(a.tags).to.include('siem-notification');
    expect(a.tags).not.to.include('reported');
  });
});

describe('sendingHops', () => {
  const none = ignoreMatcher(DEFAULT_MAIL_POLICY.ignore);
  it('numbers hops from the top, keeps public peers only, leaves out relays and ignored ranges', () => {
    const chain = [
      'from mbx01 (10.10.5.21) by mbx02 (10.10.5.22) with SMTP',
      'from localhost (localhost [127.0.0.1]) by mx1 (Postfix)',
      'from mx1.corp.kz (91.215.40.10) by mbx01 (10.10.5.21)',
      'from mail.evil.top (mail.evil.top [185.231.153.44]) by mx1.corp.kz (Postfix)',
      'from [192.168.1.5] (unknown [2a01:4f8:0:0::7]) by mail.evil.top (Postfix)',
      'from doc.example (doc.example [198.51.100.7]) by mail.evil.top',
      'by mail.evil.top with local; no from clause',
    ];
    expect(sendingHops(chain, [], none)).to.deep.equal([
      { hop: 3, ip: '91.215.40.10' },
      { hop: 4, ip: '185.231.153.44' },
      { hop: 5, ip: '2a01:4f8::7' },
    ]);
    expect(sendingHops(chain, ['91.215.40.10/32', '2a01:4f8::/32'], none)).to.deep.equal([{ hop: 4, ip: '185.231.153.44' }]);
  });
});
