import { expect } from 'chai';
import fc from 'fast-check';
import { ObservableSet, classifyIndicator, isHexHash, isIp } from '../../../src/map/observables.js';
import type { DataType } from '../../../src/types.js';

const MD5 = 'C912705B4BBB14EC7E78FA8B370532C9';

describe('map/observables', () => {
  describe('ObservableSet', () => {
    it('treats md5=c91… and MD5=C91… as one hash, lower-cased, ioc OR-ed, tags merged', () => {
      const set = new ObservableSet();
      set.add('hash', MD5, { ioc: true, tags: ['category:KL_Malicious_Hash_MD5'] });
      set.add('hash', MD5.toLowerCase(), { tags: ['md5'] });
      set.add('hash', ` ${MD5} `, { ioc: false, tags: ['md5', 'MD5'] });
      expect(set.toArray()).to.deep.equal([
        { dataType: 'hash', data: MD5.toLowerCase(), ioc: true, tags: ['category:KL_Malicious_Hash_MD5', 'md5', 'MD5'] },
      ]);
    });

    it('ORs ioc when the first add was not an ioc', () => {
      const set = new ObservableSet();
      set.add('ip', '192.0.2.0', { tags: ['src'] });
      set.add('ip', '192.0.2.0', { ioc: true });
      expect(set.toArray()).to.deep.equal([{ dataType: 'ip', data: '192.0.2.0', ioc: true, tags: ['src'] }]);
    });

    it('keys on (dataType, data): the same text under two types is two observables', () => {
      const set = new ObservableSet();
      set.add('domain', 'fakess123.nu');
      set.add('url', 'fakess123.nu');
      expect(set.toArray().map((o) => o.dataType)).to.deep.equal(['domain', 'url']);
    });

    it('keeps case of non-hash data', () => {
      const set = new ObservableSet();
      set.add('url', 'http://Example.com/A');
      set.add('url', 'http://example.com/a');
      expect(set.size).to.equal(2);
    });

    it('drops null, undefined, empty, blank and `-` values', () => {
      const set = new ObservableSet();
      for (const v of [null, undefined, '', '   ', '-', ' - ']) set.add('other', v);
      expect(set.toArray()).to.deep.equal([]);
    });

    it('drops and counts data over 4096 chars; exactly 4096 is kept', () => {
      const set = new ObservableSet();
      set.add('url', 'h'.repeat(4097));
      set.add('other', 'x'.repeat(5000));
      set.add('url', 'k'.repeat(4096));
      set.add('url', ` ${'t'.repeat(4096)} `); // counted after trimming
      expect(set.oversized).to.equal(2);
      expect(set.toArray().map((o) => o.data.length)).to.deep.equal([4096, 4096]);
    });

    it('never emits a dataType TheHive does not know', () => {
      const set = new ObservableSet();
      set.add('severity' as DataType, 'x');
      set.add('mail_subject' as DataType, 'x');
      set.add('mail-subject', 'x');
      expect(set.toArray().map((o) => o.dataType)).to.deep.equal(['mail-subject']);
    });

    it('trims, caps at 128 chars and deduplicates tags', () => {
      const set = new ObservableSet();
      const long = 'category:' + 'A'.repeat(300);
      set.add('other', 'v', { tags: [' user ', 'user', '', long, long] });
      const tags = set.toArray()[0]?.tags ?? [];
      expect(tags).to.have.length(2);
      expect(tags[0]).to.equal('user');
      expect(tags[1]).to.have.length(128);
      expect(tags[1]?.endsWith('…')).to.equal(true);
    });

    it('keeps the first message', () => {
      const set = new ObservableSet();
      set.add('mail', 'a@example.com');
      set.add('mail', 'a@example.com', { message: 'sender' });
      set.add('mail', 'a@example.com', { message: 'later' });
      expect(set.toArray()[0]?.message).to.equal('sender');
    });

    it('returns fresh objects', () => {
      const set = new ObservableSet();
      set.add('other', 'v', { tags: ['a'] });
      set.toArray()[0]?.tags?.push('b');
      expect(set.toArray()[0]?.tags).to.deep.equal(['a']);
    });
  });

  // A set scans its entries while it has few and indexes them past 16 (issue 15): an observable
  // added again merges into its entry on either side of that turn, never adds a second one.
  describe('ObservableSet with many values', () => {
    it('merges a repeat into the first entry whether the set scans or indexes, at any size', () => {
      for (const size of [1, 15, 16, 17, 40]) {
        const set = new ObservableSet();
        for (let i = 0; i < size; i++) set.add(i % 2 === 0 ? 'domain' : 'other', `v${i}.example`);
        // The same values again, with a tag; and the same text under another dataType is its own observable.
        for (let i = 0; i < size; i++) set.add(i % 2 === 0 ? 'domain' : 'other', `v${i}.example`, { tags: ['again'], ioc: true });
        set.add('fqdn', 'v0.example');
        const all = set.toArray();
        expect(all, `size ${size}`).to.have.length(size + 1);
        expect(all.slice(0, size).every((o) => o.ioc === true && o.tags?.join() === 'again'), `size ${size}`).to.equal(true);
        expect(all[size]).to.include({ dataType: 'fqdn', data: 'v0.example' });
      }
    });
  });

  // isHexHash reads char codes now (issue 15): it must answer as the regex it replaced, for
  // every length and every character, controls whose code | 0x20 is a digit or a-f included.
  it('isHexHash answers as /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i', () => {
    const reference = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i;
    const unit = fc.constantFrom(...'0123456789abcdefABCDEFgGzZ', '\u0010', '\u0011', '\u0001', '\u0046', '\u0066', '/', ':', '@', '`', ' ', 'é');
    const hex = fc.constantFrom(...'0123456789abcdefABCDEF');
    const near = (n: number) => fc.tuple(fc.string({ unit: hex, minLength: n, maxLength: n }), fc.nat(n), unit).map(([h, at, c]) => h.slice(0, at) + c + h.slice(at + 1));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit, maxLength: 70 }), near(32), near(40), near(64), fc.string({ unit: hex, minLength: 31, maxLength: 65 })), (value) => {
        expect(isHexHash(value), JSON.stringify(value)).to.equal(reference.test(value));
      }),
      { numRuns: 5000 },
    );
  });

  describe('classifyIndicator', () => {
    const table: Array<[string, string, DataType]> = [
      // by category
      ['KL_Malicious_URL', 'http://fakess123.nu', 'url'],
      ['KL_Malicious_URL', 'fakess123.nu', 'domain'], // bare registrable name
      ['KL_Malicious_URL', 'www.fakess123.nu', 'fqdn'], // bare host with more labels
      ['KL_Malicious_URL', 'FAKESS123.NU.', 'domain'],
      ['KL_Phishing_URL', 'fakess123ap.nu/*', 'other'], // a mask is a pattern, not an address
      ['KL_Phishing_URL', '*.fakess123ap.nu', 'other'],
      // no scheme: which one is a guess; only the event can tell (alert.ts), so `other` here
      ['KL_IoT_URL', 'e593461621ee0f9134c632d00bf108fd.com/.i', 'other'],
      ['KL_Malicious_URL', 'fakess123.nu:8080', 'other'],
      ['KL_Malicious_URL', '192.0.2.7', 'ip'],
      ['kl_malicious_url', 'fakess123.nu/x', 'other'],
      ['KL_InternalTI_URL', 'ws-buh-07', 'hostname'], // one label in a URL feed: a host
      ['KL_Malicious_URL', 'intranet.corp', 'hostname'], // no public suffix: internal
      ['KL_APT_IP', '192.0.2.4', 'ip'],
      ['KL_APT_IP', '2001:db8::4', 'ip'],
      ['KL_InternalTI_IP', '198.51.100.0/24', 'ip'],
      ['KL_IP_Reputation', '192.0.2.0', 'ip'],
      ['KL_IP_Reputation', '::ffff:192.0.2.0', 'ip'],
      ['KL_Malicious_Hash_MD5', MD5, 'hash'],
      ['KL_APT_Hash_SHA1', '9F57E16FB47B96B170DAD78E26B96380E8262B9F', 'hash'],
      ['KL_Malicious_Hash_SHA256', 'A6A69DB3767DB7F8DE9F1CD0AFA6928A276CFBE97170A826AE6857CBAD134154', 'hash'],
      // a value that does not fit its category falls back to its shape
      ['KL_APT_IP', 'evil.example.org', 'fqdn'],
      ['KL_Malicious_Hash_MD5', 'not-a-hash', 'other'],
      ['KL_Malicious_Hash_MD5', 'C912705B4BBB14EC7E78FA8B370532C', 'other'], // 31 hex digits
      // unknown category: shape alone
      ['Custom', '203.0.113.5', 'ip'],
      ['Custom', 'fe80::1%eth0', 'ip'],
      ['Custom', MD5.toLowerCase(), 'hash'],
      ['Custom', 'https://example.com/x?a=1', 'url'],
      ['Custom', 'example.com/path', 'other'],
      ['Custom', '*.example.com', 'other'],
      ['Custom', 'example.com', 'domain'],
      ['Custom', 'mail.example.co.uk', 'fqdn'],
      ['Custom', 'пример.рф', 'domain'],
      ['Custom', 'localhost', 'other'],
      ['Custom', '1.2.3.4.5', 'other'],
      ['Custom', '256.1.1.1', 'other'],
      ['Custom', 'hello world', 'other'],
      ['Custom', '/just/a/path', 'uri_path'],
      ['Custom', 'printer.local', 'hostname'],
    ];
    for (const [category, value, dataType] of table) {
      it(`${category} ${JSON.stringify(value)} → ${dataType}`, () => {
        expect(classifyIndicator(category, value)).to.equal(dataType);
      });
    }
  });

  describe('shape checks', () => {
    const ips: Array<[string, boolean]> = [
      ['0.0.0.0', true],
      ['255.255.255.255', true],
      ['01.2.3.4', false],
      ['::', true],
      ['::1', true],
      ['2001:db8:0:0:0:0:0:1', true],
      ['2001:db8::1::2', false],
      ['2001:db8:0:0:0:0:0:0:1', false],
      ['12345::', false],
      ['1.2.3', false],
    ];
    for (const [v, ok] of ips) {
      it(`isIp(${JSON.stringify(v)}) is ${ok}`, () => expect(isIp(v)).to.equal(ok));
    }
    const hashes: Array<[string, boolean]> = [
      ['a'.repeat(32), true],
      ['a'.repeat(40), true],
      ['A'.repeat(64), true],
      ['a'.repeat(33), false],
      ['g'.repeat(32), false],
    ];
    for (const [v, ok] of hashes) {
      it(`isHexHash(${v.length} chars of ${v[0] ?? ''}) is ${ok}`, () => expect(isHexHash(v)).to.equal(ok));
    }
  });
});
