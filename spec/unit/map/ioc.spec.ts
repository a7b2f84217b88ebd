import { expect } from 'chai';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { MAX_PER_KIND, extractIocs, type Iocs } from '../../../src/map/ioc.js';
import { ipScope, trimUrl, urlHost, validDomain } from '../../../src/map/indicator-syntax.js';
import { DEFAULT_MAIL_POLICY, ignoreMatcher, type MailIgnore, type MailPolicy } from '../../../src/map/mail-policy.js';
import { decodeEntities, htmlLinks } from '../../../src/parse/mail-text.js';

type Found = Partial<Omit<Iocs, 'hashes' | 'overflow' | 'ports'>> & { md5?: string[]; sha1?: string[]; sha256?: string[] };

function found(text: string, policy: Pick<MailPolicy, 'ignore' | 'privateIps'> = DEFAULT_MAIL_POLICY): Required<Found> {
  const r = extractIocs(text, policy);
  return { urls: r.urls, domains: r.domains, ips: r.ips, emails: r.emails, md5: r.hashes.md5, sha1: r.hashes.sha1, sha256: r.hashes.sha256 };
}
const none: Required<Found> = { urls: [], domains: [], ips: [], emails: [], md5: [], sha1: [], sha256: [] };
const expectFound = (text: string, exp: Found, policy?: Pick<MailPolicy, 'ignore' | 'privateIps'>): void => {
  expect(found(text, policy)).to.deep.equal({ ...none, ...exp });
};

const H32 = '7e13afe51e605fd9552b30050a00c6bc';
const H40 = '1da032d79a04c5554b30011a1658220dbe451070';
const H64 = 'ca5e91c45b781e3f5d5edc5433e5126ad6a8a1778d450fdadac5f5b6b37e55d7';

describe('extractIocs: URLs', () => {
  const CASES: Array<[string, string, Found]> = [
    ['trailing period', 'See https://evil.top/a.', { urls: ['https://evil.top/a'], domains: ['evil.top'] }],
    ['parentheses: balanced kept, unbalanced dropped', '(see https://evil.top/x_(y)) and https://evil.top/q).', { urls: ['https://evil.top/x_(y)', 'https://evil.top/q'], domains: ['evil.top'] }],
    ['angle brackets and quotes', '<https://evil.top/a> "https://evil.top/b", \'https://evil.top/c\'', { urls: ['https://evil.top/a', 'https://evil.top/b', 'https://evil.top/c'], domains: ['evil.top'] }],
    ['trailing ! ? ; : * and unbalanced ]', '[https://evil.top/a?b=1&c=2#f!] https://evil.top/d?; https://evil.top/e:*', { urls: ['https://evil.top/a?b=1&c=2#f', 'https://evil.top/d', 'https://evil.top/e'], domains: ['evil.top'] }],
    ['ftp', 'get ftp://files.evil.top/pub/x.bin', { urls: ['ftp://files.evil.top/pub/x.bin'], domains: ['files.evil.top'] }],
    ['defanged', 'hXXps[://]login[.]qazbank-secure(.)com/auth', { urls: ['https://login.qazbank-secure.com/auth'], domains: ['login.qazbank-secure.com'] }],
    ['upper case kept, host lower-cased', 'HTTPS://EVIL.TOP/A', { urls: ['HTTPS://EVIL.TOP/A'], domains: ['evil.top'] }],
    ['IDN host', 'https://пример.рф/путь', { urls: ['https://пример.рф/путь'], domains: ['пример.рф'] }],
    ['userinfo: no e-mail from it', 'https://user:pw@evil-host.top:8443/p', { urls: ['https://user:pw@evil-host.top:8443/p'], domains: ['evil-host.top'] }],
    ['address in the query is no e-mail', 'https://evil.top/?to=victim@corp-bank.kz', { urls: ['https://evil.top/?to=victim@corp-bank.kz'], domains: ['evil.top'] }],
    ['IPv6 literal', 'http://[2a03:2880::1]:8080/x', { urls: ['http://[2a03:2880::1]:8080/x'], ips: ['2a03:2880::1'] }],
    ['public IP host', 'hxxp://45.146.165.38/payload.exe', { urls: ['http://45.146.165.38/payload.exe'], ips: ['45.146.165.38'] }],
    ['private IP host kept', 'http://10.1.2.3/admin', { urls: ['http://10.1.2.3/admin'], ips: ['10.1.2.3'] }],
    ['loopback host dropped', 'http://127.0.0.1:8080/admin', {}],
    ['internal name: URL kept, no domain', 'http://intranet.corp.local/x', { urls: ['http://intranet.corp.local/x'] }],
    ['dotless host dropped', 'http://intranet/x', {}],
    ['scheme only', 'http:// https://', {}],
    // No URL, and `evil.top` after `//` reads as a path segment.
    ['not glued to a word', 'xhttp://evil.top/a', {}],
    ['stops at U+FFFD', 'https://evil.top/view?id=9\ufffd\ufffdjunk', { urls: ['https://evil.top/view?id=9'], domains: ['evil.top'] }],
  ];
  for (const [label, text, exp] of CASES) it(label, () => expectFound(text, exp));

  it('private IP host dropped with privateIps: drop', () => {
    expectFound('http://10.1.2.3/admin', {}, { ...DEFAULT_MAIL_POLICY, privateIps: 'drop' });
  });
});

