/**
 * The alert lifecycle's requests against the stand-in TheHive 5 and 4 over real HTTP: what each
 * answers, how an existing alert is found, that updates never drop an analyst's tag, that `auto`
 * picks the API TheHive speaks, and that `queue.ratePerSec` counts every request.
 */
import { expect } from 'chai';
import { alertStatusOf } from '../../../src/sinks/thehive-ops.js';
import { createTheHiveSink, type TheHiveSink } from '../../../src/sinks/thehive.js';
import type { AlertOps } from '../../../src/lifecycle/types.js';
import type { Alert } from '../../../src/types.js';
import { testAlert } from '../../support/alerts.js';
import { startFakeTheHive, type FakeTheHive } from '../../support/fake-thehive.js';

const KEY = 'ops-key';
const signal = new AbortController().signal;

function sinkFor(hive: FakeTheHive, api: 'auto' | 'v1' | 'v0', ratePerSec = 0): TheHiveSink {
  return createTheHiveSink({ url: hive.url, apiKey: KEY, organisation: '', api, tlsVerify: true, timeoutMs: 5000, ratePerSec });
}

function alertOf(sourceRef: string, over: Partial<Alert> = {}): Alert {
  return { ...testAlert(sourceRef), tags: ['tracehive'], observables: [{ dataType: 'ip', data: '203.0.113.7', ioc: true }], ...over };
}

