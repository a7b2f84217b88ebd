import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail, fenced, mailSourceRef, notificationSourceRef } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY, severityFromText, type MailPolicy } from '../../../src/map/mail-policy.js';
import { parseMail, type ParsedMail } from '../../../src/parse/email.js';
import { BUILTIN_DATATYPES, type Alert, type AlertPolicy, type Observable } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

const RECEIVED = Date.UTC(2024, 2, 20, 6, 0, 0);
const utc = (y: number, mo: number, d: number, h: number, mi: number, s: number, offsetH = 0): number =>
  Date.UTC(y, mo - 1, d, h - offsetH, mi, s);
const o = (dataType: Observable['dataType'], data: string, tags: string[] = []): Observable => ({ dataType, data, ioc: false, tags });
/** An observable listed under an indicators heading: an IoC (issue 13). */
const ioc = (dataType: Observable['dataType'], data: string, tags: string[] = []): Observable => ({ dataType, data, ioc: true, tags });
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * These tables are about the indicators a mail's text, headers and hashes give: its files (the
 * `file` observables of email.files.*) are checked apart, in mail-files.spec.ts.
 */
const TEXT_ONLY = (mp: MailPolicy): MailPolicy => ({ ...mp, files: { maxBytes: 0, maxTotalBytes: 0 } });

async function alertOf(name: string, policy: AlertPolicy = DEFAULT_POLICY, mailPolicy: MailPolicy = DEFAULT_MAIL_POLICY, receivedAt = RECEIVED): Promise<Alert> {
  return alertFromMail(await parseMail(readFileSync(fixturePath('mail', name))), policy, TEXT_ONLY(mailPolicy), receivedAt);
}

// Values found in the fixtures; hashes of attachments from sha256sum/md5sum (see spec/unit/parse/email.spec.ts).
const H32 = '7e13afe51e605fd9552b30050a00c6bc';
const H64 = 'ca5e91c45b781e3f5d5edc5433e5126ad6a8a1778d450fdadac5f5b6b37e55d7';
const PDF = ['6ed7f3aebfaf2ee3913347e0844980ccf8101f72be9f2e7858922276768012da', '9abf9c42813fa90db6ce133ce3c3fcfc'];
const NESTED = [
  ['b25f540049cc9c885a158baea01f4a5547215ced6f672f934266599a90465442', '33e23d6a8e67331faf7e34b3bb7cda52'],
  ['57507868243e14457ae2f30f35d678df976ae8323b19b8acc95e32f9f9e4fb11', 'cdcfa6bb2e5da81933ca9951278b04be'],
  ['c44dde3ea232d91c770cc0cfd21faede0ed21f31f960ca0cbdee9e7fe45788ac', '7866556c6f1e4e6dbb41dcbc86ed35c9'],
  ['427b6b097473e6aee40cc4cf801ca06479825413014e8c576f462c7d64f84ccf', '6ab465f269acbd09bceb21d9cb939be9'],
];

/** What the alert of each fixture is, by hand from the contract and the .eml text. `sourceRef` null: an ordinary mail's hash ref (checked apart). */
type Expected = Omit<Alert, 'description' | 'sourceRef' | 'tlp' | 'pap'> & { sourceRef: string | null };

const ordinary = (title: string, date: number, tags: string[], observables: Observable[]): Expected => ({
  type: 'mail', source: 'mail', sourceRef: null, title, severity: 2, date, tags, observables,
});

/** Level 0 forwards level 1 alone: the alert is about level 1 (issue 13); levels 2 and 3 are forwarded in it; level 4 is past maxDepth. */
const NESTED_OBSERVABLES: Observable[] = [1, 2, 3].flatMap((k) => {
  const tags = k === 1 ? [] : ['forwarded'];
  return [
    o('mail', `relay${k}@nested-chain.top`, ['sender', ...tags]),
    ...(k === 1 ? [o('other', 'level-1@nested-chain.top', ['message-id'])] : []),
    o('mail-subject', `Level ${k}`, tags),
    o('url', `http://level${k}.nested-chain.top/step`, tags),
    o('domain', `level${k}.nested-chain.top`, tags),
  ];
}).concat([
  // level4.eml was not parsed (maxDepth 3): it stays a file of level 3.
  o('hash', (NESTED[3] as [string, string])[0], ['attachment:level4.eml', 'forwarded']),
  o('hash', (NESTED[3] as [string, string])[1], ['attachment:level4.eml', 'forwarded']),
  o('filename', 'level4.eml', ['forwarded']),
]);

