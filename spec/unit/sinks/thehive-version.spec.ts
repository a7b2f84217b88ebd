/**
 * TLP numbers per TheHive release on the v1 API (issue 13 point 3): TheHive 5.2+ numbers RED 4 and
 * AMBER+STRICT 3; 5.0 and 5.1 number RED 3 and have no AMBER+STRICT. The sink learns the release from
 * `GET /api/status` (or `thehive.version`) and converts alerts and observables, over real HTTP
 * against the stand-in playing each release.
 */
import { expect } from 'chai';
import { loadConfig } from '../../../src/config.js';
import { theHiveOptionsOf, targetsOf } from '../../../src/app-options.js';
import { createTheHiveSink, type TheHiveSink, type TheHiveSinkOptions } from '../../../src/sinks/thehive.js';
import type { AlertOps } from '../../../src/lifecycle/types.js';
import type { Alert } from '../../../src/types.js';
import { testAlert } from '../../support/alerts.js';
import { startFakeTheHive, type FakeTheHive, type FakeTheHiveOptions } from '../../support/fake-thehive.js';

const KEY = 'tlp-key';
const signal = new AbortController().signal;

/** A TLP:RED mail's alert: RED on the alert and an indicator, AMBER+STRICT on another. */
function redAlert(sourceRef: string): Alert {
  return testAlert(sourceRef, {
    tlp: 4,
    tags: ['mail'],
    observables: [
      { dataType: 'ip', data: '203.0.113.7', tlp: 4, ioc: true },
      { dataType: 'domain', data: 'evil.example', tlp: 3, tags: ['sender'] },
      { dataType: 'url', data: 'http://evil.example/x', tlp: 2 },
    ],
  });
}

