import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { sectionsOf } from '../../../src/map/mail-sections.js';
import { parseMail } from '../../../src/parse/email.js';
import { fixturePath } from '../../support/fixtures.js';

describe('map/mail-sections: indicators and references in an advisory (issue 13)', () => {
  it('splits indicator and reference sections from the body, sub-headings staying in their list', () => {
    const s = sectionsOf(['Summary:', 'text', 'Indicators of compromise:', 'C2 servers:', '203.0.113.45', 'Hashes:', 'abc', 'Recommendations:', 'block', 'References:', '- https://attack.mitre.org/x', '--', 'sig'].join('\n'));
    expect(s.indicators).to.equal('C2 servers:\n203.0.113.45\nHashes:\nabc');
    expect(s.references).to.equal('- https://attack.mitre.org/x');
    expect(s.body).to.equal('Summary:\ntext\nRecommendations:\nblock\n--\nsig');
  });

  it('knows the headings in English and Russian, markdown and numbered', () => {
    for (const heading of ['## IoCs', 'Индикаторы компрометации:', '3. Indicators', 'IOC list', 'Индикаторы']) expect(sectionsOf(`${heading}\n1.2.3.4`).indicators, heading).to.equal('1.2.3.4');
    for (const heading of ['Ссылки:', '# References', 'Sources']) expect(sectionsOf(`${heading}\nhttps://x.example`).references, heading).to.equal('https://x.example');
    // A sentence is no heading.
    expect(sectionsOf('The indicators of compromise below were seen in March:\n1.2.3.4').indicators).to.equal('');
  });

  it('makes listed indicators IoCs, and references (and the sender\'s own site) reading, never observables', async () => {
    const mail = await parseMail(readFileSync(fixturePath('mail', 'advisory-ioc-refs.eml')));
    // A site of the operator's own list (email.referenceDomains) is reading too, wherever it is linked.
    const policy = { ...DEFAULT_MAIL_POLICY, referenceDomains: [...DEFAULT_MAIL_POLICY.referenceDomains, 'vendor-research.kz'] };
    const alert = alertFromMail(mail, DEFAULT_POLICY, policy, Date.UTC(2026, 11, 2));
    const byData = new Map(alert.observables.map((o) => [o.data, o]));
    for (const listed of ['https://parcel-track-kz.top/gate.php', 'parcel-track-kz.top', '185.244.130.9', '3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea']) {
      expect(byData.get(listed)?.ioc, listed).to.equal(true);
    }
    // In the Recommendations, not the list: an observable, no IoC.
    expect(byData.get('https://proxy.logistics-corp.kz/logs')?.ioc).to.equal(false);
    for (const reading of ['https://attack.mitre.org/techniques/T1566/001/', 'attack.mitre.org', 'https://nvd.nist.gov/vuln/detail/CVE-2026-1234', 'https://blog.vendor-research.kz/loader-analysis', 'https://securelist.com/loader-family-overview/112233/', 'securelist.com', 'https://www.cert-bulletin.kz/notes/2026-70.html', 'www.cert-bulletin.kz']) {
      expect(byData.has(reading), reading).to.equal(false);
    }
    expect(alert.description).to.contain('References, to read (not sent as observables): https://securelist.com/loader-family-overview/112233/, https://www.cert-bulletin.kz/notes/2026-70.html, https://attack.mitre.org/techniques/T1566/001/, https://nvd.nist.gov/vuln/detail/CVE-2026-1234, https://blog.vendor-research.kz/loader-analysis.');
    expect(alert.tlp).to.equal(2);
  });

  it('leaves a plain mail\'s links to its sender\'s own site as indicators: a phish sent straight to us', async () => {
    const raw = Buffer.from('From: billing@parcel-track-kz.top\r\nTo: soc@example.net\r\nSubject: Your parcel\r\nMessage-ID: <p1@parcel-track-kz.top>\r\nDate: Tue, 01 Dec 2026 09:15:00 +0000\r\n\r\nPay here: https://parcel-track-kz.top/pay\r\n');
    const alert = alertFromMail(await parseMail(raw), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, Date.UTC(2026, 11, 2));
    expect(alert.observables.map((o) => o.data)).to.include('https://parcel-track-kz.top/pay');
  });
});
