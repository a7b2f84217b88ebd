/**
 * Mapping rules end to end (issue 14): a real `tracehive serve` with three rules — one routing a
 * tenant to its TheHive organisation, one with a title template and custom fields, one mapping
 * categories to ATT&CK — and one whose custom field TheHive does not have; a mixed capture
 * replayed over TCP; the stand-in TheHive must hold each alert in the right organisation with
 * the right fields, and the refused one must be a dead letter that /readyz/delivery blames on
 * its rule. Expected values are written out by hand, not computed by tracehive.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, connect, endSocket, waitFor } from '../support/harness.js';
import { startFakeTheHive, type FakeTheHive, type StoredAlert } from '../support/fake-thehive.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const RULES = [
  { name: 'tenant-a', match: { fields: { src: '^10\\.1\\.' } }, set: { organisation: 'tenantA', tags: ['tenant:a'] } },
  {
    name: 'phishing',
    match: { category: '*_Phishing_*' },
    set: {
      title: 'Phish {{matchedIndicator | truncate:20}} for {{usrName | default:"nobody"}}',
      customFields: { popularity: { type: 'integer', value: '{{popularity}}' }, firstSeen: { type: 'date', value: '{{first_seen}}' } },
      caseTemplate: 'Phishing',
    },
  },
  { name: 'attack', match: { category: '*_BotnetCnC_*' }, set: { procedures: [{ patternId: 'T1071', tactic: 'command-and-control' }], severity: 4 } },
  { name: 'loopback', match: { peer: ['127.0.0.0/8'] }, set: { tags: ['via:loopback'] } },
  { name: 'broken', match: { category: '*_Malicious_Hash*' }, set: { customFields: { sha: { type: 'string', value: '{{md5}}' } } } },
];

const LINES = {
  phish: 'Oct 12 16:15:10 category=KL_Phishing_URL matchedIndicator=login-verify-account.example.test url=http://login-verify-account.example.test/a src=10.20.3.17 usrName=a.petrova popularity=3 first_seen=1717000000',
  tenantPhish: 'Oct 12 16:15:11 category=KL_Phishing_URL matchedIndicator=b.example.test src=10.1.2.3 popularity=oops first_seen=19.05.2024 08:32',
  cnc: 'Oct 12 16:16:45 category=KL_BotnetCnC_URL matchedIndicator=c2.example.test url=http://c2.example.test/gate.php src=10.1.5.9 threat=Backdoor.Win32.Agent.gen',
  plain: 'Oct 12 16:17:00 category=KL_Malicious_URL matchedIndicator=bad.example.test src=10.20.1.44',
  hash: 'Oct 12 16:20:33 category=KL_Malicious_Hash_MD5 matchedIndicator=0123456789ABCDEF0123456789ABCDEF src=10.20.8.146 md5=0123456789abcdef0123456789abcdef',
};

const byIndicator = (alerts: readonly StoredAlert[], indicator: string): StoredAlert => {
  const a = alerts.find((x) => x.observables.some((o) => o.ioc && o.data === indicator));
  if (a === undefined) throw new Error(`no alert for ${indicator}; have ${alerts.map((x) => x.title).join(' | ')}`);
  return a;
};

describe('alert.rules end to end over TCP (issue 14)', function () {
  this.timeout(60_000);
  let hive: FakeTheHive;
  let serve: ServeProcess | undefined;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-rules-'));
    hive = await startFakeTheHive({ apiKey: 'k-rules', organisation: 'soc', organisations: ['tenantA'], customFields: { popularity: 'integer', firstSeen: 'date' }, caseTemplates: ['Phishing'] });
    const config = join(dir, 'rules.json');
    await writeFile(config, JSON.stringify({ alert: { rules: RULES } }));
    serve = await startServeProcess(
      { TRACEHIVE_CONFIG: config, THEHIVE_URL: hive.url, THEHIVE_API_KEY: 'k-rules', THEHIVE_ORG: 'soc', THEHIVE_API: 'v1', TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_RATE_PER_SEC: '0' },
      dir,
    );
    const socket = await connect(serve.tcpPort);
    socket.write(`${Object.values(LINES).join('\n')}\n`);
    await endSocket(socket);
    await waitFor('four alerts in TheHive and one dead letter', async () => hive.alerts.length === 4 && (await serve!.metric('tracehive_alerts_dead_total')) === 1, 20_000);
  });

  after(async () => {
    serve?.child.kill('SIGTERM');
    await serve?.exited;
    await hive?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('routes the tenant’s alerts to its organisation, the rest to thehive.organisation', () => {
    expect(byIndicator(hive.alerts, 'c2.example.test').organisation).to.equal('tenantA');
    expect(byIndicator(hive.alerts, 'b.example.test').organisation).to.equal('tenantA');
    expect(byIndicator(hive.alerts, 'login-verify-account.example.test').organisation).to.equal('soc');
    expect(byIndicator(hive.alerts, 'bad.example.test').organisation).to.equal('soc');
  });

  it('renders the title template and sends typed custom fields and the case template', () => {
    const a = byIndicator(hive.alerts, 'login-verify-account.example.test');
    // truncate:20 keeps 20 characters, the ellipsis included.
    expect(a.title).to.equal('Phish login-verify-accoun… for a.petrova');
    expect(a.customFields.map((f) => [(f as { name: string }).name, (f as { value: unknown }).value])).to.deep.equal([
      ['popularity', 3],
      ['firstSeen', 1_717_000_000_000],
    ]);
    expect(a.caseTemplate).to.equal('Phishing');
  });

  it('layers every matching rule: the tenant’s phish has its tag, title and the fields that converted', () => {
    const a = byIndicator(hive.alerts, 'b.example.test');
    expect(a.title).to.equal('Phish b.example.test for nobody');
    expect(a.tags).to.include.members(['tenant:a', 'via:loopback', 'category:KL_Phishing_URL']);
    // popularity=oops and a first_seen without a zone do not convert: left out, the alert sent.
    expect(a.customFields).to.deep.equal([]);
  });

  it('maps the botnet category to ATT&CK T1071 on the event’s date', () => {
    const a = byIndicator(hive.alerts, 'c2.example.test');
    expect(a.procedures).to.deep.equal([{ patternId: 'T1071', occurDate: a.date, tactic: 'command-and-control' }]);
    expect(a.severity).to.equal(4);
  });

  it('leaves an alert no content rule matches as the built-in mapping makes it (the peer rule only tags it)', () => {
    const a = byIndicator(hive.alerts, 'bad.example.test');
    expect(a.title).to.equal('Malicious URL: bad.example.test');
    expect(a.tags).to.deep.equal(['cybertrace', 'category:KL_Malicious_URL', 'via:loopback']);
    expect(a.customFields).to.deep.equal([]);
    expect(a).to.not.have.property('caseTemplate');
  });

  it('never sends tracehive’s own meta to TheHive', () => {
    for (const a of hive.alerts) expect(JSON.stringify(a)).to.not.include('"meta"');
  });

  it('dead-letters the alert whose custom field TheHive lacks, naming the rule, and /readyz/delivery says so', async () => {
    const files = (await readdir(join(dir, 'spool', 'dead'))).filter((f) => f.endsWith('.ndjson'));
    const letters = (await Promise.all(files.map((f) => readFile(join(dir, 'spool', 'dead', f), 'utf8')))).join('').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; alert: { meta?: { rules: string[] } } });
    expect(letters).to.have.length(1);
    expect(letters[0]?.reason).to.match(/^ERR_RULE_REFUSED: alert\.rules\[4\] \(broken\) sets a custom field TheHive does not have \(HTTP 404 NotFoundError: CustomField sha not found\)/);
    expect(letters[0]?.alert.meta?.rules).to.include('alert.rules[4] (broken)');
    const ready = await admin(serve!.httpPort, '/readyz/delivery');
    expect(ready.status).to.equal(503);
    expect(ready.body).to.include('alert.rules[4] (broken)');
    expect(await serve!.metric('tracehive_rule_values_dropped_total')).to.equal(2);
  });
});
