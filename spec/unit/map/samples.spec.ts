import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { DEFAULT_POLICY, alertFromRecord } from '../../../src/map/alert.js';
import { escapeCell } from '../../../src/map/description.js';
import { parseLine } from '../../../src/parse/kv.js';
import { BUILTIN_DATATYPES, type Alert } from '../../../src/types.js';
import { readLineSamples } from '../../support/fixtures.js';

// Every documented sample through parser + mapper. Expectations are invariants computed here
// (node:crypto for the ref, the raw line for the data), never by the code under test.

const BUILTIN: ReadonlySet<string> = new Set(BUILTIN_DATATYPES);
const RECEIVED = new Date(2024, 9, 12, 18, 0, 0).getTime();

/** The ref as contract §4 defines it, computed independently of src/map/source-ref.ts. */
function expectedRef(raw: string): string {
  const normalised = raw.replace(/\r/g, '').replace(/[ \t\n\v\f]+$/, '');
  return 'ct-' + createHash('sha256').update(normalised, 'utf8').digest('hex').slice(0, 20);
}

function checkInvariants(alert: Alert, raw: string, hashed = raw): void {
  expect(alert.type.length).to.be.within(1, 32);
  expect(alert.source.length).to.be.within(1, 32);
  expect(alert.sourceRef).to.equal(expectedRef(hashed));
  expect(alert.title.length).to.be.within(1, 512);
  expect(alert.description.length).to.be.within(1, 1_048_576);
  expect([1, 2, 3, 4]).to.include(alert.severity);
  expect(Number.isFinite(alert.date)).to.equal(true);
  expect(alert.date).to.be.at.most(RECEIVED + 86_400_000);
  expect(new Set(alert.tags).size).to.equal(alert.tags.length);
  for (const t of alert.tags) expect(t.length).to.be.within(1, 128);
  const seen = new Set<string>();
  for (const o of alert.observables) {
    expect(BUILTIN.has(o.dataType), o.dataType).to.equal(true);
    expect(o.data.length).to.be.within(1, 4096);
    expect(raw.toLowerCase(), `observable ${o.data} comes from the line`).to.contain(o.data.toLowerCase());
    const key = `${o.dataType}\u0000${o.data}`;
    expect(seen.has(key), `duplicate ${key}`).to.equal(false);
    seen.add(key);
  }
}

// samples.txt is the documented corpus; hostile.txt (the parser's hostile lines) must map just as safely.
for (const file of ['samples.txt', 'hostile.txt']) describe(`map: every line of spec/fixtures/cybertrace/${file} through parseLine + the mapper`, () => {
  const samples = readLineSamples('cybertrace', file);

  it('has samples', () => expect(samples.length).to.be.greaterThan(0));

  for (const { id, description, line } of samples) {
    it(`${id} ${description}`, () => {
      const parsed = parseLine(line);
      if (!parsed.ok) return; // refused lines never reach the mapper
      const rec = parsed.value;
      const alert = alertFromRecord(rec, DEFAULT_POLICY, RECEIVED);
      if (rec.kind === 'finished') {
        expect(alert).to.equal(null);
        return;
      }
      if (alert === null) return expect.fail('a detection or service alert must map to an alert');
      // KUMA, LEEF, relayed and glued lines are hashed as their plain equivalent (rec.line).
      const rewritten = rec.format === 'kuma' || rec.format === 'leef' || rec.framing !== undefined || rec.glued !== undefined;
      checkInvariants(alert, line, rewritten ? rec.line : line);
      // Sent again with CRLF and trailing blanks: the same alert.
      const again = parseLine(`${line} \r\n`);
      if (again.ok) expect(alertFromRecord(again.value, DEFAULT_POLICY, RECEIVED)?.sourceRef).to.equal(alert.sourceRef);
      expect(alert.tags[0]).to.equal('cybertrace');
      if (rec.kind === 'service') {
        expect(alert.type).to.equal('cybertrace-service');
        expect(alert.observables).to.deep.equal([]);
        expect(alert.tags).to.include(`alert:${rec.alert}`);
        return;
      }
      expect(alert.type).to.equal('cybertrace');
      expect(alert.tags[1]).to.equal(`category:${rec.category}`);
      // Every pair with a value has its row; `-` and empty values have none.
      for (const pair of rec.pairs) {
        const row = `| ${escapeCell(pair.key)} | ${escapeCell(pair.value)} |`;
        if (pair.value === null) expect(alert.description).to.not.contain(row);
        else expect(alert.description).to.contain(row);
      }
      if (rec.matchedIndicator !== null) {
        const ioc = alert.observables.filter((o) => o.ioc === true);
        expect(ioc, 'the matched indicator is the one ioc').to.have.length(1);
        // A URL without a scheme is the event's absolute URL it abbreviates, when there is one.
        const data = (ioc[0]?.data ?? '').toLowerCase();
        const indicator = rec.matchedIndicator.trim().toLowerCase();
        expect(data === indicator || (ioc[0]?.dataType === 'url' && data.endsWith(`://${indicator}`)), data).to.equal(true);
        expect(ioc[0]?.tags).to.include(`category:${rec.category}`);
        // IP reputation adds `(malware, threat score 97)` after the indicator.
        expect(alert.title.replace(/ \([^)]*\)$/, '').endsWith(`: ${rec.matchedIndicator}`)).to.equal(true);
      }
    });
  }

  it('gives every distinct sample line its own sourceRef', () => {
    const refs = new Map<string, string>();
    for (const { line } of samples) {
      const parsed = parseLine(line);
      if (!parsed.ok) continue;
      const alert = alertFromRecord(parsed.value, DEFAULT_POLICY, RECEIVED);
      if (alert !== null) refs.set(parsed.value.line, alert.sourceRef);
    }
    expect(new Set(refs.values()).size).to.equal(refs.size);
  });
});
