/**
 * The stand-in's catalogue (issue 14): custom fields, case templates and ATT&CK patterns exist as
 * configured, organisations the API user is a member of are served; anything else is refused as
 * TheHive refuses it, and nothing is created.
 */
import { expect } from 'chai';
import { startFakeTheHive, type FakeTheHive } from '../../support/fake-thehive.js';

const ALERT = { type: 't', source: 's', title: 'x', description: 'd' };
let n = 0;

async function create(hive: FakeTheHive, body: Record<string, unknown>, org?: string, path = '/api/v1/alert'): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${hive.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test-key', ...(org === undefined ? {} : { 'X-Organisation': org }) },
    body: JSON.stringify({ ...ALERT, sourceRef: `r-${++n}`, ...body }),
  });
  return { status: res.status, json: await res.json() };
}

describe('fake TheHive: custom fields, case templates, patterns, organisations', () => {
  let hive: FakeTheHive;
  before(async () => {
    hive = await startFakeTheHive({ customFields: { score: 'integer', seen: 'date' }, caseTemplates: ['Phishing'], organisations: ['tenantA'] });
  });
  after(() => hive.close());

  it('takes known custom fields and shows them with their type', async () => {
    const res = await create(hive, { customFields: { score: 42, seen: 1_700_000_000_000 } });
    expect(res.status).to.equal(201);
    expect((res.json as { customFields: unknown[] }).customFields).to.deep.include.members([{ _id: (res.json as { customFields: { _id: string }[] }).customFields[0]?._id, name: 'score', type: 'integer', value: 42, order: 0 }]);
  });

  it('refuses an unknown custom field with 404 NotFoundError and creates nothing', async () => {
    const before = hive.alerts.length;
    const res = await create(hive, { customFields: { score: 1, tenant: 'a' } });
    expect([res.status, res.json]).to.deep.equal([404, { type: 'NotFoundError', message: 'CustomField tenant not found' }]);
    expect(hive.alerts).to.have.length(before);
  });

  it('refuses an unknown case template on v1, ignores it on v0', async () => {
    expect((await create(hive, { caseTemplate: 'Phishing' })).status).to.equal(201);
    expect(await create(hive, { caseTemplate: 'Malware' })).to.deep.equal({ status: 404, json: { type: 'NotFoundError', message: 'CaseTemplate Malware not found' } });
    expect((await create(hive, { caseTemplate: 'Malware', artifacts: [] }, undefined, '/api/alert')).status).to.equal(201);
  });

  it('keeps procedures with known pattern IDs, refuses unknown ones', async () => {
    const ok = await create(hive, { procedures: [{ patternId: 'T1071', occurDate: 1_700_000_000_000, tactic: 'command-and-control' }] });
    expect(ok.status).to.equal(201);
    expect(hive.alerts.at(-1)?.procedures).to.deep.equal([{ patternId: 'T1071', occurDate: 1_700_000_000_000, tactic: 'command-and-control' }]);
    expect(await create(hive, { procedures: [{ patternId: 'T9999', occurDate: 1 }] })).to.deep.equal({ status: 404, json: { type: 'NotFoundError', message: 'Pattern T9999 not found' } });
  });

  it('creates in a member organisation, refuses a foreign one with 403', async () => {
    expect((await create(hive, {}, 'tenantA')).status).to.equal(201);
    expect(hive.alerts.at(-1)?.organisation).to.equal('tenantA');
    expect(await create(hive, {}, 'tenantB')).to.deep.equal({ status: 403, json: { type: 'AuthorizationError', message: 'Operation not permitted' } });
  });

  it('keeps duplicates per organisation: the same sourceRef in two organisations is two alerts', async () => {
    const body = { sourceRef: 'same-ref' };
    expect((await create(hive, body)).status).to.equal(201);
    expect((await create(hive, body, 'tenantA')).status).to.equal(201);
    expect((await create(hive, body, 'tenantA')).status).to.equal(400);
  });
});
