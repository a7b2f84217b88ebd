import { expect } from 'chai';
import fc from 'fast-check';
import { fullJitter } from '../../../src/queue/backoff.js';

describe('queue/backoff fullJitter', () => {
  it('spans [0, base · 2^attempt] below the cap', () => {
    expect(fullJitter(0, 500, 60_000, () => 0)).to.equal(0);
    expect(fullJitter(0, 500, 60_000, () => 0.9999999)).to.equal(500);
    expect(fullJitter(3, 500, 60_000, () => 0.9999999)).to.equal(4000);
    expect(fullJitter(3, 500, 60_000, () => 0.5)).to.equal(2000);
  });

  it('never exceeds the cap, even for huge attempts', () => {
    expect(fullJitter(7, 500, 60_000, () => 0.9999999)).to.equal(60_000);
    expect(fullJitter(5000, 500, 60_000, () => 0.9999999)).to.equal(60_000);
    expect(fullJitter(Number.MAX_SAFE_INTEGER, 500, 60_000, () => 0.5)).to.equal(30_000);
    expect(fullJitter(2, 500, 100, () => 0.9999999)).to.equal(100);
  });

  it('treats negative, fractional and NaN attempts as the first window, and clamps bad randoms', () => {
    expect(fullJitter(-3, 500, 60_000, () => 0.9999999)).to.equal(500);
    expect(fullJitter(1.7, 500, 60_000, () => 0.9999999)).to.equal(1000);
    expect(fullJitter(Number.NaN, 500, 60_000, () => 0.9999999)).to.equal(500);
    expect(fullJitter(2, 500, 60_000, () => 1)).to.equal(2000);
    expect(fullJitter(2, 500, 60_000, () => -1)).to.equal(0);
  });

  it('rejects a negative or infinite base or cap', () => {
    expect(() => fullJitter(1, -1, 100)).to.throw(TypeError, /baseMs/);
    expect(() => fullJitter(1, 100, Number.POSITIVE_INFINITY)).to.throw(TypeError, /capMs/);
  });

  it('always returns an integer in [0, min(cap, base · 2^attempt)]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 600_000 }), (attempt, base, cap) => {
        const delay = fullJitter(attempt, base, cap);
        return Number.isInteger(delay) && delay >= 0 && delay <= Math.min(cap, base * 2 ** attempt);
      }),
    );
  });

  it('uses the whole window (full jitter, not equal jitter)', () => {
    const delays = Array.from({ length: 2000 }, () => fullJitter(2, 100, 10_000));
    expect(Math.min(...delays)).to.be.below(40);
    expect(Math.max(...delays)).to.be.above(360);
  });
});