for (const version of [5, 4] as const) {
  describe(`sinks/thehive ops on TheHive ${version}`, () => {
    let hive: FakeTheHive;
    let sink: TheHiveSink;
    let ops: AlertOps;
    beforeEach(async () => {
      hive = await startFakeTheHive({ apiKey: KEY, version });
      sink = sinkFor(hive, 'auto');
      ops = sink.ops as AlertOps;
    });
    afterEach(async () => {
      await sink.close();
      await hive.close();
    });

    it(`finds out with GET /api/status that TheHive ${version} speaks ${version === 5 ? 'v1' : 'v0'}`, async () => {
      const created = await ops.create(alertOf('r-1'), signal);
      expect(created.kind).to.equal('ok');
      expect(sink.api).to.equal(version === 5 ? 'v1' : 'v0');
      const paths = hive.requests.map((r) => `${r.method} ${r.path}`);
      expect(paths).to.deep.equal(['GET /api/status', version === 5 ? 'POST /api/v1/alert' : 'POST /api/alert']);
      expect(hive.alert('r-1')?.observables.map((o) => o.data)).to.deep.equal(['203.0.113.7']);
    });

    it('asks GET /api/status once for requests that start together', async () => {
      await Promise.all(['c-1', 'c-2', 'c-3', 'c-4'].map((ref) => ops.create(alertOf(ref), signal)));
      expect(hive.requests.filter((r) => r.path === '/api/status')).to.have.length(1);
      expect(hive.alerts).to.have.length(4);
    });

    it('creates, then on "already exists" answers the existing id as a duplicate', async () => {
      const first = await ops.create(alertOf('r-1'), signal);
      const again = await ops.create(alertOf('r-1'), signal);
      if (first.kind !== 'ok' || again.kind !== 'ok') throw new Error('expected both to succeed');
      expect(first.value).to.deep.equal({ id: hive.alert('r-1')?._id, duplicate: false });
      expect(again.value).to.deep.equal({ id: first.value.id, duplicate: true });
      expect(hive.alerts).to.have.length(1);
    });

    it('reads open, closed (imported, ignored) and gone', async () => {
      const ids: string[] = [];
      for (const ref of ['a', 'b', 'c', 'd']) {
        const r = await ops.create(alertOf(ref), signal);
        if (r.kind !== 'ok') throw new Error('create failed');
        ids.push(r.value.id);
      }
      hive.importIntoCase('b');
      hive.closeAlert('c', 'Ignored');
      hive.deleteAlert('d');
      const statuses = [];
      for (const id of ids) {
        const got = await ops.get(id, signal);
        statuses.push(got.kind === 'ok' ? got.value.status : got.kind);
      }
      expect(statuses).to.deep.equal(['open', 'closed', 'closed', 'gone']);
    });

    it('updates with absolute values and adds its tags without dropping the analyst’s', async () => {
      const r = await ops.create(alertOf('r-1'), signal);
      if (r.kind !== 'ok') throw new Error('create failed');
      const stored = hive.alert('r-1');
      stored?.tags.push('analyst:escalate');
      const updated = await ops.update(r.value.id, { title: 'x (3 sightings)', description: 'table', severity: 4, addTags: ['sightings:many'] }, signal);
      expect(updated.kind).to.equal('ok');
      expect(hive.alert('r-1')).to.include({ title: 'x (3 sightings)', description: 'table', severity: 4 });
      expect(hive.alert('r-1')?.tags).to.deep.equal(['tracehive', 'analyst:escalate', 'sightings:many']);
      const last = hive.requests.at(-1);
      expect([last?.method, last?.status]).to.deep.equal(['PATCH', version === 5 ? 204 : 200]);
    });

    it('adds observables, counting the ones TheHive already has (207) as there', async () => {
      const r = await ops.create(alertOf('r-1'), signal);
      if (r.kind !== 'ok') throw new Error('create failed');
      const added = await ops.addObservables(
        r.value.id,
        [
          { dataType: 'ip', data: '203.0.113.7', ioc: true },
          { dataType: 'ip', data: '203.0.113.9', ioc: true },
          { dataType: 'domain', data: 'evil.example.com' },
        ],
        signal,
      );
      expect(added).to.deep.equal({ kind: 'ok', value: { added: 2, existed: 1 } });
      expect(hive.alert('r-1')?.observables.map((o) => o.data)).to.deep.equal(['203.0.113.7', '203.0.113.9', 'evil.example.com']);
    });

    it('finds an alert by sourceRef or by tag, newest first, and null when none', async () => {
      await ops.create(alertOf('g-1', { tags: ['key:k1'] }), signal);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await ops.create(alertOf('g-2', { tags: ['key:k1'] }), signal);
      const byTag = await ops.find({ tag: 'key:k1' }, signal);
      expect(byTag.kind === 'ok' && byTag.value?.sourceRef).to.equal('g-2');
      const byRef = await ops.find({ sourceRef: 'g-1' }, signal);
      expect(byRef.kind === 'ok' && byRef.value?.id).to.equal(hive.alert('g-1')?._id);
      expect(await ops.find({ tag: 'key:none' }, signal)).to.deep.equal({ kind: 'ok', value: null });
    });

    it('treats a 403 as a permission problem to retry, never as a missing alert', async () => {
      const r = await ops.create(alertOf('r-1'), signal);
      if (r.kind !== 'ok') throw new Error('create failed');
      hive.faultAny({ kind: 'status', status: 403, body: { type: 'AuthorizationError', message: 'Operation not permitted' } });
      const got = await ops.update(r.value.id, { title: 't' }, signal);
      expect(got).to.include({ kind: 'retry', auth: true });
      expect(hive.alerts).to.have.length(1);
    });
  });
}

