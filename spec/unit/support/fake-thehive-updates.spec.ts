/**
 * The stand-in TheHive's update side (thehive-api.md §1.1, §1.2, §4.5, §4.6): PATCH answers 204 on
 * TheHive 5 and 200 with the alert on TheHive 4, observables added later answer 201 or 207, the
 * alert's status and stage follow what an analyst does, and TheHive 4 has no 5-only route.
 */
import { expect } from 'chai';
import { startFakeTheHive, type FakeTheHive } from '../../support/fake-thehive.js';

const KEY = 'test-key';
const HEADERS = { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` };

interface Answer {
  readonly status: number;
  readonly type: string | null;
  readonly text: string;
  readonly json: unknown;
}

async function send(hive: FakeTheHive, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${hive.url}${path}`, { method, headers: HEADERS, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  const type = res.headers.get('content-type');
  return { status: res.status, type, text, json: type?.startsWith('application/json') ? (JSON.parse(text) as unknown) : undefined };
}

const alertBody = (sourceRef: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'cybertrace',
  source: 'CyberTrace',
  sourceRef,
  title: 'Malicious URL',
  description: 'first',
  severity: 2,
  tags: ['analyst-kept'],
  ...over,
});

async function createV1(hive: FakeTheHive, sourceRef: string): Promise<string> {
  const res = await send(hive, 'POST', '/api/v1/alert', alertBody(sourceRef));
  expect(res.status).to.equal(201);
  return (res.json as { _id: string })._id;
}

describe('stand-in TheHive 5: updates, observables, status', () => {
  let hive: FakeTheHive;
  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: KEY });
  });
  afterEach(() => hive.close());

  it('answers PATCH with 204 and no body, and a GET shows the new values, tags added not replaced', async () => {
    const id = await createV1(hive, 'r-1');
    const patched = await send(hive, 'PATCH', `/api/v1/alert/${id}`, { title: 'Malicious URL (2 sightings)', description: 'second', severity: 3, addTags: ['sightings'] });
    expect(patched).to.include({ status: 204, text: '', type: null });
    const got = (await send(hive, 'GET', `/api/v1/alert/${id}`)).json as Record<string, unknown>;
    expect(got).to.include({ title: 'Malicious URL (2 sightings)', description: 'second', severity: 3, severityLabel: 'HIGH', status: 'New', stage: 'New' });
    expect(got['tags']).to.deep.equal(['analyst-kept', 'sightings']);
    expect(got['_updatedAt']).to.be.a('number');
  });

  it('refuses a PATCH with a severity out of range with every error gathered, and 404s an unknown alert', async () => {
    const id = await createV1(hive, 'r-1');
    const bad = await send(hive, 'PATCH', `/api/v1/alert/${id}`, { severity: 5, title: '' });
    expect(bad.status).to.equal(400);
    const body = bad.json as { type: string; errors: { name: string }[] };
    expect(body.type).to.equal('AttributeCheckingError');
    expect(body.errors.map((e) => e.name)).to.deep.equal(['title', 'severity']);
    expect(hive.alert('r-1')?.severity).to.equal(2);
    const missing = await send(hive, 'PATCH', '/api/v1/alert/~999', { title: 'x' });
    expect(missing).to.include({ status: 404 });
    expect(missing.json).to.deep.equal({ type: 'NotFoundError', message: 'Alert not found' });
  });

  it('adds observables with 201 and a list, and answers 207 with the ones already there', async () => {
    const id = await createV1(hive, 'r-1');
    const first = await send(hive, 'POST', `/api/v1/alert/${id}/observable`, { dataType: 'ip', data: ['203.0.113.7'], ioc: true });
    expect(first.status).to.equal(201);
    expect((first.json as { data: string }[]).map((o) => o.data)).to.deep.equal(['203.0.113.7']);
    const again = await send(hive, 'POST', `/api/v1/alert/${id}/observable`, { dataType: 'ip', data: ['203.0.113.7', '203.0.113.8'] });
    expect(again.status).to.equal(207);
    const body = again.json as { success: { data: string }[]; failure: unknown[] };
    expect(body.success.map((o) => o.data)).to.deep.equal(['203.0.113.8']);
    expect(body.failure).to.deep.equal([{ type: 'CreateError', message: 'Observable already exists', object: { data: '203.0.113.7' } }]);
    expect(hive.alert('r-1')?.observableCount).to.equal(2);
  });

  it('follows the analyst: import into a case, close, delete', async () => {
    const id = await createV1(hive, 'r-1');
    await createV1(hive, 'r-2');
    const caseId = hive.importIntoCase('r-1');
    const got = (await send(hive, 'GET', `/api/v1/alert/${id}`)).json as Record<string, unknown>;
    expect(got).to.include({ status: 'Imported', stage: 'Imported', caseId });
    hive.closeAlert('r-2');
    expect(hive.alert('r-2')).to.include({ status: 'FalsePositive', stage: 'Closed' });
    hive.setStatus('r-2', 'InProgress');
    expect(hive.alert('r-2')).to.include({ status: 'InProgress', stage: 'InProgress' });
    hive.deleteAlert('r-1');
    expect((await send(hive, 'GET', `/api/v1/alert/${id}`)).status).to.equal(404);
    // The name is free again: the same sourceRef can be created anew.
    expect((await send(hive, 'POST', '/api/v1/alert', alertBody('r-1'))).status).to.equal(201);
  });

  it('finds an alert by a tag with the query API', async () => {
    await createV1(hive, 'r-1');
    await send(hive, 'POST', '/api/v1/alert', alertBody('r-2', { tags: ['key:abc'] }));
    const found = await send(hive, 'POST', '/api/v1/query', {
      query: [{ _name: 'listAlert' }, { _name: 'filter', _eq: { _field: 'tags', _value: 'key:abc' } }, { _name: 'sort', _fields: [{ _createdAt: 'desc' }] }, { _name: 'page', from: 0, to: 1 }],
    });
    expect(found.status).to.equal(200);
    expect((found.json as { sourceRef: string }[]).map((a) => a.sourceRef)).to.deep.equal(['r-2']);
  });

  it('injects a fault into the next request of any route', async () => {
    const id = await createV1(hive, 'r-1');
    hive.faultAny({ kind: 'status', status: 503 });
    expect((await send(hive, 'GET', `/api/v1/alert/${id}`)).status).to.equal(503);
    expect((await send(hive, 'GET', `/api/v1/alert/${id}`)).status).to.equal(200);
  });
});

