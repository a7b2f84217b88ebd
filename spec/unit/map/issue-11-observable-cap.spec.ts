/**
 * Issue 11: observables per detection are capped like mail's. One 64 KiB line (tcp.maxLineBytes)
 * of record context made thousands of observables and a body over TheHive 4's 256 kB.
 */
import { expect } from 'chai';
import { alertFromDetection, DEFAULT_POLICY, MAX_DETECTION_OBSERVABLES } from '../../../src/map/alert.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { DetectionRecord } from '../../../src/types.js';

const MAX_LINE_BYTES = 65_536;

function detection(line: string): DetectionRecord {
  const parsed = parseLine(line);
  if (!parsed.ok || parsed.value.kind !== 'detection') throw new Error(`Expected a detection, got ${JSON.stringify(parsed).slice(0, 200)}.`);
  return parsed.value;
}

/** A detection line of at most 64 KiB whose `urls/url` and `src` context holds as many distinct values as fit. */
function floodLine(): { line: string; values: number } {
  const head = 'category=KL_Malicious_URL matchedIndicator=evil.top/gate.php threat=HEUR:Trojan.Script.Generic';
  const srcs = Array.from({ length: 300 }, (_, i) => ` src=10.1.${i >> 8}.${i & 255}`).join('');
  const urls: string[] = [];
  const room = MAX_LINE_BYTES - head.length - srcs.length - ' urls/url='.length;
  for (let i = 0, used = 0; ; i++) {
    const url = `e${i}.kz`;
    if (used + url.length + 1 > room) break;
    urls.push(url);
    used += url.length + 1;
  }
  return { line: `${head}${srcs} urls/url=${urls.join(';')}`, values: 1 + 300 + urls.length };
}

describe('issue 11: observables per detection', () => {
  it('a 64 KiB line gives at most the cap, the matched indicator first, and the description says how many were left out', () => {
    const { line, values } = floodLine();
    expect(Buffer.byteLength(line)).to.be.at.most(MAX_LINE_BYTES);
    expect(values).to.be.above(5000);
    const a = alertFromDetection(detection(line), DEFAULT_POLICY, 0);
    expect(a.observables).to.have.length(MAX_DETECTION_OBSERVABLES);
    // No scheme and no absolute URL of it in the line: `other` (issue 14), still the indicator.
    expect(a.observables[0]).to.deep.equal({ dataType: 'other', data: 'evil.top/gate.php', ioc: true, tags: ['category:KL_Malicious_URL'] });
    // Line order after the indicator: the 300 sources, then the URLs until the cap.
    expect(a.observables[1]?.data).to.equal('10.1.0.0');
    expect(a.observables[301]?.data).to.equal('e0.kz');
    expect(a.observables.at(-1)?.data).to.equal(`e${MAX_DETECTION_OBSERVABLES - 302}.kz`);
    const left = values - MAX_DETECTION_OBSERVABLES;
    expect(a.description).to.include(`_${left} more values were not added as observables (at most ${MAX_DETECTION_OBSERVABLES} per detection); see the table._`);
    // The table keeps every value.
    expect(a.description).to.include(`;e${values - 302}.kz |`);
  });

  it('the cap is a named bound well under what TheHive 4 takes in one body', () => {
    expect(MAX_DETECTION_OBSERVABLES).to.equal(1000);
  });

  it('a value seen again past the cap merges into its observable and is not counted as left out', () => {
    const line = `category=KL_Malicious_URL matchedIndicator=evil.top/a ${Array.from({ length: 1100 }, (_, i) => `src=10.2.${i >> 8}.${i & 255}`).join(' ')} src=10.2.0.0 url=evil.top/a`;
    const a = alertFromDetection(detection(line), DEFAULT_POLICY, 0);
    expect(a.observables).to.have.length(1000);
    expect(a.description).to.include('_101 more values were not added as observables (at most 1000 per detection); see the table._');
  });

  it('an ordinary detection is untouched', () => {
    const a = alertFromDetection(detection('category=KL_Malicious_URL matchedIndicator=evil.top/a src=10.0.0.1 url=http://evil.top/a'), DEFAULT_POLICY, 0);
    // The scheme-less indicator is the event's absolute URL (issue 14): one url observable.
    expect(a.observables.map((o) => o.data)).to.deep.equal(['http://evil.top/a', '10.0.0.1']);
    expect(a.description).to.not.include('more values');
  });
});