describe('extractIocs: domains', () => {
  const CASES: Array<[string, string, Found]> = [
    ['in prose, trailing punctuation', 'Contact evil.top, or sub.evil.co.uk.', { domains: ['evil.top', 'sub.evil.co.uk'] }],
    ['file names are no domains', 'report.pdf invoice.exe something.js photo.jpeg', {}],
    ['file-like TLDs: bare two-label names are files', 'invoice.zip README.md setup.py run.sh main.rs clip.mov', {}],
    ['file-like TLDs: more labels or a scheme make a domain', 'login.invoice.zip and https://invoice.zip/', { urls: ['https://invoice.zip/'], domains: ['invoice.zip', 'login.invoice.zip'] }],
    ['a public suffix alone', 'co.uk and com.kz', {}],
    ['an address is no domain', 'first.last@corp-bank.kz', { emails: ['first.last@corp-bank.kz'] }],
    ['inside a path', '/tmp/x/evil.top and C:\\dir\\evil.top', {}],
    ['upper case', 'EVIL.TOP', { domains: ['evil.top'] }],
    ['decoration trimmed', '-evil.top- _evil2.top_ ..evil3.top..', { domains: ['evil.top', 'evil2.top', 'evil3.top'] }],
    ['empty label, numbers, versions', 'a..b.top 1.2.3 v2.0.1', {}],
    ['not ICANN', 'host.local x.internal', {}],
    ['IDN', 'зайдите на пример.рф сегодня', { domains: ['пример.рф'] }],
  ];
  for (const [label, text, exp] of CASES) it(label, () => expectFound(text, exp));
});

describe('extractIocs: IP addresses', () => {
  const CASES: Array<[string, string, Found]> = [
    ['with port and in parentheses', '91.243.85.17:443, (45.146.165.38)', { ips: ['91.243.85.17', '45.146.165.38'] }],
    ['sentence end', 'blocked 91.243.85.17.', { ips: ['91.243.85.17'] }],
    ['not addresses', '999.1.1.1 1.2.3.4.5 010.1.1.1 v1.2.3.4 1.2.3.4abc 1.2.3', {}],
    ['CIDR network', 'block 45.146.165.0/24 now', { ips: ['45.146.165.0/24'] }],
    ['private kept', '10.0.0.1 192.168.1.1 100.64.0.1 169.254.1.1', { ips: ['10.0.0.1', '192.168.1.1', '100.64.0.1', '169.254.1.1'] }],
    ['never loopback, unspecified, broadcast, multicast, reserved', '127.0.0.1 0.0.0.0 255.255.255.255 224.0.0.1 240.0.0.1', {}],
    ['IPv6 canonical', '2A03:2880:0:0:0:0:0:1 and 2a03:2880:f10c:83:face:b00c:0:25de', { ips: ['2a03:2880::1', '2a03:2880:f10c:83:face:b00c:0:25de'] }],
    ['IPv6 link-local kept, loopback dropped', 'fe80::1 ::1', { ips: ['fe80::1'] }],
    ['IPv6 network', 'block 2a03:2880::/32', { ips: ['2a03:2880::/32'] }],
    ['no IPv6 in code, times and MACs', 'std::vector Foo::Bar 12:30:45 00:1a:2b:3c:4d:5e d::', {}],
  ];
  for (const [label, text, exp] of CASES) it(label, () => expectFound(text, exp));

  it('private ranges dropped with privateIps: drop', () => {
    expectFound('10.0.0.1 fe80::1 91.243.85.17', { ips: ['91.243.85.17'] }, { ...DEFAULT_MAIL_POLICY, privateIps: 'drop' });
  });
});

