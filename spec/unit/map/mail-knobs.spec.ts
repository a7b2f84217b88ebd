import { expect } from 'chai';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { ruleTags, scannedText } from '../../../src/map/mail-knobs.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';

describe('map/mail-knobs: mail_to_misp policy knobs (issue 13)', () => {
  it('ends the scanned text at a stopword line; a punctuation word only as the whole line', () => {
    const text = 'C2: evil-c2.top\n--\nJohn, SOC\nhttps://corp-bank.kz/about';
    expect(scannedText(text, ['--'])).to.equal('C2: evil-c2.top');
    expect(scannedText('a\n--boundary\nb\n-----BEGIN PGP\nc', ['--'])).to.equal('a\n--boundary\nb\n-----BEGIN PGP\nc');
    expect(scannedText('x\n  CONFIDENTIALITY NOTICE: this mail…\ny', ['confidentiality notice'])).to.equal('x');
    expect(scannedText(text, [])).to.equal(text);
  });

  it('tags by keyword (subject or text, any case) and by subject glob', () => {
    const tags = ruleTags('[PHISH] Your parcel', 'We saw RANSOMWARE notes', ['ransomware=ransomware', 'шифровальщик=ransomware', 'invoice'], ['[phish]*=reported-phish', '*parcel*=parcel-lure', 'nothing*=x']);
    expect(tags).to.deep.equal(['ransomware', 'reported-phish', 'parcel-lure']);
  });

  it('applies them to a mail alert: tags, no indicators from the signature, ports kept', async () => {
    const raw = Buffer.from(
      'From: analyst@corp-bank.kz\r\nTo: soc@corp-bank.kz\r\nSubject: [PHISH] parcel lure\r\nMessage-ID: <k1@corp-bank.kz>\r\nDate: Tue, 01 Dec 2026 09:15:00 +0000\r\n\r\n' +
        'Beacon to 185.244.130.9:8443 seen.\r\n--\r\nAnalyst, SOC, https://portal.corp-bank.kz/team\r\n',
    );
    const policy = { ...DEFAULT_MAIL_POLICY, subjectTags: ['[phish]*=reported-phish'], keywordTags: ['beacon=c2'] };
    const a = alertFromMail(await parseMail(raw), DEFAULT_POLICY, policy, Date.UTC(2026, 11, 2));
    expect(a.tags).to.include.members(['reported-phish', 'c2']);
    expect(a.observables.map((o) => o.data)).to.not.include('https://portal.corp-bank.kz/team');
    expect(a.observables.find((o) => o.data === '185.244.130.9')?.tags).to.include('port:8443');
    expect(a.description).to.contain('Endpoints (address:port, the port in the ip observable');
    expect(a.description).to.contain('185.244.130.9:8443');
  });
});
