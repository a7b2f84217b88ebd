import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { ACK_FILE, AckSet, readAcks } from '../../../src/queue/spool-acks.js';

/** A set built by `add` calls, in order. */
const added = (...seqs: number[]): AckSet => {
  const set = new AckSet();
  for (const seq of seqs) set.add(seq);
  return set;
};

describe('queue/spool-acks', () => {
  it('keeps the invariant form: a cursor, then sorted, disjoint, non-adjacent ranges above it', () => {
    const cases: { name: string; set: AckSet; json: { cursor: number; ranges: [number, number][] }; maxSeq: number }[] = [
      { name: 'empty', set: new AckSet(), json: { cursor: 1, ranges: [] }, maxSeq: 0 },
      { name: 'in order: only the cursor moves', set: added(1, 2, 3), json: { cursor: 4, ranges: [] }, maxSeq: 3 },
      { name: 'a gap opens a range', set: added(1, 5), json: { cursor: 2, ranges: [[5, 5]] }, maxSeq: 5 },
      { name: 'adjacent seqs extend a range both ways', set: added(5, 6, 4), json: { cursor: 1, ranges: [[4, 6]] }, maxSeq: 6 },
      { name: 'filling a one-seq gap joins two ranges', set: added(3, 5, 4), json: { cursor: 1, ranges: [[3, 5]] }, maxSeq: 5 },
      { name: 'the cursor absorbs a range it reaches', set: added(2, 3, 7, 1), json: { cursor: 4, ranges: [[7, 7]] }, maxSeq: 7 },
    ];
    for (const c of cases) {
      expect(c.set.toJSON(), c.name).to.deep.equal(c.json);
      expect(c.set.maxSeq, c.name).to.equal(c.maxSeq);
    }
  });

  it('add is false for a seq already acked, below the cursor or inside a range', () => {
    const set = added(1, 2, 5, 6);
    expect([1, 2, 5, 6].map((s) => set.add(s))).to.deep.equal([false, false, false, false]);
    expect(set.add(4)).to.equal(true);
    expect(set.toJSON()).to.deep.equal({ cursor: 3, ranges: [[4, 6]] });
  });

  it('addRange merges every range it overlaps or touches, and moves the cursor when it starts there', () => {
    const set = added(3, 6, 10, 20);
    set.addRange(7, 9); // touches [6,6] and [10,10]
    expect(set.toJSON()).to.deep.equal({ cursor: 1, ranges: [[3, 3], [6, 10], [20, 20]] });
    set.addRange(2, 25); // swallows everything above the cursor
    expect(set.toJSON()).to.deep.equal({ cursor: 1, ranges: [[2, 25]] });
    set.addRange(1, 1); // reaches the range: the cursor absorbs it
    expect(set.toJSON()).to.deep.equal({ cursor: 26, ranges: [] });
    set.addRange(5, 3); // empty
    set.addRange(1, 10); // all below the cursor
    expect(set.toJSON()).to.deep.equal({ cursor: 26, ranges: [] });
  });

  it('behaves like a plain set of seqs whatever the order of adds and range adds', () => {
    const op = fc.oneof(
      fc.integer({ min: 1, max: 60 }).map((seq) => ({ seq })),
      fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 8 })).map(([from, len]) => ({ from, to: from + len })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const set = new AckSet();
        const model = new Set<number>();
        for (const o of ops) {
          if ('seq' in o) {
            expect(set.add(o.seq)).to.equal(!model.has(o.seq));
            model.add(o.seq);
          } else {
            set.addRange(o.from, o.to);
            for (let s = o.from; s <= o.to; s++) model.add(s);
          }
        }
        for (let s = 1; s <= 70; s++) expect(set.has(s), `seq ${s}`).to.equal(model.has(s));
        expect(set.maxSeq).to.equal(Math.max(0, ...model));
        const { cursor, ranges } = set.toJSON();
        expect(model.has(cursor)).to.equal(false);
        let last = cursor;
        for (const [from, to] of ranges) {
          expect(from, 'sorted, disjoint and non-adjacent').to.be.above(last);
          expect(to).to.be.at.least(from);
          last = to + 1;
        }
        expect(AckSet.fromJSON(JSON.parse(JSON.stringify(set))).toJSON()).to.deep.equal(set.toJSON());
      }),
    );
  });

  it('fromJSON normalises what it reads and rejects anything but {cursor, ranges}', () => {
    expect(AckSet.fromJSON({ cursor: 3, ranges: [[3, 4], [9, 9], [8, 8]] }).toJSON()).to.deep.equal({ cursor: 5, ranges: [[8, 9]] });
    const bad: unknown[] = [null, {}, { cursor: 0, ranges: [] }, { cursor: 1.5, ranges: [] }, { cursor: 1 }, { cursor: 1, ranges: [[2]] }, { cursor: 1, ranges: [[5, 4]] }, { cursor: 1, ranges: [[0, 1]] }, { cursor: 1, ranges: ['x'] }];
    for (const value of bad) expect(() => AckSet.fromJSON(value), JSON.stringify(value)).to.throw();
  });

  describe('readAcks', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tracehive-acks-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads ack.json; a missing file is an empty set, a damaged one is reported and read as empty', async () => {
      const reports: Error[] = [];
      const report = (err: Error): void => void reports.push(err);
      expect((await readAcks(dir, report)).toJSON()).to.deep.equal({ cursor: 1, ranges: [] });
      expect(reports).to.have.length(0);

      await writeFile(join(dir, ACK_FILE), JSON.stringify({ cursor: 4, ranges: [[6, 7]] }));
      expect((await readAcks(dir, report)).toJSON()).to.deep.equal({ cursor: 4, ranges: [[6, 7]] });
      expect(reports).to.have.length(0);

      await writeFile(join(dir, ACK_FILE), '{"cursor": 4, "ran');
      expect((await readAcks(dir, report)).toJSON()).to.deep.equal({ cursor: 1, ranges: [] });
      expect(reports).to.have.length(1);
      expect(reports[0]?.message).to.match(/is damaged .*every record on disk is sent again/);
    });
  });
});