const TABLE: Record<string, Expected> = {
  'siem-en.eml': {
    type: 'siem-mail',
    source: 'mail',
    sourceRef: 'mail-INC-2024-0042',
    title: 'Brute force against VPN gateway vpn-gw02',
    severity: 3,
    date: utc(2024, 3, 14, 9, 21, 7, 6),
    tags: ['mail', 'siem-notification', 'status:New', 'type:Authentication', 'source:91.243.85.17'],
    // "Destination:" names the destination: its host and address are tagged so, and come first with the source (issue 13).
    observables: [
      o('ip', '91.243.85.17', ['source']),
      o('domain', 'vpn-gw02.qazlogistik.kz', ['destination']),
      o('ip', '10.40.8.2', ['private', 'destination']),
      o('url', 'http://upd-check.sys-telemetry.top/agent/v2/get?id=77'),
      o('domain', 'upd-check.sys-telemetry.top'),
      o('ip', '10.40.12.77', ['private']),
      o('ip', '45.146.165.38'),
      o('hash', H32),
      o('hash', H64),
    ],
  },
  'siem-ru-base64.eml': {
    type: 'siem-mail',
    source: 'mail',
    sourceRef: 'mail-7731',
    title: 'Подозрительная активность PowerShell на рабочей станции',
    severity: 4,
    // "Дата: 14.03.2024 10:05:33" has no offset: it is in the SIEM's zone, +0600 by the mail's Date (issue 13).
    date: utc(2024, 3, 14, 10, 5, 33, 6),
    tags: ['mail', 'siem-notification', 'status:Новый', 'type:Выполнение кода', 'source:ws-buh-014.qazlogistik.kz'],
    observables: [
      o('domain', 'ws-buh-014.qazlogistik.kz', ['source']),
      o('url', 'http://cdn-static.docs-viewer.online/dl/inv_0314.hta'),
      o('domain', 'cdn-static.docs-viewer.online'),
      o('ip', '193.233.48.91'),
    ],
  },
  'siem-ru-qp.eml': {
    type: 'siem-mail',
    source: 'mail',
    // sha256("KUMA/2024/118") = 8b745ee8… (sha256sum).
    sourceRef: 'mail-KUMA-2024-118-8b745ee8',
    title: 'Фишинговое письмо с вредоносной ссылкой',
    severity: 3,
    date: utc(2024, 3, 15, 14, 2, 10, 6),
    tags: ['mail', 'siem-notification', 'status:В работе', 'type:Фишинг', 'source:10.40.3.51'],
    observables: [
      o('ip', '10.40.3.51', ['private', 'source']),
      o('url', 'https://buhgalteria-kz.top/invoice/view.php?doc=118&lang=ru'),
      o('domain', 'buhgalteria-kz.top'),
      o('domain', 'mx.buhgalteria-kz.top'),
      o('ip', '194.26.29.113'),
      o('mail', 'invoice@buhgalteria-kz.top'),
      o('mail', 'd.omarov@qazlogistik.kz'),
    ],
  },
  // A mail forwarding one other is a report: the alert is about the forwarded mail (issue 13,
  // reported-phish.spec.ts), its title, date, headers and files; the report only names the reporter.
  'fwd-inline.eml': ordinary('Your parcel is on hold', utc(2024, 3, 14, 8, 2, 45, 6), ['mail', 'reported'], [
    o('mail', 'notify@kazpost-delivery.info', ['sender']),
    o('mail-subject', 'Your parcel is on hold'),
    o('url', 'https://kazpost-delivery.info/track?id=KZ-55810214'),
    o('domain', 'kazpost-delivery.info'),
    o('mail', 'support@kazpost-delivery.info'),
  ]),
  'fwd-rfc822.eml': ordinary('Ваш бонус 50 000 ₸', utc(2024, 3, 12, 11, 14, 58, 6), ['mail', 'reported'], [
    o('mail', 'bonus@kaspi-gold-bonus.top', ['sender']),
    o('other', 'bonus-77@kaspi-gold-bonus.top', ['message-id']),
    o('ip', '188.114.97.3', ['received:hop1']),
    o('mail-subject', 'Ваш бонус 50 000 ₸'),
    // The visible link text, then the real target from the href.
    o('url', 'https://qazbank.kz/bonus'),
    o('url', 'https://kaspi-gold-bonus.top/login?ref=mail&u=77'),
    o('domain', 'qazbank.kz'),
    o('domain', 'kaspi-gold-bonus.top'),
    o('hash', PDF[0] as string, ['attachment:bonus_terms.pdf']),
    o('hash', PDF[1] as string, ['attachment:bonus_terms.pdf']),
    o('filename', 'bonus_terms.pdf'),
    // The message/rfc822 part itself is no file of the report: no hash of it.
  ]),
  'fwd-octet-eml.eml': ordinary('Please review and sign: Contract_2024_03.pdf', utc(2024, 3, 11, 16, 20, 5, 6), ['mail', 'reported'], [
    o('mail', 'docs@docu-sign-kz.com', ['sender']),
    o('other', 'ds-20240311-5521@docu-sign-kz.com', ['message-id']),
    o('ip', '45.156.23.118', ['received:hop1']),
    o('mail-subject', 'Please review and sign: Contract_2024_03.pdf'),
    o('url', 'https://docu-sign-kz.com/envelope/5521?ref=accounting'),
    o('url', 'http://45.156.23.118/ds/5521'),
    o('domain', 'docu-sign-kz.com'),
    // Neither accounting@ (the reporter) nor the .eml part's hash.
  ]),
  'defanged.eml': ordinary('Advisory 2024-031: indicators of the "SilkRoad Courier" campaign', utc(2024, 3, 15, 7, 30, 0), ['mail'], [
    o('mail', 'advisories@cert-notice.kz', ['sender']),
    o('mail-subject', 'Advisory 2024-031: indicators of the "SilkRoad Courier" campaign'),
    // Everything below is listed under "Indicators (defanged):": IoCs.
    ioc('url', 'http://update-kzpost.xyz/parcel.apk'),
    ioc('url', 'https://login.qazbank-secure.com/auth'),
    ioc('url', 'ftp://files.dropzone-kz.net/pub/'),
    ioc('domain', 'update-kzpost.xyz'),
    ioc('domain', 'login.qazbank-secure.com'),
    ioc('domain', 'files.dropzone-kz.net'),
    ioc('domain', 'cdn-kz.storage-edge.ru'),
    ioc('domain', 'evil-parcel.kz'),
    ioc('ip', '185.244.129.7', ['port:443']), // "185[.]244[.]129[.]7:443": the port kept (issue 13)
    ioc('ip', '10.20.30.40', ['private']),
    ioc('ip', '2a0b:4d07:51::17'),
    ioc('mail', 'takedown@update-kzpost.xyz'),
    ioc('mail', 'abuse@hosting-provider.ru'),
    ioc('hash', 'b9851363e07aa5e1a0d2de349b943865'),
    ioc('hash', '1da032d79a04c5554b30011a1658220dbe451070'),
    ioc('hash', '6031a94a7f7820240eb4753b2d4df6154df8bb41f0f65aa1e95abe8f883eb543'),
  ]),
  'attachments.eml': ordinary('Sandbox report and IoC list', utc(2024, 3, 16, 12, 0, 0, 6), ['mail'], [
    o('mail', 't.bekov@qazlogistik.kz', ['sender']),
    o('mail-subject', 'Sandbox report and IoC list'),
    o('hash', '0f8057fa5c0ead1bf2e99a25c01171eda421a5b2ba8a8bbb150b306a9d5aa534', ['attachment:ioc-list.txt']),
    o('hash', '761511112508b8289d1d2eb4ae77df54', ['attachment:ioc-list.txt']),
    o('filename', 'ioc-list.txt'),
    o('hash', PDF[0] as string, ['attachment:scan-report.pdf']),
    o('hash', PDF[1] as string, ['attachment:scan-report.pdf']),
    o('filename', 'scan-report.pdf'),
    // empty.bin (0 bytes) is no attachment: neither its hashes nor its name (issue 13).
  ]),
  'html-only.eml': ordinary('Action required: password expires today', utc(2024, 3, 16, 6, 12, 0), ['mail'], [
    o('mail', 'no-reply@m365-secure-notice.com', ['sender']),
    o('mail-subject', 'Action required: password expires today'),
    o('url', 'https://m365-secure-notice.com/reset?user=soc-alerts&tenant=qazlogistik'),
    o('url', 'https://login.microsoftonline.com/'),
    o('url', 'https://login.m365-secure-notice.com/sso?x=1'),
    o('domain', 'm365-secure-notice.com'),
    o('domain', 'login.microsoftonline.com'),
    o('domain', 'login.m365-secure-notice.com'),
    // soc-alerts@qazlogistik.kz is in the text too, but it is the mail's own recipient.
    o('mail', 'helpdesk@m365-secure-notice.com'),
  ]),
  'nested-deep.eml': ordinary('Level 1', utc(2024, 3, 18, 1, 0, 0), ['mail', 'reported'], NESTED_OBSERVABLES),
  'broken-boundary.eml': ordinary('Scanned document from MFP-3F', utc(2024, 3, 17, 9, 0, 0, 6), ['mail'], [
    o('mail', 'scanner@print-hub.qazlogistik.kz', ['sender']),
    o('mail-subject', 'Scanned document from MFP-3F'),
    o('url', 'https://scan-share.filedrop-kz.online/d/8812'),
    o('domain', 'scan-share.filedrop-kz.online'),
    // The 84 bytes the cut-off base64 decodes to (python base64 + sha256).
    o('hash', '0067cdfdc1828c18b24a19cab04b24db7bc24cb5c4c705b5cd5df2ed042332e1', ['attachment:scan_0317.pdf']),
    o('hash', 'c31a3ffc0de3b80678ad6cd4cbf6c2df', ['attachment:scan_0317.pdf']),
    o('filename', 'scan_0317.pdf'),
  ]),
  'broken-charset.eml': ordinary('Blocked connection', utc(2024, 3, 17, 10, 0, 0, 6), ['mail'], [
    o('mail', 'notify@alerts.qazlogistik.kz', ['sender']),
    o('mail-subject', 'Blocked connection'),
    o('ip', '178.20.45.199'),
  ]),
  'broken-base64.eml': ordinary('Quarantined message report', utc(2024, 3, 17, 11, 0, 0, 6), ['mail'], [
    o('mail', 'notify@alerts.qazlogistik.kz', ['sender']),
    o('mail-subject', 'Quarantined message report'),
    o('url', 'https://payroll-qazlog.click/view?id=9'),
    o('domain', 'payroll-qazlog.click'),
  ]),
  // No readable Date: the time received.
  'broken-folding.eml': ordinary('Salary adjustment', RECEIVED, ['mail'], [
    o('mail', 'finance@qazlogistik-payroll.com', ['sender']),
    o('mail-subject', 'Salary adjustment'),
    o('url', 'https://qazlogistik-payroll.com/table?m=03'),
    o('domain', 'qazlogistik-payroll.com'),
  ]),
};

