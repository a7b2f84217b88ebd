import { expect } from 'chai';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { markingsOf, withFloor } from '../../../src/map/markings.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';

describe('map/markings: TLP and PAP in a mail (issue 13)', () => {
  it('reads TLP 2.0 and 1.0 labels in TheHive 5.2 numbers, in any spelling an analyst writes', () => {
    const rows: [string, number | null][] = [
      ['TLP:RED', 4],
      ['tlp: amber+strict', 3],
      ['[TLP:AMBER + STRICT] advisory', 3],
      ['TLP AMBER', 2],
      ['TLP-GREEN', 1],
      ['TLP:CLEAR', 0],
      ['TLP:WHITE', 0],
      ['no marking at all', null],
      ['HTLP:RED is not a marking, nor is TLP:REDUCED', null],
    ];
    for (const [text, tlp] of rows) expect(markingsOf([text]).tlp, text).to.equal(tlp);
    expect(markingsOf(['PAP:RED']).pap).to.equal(3);
    expect(markingsOf(['PAP: green']).pap).to.equal(1);
  });

  it('takes the strictest marking of the subject and the text', () => {
    expect(markingsOf(['[TLP:GREEN] Weekly digest', 'One item of this digest is TLP:AMBER.'])).to.deep.equal({ tlp: 2, pap: null });
    expect(markingsOf([null, 'TLP:RED\nPAP:AMBER'])).to.deep.equal({ tlp: 4, pap: 2 });
  });

  it('does not read a legend that explains the levels as a marking', () => {
    const legend = 'Our advisories use TLP:RED for named recipients, TLP:AMBER for your organisation, TLP:GREEN for the community and TLP:CLEAR for everyone.';
    expect(markingsOf([legend]).tlp).to.equal(null);
    // The subject's own marking still counts.
    expect(markingsOf(['[TLP:AMBER] Advisory 2026-14', legend]).tlp).to.equal(2);
  });

  it('never lowers what alert.tlp / alert.pap configure', () => {
    expect(withFloor(2, 4)).to.equal(4);
    expect(withFloor(3, 1)).to.equal(3);
    expect(withFloor(2, null)).to.equal(2);
  });

  it('marks the alert and every observable of a TLP:RED mail; an unmarked mail keeps the configured TLP', async () => {
    const raw = (subject: string, body: string): Buffer =>
      Buffer.from(`From: cert@cert.example.org\r\nTo: soc@example.org\r\nSubject: ${subject}\r\nMessage-ID: <m-${subject.length}@cert.example.org>\r\nDate: Thu, 14 Mar 2024 09:00:00 +0000\r\n\r\n${body}\r\n`);
    const red = alertFromMail(await parseMail(raw('[TLP:RED] Campaign against the sector', 'PAP:AMBER\nC2: 203.0.113.77 and evil-sector.example.net')), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, Date.UTC(2024, 2, 14));
    expect([red.tlp, red.pap]).to.deep.equal([4, 2]);
    expect(red.observables.length).to.be.above(0);
    for (const o of red.observables) expect([o.tlp, o.pap], o.data).to.deep.equal([4, 2]);
    const plain = alertFromMail(await parseMail(raw('Campaign against the sector', 'C2: evil-sector.example.net')), { ...DEFAULT_POLICY, tlp: 3 }, DEFAULT_MAIL_POLICY, Date.UTC(2024, 2, 14));
    expect(plain.tlp).to.equal(3);
    expect(plain.observables.every((o) => o.tlp === undefined)).to.equal(true);
  });
});
