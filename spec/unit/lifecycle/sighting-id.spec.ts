/**
 * A sighting's id is its line's sourceRef, taken from the alert the mapper built rather than
 * hashed a second time (issue 15 point 4): whatever `alert.rules` change, it must stay that hash.
 */
import { expect } from 'chai';
import { sightingOf } from '../../../src/lifecycle/sighting.js';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { sourceRefFor } from '../../../src/map/source-ref.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { AlertPolicy, DetectionRecord } from '../../../src/types.js';
import { detectionLine } from '../../support/lines.js';

const RULES = {
  rules: [
    { match: { category: 'KL_*' }, set: { title: 'T {{matchedIndicator}}', type: 'other-type', source: 'other-source', severity: 4, tags: ['r'], externalLink: 'https://x.test/{{src}}' } },
  ],
} as unknown as Partial<AlertPolicy>;

describe('lifecycle/sighting id', () => {
  for (const [name, policy] of [['built-in', DEFAULT_POLICY], ['rules that change type, source and title', { ...DEFAULT_POLICY, ...RULES }]] as const) {
    it(`is the line's sourceRef (${name})`, () => {
      for (let i = 0; i < 50; i++) {
        const r = parseLine(`${detectionLine(i)}\r`);
        if (!r.ok || r.value.kind !== 'detection') throw new Error('not a detection');
        const rec: DetectionRecord = r.value;
        const sighting = sightingOf(rec, policy as AlertPolicy, 1_700_000_000_000);
        expect(sighting.id).to.equal(sourceRefFor(rec.line)).and.to.equal(sourceRefFor(detectionLine(i)));
        expect(sighting.alert.sourceRef).to.equal(sighting.id);
      }
    });
  }
  it('a rule did change the alert (the case above is not the built-in one twice)', () => {
    const r = parseLine(detectionLine(0));
    if (!r.ok || r.value.kind !== 'detection') throw new Error('not a detection');
    const sighting = sightingOf(r.value, { ...DEFAULT_POLICY, ...RULES } as AlertPolicy, 1_700_000_000_000);
    expect([sighting.alert.type, sighting.alert.source]).to.deep.equal(['other-type', 'other-source']);
  });
});