const BUILTIN: ReadonlySet<string> = new Set(BUILTIN_DATATYPES);

/** What TheHive demands of any alert (thehive-api §3.1, §3.5, §5). */
function checkAlert(a: Alert): void {
  expect(a.type.length).to.be.within(1, 32);
  expect(a.source.length).to.be.within(1, 32);
  expect(a.sourceRef).to.match(/^mail-[A-Za-z0-9._-]{1,123}$/);
  expect(a.title.length).to.be.within(1, 512);
  expect(a.description.length).to.be.within(1, 1_048_576);
  expect([1, 2, 3, 4]).to.include(a.severity);
  expect(Number.isInteger(a.date)).to.equal(true);
  expect(new Set(a.tags).size).to.equal(a.tags.length);
  for (const t of a.tags) expect(t.length).to.be.within(1, 128);
  const seen = new Set<string>();
  for (const ob of a.observables) {
    expect(BUILTIN.has(ob.dataType), ob.dataType).to.equal(true);
    expect(ob.data.length).to.be.within(1, 4096);
    const key = `${ob.dataType} ${ob.data}`;
    expect(seen.has(key), key).to.equal(false);
    seen.add(key);
  }
}

describe('alertFromMail: fixtures', () => {
  for (const [name, exp] of Object.entries(TABLE)) {
    it(name, async () => {
      const alert = await alertOf(name);
      const { description, sourceRef, tlp, pap, ...rest } = alert;
      const { sourceRef: expRef, ...expRest } = exp;
      expect(rest).to.deep.equal(expRest);
      if (expRef === null) expect(sourceRef).to.match(/^mail-[0-9a-f]{20}$/);
      else expect(sourceRef).to.equal(expRef);
      expect([tlp, pap]).to.deep.equal([2, 2]);
      expect(description.length).to.be.greaterThan(0);
      checkAlert(alert);
    });
  }
});

