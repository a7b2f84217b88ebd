import { expect } from 'chai';
import { Grouper, GROUP_CLOSE_GRACE_MS } from '../../../src/queue/grouper.js';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { Sighting } from '../../../src/map/group.js';
import type { DetectionRecord } from '../../../src/types.js';

function sighting(indicator: string, at: number, src = '10.0.0.1'): Sighting {
  const parsed = parseLine(`category=KL_Malicious_URL matchedIndicator=${indicator} src=${src}`);
  if (!parsed.ok) throw new Error('bad line');
  return { record: parsed.value as DetectionRecord, receivedAt: at };
}

describe('queue/grouper', () => {
  const policy = DEFAULT_POLICY;

  it('groups detections of one key inside the window; a record after the window closes the group', () => {
    const g = new Grouper({ windowMs: 1000, maxSightings: 100, maxHeld: 1000, policy });
    expect(g.add(1, sighting('evil.test', 0))).to.deep.equal([]);
    expect(g.add(2, sighting('evil.test', 500, '10.0.0.2'))).to.deep.equal([]);
    expect(g.add(3, sighting('other.test', 600))).to.deep.equal([]);
    expect(g.held).to.equal(3);
    const closed = g.add(4, sighting('evil.test', 1000, '10.0.0.4'));
    expect(closed.map((c) => c.ticket)).to.deep.equal([[1, 2]]);
    expect(closed[0]?.alert.title).to.match(/\(2 sightings\)$/);
    // evil.test at 1000 opened a new group; other.test (opened at 600) is still open.
    expect(g.held).to.equal(2);
    expect(g.nextClose).to.equal(1600);
  });

  it('closes a group at maxSightings, inside its window', () => {
    const g = new Grouper({ windowMs: 60_000, maxSightings: 3, maxHeld: 1000, policy });
    g.add(1, sighting('evil.test', 0));
    g.add(2, sighting('evil.test', 1));
    const closed = g.add(3, sighting('evil.test', 2));
    expect(closed.map((c) => c.ticket)).to.deep.equal([[1, 2, 3]]);
    expect(g.held).to.equal(0);
  });

  it('closes the oldest group early when maxHeld sightings are held', () => {
    const g = new Grouper({ windowMs: 60_000, maxSightings: 100, maxHeld: 2, policy });
    g.add(1, sighting('a.test', 0));
    g.add(2, sighting('b.test', 1));
    const closed = g.add(3, sighting('c.test', 2));
    expect(closed.map((c) => c.ticket)).to.deep.equal([[1]]);
    expect(g.held).to.equal(2);
  });

  it('expire() closes by the wall clock only after the window plus the commit grace', () => {
    const g = new Grouper({ windowMs: 1000, maxSightings: 100, maxHeld: 1000, policy });
    g.add(7, sighting('evil.test', 10_000));
    expect(g.expire(11_000)).to.deep.equal([]);
    expect(g.expire(11_000 + GROUP_CLOSE_GRACE_MS - 1)).to.deep.equal([]);
    const closed = g.expire(11_000 + GROUP_CLOSE_GRACE_MS);
    expect(closed.map((c) => c.ticket)).to.deep.equal([[7]]);
    // A group of one is the plain alert.
    expect(closed[0]?.alert.title).to.equal('Malicious URL: evil.test');
  });

  it('forms the same groups when the same records are read again (after a restart)', () => {
    const records = Array.from({ length: 50 }, (_, i) => sighting(i % 3 === 0 ? 'a.test' : 'b.test', i * 100, `10.0.0.${i}`));
    const run = (): string[] => {
      const g = new Grouper({ windowMs: 1000, maxSightings: 100, maxHeld: 1000, policy });
      const out = records.flatMap((s, i) => g.add(i, s));
      out.push(...g.expire(1e12));
      return out.map((c) => `${c.alert.sourceRef}:${c.ticket.join(',')}`);
    };
    expect(run()).to.deep.equal(run());
  });
});
