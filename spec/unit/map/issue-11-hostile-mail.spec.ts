/**
 * Issue 11, hostile mails: text a sender controls never turns into markdown in the description,
 * mails without a Message-ID never share a sourceRef, and the SMTP envelope is recorded.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/log.js';
import { MailPipeline } from '../../../src/mail-pipeline.js';
import { decodeRecord } from '../../../src/queue/spool-payload.js';
import type { MailOrigin } from '../../../src/sources/mail-intake.js';
import { Telemetry } from '../../../src/telemetry.js';
import { RecordingSpool } from '../../support/recording-spool.js';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail, type MailLimits } from '../../../src/parse/email.js';
import type { Alert } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

const RECEIVED = Date.UTC(2024, 2, 20, 6, 0, 0);
const HOSTILE = '[Click to verify](http://x.example) <img onerror=alert(1)>.eml';

async function alertOf(name: string, limits: Partial<MailLimits> = {}): Promise<Alert> {
  return alertFromMail(await parseMail(readFileSync(fixturePath('mail', name)), limits), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
}

/**
 * Markdown that would render as a link, an image or raw HTML: an unescaped `](`, `<tag` or `![`
 * outside code (fenced blocks and code spans show their text literally).
 */
function liveMarkdown(description: string): string[] {
  const text = description.replace(/^(`{3,})\n[\s\S]*?\n\1$/gm, '').replace(/(`+)[\s\S]*?\1/g, '');
  return [...text.matchAll(/(?<!\\)\]\(|(?<!\\)<[A-Za-z/]|(?<!\\)!\[/g)].map((m) => text.slice(Math.max(0, m.index - 20), m.index + 20));
}

describe('issue 11: hostile mails', () => {
  describe('every text of a mail in the description is markdown-inert', () => {
    it('a parser warning quoting a forwarded attachment name is escaped', async () => {
      // email.maxDepth=0: the forwarded mail is not parsed, and the warning names it.
      const a = await alertOf('hostile-names.eml', { maxDepth: 0 });
      expect(a.description).to.include(
        '_A forwarded mail (\\[Click to verify\\](http://x.example) \\<img onerror=alert(1)\\>.eml) at depth 1 was not parsed (maxDepth 0)._',
      );
      expect(liveMarkdown(a.description)).to.deep.equal([]);
    });

    it('names and subjects of forwarded mails are escaped in the table', async () => {
      const a = await alertOf('hostile-names.eml');
      // The mail forwards one other: a report, whose forwarded part is named in its own row (issue 13).
      expect(a.description).to.include(`| Forwarded as | ${HOSTILE.replace(/[[\]<>]/g, '\\$&')} (message/rfc822, `);
      expect(a.description).to.include('\\[Verify now\\](http://verify-account.top/login) \\<b\\>today\\</b\\>');
      expect(liveMarkdown(a.description)).to.deep.equal([]);
    });
  });

  describe('a mail without a Message-ID is identified by its headers and body', () => {
    it('two mails with the same body from different senders, subjects and dates are two alerts', async () => {
      const check = await alertOf('no-id-check.eml');
      const wire = await alertOf('no-id-wire.eml');
      expect(check.sourceRef).to.match(/^mail-[0-9a-f]{20}$/);
      expect(wire.sourceRef).to.match(/^mail-[0-9a-f]{20}$/);
      expect(wire.sourceRef).to.not.equal(check.sourceRef);
    });

    it('one header apart is enough: Date, Subject, From, To, Cc', async () => {
      const raw = readFileSync(fixturePath('mail', 'no-id-check.eml'), 'latin1');
      const variants = [
        raw,
        raw.replace('09:12:44', '09:12:45'),
        raw.replace('Strange login prompt', 'Strange login prompt!'),
        raw.replace('a.sadykova@', 'b.sadykova@'),
        raw.replace('To: soc@', 'To: it@'),
        raw.replace('To: soc@qazlogistik.kz', 'To: soc@qazlogistik.kz\r\nCc: it@qazlogistik.kz'),
      ];
      const refs = await Promise.all(variants.map(async (v) => (await alertFromMail(await parseMail(Buffer.from(v, 'latin1')), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED)).sourceRef));
      expect(new Set(refs).size).to.equal(variants.length);
    });

    it('the same mail fetched twice, or delivered again with other transport headers, is one alert', async () => {
      const raw = readFileSync(fixturePath('mail', 'no-id-wire.eml'));
      const first = await alertOf('no-id-wire.eml');
      const again = alertFromMail(await parseMail(Buffer.from(raw)), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED + 60_000);
      const transport = Buffer.concat([
        Buffer.from('Return-Path: <ceo.office@qazlogistik-kz.top>\r\nDelivered-To: soc@qazlogistik.kz\r\nReceived: from mx2.qazlogistik.kz by imap1; Wed, 20 Mar 2024 11:47:09 +0600\r\n'),
        raw,
      ]);
      const redelivered = alertFromMail(await parseMail(transport), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
      expect(again.sourceRef).to.equal(first.sourceRef);
      expect(redelivered.sourceRef).to.equal(first.sourceRef);
    });

    it('mails with a Message-ID keep the sourceRef of earlier releases (an upgrade never re-alerts)', async () => {
      // What the mapper gave these fixtures before issue 11.
      const before: Record<string, string> = {
        'attachments.eml': 'mail-83852f31e3d13e2f7cf3',
        'broken-base64.eml': 'mail-f2ec395ccec87f7f0396',
        'broken-boundary.eml': 'mail-76f07d1ab607201bd906',
        'defanged.eml': 'mail-de0b0229ece708821693',
        'html-only.eml': 'mail-55ca81d99a89ad115735',
      };
      for (const [name, ref] of Object.entries(before)) expect((await alertOf(name)).sourceRef, name).to.equal(ref);
    });

    it('reports take their phish\'s sourceRef since issue 13 (two colleagues reporting one phish make one alert): the one change', async () => {
      // Before issue 13 each was its report's: fwd-inline mail-2d514ee5452c5d9a991e, fwd-octet-eml mail-835c1210a77a3fda0aad,
      // fwd-rfc822 mail-05c1d676190265f29052, nested-deep mail-701cf610d0da8dae645a.
      const now: Record<string, string> = {
        'fwd-inline.eml': 'mail-d2ba48e3522fd1be8cf4',
        'fwd-octet-eml.eml': 'mail-c1a98fd96de70dbb45ee',
        'fwd-rfc822.eml': 'mail-822af9993039c0fc9a09',
        'nested-deep.eml': 'mail-c5112690a3224e43e888',
      };
      for (const [name, ref] of Object.entries(now)) expect((await alertOf(name)).sourceRef, name).to.equal(ref);
    });
  });

  describe('an SMTP alert records the envelope and the client', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tracehive-envelope-'));
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    /** The alert the mail pipeline spools for `raw` arriving as `origin`. */
    async function spooled(raw: Buffer, origin: MailOrigin): Promise<Alert> {
      const spool = new RecordingSpool();
      const telemetry = new Telemetry(createLogger('silent'), () => 0);
      const pipeline = new MailPipeline({ policy: DEFAULT_POLICY, mailPolicy: DEFAULT_MAIL_POLICY, spool: () => spool, quarantineDir: join(dir, 'q'), telemetry, now: () => RECEIVED });
      expect((await pipeline.accept(raw, origin)).kind).to.equal('accepted');
      const record = decodeRecord(spool.appended[0] as string);
      if (record.kind !== 'alert') throw new Error(`Expected an alert record, got ${record.kind}.`);
      return record.alert;
    }

    const ENVELOPE = { mailFrom: 'bounce+7731@mailer.pay-invoice.top', rcptTo: ['soc@qazlogistik.kz', 'phishing@qazlogistik.kz'], clientAddress: '192.0.2.25', helo: 'mx1.qazlogistik.kz' };

    it('in the description table: MAIL FROM, RCPT TO, the client address and its HELO', async () => {
      const raw = readFileSync(fixturePath('mail', 'attachments.eml'));
      const a = await spooled(raw, { via: 'smtp', id: 's1 192.0.2.25', envelope: ENVELOPE });
      expect(a.description).to.include(
        [
          '| Envelope from | bounce+7731@mailer.pay-invoice.top |',
          '| Envelope to | soc@qazlogistik.kz, phishing@qazlogistik.kz |',
          '| SMTP client | 192.0.2.25 (HELO mx1.qazlogistik.kz) |',
        ].join('\n'),
      );
    });

    it('never in the sourceRef nor as observables: the same mail by SMTP or IMAP is one alert', async () => {
      const raw = readFileSync(fixturePath('mail', 'no-id-check.eml'));
      const bySmtp = await spooled(raw, { via: 'smtp', id: 's1 192.0.2.25', envelope: ENVELOPE });
      const byImap = await spooled(raw, { via: 'imap', id: 'INBOX:1:7' });
      expect(bySmtp.sourceRef).to.equal(byImap.sourceRef);
      expect(bySmtp.observables).to.deep.equal(byImap.observables);
      expect(byImap.description).to.not.include('Envelope');
    });

    it('the null sender shows as <>, a client without HELO as its address; SIEM notifications get the rows too', async () => {
      const raw = readFileSync(fixturePath('mail', 'siem-en.eml'));
      const a = await spooled(raw, { via: 'smtp', id: 's2 192.0.2.26', envelope: { mailFrom: '', rcptTo: ['soc@qazlogistik.kz'], clientAddress: '2001:db8::25' } });
      expect(a.type).to.equal('siem-mail');
      expect(a.description).to.include('| Envelope from | \\<\\> |\n| Envelope to | soc@qazlogistik.kz |\n| SMTP client | 2001:db8::25 |');
    });
  });
});