describe('alertFromMail: sourceRef', () => {
  const mail = (headers: string, body: string): Promise<ParsedMail> => parseMail(Buffer.from(`${headers}\r\n\r\n${body}`));
  const ref = async (headers: string, body: string): Promise<string> => alertFromMail(await mail(headers, body), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED).sourceRef;
  const BASE = 'From: a@sender-one.top\r\nTo: soc@qazlogistik.kz\r\nSubject: s\r\nMessage-ID: <m-1@sender-one.top>';

  it('is mail- + 20 hex of sha256(Message-ID, LF, body digest); without a Message-ID, of the body and header digests', () => {
    expect(mailSourceRef({ messageId: 'm-1@x', bodyDigest: 'abc', headerDigest: 'def' })).to.equal(`mail-${sha256('m-1@x\nabc').slice(0, 20)}`);
    // Issue 11: the body alone made every "Please check." one alert.
    expect(mailSourceRef({ messageId: null, bodyDigest: 'abc', headerDigest: 'def' })).to.equal(`mail-${sha256('\nabc\ndef').slice(0, 20)}`);
  });

  it('the same mail fetched again (other transport headers, other time) is the same alert', async () => {
    const first = await ref(BASE, 'hello https://evil.top/');
    const again = await ref(`Received: from mx2 by mx3\r\nDelivered-To: other@qazlogistik.kz\r\n${BASE}`, 'hello https://evil.top/');
    expect(again).to.equal(first);
  });

  it('another Message-ID or another body is another alert; so is a reused Message-ID with another body', async () => {
    const first = await ref(BASE, 'hello');
    expect(await ref(BASE.replace('m-1@', 'm-2@'), 'hello')).to.not.equal(first);
    expect(await ref(BASE, 'hello again')).to.not.equal(first);
  });

  it('a mail without Message-ID still gets a stable ref', async () => {
    const headers = 'From: a@sender-one.top\r\nSubject: s';
    expect(await ref(headers, 'same body')).to.equal(await ref(headers, 'same body'));
  });

  const NOTIFICATION_REFS: Array<[string, string]> = [
    ['INC-2024-0042', 'mail-INC-2024-0042'],
    [' 42 ', 'mail-42'],
    ['a.b_c-D9', 'mail-a.b_c-D9'],
    ['KUMA/2024/118', 'mail-KUMA-2024-118-8b745ee8'],
  ];
  for (const [id, expected] of NOTIFICATION_REFS) {
    it(`notificationSourceRef(${JSON.stringify(id)}) = ${expected}`, () => expect(notificationSourceRef(id)).to.equal(expected));
  }

  it('notificationSourceRef: IDs that clean up alike stay apart; non-Latin and long IDs fit TheHive', () => {
    expect(notificationSourceRef('A/1')).to.not.equal(notificationSourceRef('A 1'));
    expect(notificationSourceRef('Инцидент')).to.equal(`mail-${sha256('Инцидент').slice(0, 8)}`);
    const long = notificationSourceRef('X'.repeat(300));
    expect(long.length).to.equal(128);
    expect(long).to.equal(`mail-${'X'.repeat(114)}-${sha256('X'.repeat(300)).slice(0, 8)}`);
    expect(notificationSourceRef('id;with;semicolons')).to.match(/^mail-id-with-semicolons-[0-9a-f]{8}$/);
  });
});

