/**
 * Issue 13, point 1, HTML-only reports: Outlook and OWA forward inline in HTML alone (no text/plain
 * part). The phish is found under the rule before its pasted "From:/Sent:/To:/Subject:" block, and
 * its links' targets (not only their visible text) become its URL observables, as for text forwards.
 * Expectations written by hand from the fixture's HTML.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import type { Alert, Observable } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

const RECEIVED = Date.UTC(2024, 2, 20, 6, 0, 0);
const o = (dataType: Observable['dataType'], data: string, tags: string[] = []): Observable => ({ dataType, data, ioc: false, tags });

async function alertOf(raw: Buffer): Promise<Alert> {
  return alertFromMail(await parseMail(raw), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
}

/** The phish as pasted: its sender, subject, both links' targets and the visible text of the second. */
const PHISH = (target: string): Observable[] => [
  o('mail', 'billing@halyk-billing-kz.top', ['sender']),
  o('mail-subject', 'Urgent: invoice 4412 overdue'),
  // "Pay the invoice": the target alone is the link.
  o('url', target),
  // Shown as Halyk's own site, going elsewhere: both are read (the shown one is what the user trusted).
  o('url', 'https://online.halykbank.kz/account'),
  o('url', 'https://pay-secure.invoice-settle.online/card?ref=4412'),
  o('domain', 'halyk-billing-kz.top'),
  o('domain', 'online.halykbank.kz'),
  o('domain', 'pay-secure.invoice-settle.online'),
];

/** OWA's HTML forward: an `<hr>`, then the header block in a `divRplyFwdMsg`. */
const OWA = [
  'From: Aigerim Serikova <a.serikova@qazlogistik.kz>',
  'To: phishing@qazlogistik.kz',
  'Subject: FW: Urgent: invoice 4412 overdue',
  'Date: Mon, 18 Mar 2024 11:02:39 +0600',
  'Message-ID: <AM0PR01MB4410C@AM0PR01MB4410.corp.qazlogistik.kz>',
  'MIME-Version: 1.0',
  'Content-Type: text/html; charset="utf-8"',
  '',
  '<html><body dir="ltr"><div>Phishing? It wants my card.</div>',
  '<hr style="display:inline-block;width:98%" tabindex="-1">',
  '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt"><b>From:</b> Halyk Billing &lt;billing@halyk-billing-kz.top&gt;<br>',
  '<b>Sent:</b> Monday, March 18, 2024 10:15 AM<br>',
  '<b>To:</b> Aigerim Serikova &lt;a.serikova@qazlogistik.kz&gt;<br>',
  '<b>Subject:</b> Urgent: invoice 4412 overdue</font><div>&nbsp;</div></div>',
  '<div><p>invoice 4412 is overdue. <a href="https://halyk-billing-kz.top/pay?inv=4412">Pay the invoice</a> today.</p>',
  '<p>Your account: <a href="https://pay-secure.invoice-settle.online/card?ref=4412">https://online.halykbank.kz/account</a></p></div>',
  '</body></html>',
  '',
].join('\r\n');

describe('reported phish forwarded inline in an HTML-only mail (issue 13)', () => {
  it('Outlook desktop (a border-top rule): the alert is the phish\'s, its links\' targets are its URLs, the reporter\'s words the note', async () => {
    const a = await alertOf(readFileSync(fixturePath('mail', 'phish-report-outlook-html.eml')));
    expect([a.title, a.tags]).to.deep.equal(['Urgent: invoice 4412 overdue', ['mail', 'reported']]);
    expect(a.observables.filter((x) => x.dataType !== 'file')).to.deep.equal(PHISH('https://halyk-billing-kz.top/pay?inv=4412&u=d.akhmetova'));
    // The report is sent as the .eml (an inline forward has no bytes of its own).
    expect(a.observables.filter((x) => x.dataType === 'file').map((x) => [x.attachment?.name, x.tags])).to.deep.equal([['report.eml', ['eml', 'filetype:eml']]]);
    expect(a.description).to.include('| Reported by | Dana Akhmetova \\<d.akhmetova@qazlogistik.kz\\> |');
    expect(a.description).to.include('| Reporter note | Is this real? The link does not go to Halyk. |');
    // The link's target is written after its label in the phish's text, as Outlook's own text part has it.
    expect(a.description).to.include('Pay the invoice <https://halyk-billing-kz.top/pay?inv=4412&u=d.akhmetova> today');
    for (const own of ['d.akhmetova@qazlogistik.kz', 'phishing@qazlogistik.kz', '10.10.40.52']) {
      expect(a.observables.some((x) => x.dataType !== 'file' && x.data.includes(own)), own).to.equal(false);
    }
  });

  it('OWA (an <hr>, header lines broken by <br> and source line breaks): the same phish', async () => {
    const a = await alertOf(Buffer.from(OWA));
    expect([a.title, a.tags]).to.deep.equal(['Urgent: invoice 4412 overdue', ['mail', 'reported']]);
    expect(a.observables.filter((x) => x.dataType !== 'file')).to.deep.equal(PHISH('https://halyk-billing-kz.top/pay?inv=4412'));
    expect(a.description).to.include('| Reporter note | Phishing? It wants my card. |');
  });
});
