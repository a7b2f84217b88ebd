/**
 * Issue 15: lines mapped and encoded at accept, in batches (the map worker's work). What the queue
 * gets must be byte for byte what the feeder made of the same line before (parse, map, encode),
 * and the outcomes must survive the trip between threads whatever a field holds.
 */
import { expect } from 'chai';
import { alertFromRecord, DEFAULT_POLICY } from '../../../src/map/alert.js';
import { stringWidth } from '../../support/string-width.js';
import { mapLineBatch, metaOf, packOutcomes, unpackOutcomes, type LineOutcome } from '../../../src/map/line-batch.js';
import { parseLine } from '../../../src/parse/kv.js';
import { wireAlert } from '../../../src/sinks/rule-refusal.js';
import { readLineSamples } from '../../support/fixtures.js';
import { detectionLines } from '../../support/lines.js';
import type { AlertPolicy } from '../../../src/types.js';

const AT = Date.UTC(2026, 11, 5, 12, 0, 0);
const samples = readLineSamples('cybertrace', 'samples.txt').map((s) => s.line);
const RULES: AlertPolicy = { ...DEFAULT_POLICY, rules: [{ match: { category: '*_Phishing_*' }, set: { target: 'tenant-b', tags: ['phish'] } }, { match: { peer: ['192.0.2.0/24'] }, set: { organisation: 'soc-b' } }] };

/** What the feeder made of a line: parsed, mapped with its receive time, encoded as the v1 body. */
function feederBody(line: string, policy: AlertPolicy, peer?: string): string | undefined {
  const parsed = parseLine(line);
  if (!parsed.ok || parsed.value.kind !== 'detection') return undefined;
  const alert = alertFromRecord(parsed.value, policy, AT, peer);
  return alert === null ? undefined : JSON.stringify(wireAlert(alert));
}

describe('mapLineBatch (issue 15: map at accept)', () => {
  it('encodes every fixture detection exactly as the feeder did, with its sourceRef', () => {
    const lines = [...samples, ...detectionLines(200)];
    const outcomes = mapLineBatch({ lines, times: lines.map(() => AT) }, DEFAULT_POLICY);
    let alerts = 0;
    lines.forEach((line, i) => {
      const o = outcomes[i] as LineOutcome;
      const body = feederBody(line, DEFAULT_POLICY);
      if (body === undefined) {
        expect(o.kind, line).to.not.equal('alert');
        return;
      }
      alerts++;
      expect(o.kind, line).to.equal('alert');
      if (o.kind !== 'alert') return;
      expect(o.body).to.equal(body);
      expect(o.sourceRef).to.equal((JSON.parse(body) as { sourceRef: string }).sourceRef);
      expect(o.meta).to.equal('');
    });
    expect(alerts).to.be.above(220);
  });

  it('applies the rules with each line’s peer, and keeps their meta (target, organisation) for the queue', () => {
    const line = 'Oct 12 16:15:10 category=KL_Phishing_URL matchedIndicator=p.example.test src=10.20.3.17';
    const [a, b] = mapLineBatch({ lines: [line, line], times: [AT, AT], peers: ['192.0.2.7', '198.51.100.1'] }, RULES);
    if (a?.kind !== 'alert' || b?.kind !== 'alert') throw new Error('expected two alerts');
    expect(a.body).to.equal(feederBody(line, RULES, '192.0.2.7'));
    expect(metaOf(a)).to.include({ target: 'tenant-b', organisation: 'soc-b' });
    expect(metaOf(b)?.organisation).to.equal(undefined);
    expect(JSON.parse(a.body)).to.not.have.property('meta');
  });

  it('tells rejected lines by their code, counts finished markers, and leaves service alerts to the main thread', () => {
    const lines = ['no pairs at all', '   ', 'Oct 12 16:20:33 event=LookupFinished sent_events=2 total=KL_Malicious_Hash_MD5:1;', 'Apr 16 09:05:41 alert=KL_ALERT_UpdatedFeed feed=Phishing_URL_Data_Feed.json records=200473'];
    const outcomes = mapLineBatch({ lines, times: lines.map(() => AT) }, DEFAULT_POLICY);
    expect(outcomes.map((o) => o.kind)).to.deep.equal(['rejected', 'rejected', 'none', 'main']);
    expect(outcomes[1]).to.include({ code: 'ERR_LINE_EMPTY' });
    expect(outcomes[2]).to.include({ recordKind: 'finished' });
  });

  it('only parses when told the spool’s readers are behind (parseOnly): a detection is not mapped, the rest as always', () => {
    const lines = [...detectionLines(3), 'no pairs at all'];
    const outcomes = mapLineBatch({ lines, times: lines.map(() => AT), parseOnly: true }, DEFAULT_POLICY);
    expect(outcomes.map((o) => o.kind)).to.deep.equal(['detection', 'detection', 'detection', 'rejected']);
    expect(unpackOutcomes(packOutcomes(outcomes), 4)).to.deep.equal(outcomes);
  });

  it('takes the mapping clock from each line’s receive time', () => {
    const line = 'category=KL_Malicious_URL matchedIndicator=x.example.test';
    const [early, late] = mapLineBatch({ lines: [line, line], times: [AT, AT + 3_600_000] }, DEFAULT_POLICY);
    if (early?.kind !== 'alert' || late?.kind !== 'alert') throw new Error('expected two alerts');
    expect((JSON.parse(late.body) as { date: number }).date - (JSON.parse(early.body) as { date: number }).date).to.equal(3_600_000);
  });
});