describe('sinks/thehive: TLP numbers of TheHive 5.0/5.1 on the v1 API', () => {
  const hives: FakeTheHive[] = [];
  const sinks: TheHiveSink[] = [];
  async function hive(opts: FakeTheHiveOptions = {}): Promise<FakeTheHive> {
    const h = await startFakeTheHive({ apiKey: KEY, ...opts });
    hives.push(h);
    return h;
  }
  function sinkFor(h: FakeTheHive, over: Partial<TheHiveSinkOptions> = {}): TheHiveSink {
    const s = createTheHiveSink({ url: h.url, apiKey: KEY, organisation: '', api: 'auto', version: 'auto', tlsVerify: true, timeoutMs: 5000, ...over });
    sinks.push(s);
    return s;
  }
  async function send(s: TheHiveSink, a: Alert): Promise<unknown> {
    return s.send([{ sourceRef: a.sourceRef, body: s.encode(a) }], signal);
  }
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
    await Promise.all(hives.splice(0).map((h) => h.close()));
  });

  it('the stand-in playing 5.1 refuses TLP 4 as out of range, as TheHive 5.1 would', async () => {
    const h = await hive({ release: '5.1.2-1' });
    const res = await fetch(`${h.url}/api/v1/alert`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` }, body: JSON.stringify({ ...testAlert('raw-1'), tlp: 4 }) });
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { type: string }).type).to.equal('AttributeCheckingError');
  });

  for (const release of ['5.0.5-1', '5.1.2-1']) {
    it(`auto: TheHive ${release} gets RED as 3 and AMBER+STRICT as AMBER with the tag tlp:amber+strict, alert and observables`, async () => {
      const h = await hive({ release });
      const s = sinkFor(h);
      expect(await send(s, redAlert('red-1'))).to.deep.equal({ kind: 'delivered' });
      const stored = h.alert('red-1');
      expect([stored?.tlp, stored?.tlpLabel, stored?.tags]).to.deep.equal([3, 'RED', ['mail']]);
      expect(stored?.observables.map((o) => [o.data, o.tlp, o.tlpLabel, o.tags])).to.deep.equal([
        ['203.0.113.7', 3, 'RED', []],
        ['evil.example', 2, 'AMBER', ['sender', 'tlp:amber+strict']],
        ['http://evil.example/x', 2, 'AMBER', []],
      ]);
      expect(h.requests.map((r) => `${r.method} ${r.path}`)).to.deep.equal(['GET /api/status', 'POST /api/v1/alert']);
    });
  }

  it('auto: TheHive 5.2+ keeps RED 4 and AMBER+STRICT 3', async () => {
    const h = await hive();
    const s = sinkFor(h, { api: 'v1' });
    expect(await send(s, redAlert('red-2'))).to.deep.equal({ kind: 'delivered' });
    expect(h.alert('red-2')?.tlp).to.equal(4);
    expect(h.alert('red-2')?.observables.map((o) => o.tlp)).to.deep.equal([4, 3, 2]);
  });

  it('an explicit thehive.version 5.1 converts without asking GET /api/status (a proxy may block it)', async () => {
    const h = await hive({ release: '5.1.2-1' });
    const s = sinkFor(h, { version: '5.1' });
    expect(await send(s, redAlert('red-3'))).to.deep.equal({ kind: 'delivered' });
    expect(h.alert('red-3')?.tlp).to.equal(3);
    expect(h.requests.map((r) => r.path)).to.deep.equal(['/api/v1/alert']);
  });

  it('an explicit thehive.version 4 with api auto speaks v0 without asking', async () => {
    const h = await hive({ version: 4 });
    const s = sinkFor(h, { version: '4' });
    expect(await send(s, redAlert('red-4'))).to.deep.equal({ kind: 'delivered' });
    expect(h.requests.map((r) => r.path)).to.deep.equal(['/api/alert']);
    expect(h.alert('red-4')?.tlp).to.equal(3);
  });

  it('a status a proxy refuses: 5.2+ numbers are assumed, said once with the key to set, and alerts still go', async () => {
    const h = await hive();
    const warnings: string[] = [];
    const s = sinkFor(h, { api: 'v1', warn: (m) => warnings.push(m) });
    h.faultAny({ kind: 'status', status: 403, body: '<html>Forbidden</html>' });
    expect(await send(s, redAlert('red-5'))).to.deep.equal({ kind: 'delivered' });
    expect(await send(s, redAlert('red-6'))).to.deep.equal({ kind: 'delivered' });
    expect(h.alert('red-5')?.tlp).to.equal(4);
    expect(h.requests.filter((r) => r.path === '/api/status')).to.have.length(1);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/HTTP 403/).and.match(/5\.2/).and.match(/thehive\.version/).and.match(/THEHIVE_VERSION/);
  });

  it('the lifecycle on TheHive 5.1: a created alert and observables added later are converted too', async () => {
    const h = await hive({ release: '5.1.2-1' });
    const s = sinkFor(h);
    const ops = s.ops as AlertOps;
    const made = await ops.create(redAlert('red-7'), signal);
    if (made.kind !== 'ok') throw new Error(`create: ${JSON.stringify(made)}`);
    expect(h.alert('red-7')?.tlp).to.equal(3);
    const added = await ops.addObservables(made.value.id, [{ dataType: 'ip', data: '198.51.100.9', tlp: 4 }, { dataType: 'hash', data: 'a'.repeat(64), tlp: 3 }], signal);
    expect(added).to.deep.equal({ kind: 'ok', value: { added: 2, existed: 0 } });
    expect(h.alert('red-7')?.observables.slice(3).map((o) => [o.data, o.tlp, o.tags])).to.deep.equal([
      ['198.51.100.9', 3, []],
      ['a'.repeat(64), 2, ['tlp:amber+strict']],
    ]);
  });
});

describe('config: thehive.version', () => {
  it('defaults to auto, takes THEHIVE_VERSION, reaches the sink, and refuses a release it does not know, naming the key', () => {
    expect(loadConfig({ env: {}, useDefaultFile: false }).thehive.version).to.equal('auto');
    const c = loadConfig({ env: { THEHIVE_VERSION: '5.1', THEHIVE_URL: 'http://127.0.0.1:9000', THEHIVE_API_KEY: 'k' }, useDefaultFile: false });
    expect(theHiveOptionsOf(targetsOf(c)[0]!).version).to.equal('5.1');
    let message = '';
    try {
      loadConfig({ env: { THEHIVE_VERSION: '5.3' }, useDefaultFile: false });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.include('thehive.version');
  });
});
