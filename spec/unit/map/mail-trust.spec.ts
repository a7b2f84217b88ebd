import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mailTrust, parseAuthResults, receivedFromIp, receivingHop, trustsEveryone, type TrustPolicy } from '../../../src/map/mail-trust.js';
import { rawHeaderLines, type HeaderLine } from '../../../src/parse/mail-headers.js';
import { fixturePath } from '../../support/fixtures.js';

/** The header fields of a fixture mail, as the pipeline reads them. */
function headersOf(name: string): HeaderLine[] {
  const raw = readFileSync(fixturePath('mail', name), 'utf8');
  return rawHeaderLines(raw.slice(0, raw.search(/\r?\n\r?\n/)));
}

const SIEM = 'siem@alerts.example.org';
/** What a mailbox store behind the MX adds above the MX's own hop. */
const LMTP_HOP: HeaderLine = { key: 'received', line: 'Received: from mx.example.com (mx.example.com [192.0.2.200])\n\tby store.example.com with LMTP id 9x; Fri, 04 Dec 2026 09:23:13 +0000' };

describe('map/mail-trust: who may speak as a SIEM (issue 13, point 6)', () => {
  it('trusts every sender when no key is set (the default: nothing changes for existing users)', () => {
    const open: TrustPolicy = { senders: [], ips: [], authservId: '' };
    expect(trustsEveryone(open)).to.equal(true);
    expect(mailTrust({ from: 'anyone@example.net', headers: headersOf('siem-forged.eml') }, open)).to.deep.equal({ trusted: true, reasons: [] });
  });

  it('decides by sender, receiving hop and our own Authentication-Results, naming every failed check', () => {
    const full: TrustPolicy = { senders: [SIEM], ips: ['192.0.2.0/28'], authservId: 'mx.example.com' };
    const trusted = headersOf('siem-trusted.eml');
    const forged = headersOf('siem-forged.eml');
    const rows: Array<[string, TrustPolicy, string | null, HeaderLine[], boolean, RegExp[]]> = [
      ['all three pass', full, SIEM, trusted, true, []],
      ['@domain entry', { ...full, senders: ['@alerts.example.org'] }, 'SIEM@Alerts.Example.org', trusted, true, []],
      ['@domain is that domain exactly', { ...full, senders: ['@example.org'] }, SIEM, trusted, false, [/siem@alerts\.example\.org is not in email\.trustedSenders/]],
      ['other sender', full, 'ceo@example.org', trusted, false, [/ceo@example\.org is not in email\.trustedSenders/, /no SPF, DKIM or DMARC pass for example\.org/]],
      ['no From:', { ...full, ips: [], authservId: '' }, null, trusted, false, [/no From: address/]],
      ['IP outside the list', { ...full, ips: ['192.0.2.128/25'] }, SIEM, trusted, false, [/came from 192\.0\.2\.10, which is not in email\.trustedSenderIps/]],
      ['forged: right From:, wrong hop, dmarc=fail from us', full, SIEM, forged, false, [/came from 198\.51\.100\.23/, /dmarc=fail/]],
      ['forged, IP check only', { senders: [], ips: ['192.0.2.0/24'], authservId: '' }, SIEM, forged, false, [/198\.51\.100\.23/]],
      ['forged, sender check only: the From: is all a sender list can see', { senders: [SIEM], ips: [], authservId: '' }, SIEM, forged, true, []],
      ['authserv-id of nobody here', { ...full, authservId: 'mx.example.org' }, SIEM, trusted, false, [/no Authentication-Results of mx\.example\.org/]],
      ['behind our mailbox store: its LMTP hop skipped as an internal relay', { ...full, relays: ['192.0.2.200/32'] }, SIEM, [LMTP_HOP, ...trusted], true, []],
      ['behind our mailbox store, not listed', full, SIEM, [LMTP_HOP, ...trusted], false, [/came from 192\.0\.2\.200/]],
      ['authserv-id without case', { ...full, authservId: 'MX.Example.COM' }, SIEM, trusted, true, []],
    ];
    for (const [name, policy, from, headers, ok, reasons] of rows) {
      const v = mailTrust({ from, headers }, policy);
      expect(v.trusted, name).to.equal(ok);
      expect(v.reasons, name).to.have.length(reasons.length);
      reasons.forEach((r, i) => expect(v.reasons[i], name).to.match(r));
    }
  });

  it('counts only the topmost Authentication-Results of our authserv-id: one added by the sender, foreign or forged under our name below ours, is ignored', () => {
    const forged = headersOf('siem-forged.eml');
    // The forged mail carries a dmarc=pass under mail.example.net and one under our id, below the one our server added.
    expect(mailTrust({ from: SIEM, headers: forged }, { senders: [], ips: [], authservId: 'mail.example.net' }).trusted).to.equal(true); // what trusting a foreign id would mean
    const ours = mailTrust({ from: SIEM, headers: forged }, { senders: [], ips: [], authservId: 'mx.example.com' });
    expect(ours.trusted).to.equal(false);
    expect(ours.reasons[0]).to.match(/dmarc=fail/).and.to.match(/Authentication-Results of mx\.example\.com/);
  });

  it('takes SPF or DKIM only when aligned with the From: domain', () => {
    const headers = (ar: string): HeaderLine[] => [{ key: 'authentication-results', line: `Authentication-Results: ${ar}` }];
    const p: TrustPolicy = { senders: [], ips: [], authservId: 'mx.example.com' };
    const check = (ar: string): boolean => mailTrust({ from: SIEM, headers: headers(ar) }, p).trusted;
    expect(check('mx.example.com; spf=pass smtp.mailfrom=bounce@mailer.example.net')).to.equal(false);
    expect(check('mx.example.com; spf=pass smtp.mailfrom=siem@alerts.example.org')).to.equal(true);
    expect(check('mx.example.com; dkim=pass header.d=mailer.example.net')).to.equal(false);
    expect(check('mx.example.com; dkim=pass header.d=example.org')).to.equal(true); // a parent domain signs for its subdomains
    expect(check('mx.example.com; dkim=pass header.i=@alerts.example.org')).to.equal(true);
    expect(check('mx.example.com; dkim=fail header.d=alerts.example.org; dmarc=none')).to.equal(false);
    expect(check('mx.example.com; none')).to.equal(false);
    expect(check('mx.example.com; DMARC=PASS (p=REJECT) header.from=alerts.example.org')).to.equal(true);
  });

  it('reads Authentication-Results with comments, versions, quoted values, spaces around = and several results', () => {
    const ar = parseAuthResults(
      'mx.example.com 1 (our border MTA; "not a result"); spf = pass (sender SPF authorized) smtp.mailfrom="siem@alerts.example.org";\n dkim=pass (2048-bit key; unprotected) header.d=alerts.example.org header.s=s1; dkim/2=fail header.d=example.net; dmarc=pass(p=none)header.from=alerts.example.org',
    );
    expect(ar?.authservId).to.equal('mx.example.com');
    expect(ar?.results.map((r) => `${r.method}=${r.result}`)).to.deep.equal(['spf=pass', 'dkim=pass', 'dkim=fail', 'dmarc=pass']);
    expect(ar?.results[0]?.props).to.deep.equal({ 'smtp.mailfrom': 'siem@alerts.example.org' });
    expect(ar?.results[3]?.props).to.deep.equal({ 'header.from': 'alerts.example.org' });
    expect(parseAuthResults('(only a comment)')).to.equal(null);
    expect(parseAuthResults('mx.example.com; none')?.results).to.deep.equal([]);
  });

  it('finds the hop our server recorded: the topmost Received: naming an IP, loopback and our own relays skipped', () => {
    expect(receivedFromIp('from siem01.alerts.example.org (siem01 [192.0.2.10]) by mx.example.com with ESMTPS; Fri, 4 Dec 2026')).to.equal('192.0.2.10');
    expect(receivedFromIp('from mail.example.net ([IPv6:2001:DB8::25]) by mx.example.com')).to.equal('2001:db8::25');
    expect(receivedFromIp('from EX01.example.com (198.51.100.4) by EX02.example.com (198.51.100.5) with Microsoft SMTP Server')).to.equal('198.51.100.4');
    expect(receivedFromIp('by mx.example.com (Postfix, from userid 0) id 4Q; Fri, 4 Dec 2026')).to.equal(null);
    expect(receivedFromIp('from helo.example.net (helo [999.1.1.1]) by mx.example.com')).to.equal(null);
    // An address literal is a valid HELO: the client's word never passes for the address the server saw.
    expect(receivedFromIp('from [192.0.2.10] (unknown [198.51.100.23]) by mx.example.com (Postfix)')).to.equal('198.51.100.23');
    expect(receivedFromIp('from mail.example.net ([198.51.100.23] helo=[192.0.2.10]) by mx.example.com with esmtp (Exim 4.96)')).to.equal('198.51.100.23');
    expect(receivedFromIp('from [198.51.100.23] (helo=[192.0.2.10]) by mx.example.com with esmtp (Exim 4.96)')).to.equal('198.51.100.23');
    const chain: HeaderLine[] = [
      { key: 'received', line: 'Received: by mx.example.com (Postfix, from userid 0) id 1' },
      { key: 'received', line: 'Received: from localhost (localhost [127.0.0.1]) by mx.example.com (amavis)' },
      { key: 'received', line: 'Received: from relay.example.com (relay [192.0.2.200]) by mx.example.com' },
      { key: 'received', line: 'Received: from attacker.example.net (attacker [198.51.100.66]) by relay.example.com' },
      { key: 'received', line: 'Received: from siem (siem [192.0.2.10]) by attacker.example.net' },
    ];
    expect(receivingHop(chain, [])).to.equal('192.0.2.200');
    expect(receivingHop(chain, ['192.0.2.200/32'])).to.equal('198.51.100.66'); // a forged lower hop never counts
    expect(receivingHop([], [])).to.equal(null);
  });
});
