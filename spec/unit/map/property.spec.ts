import { expect } from 'chai';
import fc from 'fast-check';
import { DEFAULT_POLICY, alertFromDetection } from '../../../src/map/alert.js';
import { ObservableSet } from '../../../src/map/observables.js';
import { BUILTIN_DATATYPES, type Alert, type DataType, type DetectionRecord } from '../../../src/types.js';

const BUILTIN: ReadonlySet<string> = new Set(BUILTIN_DATATYPES);
const RECEIVED = new Date(2024, 9, 12, 16, 30, 0).getTime();

// Keys the mapper reacts to, plus a few it must ignore.
const KEYS = [
  'category', 'matchedIndicator', 'src', 'dst', 'ip', 'Ip', 'url', 'urls/url', 'request', 'md5', 'sha1', 'sha256',
  'MD5', 'SHA1', 'SHA256', 'hash', 'fileHash', 'files/MD5', 'files/SHA256', 'files/threat', 'usrName', 'suser',
  'hostname', 'threat', 'threat_score', 'mask', 'whois/org', 'geo', '__proto__', 'constructor', 'toString',
];
const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: n, maxLength: n });
const value = fc.oneof(
  fc.constant('-'),
  fc.constant(''),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.ipV4(),
  fc.ipV6(),
  fc.webUrl(),
  fc.domain(),
  hex(32),
  hex(40),
  hex(64),
  fc.array(fc.oneof(hex(32), hex(64), fc.string({ maxLength: 8 })), { maxLength: 4 }).map((xs) => xs.join(';')),
  fc.integer({ min: -5, max: 120 }).map(String),
  fc.constant('x'.repeat(4096)),
  fc.constant(` ${'y'.repeat(4096)} `),
  fc.constant('z'.repeat(4097)),
);
const pair = fc.record({ key: fc.oneof(fc.constantFrom(...KEYS), fc.string({ minLength: 1, maxLength: 12 })), value: fc.option(value, { nil: null }) });
const category = fc.oneof(
  fc.constantFrom('KL_Malicious_URL', 'KL_IP_Reputation', 'KL_APT_Hash_MD5', 'KL_Phishing_URL', 'KL_APT_IP', 'KL_InternalTI_IP'),
  fc.string({ minLength: 1, maxLength: 300 }),
);
const record = fc
  .tuple(category, fc.option(value, { nil: null }), fc.array(pair, { maxLength: 30 }), fc.option(fc.string({ maxLength: 30 }), { nil: null }))
  .map(([cat, indicator, pairs, dateText]): DetectionRecord => ({
    kind: 'detection',
    format: 'kv',
    line: pairs.map((p) => `${p.key}=${p.value ?? '-'}`).join(' '),
    dateText,
    pairs,
    category: cat,
    matchedIndicator: indicator === '' || indicator === '-' ? null : indicator,
  }));

function checkTags(tags: readonly string[] | undefined): void {
  const list = tags ?? [];
  expect(new Set(list).size, 'unique tags').to.equal(list.length);
  for (const t of list) expect(t.length, `tag ${t}`).to.be.within(1, 128);
}

function checkAlert(alert: Alert, hashesAreHex = true): void {
  expect(alert.type.length).to.be.within(1, 32);
  expect(alert.source.length).to.be.within(1, 32);
  expect(alert.sourceRef).to.match(/^ct-[0-9a-f]{20}$/);
  expect(alert.title.length).to.be.within(1, 512);
  expect(alert.description.length).to.be.at.most(1_048_576);
  expect([1, 2, 3, 4]).to.include(alert.severity);
  expect(Number.isInteger(alert.date)).to.equal(true);
  checkTags(alert.tags);
  const keys = new Set<string>();
  for (const o of alert.observables) {
    expect(BUILTIN.has(o.dataType), `dataType ${o.dataType}`).to.equal(true);
    expect(o.data.length, 'data length').to.be.within(1, 4096);
    expect(o.data, 'data trimmed').to.equal(o.data.trim());
    expect(o.data).to.not.equal('-');
    if (o.dataType === 'hash') expect(o.data).to.match(hashesAreHex ? /^[0-9a-f]+$/ : /^[^A-Z]*$/);
    checkTags(o.tags);
    const key = `${o.dataType}\u0000${o.data}`;
    expect(keys.has(key), `duplicate ${key}`).to.equal(false);
    keys.add(key);
  }
}

describe('map properties (fast-check)', function () {
  // 500 runs take well under a second here; leave room for slow CI machines.
  this.timeout(20_000);

  it('every alert of arbitrary pairs respects TheHive limits and built-in dataTypes', () => {
    fc.assert(
      fc.property(record, (rec) => {
        checkAlert(alertFromDetection(rec, DEFAULT_POLICY, RECEIVED));
      }),
      { numRuns: 500 },
    );
  });

  it('ObservableSet never emits an unknown dataType, empty or oversized data, or a duplicate', () => {
    const dataType = fc.oneof(fc.constantFrom(...BUILTIN_DATATYPES), fc.string({ maxLength: 12 })) as fc.Arbitrary<DataType>;
    const add = fc.tuple(dataType, fc.option(value, { nil: null }), fc.boolean(), fc.array(fc.string({ maxLength: 200 }), { maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(add, { maxLength: 40 }), (adds) => {
        const set = new ObservableSet();
        for (const [t, d, ioc, tags] of adds) set.add(t, d, { ioc, tags });
        const out = set.toArray();
        checkAlert({ ...alertFromDetection({ kind: 'detection', format: 'kv', line: 'x=1', dateText: null, pairs: [], category: 'C', matchedIndicator: null }, DEFAULT_POLICY, RECEIVED), observables: out }, false);
        expect(out).to.have.length(set.size);
      }),
      { numRuns: 500 },
    );
  });
});
