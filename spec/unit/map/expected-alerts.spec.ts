/**
 * Reference lines of the format doc mapped end to end (parseLine + alertFromDetection) and
 * compared with alerts written by hand in spec/fixtures/cybertrace/expected-alerts.json.
 */
import { expect } from 'chai';
import { DEFAULT_POLICY, alertFromDetection } from '../../../src/map/alert.js';
import { parseLine } from '../../../src/parse/kv.js';
import { readFixture, readLineSamples } from '../../support/fixtures.js';

interface Expected {
  title: string;
  severity: number;
  tags: string[];
  observables: [string, string, boolean, string[]][];
}

describe('map: reference lines against hand-written alerts (expected-alerts.json)', () => {
  const lines = new Map(readLineSamples('cybertrace', 'samples.txt').map((s) => [s.id, s.line]));
  const expected = JSON.parse(readFixture('cybertrace', 'expected-alerts.json')) as Record<string, Expected | string>;
  for (const [id, want] of Object.entries(expected)) {
    if (typeof want === 'string') continue; // the file's comment
    it(`${id}: ${want.title}`, () => {
      const line = lines.get(id);
      if (line === undefined) return expect.fail(`no sample ${id}`);
      const parsed = parseLine(line);
      if (!parsed.ok || parsed.value.kind !== 'detection') return expect.fail(`${id} is not a detection`);
      const alert = alertFromDetection(parsed.value, DEFAULT_POLICY, Date.UTC(2024, 9, 13));
      expect(alert.title).to.equal(want.title);
      expect(alert.severity).to.equal(want.severity);
      expect(alert.tags).to.deep.equal(want.tags);
      expect(alert.observables.map((o) => [o.dataType, o.data, o.ioc ?? false, o.tags ?? []])).to.deep.equal(want.observables);
      // `Oct 12 16:14:02` (the %Date% pattern, or ESM's date=) is the event time, local, in the year received.
      const time = /Oct 12 (\d\d):(\d\d):(\d\d)/.exec(line);
      const when = time ? new Date(2024, 9, 12, Number(time[1]), Number(time[2]), Number(time[3])).getTime() : Date.UTC(2024, 9, 13);
      expect(alert.date).to.equal(when);
    });
  }
});
