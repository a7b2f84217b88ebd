/**
 * The monitoring files an operator loads (issue 17): the alert rules pass `promtool check rules`
 * and their own `promtool test rules`; every query of the Grafana dashboard parses as PromQL; every
 * tracehive metric either uses is one `serve` exports; and a real Prometheus scrapes a real serve,
 * loads the rules and answers for the alerts it delivered.
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sendChunked, waitFor } from '../support/harness.js';
import { detectionLines } from '../support/lines.js';
import { exportedNames } from '../support/metrics-text.js';
import { prometheusMissing, promtool, startPrometheus, type PrometheusServer } from '../support/prometheus.js';
import { dashboardExpressions, recordingRules, ruleExpressions, tracehiveMetricNames } from '../support/promql-names.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const RULES = resolve('config/prometheus/tracehive-rules.yml');
const RULE_TESTS = resolve('config/prometheus/tracehive-rules.test.yml');
const DASHBOARD = resolve('config/grafana/tracehive.json');

describe('Prometheus rules and Grafana dashboard', function () {
  this.timeout(60_000);
  let dir: string;
  let serve: ServeProcess | undefined;
  let prometheus: PrometheusServer | undefined;

  before(function () {
    const missing = prometheusMissing();
    if (missing) {
      console.warn(`    Skipping the Prometheus suite: ${missing}.`);
      this.skip();
    }
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-prom-'));
  });
  afterEach(async () => {
    await prometheus?.stop();
    prometheus = undefined;
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
    serve = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('the alert rules pass promtool check rules', async () => {
    const { code, out } = await promtool(['check', 'rules', RULES]);
    expect(code, out).to.equal(0);
    expect(out).to.match(/SUCCESS: 10 rules found/);
  });

  it('the alert rules pass their unit tests (promtool test rules)', async () => {
    const { code, out } = await promtool(['test', 'rules', RULE_TESTS]);
    expect(code, out).to.equal(0);
    expect(out).to.match(/SUCCESS/);
  });

  it('every query of the dashboard parses as PromQL', async () => {
    const exprs = dashboardExpressions(DASHBOARD);
    expect(exprs.length, 'queries in the dashboard').to.be.above(10);
    await writeFile(join(dir, 'dashboard-rules.yml'), recordingRules(exprs));
    const { code, out } = await promtool(['check', 'rules', join(dir, 'dashboard-rules.yml')]);
    expect(code, out).to.equal(0);
    expect(out).to.include(`SUCCESS: ${exprs.length} rules found`);
  });

  it('the same check refuses a query that is not PromQL (so the one above can fail)', async () => {
    await writeFile(join(dir, 'broken.yml'), recordingRules(['sum(rate(tracehive_lines_received_total[5m])']));
    const { code, out } = await promtool(['check', 'rules', join(dir, 'broken.yml')]);
    expect(code, out).to.not.equal(0);
  });

  it('every tracehive metric the rules and the dashboard use is exported by serve', async () => {
    serve = await startServeProcess({}, dir);
    const exported = exportedNames(await (await fetch(`http://127.0.0.1:${serve.httpPort}/metrics`)).text());
    const used = new Map<string, string>();
    for (const [from, exprs] of [['rules', ruleExpressions(RULES)], ['dashboard', dashboardExpressions(DASHBOARD)]] as const) {
      for (const expr of exprs) for (const name of tracehiveMetricNames(expr)) used.set(name, `${from}: ${expr}`);
    }
    expect(ruleExpressions(RULES)).to.have.length(10);
    expect(used.size, 'metric names found').to.be.above(15);
    expect(used.has('tracehive_thehive_request_duration_seconds_bucket'), 'a histogram suffix is checked too').to.equal(true);
    const missing = [...used].filter(([name]) => !exported.has(name)).map(([name, where]) => `${name} (${where})`);
    expect(missing, 'used but not on /metrics').to.deep.equal([]);
  });

  it('a real Prometheus scrapes serve, loads the rules, and answers for the alerts delivered', async () => {
    serve = await startServeProcess({}, dir);
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${serve.httpPort}`], ruleFiles: [RULES], scrapeInterval: '1s' });
    await sendChunked(serve.tcpPort, detectionLines(3).join(''), 4096);
    const delivered = async (): Promise<number> => Number((await prometheus!.query('sum(tracehive_alerts_delivered_total{job="tracehive"})'))[0]?.value[1] ?? Number.NaN);
    await waitFor('Prometheus to answer 3 delivered alerts', async () => (await delivered()) === 3, 30_000);
    const up = await prometheus.query('up{job="tracehive"}');
    expect(up.map((s) => s.value[1])).to.deep.equal(['1']);
    const rules = (await prometheus.api('/api/v1/rules')) as { groups: { name: string; rules: { name: string; health: string }[] }[] };
    const group = rules.groups.find((g) => g.name === 'tracehive');
    expect(group?.rules.map((r) => r.health)).to.deep.equal(new Array(10).fill('ok'));
    // Nothing is wrong with this serve: no rule fires.
    const alerts = (await prometheus.api('/api/v1/alerts')) as { alerts: { labels: Record<string, string>; state: string }[] };
    expect(alerts.alerts.filter((a) => a.state === 'firing')).to.deep.equal([]);
  });
});