describe('alertFromMail: SIEM notifications', () => {
  const notification = async (body: string, headers = 'From: siem@soc.qazlogistik.kz\r\nSubject: Incident mail\r\nDate: Thu, 14 Mar 2024 09:23:11 +0600'): Promise<Alert> =>
    alertFromMail(await parseMail(Buffer.from(`${headers}\r\n\r\n${body}`)), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);

  it('the description: summary, the field table, the raw events verbatim in a fence', async () => {
    const a = await alertOf('siem-en.eml');
    expect(a.description).to.include('SIEM incident `INC-2024-0042` reported by mail from `SIEM Notifier <siem-noreply@soc.qazlogistik.kz>`.');
    expect(a.description).to.include('`212 failed logins for 37 accounts within 5 minutes`');
    expect(a.description).to.include('| Incident ID | INC-2024-0042 |\n| Incident Title | Brute force against VPN gateway vpn-gw02 |');
    const raw = readFileSync(fixturePath('mail', 'siem-en.eml'), 'utf8').replace(/\r\n/g, '\n');
    const events = raw.slice(raw.indexOf('Raw Events\n') + 'Raw Events\n'.length).trimEnd();
    expect(a.description.endsWith(`**Raw Events**\n\n\`\`\`\n${events}\n\`\`\``)).to.equal(true);
  });

  it('no title field: the subject; no severity: alert.defaultSeverity; no date: the mail date', async () => {
    const a = await notification('Incident ID: 9\nStatus: Open');
    expect(a.title).to.equal('Incident mail');
    expect(a.severity).to.equal(2);
    expect(a.date).to.equal(utc(2024, 3, 14, 9, 23, 11, 6));
    expect(a.tags).to.deep.equal(['mail', 'siem-notification', 'status:Open']);
  });

  it('an unreadable or future date field falls back to the mail date', async () => {
    expect((await notification('Incident ID: 9\nDate: sometime')).date).to.equal(utc(2024, 3, 14, 9, 23, 11, 6));
    expect((await notification('Incident ID: 9\nDate: 2031-01-01T00:00:00Z')).date).to.equal(utc(2024, 3, 14, 9, 23, 11, 6));
    expect((await notification('Incident ID: 9\nTime: Mar 14, 2024 09:21:07 GMT')).date).to.equal(utc(2024, 3, 14, 9, 21, 7));
  });

  it('raw events with backticks get a longer fence; markdown in fields is escaped', async () => {
    const a = await notification('Incident ID: 9\nTitle: **bold** | pipe <b>x</b>\nRaw Events\nrun ```rm -rf``` now');
    expect(a.title).to.equal('**bold** | pipe <b>x</b>');
    expect(a.description).to.include('| Title | \\*\\*bold\\*\\* \\| pipe \\<b\\>x\\</b\\> |');
    expect(a.description).to.include('````\nrun ```rm -rf``` now\n````');
  });

  it('huge raw events are cut to keep the description within 1 MiB', () => {
    // Built directly: parseMail would already cut the text to maxTextChars.
    const events = Array.from({ length: 30_000 }, (_, i) => `event ${i} from 91.243.85.${i % 250} ${'x'.repeat(40)}`).join('\n');
    const mail: ParsedMail = {
      origin: 'top', depth: 0, messageId: null, subject: 'big', from: null, to: [], cc: [], replyTo: [], date: null,
      text: `Incident ID: 9\nRaw Events\n${events}`, html: null, attachments: [], headers: {}, bodyDigest: '0', headerDigest: '0', forwarded: [], warnings: [],
    };
    const a = alertFromMail(mail, DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
    expect(a.description.length).to.be.at.most(1_048_576);
    expect(a.description).to.include('…\n```');
    expect(a.observables.filter((x) => x.dataType === 'ip')).to.have.length(250);
  });

  it('fenced: at least three backticks, always more than the longest run inside', () => {
    expect(fenced('x')).to.equal('```\nx\n```');
    expect(fenced('a ```` b')).to.equal('`````\na ```` b\n`````');
  });
});

describe('alertFromMail: ordinary mails', () => {
  const build = async (raw: string, policy = DEFAULT_POLICY, mailPolicy = DEFAULT_MAIL_POLICY, receivedAt = RECEIVED): Promise<Alert> =>
    alertFromMail(await parseMail(Buffer.from(raw)), policy, TEXT_ONLY(mailPolicy), receivedAt);

  it('no subject, no sender, no Date: "(no subject)", no header observables, the time received', async () => {
    const a = await build('Content-Type: text/plain\r\n\r\nvisit https://evil.top/x');
    expect(a.title).to.equal('(no subject)');
    expect(a.date).to.equal(RECEIVED);
    expect(a.observables).to.deep.equal([o('url', 'https://evil.top/x'), o('domain', 'evil.top')]);
    expect(a.description).to.include('Mail from `(unknown sender)` with 0 attachments and 0 forwarded mails.');
  });

  it('a Date more than a day ahead of the receive time is not believed', async () => {
    const a = await build('Subject: s\r\nDate: Mon, 1 Jan 2035 00:00:00 +0000\r\n\r\nx');
    expect(a.date).to.equal(RECEIVED);
  });

  it('the description: header table (escaped), attachments, forwarded mails, warnings, a bounded excerpt', async () => {
    const a = await alertOf('attachments.eml');
    expect(a.description).to.include('| From | Timur Bekov \\<t.bekov@qazlogistik.kz\\> |');
    expect(a.description).to.include('| Attachment | scan-report.pdf (application/pdf, ');
    // A report (one forwarded mail): the reporter's words are a row, the phish's text the block.
    const report = await alertOf('fwd-octet-eml.eml');
    expect(report.description).to.include('| Reported by | Accounting \\<accounting@qazlogistik.kz\\> |');
    expect(report.description).to.include('| Reporter note | Добрый день! Пересылаю подозрительное письмо от "DocuSign", оно во вложении. С уважением, бухгалтерия |');
    expect(report.description).to.include('```\nYou have a document waiting for signature.');
    const nested = await alertOf('nested-deep.eml');
    expect(nested.description).to.include('_A forwarded mail (level4.eml) at depth 4 was not parsed (maxDepth 3)._');
    const long = await build(`Subject: long\r\n\r\n${'word '.repeat(5000)}`);
    expect(long.description).to.include('**Text** (first 4000 of 24999 characters)');
    expect(long.description.length).to.be.below(6000);
  });

  it('uses the alert policy (tags, TLP, PAP, default severity) and the mail policy (type, source)', async () => {
    const policy: AlertPolicy = { ...DEFAULT_POLICY, tags: ['soc', 'mail'], tlp: 3, pap: 1, defaultSeverity: 1 };
    const mailPolicy: MailPolicy = { ...DEFAULT_MAIL_POLICY, type: 'phish-report', source: 'mailbox-phishing', notificationType: ' ' };
    const a = await alertOf('fwd-inline.eml', policy, mailPolicy);
    expect([a.type, a.source, a.tlp, a.pap, a.severity]).to.deep.equal(['phish-report', 'mailbox-phishing', 3, 1, 1]);
    expect(a.tags).to.deep.equal(['mail', 'reported', 'soc']);
    // An empty configured type falls back to the default.
    expect((await alertOf('siem-en.eml', policy, mailPolicy)).type).to.equal('siem-mail');
  });

  it('email.ignore and privateIps apply to every observable, attachment hashes included', async () => {
    const mailPolicy: MailPolicy = {
      ...DEFAULT_MAIL_POLICY,
      privateIps: 'drop',
      ignore: { ...DEFAULT_MAIL_POLICY.ignore, domains: ['qazlogistik.kz'], hashes: [PDF[0] as string] },
    };
    const a = await alertOf('attachments.eml', DEFAULT_POLICY, mailPolicy);
    // The sender's domain is ignored, and so is the PDF's sha256.
    expect(a.observables.map((x) => x.data)).to.deep.equal([
      'Sandbox report and IoC list',
      '0f8057fa5c0ead1bf2e99a25c01171eda421a5b2ba8a8bbb150b306a9d5aa534',
      '761511112508b8289d1d2eb4ae77df54',
      'ioc-list.txt',
      PDF[1],
      'scan-report.pdf',
    ]);
    const siem = await alertOf('siem-en.eml', DEFAULT_POLICY, mailPolicy);
    expect(siem.observables.some((x) => x.tags?.includes('private'))).to.equal(false);
  });

  it('is pure: the same input twice gives the same alert; the receive time only matters without a date', async () => {
    for (const name of Object.keys(TABLE)) {
      const a = await alertOf(name);
      const b = await alertOf(name, DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED + 3_600_000);
      expect(a).to.deep.equal(await alertOf(name));
      expect({ ...b, date: a.date }).to.deep.equal(a);
    }
  });

  it('hostile mails still make valid alerts', async function () {
    this.timeout(60_000);
    const raws = [
      Buffer.alloc(0),
      Buffer.from(`Subject: ${'|*_`<>'.repeat(200)}\r\n\r\n${'hxxp[://]a[.]b '.repeat(20_000)}`),
      Buffer.from(`Subject: ips\r\n\r\n${Array.from({ length: 3000 }, (_, i) => `91.2.${i >> 8}.${i & 255}`).join(' ')}`),
      Buffer.from(`Subject: long\r\n\r\nhttps://evil.top/${'a'.repeat(5000)} ${'b'.repeat(200_000)}.top`),
    ];
    for (const raw of raws) {
      const a = alertFromMail(await parseMail(raw), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
      checkAlert(a);
    }
    const many = alertFromMail(await parseMail(raws[2] as Buffer), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
    expect(many.observables.filter((x) => x.dataType === 'ip')).to.have.length(1000);
    expect(many.description).to.include('_2000 indicators beyond 1000 of one kind left out of the observables._');
  });
});

describe('severityFromText', () => {
  const TABLE_SEVERITY: Array<[string, 1 | 2 | 3 | 4 | null]> = [
    ['Low', 1], ['informational', 1], ['Minor', 1], ['низкая', 1], ['Низкий', 1],
    ['Medium', 2], ['moderate', 2], ['Средняя', 2], ['средний', 2],
    ['High', 3], ['MAJOR', 3], ['severe', 3], ['Высокая', 3], ['высокий', 3],
    ['Critical', 4], ['urgent', 4], ['Критическая', 4], ['критичный', 4],
    ['High (3)', 3], ['3 - High', 3], ['Very high', 3], ['Not low but critical', 1],
    ['P1', 4], ['p2', 3], ['P3', 2], ['P4', 1], ['P5', 1],
    ['0', 1], ['1', 1], ['2', 2], ['3', 3], ['4', 4],
    ['5', 2], ['6', 2], ['7', 3], ['8', 3], ['9', 4], ['10', 4],
    ['25', 1], ['40', 2], ['60', 2], ['75', 3], ['90', 4], ['100', 4],
    ['7/10', 3], ['3/5', 2], ['95 / 100', 4], ['11/10', null],
    ['101', null], ['', null], ['unknown', null], ['abnormal', null],
  ];
  for (const [text, expected] of TABLE_SEVERITY) it(`${JSON.stringify(text)} → ${expected}`, () => expect(severityFromText(text)).to.equal(expected));
});
