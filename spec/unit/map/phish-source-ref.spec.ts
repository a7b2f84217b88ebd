/**
 * Issue 13: two colleagues reporting the same phish make one alert. A reported phish's sourceRef
 * comes from the phish itself (its Message-ID with its sender and subject; an inline-forwarded
 * block, which has none, by its sender, subject and text), never from the report, so each report of
 * it names the same alert. Notifications and ordinary mails keep their sourceRefs (their own specs).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail, mailSourceRef } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import { fixturePath } from '../../support/fixtures.js';

const RECEIVED = Date.UTC(2024, 2, 20, 6, 0, 0);
const raw = (name: string): Buffer => readFileSync(fixturePath('mail', name));
async function refOf(mail: Buffer): Promise<string> {
  return alertFromMail(await parseMail(mail), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED).sourceRef;
}

/**
 * The phish of phish-report-outlook-en.eml (sent to Ruslan, Aigerim in copy) forwarded inline by
 * Aigerim: her own words and Outlook (the Sent: line in another format, the text wrapped elsewhere).
 */
function secondReport(over: { from?: string; subject?: string; body?: string } = {}): Buffer {
  return Buffer.from(
    [
      'From: Aigerim Serikova <a.serikova@qazlogistik.kz>',
      'To: phishing@qazlogistik.kz',
      'Subject: FW: Urgent: invoice 4412 overdue',
      'Date: Mon, 18 Mar 2024 11:31:02 +0600',
      'Message-ID: <AM0PR01MB9901A@AM0PR01MB9901.corp.qazlogistik.kz>',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'I got this too, the same invoice.',
      '',
      '________________________________',
      `From: ${over.from ?? 'Halyk Billing <billing@halyk-billing-kz.top>'}`,
      'Sent: 18 March 2024 10:15',
      'To: Ruslan Ivanov <r.ivanov@qazlogistik.kz>',
  'Cc: Aigerim Serikova <a.serikova@qazlogistik.kz>',
      `Subject: ${over.subject ?? 'Urgent: invoice 4412 overdue'}`,
      '',
      over.body ?? 'Dear Ruslan Ivanov (r.ivanov@qazlogistik.kz),\n\ninvoice 4412 is overdue.\nPay today to avoid a penalty: https://halyk-billing-kz.top/pay?inv=4412\nThe invoice is attached.',
      '',
    ].join('\r\n'),
  );
}

describe('reported phish: one sourceRef per phish, whoever reports it (issue 13)', () => {
  it('the same phish forwarded inline by two colleagues (other words, To:, Sent: format, wrapping): one sourceRef', async () => {
    const first = await refOf(raw('phish-report-outlook-en.eml'));
    expect(first).to.match(/^mail-[0-9a-f]{20}$/);
    expect(await refOf(secondReport())).to.equal(first);
  });

  it('not the report\'s own ref any more: a report and the same report fetched again still agree', async () => {
    const mail = await parseMail(raw('phish-report-outlook-en.eml'));
    const ref = alertFromMail(mail, DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED).sourceRef;
    expect(ref).not.to.equal(mailSourceRef(mail));
    expect(await refOf(raw('phish-report-outlook-en.eml'))).to.equal(ref);
  });

  it('another phish is another alert: another sender, subject or text', async () => {
    const first = await refOf(secondReport());
    expect(await refOf(secondReport({ from: 'Halyk Billing <billing@halyk-billing-kz.shop>' }))).not.to.equal(first);
    expect(await refOf(secondReport({ subject: 'Urgent: invoice 4413 overdue' }))).not.to.equal(first);
    expect(await refOf(secondReport({ body: 'Dear Ruslan Ivanov, invoice 4413 is overdue: https://halyk-billing-kz.top/pay?inv=4413' }))).not.to.equal(first);
    expect(await refOf(raw('phish-report-outlook-ru.eml'))).not.to.equal(first);
  });

  it('a whole phish (message/rfc822 or .eml) by its Message-ID: both shapes of the same phish, one sourceRef', async () => {
    const rfc822 = await refOf(raw('phish-report-rfc822.eml'));
    expect(await refOf(raw('phish-report-eml.eml'))).to.equal(rfc822);
    const mail = await parseMail(raw('phish-report-rfc822.eml'));
    expect(rfc822).not.to.equal(mailSourceRef(mail));
    expect(rfc822).not.to.equal(mailSourceRef(mail.forwarded[0] as NonNullable<(typeof mail.forwarded)[0]>));
  });
});