describe('sinks/thehive ops: a rule’s organisation', () => {
  for (const version of [5, 4] as const) {
    it(`sends every request about an alert a rule put in another organisation there (TheHive ${version})`, async () => {
      const hive = await startFakeTheHive({ apiKey: KEY, version, organisation: 'soc', organisations: ['tenantA'] });
      const sink = sinkFor(hive, 'auto');
      const ops = sink.ops as AlertOps;
      try {
        const meta = { rules: ['alert.rules[0] (tenant-a)'], setBy: [{ field: 'organisation', rule: 'alert.rules[0] (tenant-a)' }], organisation: 'tenantA' };
        const created = await ops.create(alertOf('t-1', { meta }), signal);
        if (created.kind !== 'ok') throw new Error(`create failed: ${JSON.stringify(created)}`);
        const id = created.value.id;
        expect(hive.alert('t-1')?.organisation).to.equal('tenantA');
        // Without it the alert is not found where the request looks (the stand-in, as TheHive: 404 / 403).
        const lost = await ops.get(id, signal);
        expect(lost.kind === 'ok' ? lost.value.status : lost.kind).to.equal('gone');
        expect((await ops.update(id, { title: 'x' }, signal)).kind).to.not.equal('ok');
        // With it: found, updated, observables added, found by the query API.
        const found = await ops.get(id, signal, 'tenantA');
        expect(found.kind === 'ok' ? found.value.status : found.kind).to.equal('open');
        expect((await ops.update(id, { title: 'Updated in tenantA', addTags: ['more'] }, signal, 'tenantA')).kind).to.equal('ok');
        expect((await ops.addObservables(id, [{ dataType: 'ip', data: '198.51.100.9', ioc: false }], signal, 'tenantA')).kind).to.equal('ok');
        expect(hive.alert('t-1')?.title).to.equal('Updated in tenantA');
        expect(hive.alert('t-1')?.observables.map((o) => o.data)).to.include('198.51.100.9');
        const byRef = await ops.find({ sourceRef: 't-1' }, signal, 'tenantA');
        expect(byRef.kind === 'ok' ? byRef.value?.id : byRef.kind).to.equal(id);
        const elsewhere = await ops.find({ sourceRef: 't-1' }, signal);
        expect(elsewhere.kind === 'ok' ? elsewhere.value : elsewhere.kind).to.equal(null);
        // "Already exists" in tenantA is resolved in tenantA too.
        const again = await ops.create(alertOf('t-1', { meta }), signal);
        expect(again.kind === 'ok' ? again.value : again.kind).to.deep.equal({ id, duplicate: true });
      } finally {
        await sink.close();
        await hive.close();
      }
    });
  }
});

describe('sinks/thehive: requests and the rate', () => {
  let hive: FakeTheHive;
  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: KEY });
  });
  afterEach(() => hive.close());

  it('counts every request against queue.ratePerSec, not only creates', async () => {
    const sink = sinkFor(hive, 'v1', 5);
    const ops = sink.ops as AlertOps;
    const r = await ops.create(alertOf('r-1'), signal);
    if (r.kind !== 'ok') throw new Error('create failed');
    const started = Date.now();
    // 1 create + 10 GETs + 1 PATCH = 12 requests at 5 a second: the last starts after 2 s, not at once.
    for (let i = 0; i < 10; i++) await ops.get(r.value.id, signal);
    await ops.update(r.value.id, { title: 'x' }, signal);
    // Seen by the server: the client starts them 1 s apart (request-rate.spec.ts checks that exactly);
    // on arrival they keep that spacing give or take the loopback's jitter on a loaded machine.
    const at = hive.requests.map((q) => q.at);
    for (let i = 5; i < at.length; i++) expect((at[i] as number) - (at[i - 5] as number)).to.be.at.least(900);
    expect(Date.now() - started).to.be.at.least(1900);
    await sink.close();
  });

  it('sends a queued alert as v0 when auto finds TheHive 4, though it was encoded before', async () => {
    const four = await startFakeTheHive({ apiKey: KEY, version: 4 });
    const sink = sinkFor(four, 'auto');
    const body = sink.encode(alertOf('q-1'));
    const outcome = await sink.send([{ sourceRef: 'q-1', body, ticket: [] } as never], signal);
    expect(outcome).to.deep.equal({ kind: 'delivered' });
    expect(four.requests.map((q) => q.path)).to.deep.equal(['/api/status', '/api/alert']);
    expect(four.alert('q-1')?.observables).to.have.length(1);
    await sink.close();
    await four.close();
  });
});

describe('sinks/thehive-ops alertStatusOf', () => {
  it('reads TheHive 5 stages, TheHive 4 statuses and 4.1 v1 read/caseId', () => {
    const rows: [Record<string, unknown>, string][] = [
      [{ stage: 'New', status: 'New' }, 'open'],
      [{ stage: 'InProgress', status: 'InProgress' }, 'open'],
      [{ stage: 'Closed', status: 'FalsePositive' }, 'closed'],
      [{ stage: 'Imported', status: 'Imported' }, 'closed'],
      [{ status: 'Updated' }, 'open'],
      [{ status: 'Ignored' }, 'closed'],
      [{ status: 'Imported' }, 'closed'],
      [{ read: false }, 'open'],
      [{ read: true }, 'closed'],
      [{ read: false, caseId: '~1' }, 'closed'],
    ];
    for (const [body, want] of rows) expect(alertStatusOf(body), JSON.stringify(body)).to.equal(want);
  });
});