describe('packOutcomes / unpackOutcomes', () => {
  // What postMessage does to the packed outcomes on their way to the main thread.
  const cross = (packed: readonly string[]): readonly string[] => structuredClone(packed);

  it('round-trips every kind of outcome, whatever a field holds', () => {
    const outcomes: LineOutcome[] = [
      { kind: 'alert', body: '{"title":"a\\u0001b é ☃"}', sourceRef: 'ref-1', meta: '{"rules":[],"setBy":[],"target":"t"}', glued: 2 },
      { kind: 'rejected', code: 'ERR_KV_MALFORMED', detail: 'odd\u0001detail \u0000 😀' },
      { kind: 'none', recordKind: 'finished', glued: 0 },
      { kind: 'detection', glued: 3 },
      { kind: 'main' },
    ];
    expect(unpackOutcomes(cross(packOutcomes(outcomes)), outcomes.length)).to.deep.equal(outcomes);
    expect(unpackOutcomes(cross(packOutcomes([])), 0)).to.deep.equal([]);
  });

  it('refuses fields that are not the outcomes of that many lines', () => {
    const packed = packOutcomes([{ kind: 'main' }, { kind: 'main' }]);
    expect(() => unpackOutcomes(packed, 3)).to.throw(/Expected 15 fields for 3 lines, got 10/);
    expect(() => unpackOutcomes(['X', '', '', '', ''], 1)).to.throw(/Unknown outcome tag "X" for line 0/);
  });

  // Each string crosses on its own: one with a character above U+00FF is two-byte, and every
  // other stays one-byte beside it (a joined string would have made them all two-byte).
  it('keeps every alert body of a real batch with wide lines byte for byte, the narrow ones one-byte', () => {
    const wide = 'category=KL_Malicious_URL matchedIndicator=€uro.test threat=Trojan.Win32.€';
    const lines = [...detectionLines(20), wide, ...detectionLines(5, 20)];
    const outcomes = mapLineBatch({ lines, times: lines.map(() => AT) }, RULES);
    const back = unpackOutcomes(cross(packOutcomes(outcomes)), lines.length);
    expect(back).to.deep.equal(outcomes);
    back.forEach((o, i) => {
      if (o.kind !== 'alert') return;
      expect(stringWidth(o.body), `line ${i}`).to.equal(lines[i] === wide ? 2 : 1);
    });
  });

  it('round-trips a whole batch of real detections', () => {
    const lines = detectionLines(300);
    const outcomes = mapLineBatch({ lines, times: lines.map(() => AT) }, RULES);
    expect(unpackOutcomes(cross(packOutcomes(outcomes)), lines.length)).to.deep.equal(outcomes);
  });
});