describe('stand-in TheHive 4: v0 updates and statuses', () => {
  let hive: FakeTheHive;
  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: KEY, version: 4 });
  });
  afterEach(() => hive.close());

  async function createV0(sourceRef: string): Promise<string> {
    const res = await send(hive, 'POST', '/api/alert', { ...alertBody(sourceRef), artifacts: [] });
    expect(res.status).to.equal(201);
    return (res.json as { id: string }).id;
  }

  it('says it is TheHive 4 in GET /api/status, without auth', async () => {
    const res = await fetch(`${hive.url}/api/status`);
    expect(((await res.json()) as { versions: { TheHive: string } }).versions.TheHive).to.match(/^4\./);
  });

  it('answers a v0 PATCH with 200 and the alert, whose status becomes Updated', async () => {
    const id = await createV0('r-1');
    const res = await send(hive, 'PATCH', `/api/alert/${id}`, { title: 'Malicious URL (2 sightings)', tags: ['analyst-kept', 'sightings'], severity: 3 });
    expect(res.status).to.equal(200);
    expect(res.json).to.include({ _type: 'alert', title: 'Malicious URL (2 sightings)', severity: 3, status: 'Updated' });
  });

  it('adds artifacts on /api/alert/{id}/artifact and has no /observable route', async () => {
    const id = await createV0('r-1');
    const added = await send(hive, 'POST', `/api/alert/${id}/artifact`, { dataType: 'domain', data: 'evil.example.com' });
    expect(added.status).to.equal(201);
    const again = await send(hive, 'POST', `/api/alert/${id}/artifact`, { dataType: 'domain', data: 'evil.example.com' });
    expect(again.status).to.equal(207);
    const v1 = await send(hive, 'POST', `/api/v1/alert/${id}/observable`, { dataType: 'domain', data: 'x.example.com' });
    expect(v1.status).to.equal(404);
    expect(v1.json).to.deep.equal({ type: 'NotFoundError', message: `/api/v1/alert/${id}/observable` });
  });

  it('shows an ignored alert as Ignored and an imported one as Imported', async () => {
    const a = await createV0('r-1');
    const b = await createV0('r-2');
    hive.closeAlert('r-1', 'Ignored');
    hive.importIntoCase('r-2');
    expect(((await send(hive, 'GET', `/api/alert/${a}`)).json as { status: string }).status).to.equal('Ignored');
    const imported = (await send(hive, 'GET', `/api/alert/${b}`)).json as { status: string; case: string | null };
    expect(imported.status).to.equal('Imported');
    expect(imported.case).to.be.a('string');
  });
});