describe('extractIocs: e-mail addresses and hashes', () => {
  const CASES: Array<[string, string, Found]> = [
    ['lower-cased, deduplicated', 'mail bad@evil-mail.ru, BAD@Evil-Mail.RU and Bad.Guy@evil-mail.ru', { emails: ['bad@evil-mail.ru', 'bad.guy@evil-mail.ru'] }],
    ['invalid domains', 'user@localhost user@host @handle a@b', {}],
    ['leading dots of the local part', '..lead@evil.top', { emails: ['lead@evil.top'] }],
    ['defanged', 'takedown[at]update-kzpost[.]xyz , abuse(at)hosting-provider(dot)ru', { emails: ['takedown@update-kzpost.xyz', 'abuse@hosting-provider.ru'] }],
    ['hashes of each length, any case', `md5=${H32.toUpperCase()} sha1:${H40} sha256 ${H64}`, { md5: [H32], sha1: [H40], sha256: [H64] }],
    ['not part of a longer hex run or a word', `${H64}a ${H32.slice(1)} 0x${H32} _${H40} ${H32}g`, {}],
    ['all digits is a number', `${'1234567890'.repeat(3)}12`, {}],
    ['inside a URL', `https://www.virustotal.com/gui/file/${H64}/detection`, { urls: [`https://www.virustotal.com/gui/file/${H64}/detection`], domains: ['www.virustotal.com'], sha256: [H64] }],
  ];
  for (const [label, text, exp] of CASES) it(label, () => expectFound(text, exp));
});

describe('extractIocs: ignore lists', () => {
  it('documentation and empty-input values are ignored by default', () => {
    expectFound(
      'http://www.example.com/x mail@test.example 192.0.2.44 198.51.100.3 203.0.113.9 2001:db8::7 ' +
        'd41d8cd98f00b204e9800998ecf8427e da39a3ee5e6b4b0d3255bfef95601890afd80709 ' +
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 sub.example.org example.net localhost',
      {},
    );
  });

  it('a documentation value is sent once the ignore list no longer names it (hashes, domains)', () => {
    const empty: MailIgnore = { domains: [], ips: [], hashes: [] };
    expectFound('d41d8cd98f00b204e9800998ecf8427e example.com', { md5: ['d41d8cd98f00b204e9800998ecf8427e'], domains: ['example.com'] }, { ignore: empty, privateIps: 'keep' });
  });

  const custom: Pick<MailPolicy, 'ignore' | 'privateIps'> = {
    privateIps: 'keep',
    ignore: {
      domains: ['corp-bank.kz', '*.gov.kz'],
      ips: ['91.243.85.0/24', '2a03:2880::/32', '45.146.165.38'],
      hashes: [H32.toUpperCase()],
      emails: ['noreply@partner-bank.kz', '@vendor.kz'],
    },
  };
  it('domains are host-aware: the name and every name under it', () => {
    expectFound('corp-bank.kz mail.corp-bank.kz corp-bank.kz.evil.top notcorp-bank.kz https://corp-bank.kz/x egov.gov.kz', {
      domains: ['corp-bank.kz.evil.top', 'notcorp-bank.kz'],
    }, custom);
  });
  it('addresses and networks, also as URL hosts', () => {
    expectFound('91.243.85.17 91.243.86.1 http://91.243.85.9/x 2a03:2880::1 45.146.165.38 45.146.165.39', { ips: ['91.243.86.1', '45.146.165.39'] }, custom);
  });
  it('hashes (any case) and addresses (whole, @domain, or by ignored domain)', () => {
    expectFound(`${H32} ${H40} noreply@partner-bank.kz other@partner-bank.kz a@vendor.kz b@sub.vendor.kz c@corp-bank.kz`, {
      sha1: [H40],
      emails: ['other@partner-bank.kz'],
    }, custom);
  });
  it('compiles each ignore object once', () => {
    expect(ignoreMatcher(custom.ignore)).to.equal(ignoreMatcher(custom.ignore));
  });
});

