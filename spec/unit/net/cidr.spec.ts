/**
 * Issue 11: CIDR allowlists read strict dotted quads and IPv6 only, and an IPv4-mapped IPv6
 * entry (`::ffff:a.b.c.d`) means the IPv4 address it carries, whichever form the peer arrives in.
 */
import { expect } from 'chai';
import { cidrMatcher, parseCidr } from '../../../src/net/cidr.js';

describe('net/cidr', () => {
  const refused = [
    ['leading zeros (octal to ipaddr.js: 010.020.000.005 is 8.16.0.5)', '010.020.000.005/32'],
    ['a leading zero in one octet', '10.1.2.03'],
    ['a short form of 10.0.0.1', '10.1'],
    ['a single number', '10'],
    ['three parts', '10.1.2'],
    ['hexadecimal parts', '0x0a.0.0.1'],
    ['an octet above 255', '10.0.0.256'],
    ['a prefix above 32', '10.0.0.0/33'],
    ['a prefix above 128', '::1/129'],
    ['a prefix with a leading zero', '10.0.0.0/08'],
    ['an empty prefix', '10.0.0.0/'],
    ['a zone index', 'fe80::1%eth0'],
    ['leading zeros in an embedded IPv4 address', '::ffff:010.0.0.1'],
    ['spaces inside', '10.0.0.0 /8'],
    ['a host name', 'localhost'],
    ['nothing', ''],
  ] as const;
  for (const [what, text] of refused) {
    it(`refuses ${what}: ${JSON.stringify(text)}`, () => {
      expect(parseCidr(text)).to.equal(null);
    });
  }

  const accepted = ['10.20.0.5/32', '10.0.0.0/8', '0.0.0.0/0', '192.168.1.7', '::1', '::1/128', '2001:db8::/32', 'fe80::/10', '::ffff:127.0.0.1', '::ffff:10.0.0.0/104'];
  for (const text of accepted) {
    it(`accepts ${text}`, () => {
      expect(parseCidr(text)).to.not.equal(null);
    });
  }

  it('reads 10.20.0.5/32 as 10.20.0.5, never as an octal 8.16.0.5', () => {
    const allowed = cidrMatcher(['10.20.0.5/32']);
    expect(allowed('10.20.0.5')).to.equal(true);
    expect(allowed('8.16.0.5')).to.equal(false);
  });

  it('normalises ::ffff:127.0.0.1 to 127.0.0.1: it matches the IPv4 peer in either form', () => {
    const allowed = cidrMatcher(['::ffff:127.0.0.1']);
    expect(allowed('127.0.0.1')).to.equal(true);
    expect(allowed('::ffff:127.0.0.1')).to.equal(true);
    expect(allowed('127.0.0.2')).to.equal(false);
  });

  it('normalises a mapped range (::ffff:10.0.0.0/104 is 10.0.0.0/8)', () => {
    const range = parseCidr('::ffff:10.0.0.0/104');
    expect([range?.[0].kind(), range?.[0].toString(), range?.[1]]).to.deep.equal(['ipv4', '10.0.0.0', 8]);
    const allowed = cidrMatcher(['::ffff:10.0.0.0/104']);
    expect(allowed('10.200.1.1')).to.equal(true);
    expect(allowed('::ffff:10.200.1.1')).to.equal(true);
    expect(allowed('11.0.0.1')).to.equal(false);
  });

  it('matches a peer reported as ::ffff:a.b.c.d against an IPv4 entry', () => {
    const allowed = cidrMatcher(['127.0.0.0/8']);
    expect(allowed('::ffff:127.0.0.1')).to.equal(true);
    expect(allowed('::1')).to.equal(false);
  });

  it('keeps IPv6 entries IPv6', () => {
    const allowed = cidrMatcher(['2001:db8::/32']);
    expect(allowed('2001:db8::7')).to.equal(true);
    expect(allowed('2001:db9::7')).to.equal(false);
    expect(allowed('127.0.0.1')).to.equal(false);
  });

  it('allows everyone with an empty list, and no one unknown with a list', () => {
    expect(cidrMatcher([])('203.0.113.9')).to.equal(true);
    expect(cidrMatcher(['10.0.0.0/8'])(undefined)).to.equal(false);
  });

  it('refuses an allowlist with an entry that is no address, rather than dropping it (all dropped would allow everyone)', () => {
    expect(() => cidrMatcher(['010.020.000.005/32'])).to.throw(TypeError, /"010\.020\.000\.005\/32"/);
    expect(() => cidrMatcher(['10.0.0.0/8', 'not an address'])).to.throw(TypeError);
  });
});
