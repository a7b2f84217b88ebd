import { expect } from 'chai';
import { unwrapUrl } from '../../../src/map/unwrap-url.js';
import { extractIocs } from '../../../src/map/ioc.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';

describe('map/unwrap-url', () => {
  const cases: [string, string, string][] = [
    [
      'Safe Links (outlook.com)',
      'https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fportal-kzpost.top%2Ftrack%3Fid%3D77&data=05%7C02%7Csoc%40corp.example%7C&sdata=AbC%3D&reserved=0',
      'https://portal-kzpost.top/track?id=77',
    ],
    ['Safe Links (GCC High, office365.us)', 'https://gcc02.safelinks.protection.office365.us/?url=http%3A%2F%2Fcdn-secure-update.ru%2Fa.exe&data=1', 'http://cdn-secure-update.ru/a.exe'],
    ['URL Defense v1: u percent-encoded', 'https://urldefense.proofpoint.com/v1/url?u=http%3A%2F%2Finvoice-pay.top%2Fdoc.php%3Fid%3D9&k=abc%3D', 'http://invoice-pay.top/doc.php?id=9'],
    [
      'URL Defense v2: - for %, _ for /',
      'https://urldefense.proofpoint.com/v2/url?u=https-3A__login.qazbank-2Dsecure.com_auth-3Fnext-3D-252Fhome&d=DwMFaQ&c=x&r=y&m=z&s=w&e=',
      'https://login.qazbank-secure.com/auth?next=%2Fhome',
    ],
    ['URL Defense v3: each * is a character from the base64url tail', 'https://urldefense.com/v3/__https://portal-kzpost.top/track*id=77*ref__;PyM!!AbCd!EfGh$', 'https://portal-kzpost.top/track?id=77#ref'],
    ['URL Defense v3: **A is a run of two', 'https://urldefense.com/v3/__https://cdn-secure-update.ru/a**Ab__;Pz8!!AbCd!EfGh$', 'https://cdn-secure-update.ru/a??b'],
    ['URL Defense v3: nothing replaced', 'https://urldefense.com/v3/__http://invoice-pay.top/x__;!!AbCd!EfGh$', 'http://invoice-pay.top/x'],
    [
      'Safe Links around URL Defense v2: both layers',
      `https://nam02.safelinks.protection.outlook.com/?url=${encodeURIComponent('https://urldefense.proofpoint.com/v2/url?u=http-3A__invoice-2Dpay.top_doc&d=x&e=')}&data=1`,
      'http://invoice-pay.top/doc',
    ],
  ];
  for (const [what, wrapped, inner] of cases) {
    it(what, () => expect(unwrapUrl(wrapped)).to.equal(inner));
  }

  it('leaves alone what it cannot read back: other URLs, a missing parameter, too few v3 characters, a non-URL inside', () => {
    for (const url of [
      'https://portal-kzpost.top/track?url=https%3A%2F%2Fx.io',
      'https://eur03.safelinks.protection.outlook.com/?data=05',
      'https://urldefense.com/v3/__https://portal-kzpost.top/a*b*c__;Pw!!AbCd$',
      'https://urldefense.proofpoint.com/v1/url?u=javascript%3Aalert(1)&k=1',
      'https://urldefense.com/v9/url?u=x',
    ]) {
      expect(unwrapUrl(url), url).to.equal(url);
    }
  });

  it('extraction gives the sender\'s link and its domain, not the gateway\'s', () => {
    const text = [
      'Please review the parcel notice:',
      'https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fportal-kzpost.top%2Ftrack%3Fid%3D77&data=05%7C02%7C&reserved=0.',
      'and (https://urldefense.com/v3/__https://cdn-secure-update.ru/a**Ab__;Pz8!!AbCd!EfGh$)',
    ].join('\n');
    const iocs = extractIocs(text, DEFAULT_MAIL_POLICY);
    expect(iocs.urls).to.deep.equal(['https://portal-kzpost.top/track?id=77', 'https://cdn-secure-update.ru/a??b']);
    expect(iocs.domains).to.deep.equal(['portal-kzpost.top', 'cdn-secure-update.ru']);
  });
});