describe('extractIocs: bounds', () => {
  it(`keeps ${MAX_PER_KIND} values of a kind and counts the rest`, () => {
    const ips = Array.from({ length: 1500 }, (_, i) => `91.1.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    const r = extractIocs(ips.join(' '), DEFAULT_MAIL_POLICY);
    expect(r.ips).to.deep.equal(ips.slice(0, MAX_PER_KIND));
    expect(r.overflow).to.equal(500);
  });
});

describe('ioc helpers', () => {
  it('trimUrl', () => {
    expect(trimUrl('https://a.top/x).')).to.equal('https://a.top/x');
    expect(trimUrl('https://a.top/(x)')).to.equal('https://a.top/(x)');
    expect(trimUrl('https://a.top/x]]')).to.equal('https://a.top/x');
    expect(trimUrl('https://a.top/"\'*>')).to.equal('https://a.top/');
  });

  it('urlHost', () => {
    expect(urlHost('https://u:p@Evil.Top:8443/p?q#f')).to.equal('evil.top');
    expect(urlHost('http://[2A03::1]:80/')).to.equal('2a03::1');
    expect(urlHost('http://1.2.3.4/')).to.equal('1.2.3.4');
    expect(urlHost('http://evil.top./')).to.equal('evil.top');
    expect(urlHost('http://intranet/')).to.equal(null);
    expect(urlHost('http://[/')).to.equal(null);
    expect(urlHost('http://[not-an-ip]/')).to.equal(null);
    expect(urlHost('http://a b/')).to.equal(null);
    expect(urlHost('no scheme')).to.equal(null);
  });

  it('validDomain', () => {
    expect(validDomain('Evil.Top', false)).to.equal('evil.top');
    expect(validDomain('evil.top.', false)).to.equal('evil.top');
    expect(validDomain('invoice.zip', false)).to.equal(null);
    expect(validDomain('invoice.zip', true)).to.equal('invoice.zip');
    expect(validDomain(`${'a'.repeat(64)}.top`, true)).to.equal(null);
    expect(validDomain('x.local', true)).to.equal(null);
    expect(validDomain('github.io', true)).to.equal('github.io');
    expect(validDomain('1.2.3.4', true)).to.equal(null);
  });

  it('ipScope', () => {
    const table: Array<[string, ReturnType<typeof ipScope>]> = [
      ['91.243.85.17', 'public'],
      ['10.1.1.1', 'private'],
      ['172.16.0.1', 'private'],
      ['100.64.1.1', 'private'],
      ['169.254.1.1', 'private'],
      ['fc00::1', 'private'],
      ['fe80::1', 'private'],
      ['127.0.0.1', 'drop'],
      ['::1', 'drop'],
      ['0.0.0.0', 'drop'],
      ['224.0.0.1', 'drop'],
      ['192.0.2.1', 'drop'],
      ['::ffff:10.1.1.1', 'private'],
      ['10.0.0.0/8', 'private'],
      ['not an ip', 'drop'],
    ];
    for (const [ip, scope] of table) expect(ipScope(ip), ip).to.equal(scope);
  });

  it('htmlLinks: href, src and action, entities decoded, data/cid/javascript left out, unquoted values', () => {
    const html =
      '<a href="https://a.top/x?a=1&amp;b=2">x</a><img src=cid:abc><img src="data:image/png;base64,AAAA">' +
      "<a HREF = 'http://b.top'>b</a><form action=https://c.top/post><a href=\"javascript:alert(1)\">" +
      '<a href="mailto:x@d.top">m</a><a href="https://a.top/x?a=1&amp;b=2">again</a>';
    expect(htmlLinks(html)).to.deep.equal(['https://a.top/x?a=1&b=2', 'http://b.top', 'https://c.top/post', 'mailto:x@d.top']);
  });

  it('decodeEntities', () => {
    expect(decodeEntities('a&amp;b &lt;c&gt; &quot;d&quot; &#39;e&#39; &#x41;&#66; &nbsp;&unknown; &#0; &#x110000;')).to.equal(
      'a&b <c> "d" \'e\' AB  &unknown; &#0; &#x110000;',
    );
  });
});

/** Each extracted value passes the validators it was extracted by: nothing half-trimmed or invalid. */
function checkSane(r: Iocs): void {
  for (const u of r.urls) {
    expect(u).to.match(/^(?:https?|ftp):\/\//i);
    expect(u.length).to.be.at.most(4096);
    expect(/[.,;:!?'"*]$/.test(u), u).to.equal(false);
  }
  for (const d of r.domains) expect(validDomain(d, true), d).to.equal(d);
  for (const ip of r.ips) expect(ipaddr.isValid(ip.split('/')[0] ?? ''), ip).to.equal(true);
  for (const e of r.emails) expect(validDomain(e.slice(e.lastIndexOf('@') + 1), true), e).to.not.equal(null);
  for (const h of r.hashes.md5) expect(h).to.match(/^[0-9a-f]{32}$/);
  for (const h of r.hashes.sha1) expect(h).to.match(/^[0-9a-f]{40}$/);
  for (const h of r.hashes.sha256) expect(h).to.match(/^[0-9a-f]{64}$/);
}

describe('extractIocs: properties and hostile input', function () {
  this.timeout(120_000);
  const N = 200_000;
  const HOSTILE: Array<[string, string]> = [
    ['a.a.a.a…', 'a.'.repeat(N / 2)],
    ['http:// repeated', 'http://'.repeat(N / 7)],
    ['[.] repeated', '[.]'.repeat(N / 3)],
    ['long local part then @', `${'a'.repeat(N)}@`],
    ['@a@a@a…', '@a'.repeat(N / 2)],
    ['x@ repeated then .com', `${'x@'.repeat(N / 2)}.com`],
    ['1.1.1.1.1…', '1.'.repeat(N / 2)],
    ['a:a:a:…', 'a:'.repeat(N / 2)],
    ['colons', ':'.repeat(N)],
    ['a dot a dot …', 'a dot '.repeat(N / 6)],
    ['href=" repeated', 'href="'.repeat(N / 6)],
    ['blanks', ' '.repeat(N)],
    ['hex run', '0a'.repeat(N / 2)],
    ['dashes then a letter', `${'-'.repeat(N)}a`],
    ['one huge URL', `https://evil.top/${'a/'.repeat(N / 2)}`],
    ['dotted labels with a TLD every time', 'ab.top.'.repeat(N / 7)],
    ['many short domains', 'ab.top '.repeat(N / 7)],
  ];
  for (const [label, text] of HOSTILE) {
    it(`completes with sane output: ${label}`, () => {
      const r = extractIocs(text, DEFAULT_MAIL_POLICY);
      checkSane(r);
    });
  }

  it('finds public IPv4 addresses, domains and hashes embedded in noise', () => {
    const publicV4 = fc.ipV4().filter((ip) => ipScope(ip) === 'public' && !ignoreMatcher(DEFAULT_MAIL_POLICY.ignore).ip(ip));
    const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
    const domain = fc
      .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'kz', 'top', 'xyz', 'ru', 'co.uk', 'online', 'рф'))
      .map(([labels, tld]) => `${labels.join('.')}.${tld}`)
      .filter((d) => validDomain(d, false) === d && !ignoreMatcher(DEFAULT_MAIL_POLICY.ignore).host(d));
    const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n }).filter((h) => /[a-f]/.test(h) && !ignoreMatcher(DEFAULT_MAIL_POLICY.ignore).hash(h));
    const noise = fc.string({ unit: fc.constantFrom(...'abc XYZ,;:!?()\n\t-'), maxLength: 20 }).map((s) => ` ${s} `);
    fc.assert(
      fc.property(publicV4, domain, hex(64), noise, noise, (ip, d, h, n1, n2) => {
        const r = extractIocs(`${n1}${ip}${n2}${d}${n1}${h}${n2}`, DEFAULT_MAIL_POLICY);
        return r.ips.includes(ip) && r.domains.includes(d) && r.hashes.sha256.includes(h);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws and stays sane on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (s) => {
        checkSane(extractIocs(s, DEFAULT_MAIL_POLICY));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws and stays sane on texts of indicator fragments', () => {
    const piece = fc.oneof(
      fc.webUrl(),
      fc.domain(),
      fc.ipV4(),
      fc.ipV6(),
      fc.emailAddress(),
      fc.constantFrom('[.]', '(dot)', 'hxxp://', '[at]', ' ', ')', '(', ']', '.', ',', '@', ':', '/', '\\', H32, H64),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        checkSane(extractIocs(pieces.join(''), DEFAULT_MAIL_POLICY));
      }),
      { numRuns: 300 },
    );
  });
});

describe('extractIocs: ip:port (issue 13)', () => {
  it('keeps the port written after an IPv4 address, with the address as the indicator', () => {
    const r = extractIocs('C2: 185.244.129.7:443 and 185.244.129.7:8443, beacon to 45.146.165.38 and 45.146.165.39:99999', DEFAULT_MAIL_POLICY);
    expect(r.ips).to.deep.equal(['185.244.129.7', '45.146.165.38', '45.146.165.39']);
    expect(Object.fromEntries(r.ports)).to.deep.equal({ '185.244.129.7': [443, 8443] });
  });
  it('reads no port from a time, a CIDR or a longer colon run', () => {
    expect(extractIocs('185.244.129.7:443:1 and 185.244.129.0/24:80', DEFAULT_MAIL_POLICY).ports.size).to.equal(0);
  });
});
