import { expect } from 'chai';
import { DEFAULT_POLICY, alertFromRecord } from '../../../src/map/alert.js';
import { parseLine } from '../../../src/parse/kv.js';
import { GENERATED_CATEGORIES, createRng, generateLine } from '../../../src/tools/cybertrace-gen.js';
import type { DataType } from '../../../src/types.js';

const RECEIVED = new Date(2024, 9, 12, 18, 0, 0).getTime();

function lines(seed: number, count: number, repeatShare?: number): string[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, i) => generateLine(rng, i, repeatShare === undefined ? {} : { repeatShare }));
}

/**
 * The dataType the matched indicator should get, from its category and shape, written here
 * independently of src/map/observables.ts: a mask is `other`; a URL feed's value is `url` with a
 * path, else `ip`, `domain` (two labels) or `fqdn`; IP feeds give `ip`, hash feeds `hash`.
 */
function expectedDataType(category: string, indicator: string, line: string): DataType {
  if (indicator.includes('*')) return 'other';
  if (category.endsWith('_URL')) {
    // A host/path is a url only when the line holds it with a scheme (issue 14), else `other`.
    if (indicator.includes('/')) return new RegExp(`=https?://${indicator.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`).test(line) ? 'url' : 'other';
    if (/^\d+\.\d+\.\d+\.\d+$/.test(indicator)) return 'ip';
    return indicator.split('.').length === 2 ? 'domain' : 'fqdn';
  }
  if (category.includes('_Hash_')) return 'hash';
  return 'ip';
}

describe('tools/cybertrace-gen', () => {
  const sample = lines(42, 10_000);

  it('gives the same lines for the same seed and other lines for another seed', () => {
    expect(lines(42, 2000)).to.deep.equal(sample.slice(0, 2000));
    const other = lines(43, 2000);
    expect(other.filter((l, i) => l === sample[i])).to.have.length(0);
  });

  it('makes every line a detection that parses and maps, with the indicator typed by its category', () => {
    const seenTypes = new Set<string>();
    for (const line of sample) {
      const parsed = parseLine(line);
      if (!parsed.ok || parsed.value.kind !== 'detection') return expect.fail(`not a detection: ${line}`);
      const rec = parsed.value;
      expect(line.startsWith(`${rec.dateText} `), line).to.equal(true);
      const alert = alertFromRecord(rec, DEFAULT_POLICY, RECEIVED);
      if (alert === null || rec.matchedIndicator === null) return expect.fail(`no alert or indicator: ${line}`);
      const ioc = alert.observables[0];
      const want = expectedDataType(rec.category, rec.matchedIndicator, line);
      expect(ioc, line).to.include({ ioc: true, dataType: want });
      expect(ioc?.data.toLowerCase().replace(/^https?:\/\//, '')).to.equal(rec.matchedIndicator.toLowerCase());
      expect(alert.date, `date of ${line}`).to.not.equal(RECEIVED);
      seenTypes.add(want);
    }
    expect([...seenTypes].sort()).to.deep.equal(['domain', 'fqdn', 'hash', 'ip', 'other', 'url']);
  });

  it('mixes every category of the table in roughly its share', () => {
    const counts = new Map<string, number>();
    for (const line of sample) {
      const category = /category=(\S+)/.exec(line)?.[1] ?? '';
      counts.set(category, (counts.get(category) ?? 0) + 1);
    }
    const total = GENERATED_CATEGORIES.reduce((n, [, w]) => n + w, 0);
    for (const [category, weight] of GENERATED_CATEGORIES) {
      const share = (counts.get(category) ?? 0) / sample.length;
      expect(share, category).to.be.within((weight / total) * 0.6, (weight / total) * 1.4 + 0.005);
    }
    expect(counts.size).to.equal(GENERATED_CATEGORIES.length);
  });

  it('averages about 340 bytes a line (median about 320) with a long tail', () => {
    const sizes = sample.map((l) => Buffer.byteLength(l) + 1).sort((a, b) => a - b);
    const mean = sizes.reduce((n, s) => n + s, 0) / sizes.length;
    expect(mean).to.be.within(300, 380);
    expect(sizes[Math.floor(sizes.length / 2)]).to.be.within(250, 360);
    expect(sizes[sizes.length - 1]).to.be.above(1500);
    // Long context fields, `/` keys and non-ASCII values all occur.
    expect(sample.some((l) => l.includes(' whois/org='))).to.equal(true);
    expect(sample.some((l) => l.includes(' ip_whois/net_range='))).to.equal(true);
    expect(sample.some((l) => /files\/MD5=(?:[0-9A-F]{32};){5}/.test(l))).to.equal(true);
    expect(sample.some((l) => Buffer.byteLength(l) > l.length)).to.equal(true);
  });

  it('repeats an earlier indicator in about `repeatShare` of the lines, with the same feed record', () => {
    for (const share of [0, 0.25, 0.6]) {
      const seen = new Map<string, string>();
      let repeats = 0;
      let otherRecord = 0;
      for (const line of lines(7, 5000, share)) {
        const indicator = /matchedIndicator=(\S+)/.exec(line)?.[1] ?? '';
        const context = line.slice(line.indexOf(' usrName=')).replace(/^ usrName=\S+/, '');
        const before = seen.get(indicator);
        if (before === undefined) seen.set(indicator, context);
        else if (before === context) repeats++;
        else otherRecord++;
      }
      expect(repeats / 5000, `share ${share}`).to.be.within(share * 0.9, share * 1.1);
      // Two fresh random indicators may coincide (an address of 198.18.0.0/15), rarely.
      expect(otherRecord, `share ${share}`).to.be.below(25);
    }
  });

  it('gives distinct lines without a counter (10,000 lines of seed 42)', () => {
    expect(new Set(sample).size).to.equal(sample.length);
  });
});
