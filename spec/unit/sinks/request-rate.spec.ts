import { expect } from 'chai';
import { RequestRate } from '../../../src/sinks/request-rate.js';

describe('sinks/request-rate: queue.ratePerSec as a sliding window', () => {
  it('lets N requests start in any window and no more, in arrival order', async () => {
    // 3 per 200 ms (the window is a parameter so the test takes 0.4 s, not 2 s).
    const rate = new RequestRate(3, Date.now, 200);
    const signal = new AbortController().signal;
    const started: { i: number; at: number }[] = [];
    const begin = Date.now();
    await Promise.all(Array.from({ length: 7 }, (_, i) => rate.take(signal).then(() => started.push({ i, at: Date.now() }))));
    expect(started.map((s) => s.i)).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    for (let k = 3; k < started.length; k++) expect((started[k] as { at: number }).at - (started[k - 3] as { at: number }).at, `start ${k}`).to.be.at.least(195); // recorded just after each start: a few ms of scheduling either way
    expect(Date.now() - begin).to.be.at.least(400);
  });

  it('is unlimited at 0, and a waiting caller whose signal aborts leaves the line', async () => {
    const free = new RequestRate(0);
    const signal = new AbortController().signal;
    for (let i = 0; i < 100; i++) expect(await free.take(signal)).to.equal(true);
    const rate = new RequestRate(1, () => 0, 1000);
    expect(await rate.take(signal)).to.equal(true);
    const abort = new AbortController();
    const waiting = rate.take(abort.signal);
    abort.abort();
    expect(await waiting).to.equal(false);
  });
});
