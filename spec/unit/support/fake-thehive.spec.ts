/**
 * The TheHive stand-in must answer as TheHive does (docs thehive-api.md §7.2): every check here is a status
 * AND an exact body, over real HTTP with a keep-alive agent like the bridge's.
 */
import { expect } from 'chai';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { startFakeTheHive, type FakeTheHive } from '../../support/fake-thehive.js';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly json: unknown;
  /** The request went over a socket a previous request had used (keep-alive). */
  readonly reused: boolean;
}

/** A network failure, with the status line when one had arrived before the reset. */
type NetError = NodeJS.ErrnoException & { status?: number; received?: string };

interface Call {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  readonly timeoutMs?: number;
}

const KEY = 'test-key';
const JSON_AUTH = { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` };
const DATE = 1_700_000_000_000;

let fake: FakeTheHive;
let agent: Agent;

/** One HTTP exchange; a string body is sent as is, anything else as JSON. */
function call(path: string, { method = 'POST', headers = JSON_AUTH, body, timeoutMs }: Call = {}, target: FakeTheHive = fake): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, target.url), { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err: NetError) => reject(Object.assign(err, { status: res.statusCode, received: Buffer.concat(chunks).toString() })));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = (res.headers['content-type'] ?? '').startsWith('application/json');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: isJson ? JSON.parse(text) : undefined, reused: req.reusedSocket });
      });
    });
    if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

/** The error a call fails with (the test fails if it succeeds). */
async function failure(p: Promise<unknown>): Promise<NetError> {
  try {
    await p;
  } catch (err) {
    return err as NetError;
  }
  throw new Error('Expected the request to fail.');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The minimal valid 5.x alert, with overrides. */
function alert(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'cybertrace', source: 'tracehive', sourceRef: 'ref-1', title: 'Malicious URL', description: 'd', ...over };
}

const create = (over: Record<string, unknown> = {}, c: Call = {}): Promise<Answer> => call('/api/v1/alert', { body: alert(over), ...c });

/** A one-error AttributeCheckingError body. */
function checking(...errors: { name: string; format?: string; acceptedInput?: string[]; field?: string }[]): unknown {
  const full = errors.map((e) =>
    e.format === undefined ? { name: e.name, type: 'MissingAttributeError' } : { ...e, type: 'InvalidFormatAttributeError' },
  );
  const text = full.map((e) =>
    'format' in e ? `[Invalid format for ${e.name}: ${e.field}, expected ${e.format} (${(e.acceptedInput ?? []).join(',')})]` : `[Attribute ${e.name} is missing]`,
  );
  return { type: 'AttributeCheckingError', message: text.join(''), errors: full };
}

describe('fake TheHive (spec/support/fake-thehive.ts)', () => {
  beforeEach(async () => {
    agent = new Agent({ keepAlive: true });
    fake = await startFakeTheHive();
  });

  afterEach(async () => {
    agent.destroy();
    await fake.close();
  });

  describe('create success (§4.1)', () => {
    it('answers 201 with the 5.x OutputAlert, keys in OpenAPI order', async () => {
      const before = Date.now();
      const res = await create({
        severity: 3,
        date: DATE,
        tags: ['a', 'b'],
        tlp: 3,
        pap: 1,
        observables: [{ dataType: 'ip', data: '10.0.0.1' }, { dataType: 'url', data: 'http://x.test/' }],
      });
      const body = res.json as Record<string, unknown>;
      const createdAt = body['_createdAt'] as number;
      expect(res.status).to.equal(201);
      expect(res.headers['content-type']).to.equal('application/json');
      expect(body['_id']).to.match(/^~\d+$/);
      expect(createdAt).to.be.within(before, Date.now());
      expect(body).to.deep.equal({
        _id: body['_id'],
        _type: 'Alert',
        _createdBy: 'api@tracehive-test',
        _createdAt: createdAt,
        type: 'cybertrace',
        source: 'tracehive',
        sourceRef: 'ref-1',
        title: 'Malicious URL',
        description: 'd',
        severity: 3,
        severityLabel: 'HIGH',
        date: DATE,
        tags: ['a', 'b'],
        tlp: 3,
        tlpLabel: 'AMBER+STRICT',
        pap: 1,
        papLabel: 'GREEN',
        follow: true,
        customFields: [],
        observableCount: 2,
        status: 'New',
        stage: 'New',
        extraData: {},
        newDate: createdAt,
        timeToDetect: createdAt - DATE,
      });
      expect(Object.keys(body)).to.deep.equal(Object.keys(body).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)));
      expect(fake.alerts).to.have.length(1);
      expect(fake.alerts[0]?.observables.map((o) => [o.dataType, o.data, o._type, o.tlp, o.pap, o.ioc])).to.deep.equal([
        ['ip', '10.0.0.1', 'Observable', 2, 2, false],
        ['url', 'http://x.test/', 'Observable', 2, 2, false],
      ]);
    });

    it('defaults severity 2 / tlp 2 / pap 2 / date now and labels them', async () => {
      const before = Date.now();
      const body = (await create()).json as Record<string, unknown>;
      expect(body).to.include({ severity: 2, severityLabel: 'MEDIUM', tlp: 2, tlpLabel: 'AMBER', pap: 2, papLabel: 'AMBER', observableCount: 0 });
      expect(body['date']).to.be.within(before, Date.now());
      expect(body['timeToDetect']).to.equal((body['newDate'] as number) - (body['date'] as number));
    });

    it('expands a data array into one observable per value', async () => {
      const res = await create({ observables: [{ dataType: 'domain', data: ['a.test', 'b.test'], tags: ['t'] }] });
      expect(res.status).to.equal(201);
      expect((res.json as Record<string, unknown>)['observableCount']).to.equal(2);
      expect(fake.alerts[0]?.observables.map((o) => [o.data, o.tags])).to.deep.equal([
        ['a.test', ['t']],
        ['b.test', ['t']],
      ]);
    });

    it('merges in-alert duplicate observables (dataType + data) instead of rejecting, tags merged (5.x, §5)', async () => {
      const res = await create({
        observables: [
          { dataType: 'ip', data: ['10.0.0.1', '10.0.0.1'], tags: ['a'] },
          { dataType: 'ip', data: '10.0.0.1', tags: ['b'], ioc: true },
          { dataType: 'other', data: '10.0.0.1' },
        ],
      });
      expect(res.status).to.equal(201);
      expect((res.json as Record<string, unknown>)['observableCount']).to.equal(2);
      expect(fake.alerts[0]?.observables.map((o) => [o.dataType, o.data, o.tags, o.ioc])).to.deep.equal([
        ['ip', '10.0.0.1', ['a', 'b'], true],
        ['other', '10.0.0.1', [], false],
      ]);
    });
  });

  describe('authentication and content checks (§2, §4.2)', () => {
    it('answers 401 AuthenticationError without a key', async () => {
      const res = await create({}, { headers: { 'Content-Type': 'application/json' } });
      expect(res.status).to.equal(401);
      expect(res.json).to.deep.equal({ type: 'AuthenticationError', message: 'Authentication failure' });
    });

    it('answers 401 with a wrong key, a Basic header, or after the key was rotated', async () => {
      for (const authorization of [`Bearer nope`, `Basic ${Buffer.from('u:p').toString('base64')}`, `bearer ${KEY}`]) {
        const res = await create({}, { headers: { 'Content-Type': 'application/json', Authorization: authorization } });
        expect([res.status, res.json]).to.deep.equal([401, { type: 'AuthenticationError', message: 'Authentication failure' }]);
      }
      fake.setApiKey('rotated');
      expect((await create()).status).to.equal(401);
      expect((await create({}, { headers: { 'Content-Type': 'application/json', Authorization: 'Bearer rotated' } })).status).to.equal(201);
    });

    it('answers 400 BadRequest when Content-Type: application/json is missing (5.x strict mode)', async () => {
      const variants: Record<string, string>[] = [{ Authorization: `Bearer ${KEY}` }, { Authorization: `Bearer ${KEY}`, 'Content-Type': 'text/plain' }];
      for (const headers of variants) {
        const res = await create({}, { headers });
        expect(res.status).to.equal(400);
        expect(res.json).to.deep.equal({ type: 'BadRequest', message: 'Expecting text/json or application/json body' });
      }
      const withCharset = await create({}, { headers: { ...JSON_AUTH, 'Content-Type': 'application/json; charset=utf-8' } });
      expect(withCharset.status).to.equal(201);
    });

    it('ignores a non-JSON body when not strict (4.x): every required field is missing', async () => {
      const lenient = await startFakeTheHive({ strictContentType: false });
      try {
        const res = await call('/api/v1/alert', { headers: { Authorization: `Bearer ${KEY}` }, body: JSON.stringify(alert()) }, lenient);
        expect(res.status).to.equal(400);
        expect(res.json).to.deep.equal(checking({ name: 'type' }, { name: 'source' }, { name: 'sourceRef' }, { name: 'title' }, { name: 'description' }));
      } finally {
        await lenient.close();
      }
    });

    it('answers 400 BadRequest "Invalid Json: …" for malformed or empty JSON', async () => {
      const bad = await call('/api/v1/alert', { body: '{"type": ' });
      expect(bad.status).to.equal(400);
      expect(bad.json).to.have.all.keys('type', 'message').and.include({ type: 'BadRequest' });
      expect((bad.json as { message: string }).message).to.match(/^Invalid Json: ./);
      const empty = await call('/api/v1/alert', { body: '' });
      expect([empty.status, empty.json]).to.deep.equal([400, { type: 'BadRequest', message: 'Invalid Json: No content to map due to end-of-input' }]);
    });

    it('parses JSON before authenticating, and authenticates before validating (§2 order)', async () => {
      const noKey = { 'Content-Type': 'application/json' };
      expect((await call('/api/v1/alert', { headers: noKey, body: '{' })).status).to.equal(400);
      const invalidWithoutKey = await call('/api/v1/alert', { headers: noKey, body: { title: 5 } });
      expect(invalidWithoutKey.status).to.equal(401);
    });

    it('answers 413 past maxBodyBytes', async () => {
      const small = await startFakeTheHive({ maxBodyBytes: 1_000 });
      try {
        const res = await call('/api/v1/alert', { body: alert({ description: 'x'.repeat(2_000) }) }, small);
        expect([res.status, res.json]).to.deep.equal([413, { type: 'Unknown', message: 'Request Entity Too Large' }]);
        expect(small.alerts).to.have.length(0);
      } finally {
        await small.close();
      }
    });

    it('answers 403 AuthorizationError for an X-Organisation other than its own', async () => {
      const res = await create({}, { headers: { ...JSON_AUTH, 'X-Organisation': 'other-org' } });
      expect([res.status, res.json]).to.deep.equal([403, { type: 'AuthorizationError', message: 'Operation not permitted' }]);
      const own = await create({}, { headers: { ...JSON_AUTH, 'X-Organisation': 'tracehive-test' } });
      expect(own.status).to.equal(201);
    });

    it('sends Content-Type application/json on every JSON answer, errors included', async () => {
      const answers = [
        await create(),
        await create(),
        await create({}, { headers: {} }),
        await call('/api/v1/nope', { method: 'GET' }),
        await call('/api/status', { method: 'GET', headers: {} }),
      ];
      expect(answers.map((a) => [a.status, a.headers['content-type']])).to.deep.equal([
        [201, 'application/json'],
        [400, 'application/json'],
        [400, 'application/json'],
        [404, 'application/json'],
        [200, 'application/json'],
      ]);
    });
  });

  describe('field validation (§3.1, §4.3, §5)', () => {
    it('gathers every missing attribute into one AttributeCheckingError', async () => {
      const res = await call('/api/v1/alert', { body: { type: 't', source: 's', sourceRef: 'r' } });
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.equal({
        type: 'AttributeCheckingError',
        message: '[Attribute title is missing][Attribute description is missing]',
        errors: [
          { name: 'title', type: 'MissingAttributeError' },
          { name: 'description', type: 'MissingAttributeError' },
        ],
      });
    });

    it('reports a wrong type with the FString(...) field text of §4.3', async () => {
      const res = await create({ severity: 'high' });
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.equal({
        type: 'AttributeCheckingError',
        message: '[Invalid format for severity: FString(high), expected int (int)]',
        errors: [{ name: 'severity', format: 'int', acceptedInput: ['int'], field: 'FString(high)', type: 'InvalidFormatAttributeError' }],
      });
    });

    it('rejects severity 5 (5.x enum 1–4)', async () => {
      const res = await create({ severity: 5 });
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.equal(checking({ name: 'severity', format: 'int', acceptedInput: ['1', '2', '3', '4'], field: 'FNumber(5.0)' }));
    });

    it('rejects a 600-char title (5.x maxLength 512)', async () => {
      const title = 't'.repeat(600);
      const res = await create({ title });
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.equal(checking({ name: 'title', format: 'string', acceptedInput: ['minLength=1', 'maxLength=512'], field: `FString(${title})` }));
    });

    const limits: [string, Record<string, unknown>, string][] = [
      ['type of 33 chars', { type: 'x'.repeat(33) }, 'type'],
      ['empty source', { source: '' }, 'source'],
      ['sourceRef of 129 chars', { sourceRef: 'r'.repeat(129) }, 'sourceRef'],
      ['description over 1 MiB', { description: 'd'.repeat(1_048_577) }, 'description'],
      ['empty tag', { tags: ['ok', ''] }, 'tags[1]'],
      ['tag of 129 chars', { tags: ['x'.repeat(129)] }, 'tags[0]'],
      ['a repeated tag (5.x uniqueItems)', { tags: ['a', 'b', 'a'] }, 'tags[2]'],
      ['tlp 5', { tlp: 5 }, 'tlp'],
      ['pap 4', { pap: 4 }, 'pap'],
      ['date with a fraction', { date: 1.5 }, 'date'],
      ['ISO date', { date: '2024-01-01T00:00:00Z' }, 'date'],
      ['title null', { title: null }, 'title'],
      ['observables not an array', { observables: 'ip' }, 'observables'],
      ['observable dataType of 65 chars', { observables: [{ dataType: 'x'.repeat(65), data: 'a' }] }, 'observables[0].dataType'],
      ['observable data of 4097 chars', { observables: [{ dataType: 'other', data: 'a'.repeat(4097) }] }, 'observables[0].data'],
      ['empty value in a data array', { observables: [{ dataType: 'ip', data: ['1.1.1.1', ''] }] }, 'observables[0].data[1]'],
      ['observable without dataType', { observables: [{ dataType: 'ip', data: 'a' }, { data: 'b' }] }, 'observables[1].dataType'],
      ['observable tlp 7', { observables: [{ dataType: 'ip', data: 'a', tlp: 7 }] }, 'observables[0].tlp'],
    ];
    for (const [what, over, name] of limits) {
      it(`rejects ${what} as ${name}`, async () => {
        const res = await create(over);
        expect(res.status).to.equal(400);
        const body = res.json as { type: string; errors: { name: string }[] };
        expect(body.type).to.equal('AttributeCheckingError');
        expect(body.errors.map((e) => e.name)).to.deep.equal([name]);
        expect(fake.alerts).to.have.length(0);
      });
    }

    it('accepts the limits themselves and a date given as a digit string', async () => {
      const res = await create({
        ...{ type: 'x'.repeat(32), source: 's'.repeat(32), sourceRef: 'r'.repeat(128), title: 't'.repeat(512), description: '' },
        ...{ tags: ['x'.repeat(128)], severity: 4, tlp: 4, pap: 3, date: String(DATE) },
        observables: [{ dataType: 'other', data: 'a'.repeat(4096) }],
      });
      expect(res.status).to.equal(201);
      expect(res.json).to.include({ date: DATE, severityLabel: 'CRITICAL', tlpLabel: 'RED', papLabel: 'RED' });
    });
  });

  describe('duplicates and unknown types (§3.5, §4.4)', () => {
    it('answers the exact 400 CreateError for a second (type, source, sourceRef)', async () => {
      expect((await create()).status).to.equal(201);
      const res = await create({ title: 'changed', observables: [{ dataType: 'ip', data: '10.0.0.9' }] });
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.equal({
        type: 'CreateError',
        message: 'Alert cybertrace:tracehive:ref-1 already exist in organisation tracehive-test',
      });
      expect(fake.alerts).to.have.length(1);
      expect(fake.alerts[0]).to.include({ title: 'Malicious URL', observableCount: 0 });
      expect((await create({ type: 'other-type' })).status).to.equal(201);
      expect([...fake.countBySourceRef()]).to.deep.equal([['ref-1', 2]]);
    });

    it('answers 404 NotFoundError for an unknown dataType and leaves no alert behind', async () => {
      const res = await create({ observables: [{ dataType: 'ip', data: '10.0.0.1' }, { dataType: 'mail_subject', data: 'x' }] });
      expect(res.status).to.equal(404);
      expect(res.json).to.deep.equal({ type: 'NotFoundError', message: 'ObservableType mail_subject not found' });
      expect(fake.alerts).to.have.length(0);
      expect((await create()).status).to.equal(201);
    });

    it('checks the duplicate before the observable types (§7.2 steps 6 then 7)', async () => {
      await create();
      const res = await create({ observables: [{ dataType: 'nope', data: 'x' }] });
      expect([res.status, (res.json as { type: string }).type]).to.deep.equal([400, 'CreateError']);
    });

    it('refuses text data for the file type on 5.x', async () => {
      const res = await create({ observables: [{ dataType: 'file', data: 'a.txt' }] });
      expect([res.status, res.json]).to.deep.equal([400, { type: 'BadRequest', message: "A attachment observable doesn't accept string value" }]);
      expect(fake.alerts).to.have.length(0);
    });

    it('answers 404 for any custom field (none is defined) and creates nothing', async () => {
      const res = await create({ customFields: { 'mitre-tactic': 'x' } });
      expect([res.status, res.json]).to.deep.equal([404, { type: 'NotFoundError', message: 'CustomField mitre-tactic not found' }]);
      expect(fake.alerts).to.have.length(0);
    });
  });

  describe('v0 POST /api/alert (§3.2, §4.1)', () => {
    const v0 = (body: unknown): Promise<Answer> => call('/api/alert', { body });

    it('answers 201 with the v0 shape (artifacts, _type alert, nulls) and no range checks', async () => {
      const res = await v0({ ...alert({ severity: 9, title: 't'.repeat(600), date: DATE }), artifacts: [{ dataType: 'ip', data: '10.0.0.1' }] });
      expect(res.status).to.equal(201);
      const body = res.json as Record<string, unknown>;
      const artifacts = body['artifacts'] as Record<string, unknown>[];
      expect(Object.keys(body)).to.deep.equal([
        ...['_id', 'id', 'createdBy', 'updatedBy', 'createdAt', 'updatedAt', '_type', 'type', 'source', 'sourceRef', 'externalLink', 'case'],
        ...['title', 'description', 'severity', 'date', 'tags', 'tlp', 'pap', 'status', 'follow', 'customFields', 'caseTemplate', 'artifacts', 'similarCases'],
      ]);
      expect(body).to.include({ _id: body['id'], _type: 'alert', updatedBy: null, externalLink: null, case: null, severity: 9, status: 'New', follow: true });
      expect(body['customFields']).to.deep.equal({});
      expect(artifacts.map((a) => [a['_type'], a['dataType'], a['data'], a['id'] === a['_id']])).to.deep.equal([['case_artifact', 'ip', '10.0.0.1', true]]);
    });

    it('still requires the five fields, artifacts errors first (Entrypoint.extract order)', async () => {
      const res = await v0({ severity: 2.7, artifacts: [{ data: 'x' }] });
      expect(res.status).to.equal(400);
      expect(res.json).to.deep.equal(
        checking({ name: 'artifacts[0].dataType' }, { name: 'type' }, { name: 'source' }, { name: 'sourceRef' }, { name: 'title' }, { name: 'description' }),
      );
    });

    it('checks duplicates and dataTypes like v1, and drops an in-alert duplicate (first wins, 4.1)', async () => {
      const artifacts = [
        { dataType: 'ip', data: '10.0.0.1', tags: ['a'] },
        { dataType: 'ip', data: '10.0.0.1', tags: ['b'] },
      ];
      expect((await v0({ ...alert(), artifacts })).status).to.equal(201);
      expect(fake.alerts[0]?.observables.map((o) => o.tags)).to.deep.equal([['a']]);
      const dup = await v0(alert());
      expect([dup.status, (dup.json as { type: string }).type]).to.deep.equal([400, 'CreateError']);
      const unknown = await v0({ ...alert({ sourceRef: 'ref-2' }), artifacts: [{ dataType: 'severity', data: '3' }] });
      expect([unknown.status, unknown.json]).to.deep.equal([404, { type: 'NotFoundError', message: 'ObservableType severity not found' }]);
    });

    it('reads a file artifact inline as filename;contentType;base64, any other text is a 500 (4.1 source)', async () => {
      const file = await v0({ ...alert(), artifacts: [{ dataType: 'file', data: 'a.txt;text/plain;aGVsbG8=' }] });
      expect(file.status).to.equal(201);
      expect(fake.alerts[0]?.observables[0]?.attachment).to.deep.equal({ name: 'a.txt', contentType: 'text/plain', size: 5 });
      const bad = await v0({ ...alert({ sourceRef: 'ref-2' }), artifacts: [{ dataType: 'file', data: 'a.txt' }] });
      expect([bad.status, bad.json]).to.deep.equal([
        500,
        {
          type: 'org.thp.scalligraph.InvalidFormatAttributeError',
          message: 'Invalid format for artifacts.data: FString(a.txt), expected filename;contentType;base64value ()',
        },
      ]);
      expect(fake.alerts).to.have.length(1);
    });

    it('GETs the v0 shape at /api/alert/{id}', async () => {
      const id = String(((await v0({ ...alert(), artifacts: [{ dataType: 'ip', data: '10.0.0.1' }] })).json as Record<string, unknown>)['id']);
      const res = await call(`/api/alert/${id}`, { method: 'GET' });
      expect(res.status).to.equal(200);
      expect(res.json).to.include({ id, _type: 'alert', sourceRef: 'ref-1' });
      expect((res.json as { artifacts: unknown[] }).artifacts).to.have.length(1);
      const missing = await call('/api/alert/~1', { method: 'GET' });
      expect([missing.status, missing.json]).to.deep.equal([404, { type: 'NotFoundError', message: 'Alert not found' }]);
    });
  });

  describe('reading alerts back (§1.1, §1.3)', () => {
    it('GETs an alert by ~id and by its percent-encoded name type;source;sourceRef', async () => {
      const created = (await create({ sourceRef: 'a/b c', observables: [{ dataType: 'ip', data: '10.0.0.1' }] })).json as Record<string, unknown>;
      const byName = await call(`/api/v1/alert/${encodeURIComponent('cybertrace;tracehive;a/b c')}`, { method: 'GET' });
      const byId = await call(`/api/v1/alert/${String(created['_id'])}`, { method: 'GET' });
      expect(byName.status).to.equal(200);
      expect(byName.json).to.deep.equal(byId.json);
      // TheHive4py: the GET adds _updatedAt/_updatedBy after inline observables, and is otherwise the create answer.
      const { _updatedAt, _updatedBy, ...rest } = byName.json as Record<string, unknown>;
      expect(rest).to.deep.equal(created);
      expect([_updatedBy, _updatedAt]).to.deep.equal(['api@tracehive-test', created['_createdAt']]);
    });

    it('answers 404 "Alert not found" for a missing id or name, and for another organisation', async () => {
      await create();
      for (const [path, headers] of [
        ['/api/v1/alert/~999', JSON_AUTH],
        ['/api/v1/alert/cybertrace%3Btracehive', JSON_AUTH],
        ['/api/v1/alert/cybertrace%3Btracehive%3Bref-1', { ...JSON_AUTH, 'X-Organisation': 'elsewhere' }],
      ] as const) {
        const res = await call(path, { method: 'GET', headers });
        expect([res.status, res.json]).to.deep.equal([404, { type: 'NotFoundError', message: 'Alert not found' }]);
      }
    });

    it('filters by sourceRef and counts with POST /api/v1/query', async () => {
      for (const ref of ['r-1', 'r-2', 'r-3']) await create({ sourceRef: ref, severity: ref === 'r-2' ? 3 : 1 });
      const q = (query: unknown[]): Promise<Answer> => call('/api/v1/query?name=alerts', { body: { query } });
      const one = await q([{ _name: 'listAlert' }, { _name: 'filter', _eq: { _field: 'sourceRef', _value: 'r-2' } }]);
      expect(one.status).to.equal(200);
      expect((one.json as Record<string, unknown>[]).map((a) => [a['sourceRef'], a['_type']])).to.deep.equal([['r-2', 'Alert']]);
      const count = await q([{ _name: 'listAlert' }, { _name: 'filter', _and: [{ _eq: { _field: 'source', _value: 'tracehive' } }, { _lt: { _field: 'severity', _value: 3 } }] }, { _name: 'count' }]);
      expect([count.status, count.text]).to.deep.equal([200, '2']);
      const page = await q([{ _name: 'listAlert' }, { _name: 'sort', _fields: [{ sourceRef: 'desc' }] }, { _name: 'page', from: 0, to: 2 }]);
      expect((page.json as Record<string, unknown>[]).map((a) => a['sourceRef'])).to.deep.equal(['r-3', 'r-2']);
      const badProperty = await q([{ _name: 'listAlert' }, { _name: 'filter', _eq: { _field: 'nope', _value: 1 } }]);
      expect([badProperty.status, badProperty.json]).to.deep.equal([400, { type: 'BadRequest', message: 'Property nope for type Alert not found' }]);
    });

    it('adds observables to an alert: 201 array, 207 on duplicates, 403 for a missing alert, 404 for an unknown type', async () => {
      const id = String(((await create({ observables: [{ dataType: 'ip', data: '10.0.0.1' }] })).json as Record<string, unknown>)['_id']);
      const add = (target: string, body: unknown): Promise<Answer> => call(`/api/v1/alert/${target}/observable`, { body });
      const fresh = await add(id, { dataType: 'domain', data: ['a.test', '  '] });
      expect(fresh.status).to.equal(201);
      expect((fresh.json as Record<string, unknown>[]).map((o) => [o['_type'], o['data']])).to.deep.equal([['Observable', 'a.test']]);
      const mixed = await add(id, { dataType: 'ip', data: ['10.0.0.1', '10.0.0.2'] });
      expect(mixed.status).to.equal(207);
      const body = mixed.json as { success: Record<string, unknown>[]; failure: unknown[] };
      expect(body.success.map((o) => o['data'])).to.deep.equal(['10.0.0.2']);
      expect(body.failure).to.deep.equal([{ type: 'CreateError', message: 'Observable already exists', object: { data: '10.0.0.1' } }]);
      expect(fake.alerts[0]?.observableCount).to.equal(3);
      const missing = await add('~1', { dataType: 'ip', data: '1.1.1.1' });
      expect([missing.status, missing.json]).to.deep.equal([403, { type: 'AuthorizationError', message: 'Operation not permitted' }]);
      const unknown = await add(id, { dataType: 'ipv4', data: '1.1.1.1' });
      expect([unknown.status, unknown.json]).to.deep.equal([404, { type: 'NotFoundError', message: 'ObservableType ipv4 not found' }]);
    });
  });

  describe('status and unknown routes (§1.1, §1.2)', () => {
    it('serves /api/status and /api/v1/status/public without auth, /api/v1/status with auth only', async () => {
      const live = await call('/api/status', { method: 'GET', headers: {} });
      expect(live.status).to.equal(200);
      expect((live.json as { versions: { TheHive: string } }).versions.TheHive).to.match(/^5\./);
      const pub = await call('/api/v1/status/public', { method: 'GET', headers: {} });
      expect(pub.json).to.include({ sso: false, version: '5.5.13-1' });
      const anonymous = await call('/api/v1/status', { method: 'GET', headers: {} });
      expect([anonymous.status, anonymous.json]).to.deep.equal([401, { type: 'AuthenticationError', message: 'Authentication failure' }]);
      expect((await call('/api/v1/status', { method: 'GET' })).status).to.equal(200);
    });

    it('serves the key’s own user on /api/v1/user/current and /api/user/current, with auth only', async () => {
      for (const path of ['/api/v1/user/current', '/api/user/current']) {
        const anonymous = await call(path, { method: 'GET', headers: {} });
        expect([anonymous.status, anonymous.json]).to.deep.equal([401, { type: 'AuthenticationError', message: 'Authentication failure' }]);
        const me = await call(path, { method: 'GET' });
        expect(me.status).to.equal(200);
        expect(me.json).to.include({ _type: 'User', login: 'api@tracehive-test', hasKey: true });
      }
    });

    it('answers 404 NotFoundError with the path for an unknown route, authenticated or not', async () => {
      for (const [method, path, headers] of [
        ['GET', '/api/v1/alert', JSON_AUTH],
        ['POST', '/api/v1/alert/_bulk/create', {}],
        ['DELETE', '/api/v1/case/~1', JSON_AUTH],
      ] as const) {
        const res = await call(path, { method, headers, body: method === 'POST' ? '{}' : undefined });
        expect([res.status, res.json]).to.deep.equal([404, { type: 'NotFoundError', message: path }]);
      }
    });

    it('plays TheHive 4 with version 4: bodies over 256 kB get 413', async () => {
      const v4 = await startFakeTheHive({ version: 4 });
      try {
        const res = await fetch(`${v4.url}/api/alert`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test-key' },
          body: JSON.stringify({ type: 't', source: 's', sourceRef: 'r', title: 't', description: 'd'.repeat(300 * 1024) }),
        });
        expect(res.status).to.equal(413);
      } finally {
        await v4.close();
      }
    });

    it('keeps connections alive across requests', async () => {
      const first = await create();
      const second = await create({ sourceRef: 'ref-2' });
      expect([first.reused, second.reused]).to.deep.equal([false, true]);
    });
  });

  describe('faults (alert-create requests only)', () => {
    it('status: answers the injected status with a TheHive InternalError body by default, then recovers', async () => {
      fake.fault({ kind: 'status', status: 500 }, 2);
      const answers = [await create(), await create(), await create()];
      expect(answers.map((a) => a.status)).to.deep.equal([500, 500, 201]);
      expect(answers[0]?.json).to.deep.equal({ type: 'InternalError', message: 'Internal server error' });
      expect(fake.requests.map((r) => r.fault)).to.deep.equal(['status', 'status', undefined]);
    });

    it('status 502/503: answers like a reverse proxy (HTML), or with the given body', async () => {
      fake.fault({ kind: 'status', status: 502 });
      fake.fault({ kind: 'status', status: 503, body: { type: 'Custom', message: 'm' } });
      const proxy = await create();
      expect([proxy.status, proxy.headers['content-type']]).to.deep.equal([502, 'text/html']);
      expect(proxy.text).to.contain('<title>502 Bad Gateway</title>');
      const custom = await create();
      expect([custom.status, custom.json]).to.deep.equal([503, { type: 'Custom', message: 'm' }]);
      expect(fake.alerts).to.have.length(0);
    });

    it('slow: answers normally after ms', async () => {
      fake.fault({ kind: 'slow', ms: 150 });
      const start = Date.now();
      const res = await create();
      expect(res.status).to.equal(201);
      expect(Date.now() - start).to.be.at.least(140);
    });

    it('slow: a client that gives up still leaves the alert created, so its retry meets the duplicate', async () => {
      fake.fault({ kind: 'slow', ms: 150 });
      const err = await failure(create({}, { timeoutMs: 30 }));
      expect(err.code).to.equal('ETIMEDOUT');
      await sleep(200);
      expect(fake.alerts).to.have.length(1);
      expect((await create()).status).to.equal(400);
    });

    it('reset: destroys the socket after reading the body; nothing is created', async () => {
      fake.fault({ kind: 'reset' });
      const err = await failure(create());
      expect(err.code).to.equal('ECONNRESET');
      expect(fake.alerts).to.have.length(0);
      expect(fake.requests[0]).to.include({ status: 0, fault: 'reset', sourceRef: 'ref-1' });
      expect((await create()).status).to.equal(201);
    });

    it('reset-mid-body: sends the 201 headers and part of the body, then resets; the alert exists', async () => {
      fake.fault({ kind: 'reset-mid-body' });
      const err = await failure(create());
      expect(err.code).to.equal('ECONNRESET');
      expect(err.status).to.equal(201);
      expect(err.received).to.match(/^\{"_id":"~\d+/);
      expect(fake.alerts).to.have.length(1);
    });

    it('throttle: 429 with Retry-After, nothing created (TheHive never sends 429 itself)', async () => {
      fake.fault({ kind: 'throttle', retryAfterSec: 7 });
      const res = await create();
      expect([res.status, res.headers['retry-after']]).to.deep.equal([429, '7']);
      expect(fake.alerts).to.have.length(0);
      expect((await create()).status).to.equal(201);
    });

    it('accept-then-fail: creates the alert but answers 500; the retry gets the duplicate 400', async () => {
      fake.fault({ kind: 'accept-then-fail', status: 500 });
      const lost = await create();
      expect([lost.status, lost.json]).to.deep.equal([500, { type: 'InternalError', message: 'Internal server error' }]);
      expect(fake.alerts).to.have.length(1);
      const retry = await create();
      expect([retry.status, retry.json]).to.deep.equal([
        400,
        { type: 'CreateError', message: 'Alert cybertrace:tracehive:ref-1 already exist in organisation tracehive-test' },
      ]);
      expect(fake.countBySourceRef().get('ref-1')).to.equal(1);
    });

    it('leaves other routes alone', async () => {
      fake.fault({ kind: 'status', status: 500 });
      expect((await call('/api/status', { method: 'GET' })).status).to.equal(200);
      expect((await call('/api/v1/query', { body: { query: [{ _name: 'listAlert' }, { _name: 'count' }] } })).text).to.equal('0');
      expect((await create()).status).to.equal(500);
    });

    it('failRate: the same seed gives the same failures; rate 0 turns it off', async () => {
      const run = async (seed: number): Promise<number[]> => {
        const f = await startFakeTheHive();
        try {
          f.failRate(0.5, { kind: 'status', status: 503 }, seed);
          const statuses: number[] = [];
          for (let i = 0; i < 20; i += 1) statuses.push((await call('/api/v1/alert', { body: alert({ sourceRef: `r-${i}` }) }, f)).status);
          return statuses;
        } finally {
          await f.close();
        }
      };
      const first = await run(42);
      expect(first).to.deep.equal(await run(42));
      expect(first).to.include(503).and.to.include(201);
      fake.failRate(1, { kind: 'throttle', retryAfterSec: 1 });
      expect((await create()).status).to.equal(429);
      fake.failRate(0, { kind: 'throttle', retryAfterSec: 1 });
      expect((await create()).status).to.equal(201);
      expect(() => fake.failRate(2, { kind: 'reset' })).to.throw(TypeError, 'Expected `rate` to be between 0 and 1, got 2');
    });
  });

  describe('down()/up() and counters', () => {
    it('refuses connections while down, listens on the same port after up, keeps its alerts', async () => {
      expect((await create()).status).to.equal(201);
      const port = fake.port;
      await fake.down();
      // A pooled keep-alive socket may not have seen its reset yet (ECONNRESET); a new connection is refused.
      expect(['ECONNRESET', 'ECONNREFUSED']).to.include((await failure(create({ sourceRef: 'ref-2' }))).code);
      expect((await failure(create({ sourceRef: 'ref-2' }))).code).to.equal('ECONNREFUSED');
      await fake.up();
      expect(fake.port).to.equal(port);
      expect(fake.url).to.equal(`http://127.0.0.1:${port}`);
      expect((await create()).status).to.equal(400);
      expect(fake.alerts).to.have.length(1);
    });

    it('down() destroys open sockets: an in-flight slow request is reset and creates nothing', async () => {
      fake.fault({ kind: 'slow', ms: 1_000 });
      const pending = failure(create());
      await sleep(50);
      await fake.down();
      expect((await pending).code).to.equal('ECONNRESET');
      await fake.up();
      expect(fake.alerts).to.have.length(0);
    });

    it('countBySourceRef counts alerts per sourceRef', async () => {
      await create();
      await create();
      await create({ sourceRef: 'ref-2' });
      expect([...fake.countBySourceRef()]).to.deep.equal([
        ['ref-1', 1],
        ['ref-2', 1],
      ]);
    });

    it('createRequestsPerSecond buckets create requests per wall-clock second', async function () {
      this.timeout(5_000);
      const untilNextSecond = async (): Promise<void> => sleep(1_000 - (Date.now() % 1_000) + 20);
      await untilNextSecond();
      for (const ref of ['a', 'b', 'c']) await create({ sourceRef: ref });
      await call('/api/status', { method: 'GET' });
      await untilNextSecond();
      await create({ sourceRef: 'a' });
      await call('/api/alert', { body: { ...alert({ sourceRef: 'd' }) } });
      expect(fake.createRequestsPerSecond()).to.deep.equal([3, 2]);
    });
  });
});

/** Key order of OutputAlert in the 5.x OpenAPI. */
const ORDER = [
  ...['_id', '_type', '_createdBy', '_updatedBy', '_createdAt', '_updatedAt', 'type', 'source', 'sourceRef', 'externalLink'],
  ...['title', 'description', 'severity', 'severityLabel', 'date', 'tags', 'tlp', 'tlpLabel', 'pap', 'papLabel', 'follow'],
  ...['customFields', 'caseTemplate', 'observableCount', 'caseId', 'status', 'stage', 'assignee', 'summary', 'extraData'],
  ...['newDate', 'timeToDetect'],
];
