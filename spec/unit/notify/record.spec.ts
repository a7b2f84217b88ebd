/**
 * When a notification is tried again and when it is given up (issue 12 point 5): backoff from 1 s
 * to 10 min, Retry-After honoured, 16 attempts or 24 h.
 */
import { expect } from 'chai';
import { afterFailure, MAX_ATTEMPTS, newRecord, withChannel, type ChannelState } from '../../../src/notify/record.js';
import { parseRetryAfter } from '../../../src/net/retry-after.js';

const event = { sourceRef: 'r', title: 't', severity: 4 as const, previousSeverity: null, sightings: 1, firstSeen: 0, lastSeen: 0, organisation: '', iocs: [] };

describe('notification retries', () => {
  const t0 = 1_000_000;
  const record = newRecord(event, ['mail', 'webhook'], t0);

  it('retries first after 1-2 s, never waits more than 10 min, honours Retry-After', () => {
    const first = afterFailure(record, { state: 'pending', attempts: 0, nextAt: t0 }, 'down', t0, undefined, () => 0.999);
    expect('retry' in first && first.retry.nextAt - t0).to.be.within(1000, 2000);
    const late = afterFailure(record, { state: 'pending', attempts: 12, nextAt: t0 }, 'down', t0, undefined, () => 0.999);
    expect('retry' in late && late.retry.nextAt - t0).to.be.within(1000, 600_000);
    const told = afterFailure(record, { state: 'pending', attempts: 0, nextAt: t0 }, '503', t0, 7000);
    expect('retry' in told && told.retry.nextAt - t0).to.equal(7000);
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts or 24 h after it was recorded (ERR_NOTIFY_ATTEMPTS)`, () => {
    const tired = afterFailure(record, { state: 'pending', attempts: MAX_ATTEMPTS - 1, nextAt: t0 }, 'down', t0);
    expect('giveUp' in tired && tired.giveUp).to.match(/^ERR_NOTIFY_ATTEMPTS: 16 attempts/);
    const old = afterFailure(record, { state: 'pending', attempts: 3, nextAt: t0 }, 'down', t0 + 24 * 3600_000);
    expect('giveUp' in old && old.giveUp).to.match(/^ERR_NOTIFY_ATTEMPTS: still failing 24 h/);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3', 0)).to.equal(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).to.equal(6000);
    expect(parseRetryAfter('soon', 0)).to.equal(undefined);
  });

  it('becomes a marker without the event once every channel is sent or dead, not before', () => {
    const sent: ChannelState = { state: 'sent', attempts: 1, nextAt: t0 };
    const half = withChannel(record, 'mail', sent, t0);
    expect(half.event).to.deep.equal(event);
    const done = withChannel(half, 'webhook', { state: 'dead', attempts: 3, nextAt: t0 }, t0 + 5);
    expect(done.event).to.equal(undefined);
    expect(done.doneAt).to.equal(t0 + 5);
  });
});
