/**
 * The tcp.lineTimeoutMs clock, with explicit times (no wall clock): when a line counts as
 * unfinished, and that time tracehive spent not reading never counts against the peer.
 */
import { expect } from 'chai';
import { LineClock, sweepIntervalMs } from '../../../src/sources/line-clock.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('sources/line-clock', () => {
  it('runs only while a line is unfinished, from the read that began it', () => {
    const c = new LineClock();
    expect(c.overdue(100, 10_000)).to.equal(false);
    c.read(bytes('category=KL'), 1_000);
    c.read(bytes('_Malicious'), 1_080); // same line: the clock keeps its start
    expect(c.overdue(100, 1_099)).to.equal(false);
    expect(c.overdue(100, 1_100)).to.equal(true);
    c.read(bytes('_URL x=1\n'), 1_150);
    expect(c.overdue(100, 60_000)).to.equal(false);
  });

  it('restarts at a read that ends one line and begins the next', () => {
    const c = new LineClock();
    c.read(bytes('a=1'), 1_000);
    c.read(bytes('\nb=2'), 1_090);
    expect(c.overdue(100, 1_150)).to.equal(false);
    expect(c.overdue(100, 1_190)).to.equal(true);
  });

  it('stands still while tracehive does not read, and goes on from there', () => {
    const c = new LineClock();
    c.read(bytes('a=1'), 1_000);
    c.pause(1_050);
    expect(c.overdue(100, 9_000)).to.equal(false);
    c.resume(9_000); // 50 ms were used before the pause: 50 are left
    expect(c.overdue(100, 9_049)).to.equal(false);
    expect(c.overdue(100, 9_050)).to.equal(true);
  });

  it('gives a line begun during a pause its whole time from the resume', () => {
    const c = new LineClock();
    c.pause(1_000);
    c.read(bytes('a=1'), 2_000);
    c.resume(5_000);
    expect(c.overdue(100, 5_099)).to.equal(false);
    expect(c.overdue(100, 5_100)).to.equal(true);
  });

  it('sweeps at half the limit, between 20 ms and once a second', () => {
    expect(sweepIntervalMs(30_000)).to.equal(1000);
    expect(sweepIntervalMs(500)).to.equal(250);
    expect(sweepIntervalMs(1)).to.equal(20);
  });
});
