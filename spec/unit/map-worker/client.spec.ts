/**
 * Issue 15, point 3: the map worker thread. It must give exactly what mapping on the main thread
 * gives, in order, and a worker that fails must cost no line: its batches are mapped here.
 */
import { expect } from 'chai';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { inlineMapper, mapperPool, workerMapper, type LineMapper } from '../../../src/map-worker/client.js';
import { detectionLines } from '../../support/lines.js';
import type { AlertPolicy } from '../../../src/types.js';

const AT = Date.UTC(2026, 11, 5);
const FAILING = new URL('../../support/failing-map-worker.js', import.meta.url);

describe('map worker (issue 15)', function () {
  this.timeout(20000);
  const open: LineMapper[] = [];
  afterEach(async () => {
    for (const m of open.splice(0)) await m.close();
  });

  function batches(count: number, size: number): { lines: string[]; times: number[] }[] {
    return Array.from({ length: count }, (_, b) => {
      const lines = [...detectionLines(size, b * size), 'not a cybertrace line'];
      return { lines, times: lines.map((_l, i) => AT + i) };
    });
  }

  it('maps batches on its thread exactly as the main thread does, each batch answered in turn', async () => {
    const worker = workerMapper(DEFAULT_POLICY, (err) => expect.fail(err.message));
    open.push(worker);
    const inline = inlineMapper(DEFAULT_POLICY);
    const input = batches(20, 100);
    // All sent at once: the answers come back for the right batch.
    const [there, here] = await Promise.all([Promise.all(input.map((b) => worker.map(b))), Promise.all(input.map((b) => inline.map(b)))]);
    expect(there).to.deep.equal(here);
    expect(there[7]?.[100]).to.include({ kind: 'rejected', code: 'ERR_KV_MALFORMED' });
  });

  it('takes the rules (the policy) over to its thread', async () => {
    const policy: AlertPolicy = { ...DEFAULT_POLICY, rules: [{ match: { category: 'KL_*' }, set: { tags: ['from-rule'] } }] };
    const worker = workerMapper(policy, (err) => expect.fail(err.message));
    open.push(worker);
    const [first] = await worker.map({ lines: detectionLines(1), times: [AT] });
    expect(first?.kind === 'alert' && (JSON.parse(first.body) as { tags: string[] }).tags).to.include('from-rule');
  });

  /** spec/support/failing-map-worker.ts under `policy`, the failures it reports, and what the main thread maps of `input`. */
  async function failing(policy: AlertPolicy, input: { lines: string[]; times: number[] }[]) {
    const failures: Error[] = [];
    const worker = workerMapper(policy, (err) => failures.push(err), FAILING);
    open.push(worker);
    const expected = await Promise.all(input.map((b) => inlineMapper(policy).map(b)));
    return { worker, failures, expected };
  }

  it('maps the batches of a worker that exits on the main thread, reports it once, and keeps mapping there', async () => {
    const input = batches(3, 50);
    const { worker, failures, expected } = await failing(DEFAULT_POLICY, input);
    expect(await Promise.all(input.map((b) => worker.map(b)))).to.deep.equal(expected);
    expect(await worker.map(input[0] as { lines: string[]; times: number[] })).to.deep.equal(expected[0]);
    expect(failures.map((e) => e.message)).to.deep.equal(['map worker exited with code 3']);
  });

  it('maps a batch the worker answers with an error on the main thread, and reports each', async () => {
    const input = batches(2, 10);
    const { worker, failures, expected } = await failing({ ...DEFAULT_POLICY, source: 'reply-error' }, input);
    expect(await Promise.all(input.map((b) => worker.map(b)))).to.deep.equal(expected);
    expect(failures.map((e) => e.message)).to.deep.equal(['map worker: this batch threw', 'map worker: this batch threw']);
  });

  it('spreads batches over tcp.mapWorkers threads in turn, each batch answered with its own outcomes', async () => {
    let started = 0;
    const pool = mapperPool(3, () => {
      started++;
      return workerMapper(DEFAULT_POLICY, (err) => expect.fail(err.message));
    });
    open.push(pool);
    expect(started).to.equal(3);
    const input = batches(9, 40);
    const expected = await Promise.all(input.map((b) => inlineMapper(DEFAULT_POLICY).map(b)));
    expect(await Promise.all(input.map((b) => pool.map(b)))).to.deep.equal(expected);
    // One thread: the mapper itself, started once, no pool around it.
    const only = inlineMapper(DEFAULT_POLICY);
    let starts = 0;
    expect(
      mapperPool(1, () => {
        starts++;
        return only;
      }),
    ).to.equal(only);
    expect(starts).to.equal(1);
  });
});
