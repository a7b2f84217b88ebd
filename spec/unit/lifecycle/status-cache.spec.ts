import { expect } from 'chai';
import { AlertStatusCache, WEBHOOK_FRESH_MS } from '../../../src/lifecycle/status-cache.js';
import type { AlertOps } from '../../../src/lifecycle/types.js';

/** Ops whose GET answers `status` and counts its calls. */
function getOnly(status: 'open' | 'closed' | 'gone'): AlertOps & { gets: number } {
  const ops = {
    gets: 0,
    get: async (id: string) => {
      ops.gets++;
      return { kind: 'ok' as const, value: status === 'gone' ? { id, status: 'gone' as const } : { id, sourceRef: 'r', status, severity: 2 as const, tags: [] } };
    },
  };
  return ops as unknown as AlertOps & { gets: number };
}

const signal = new AbortController().signal;

describe('lifecycle/status-cache', () => {
  it('without webhooks asks TheHive before every flush', async () => {
    const cache = new AlertStatusCache(0);
    const ops = getOnly('open');
    for (let i = 0; i < 3; i++) expect(await cache.statusOf(ops, '~1', signal)).to.deep.equal({ kind: 'ok', value: 'open' });
    expect(ops.gets).to.equal(3);
  });

  it('with webhooks trusts an open alert for ten minutes, then asks again', async () => {
    let now = 0;
    const cache = new AlertStatusCache(WEBHOOK_FRESH_MS, () => now);
    const ops = getOnly('open');
    await cache.statusOf(ops, '~1', signal);
    now += WEBHOOK_FRESH_MS - 1;
    await cache.statusOf(ops, '~1', signal);
    expect(ops.gets).to.equal(1);
    now += 1;
    await cache.statusOf(ops, '~1', signal);
    expect(ops.gets).to.equal(2);
  });

  it('believes a webhook that says closed or deleted without asking, but not a GET’s closed', async () => {
    const cache = new AlertStatusCache(WEBHOOK_FRESH_MS);
    const ops = getOnly('open');
    cache.learn('~1', 'closed', true);
    cache.learn('~2', 'gone', true);
    expect(await cache.statusOf(ops, '~1', signal)).to.deep.equal({ kind: 'ok', value: 'closed' });
    expect(await cache.statusOf(ops, '~2', signal)).to.deep.equal({ kind: 'ok', value: 'gone' });
    expect(ops.gets).to.equal(0);
    cache.learn('~3', 'closed', false);
    expect(cache.fresh('~3')).to.equal(undefined);
  });
});
