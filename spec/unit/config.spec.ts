import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { loadConfig, redactedConfig, envNameOf } from '../../src/config.js';
import { nest } from '../support/harness.js';
import { failure } from '../support/config-failure.js';

const load = (env: Record<string, string> = {}, overrides?: Record<string, unknown>) =>
  loadConfig({ env, useDefaultFile: false, ...(overrides ? { overrides: nest(overrides) } : {}) });


describe('configuration', () => {
  it('defaults to the contract: listener 127.0.0.1:9998, file sink data/alerts.ndjson, 20 alerts/s', () => {
    const c = load();
    expect(c.tcp).to.include({ host: '127.0.0.1', port: 9998, maxLineBytes: 65536, maxConnections: 256, idleTimeoutMs: 300000 });
    expect(c.thehive).to.include({ url: '', api: 'auto', tlsVerify: true, timeoutMs: 10000 });
    expect(c.file.path).to.equal('data/alerts.ndjson');
    expect(c.queue).to.include({ ratePerSec: 20, concurrency: 4, maxAttempts: 0 });
    expect(c.http).to.include({ host: '127.0.0.1', port: 9999 });
    expect(c.alert).to.include({ type: 'cybertrace', source: 'CyberTrace', tlp: 2, pap: 2, serviceAlerts: 'log' });
  });

  it('reads the contract’s environment names', () => {
    const c = load({ TRACEHIVE_TCP_PORT: '7000', THEHIVE_URL: 'https://h.example.org', THEHIVE_API_KEY: 'k', THEHIVE_ORG: 'soc', THEHIVE_API: 'v0', TRACEHIVE_RATE_PER_SEC: '5', TRACEHIVE_TCP_ALLOW: '10.0.0.0/8, 192.168.1.7', LOG_LEVEL: 'warn' });
    expect(c.tcp.port).to.equal(7000);
    expect(c.thehive).to.include({ url: 'https://h.example.org', apiKey: 'k', organisation: 'soc', api: 'v0' });
    expect(c.queue.ratePerSec).to.equal(5);
    expect(c.tcp.allow).to.deep.equal(['10.0.0.0/8', '192.168.1.7']);
    expect(c.log.level).to.equal('warn');
  });

  it('lets the environment win over a config file', () => {
    const c = loadConfig({ env: { TRACEHIVE_TCP_PORT: '7001' }, useDefaultFile: false, overrides: { tcp: { port: 7002 } } });
    expect(c.tcp.port).to.equal(7001);
  });

  it('is frozen', () => {
    const c = load();
    expect(Object.isFrozen(c.tcp)).to.equal(true);
    expect(() => {
      (c.tcp as { port: number }).port = 1;
    }).to.throw(TypeError);
  });

  const bad: [string, Record<string, string>, string][] = [
    ['port out of range', { TRACEHIVE_TCP_PORT: '70000' }, 'tcp.port'],
    ['not a number', { TRACEHIVE_RATE_PER_SEC: 'fast' }, 'queue.ratePerSec'],
    ['unknown api', { THEHIVE_API: 'v2' }, 'thehive.api'],
    ['bad CIDR', { TRACEHIVE_TCP_ALLOW: '10.0.0.0/33' }, 'tcp.allow'],
    ['bad URL', { THEHIVE_URL: 'thehive:9000' }, 'thehive.url'],
    ['bad log level', { LOG_LEVEL: 'loud' }, 'log.level'],
    ['no map worker thread', { TRACEHIVE_TCP_MAP_WORKERS: '0' }, 'tcp.mapWorkers'],
    ['an unknown map worker setting', { TRACEHIVE_TCP_MAP_WORKER: 'yes' }, 'tcp.mapWorker'],
    ['bad tlp', { TRACEHIVE_ALERT_TLP: '7' }, 'alert.tlp'],
    ['zero concurrency', { TRACEHIVE_CONCURRENCY: '0' }, 'queue.concurrency'],
    ['zero maxPending', { TRACEHIVE_MAX_PENDING: '0' }, 'queue.maxPending'],
    ['a line bound shorter than a detection', { TRACEHIVE_TCP_MAX_LINE_BYTES: '0' }, 'tcp.maxLineBytes'],
    ['zero maxConnections', { TRACEHIVE_TCP_MAX_CONNECTIONS: '0' }, 'tcp.maxConnections'],
    ['zero TheHive timeout', { THEHIVE_TIMEOUT_MS: '0' }, 'thehive.timeoutMs'],
    ['severity rules that are not JSON', { TRACEHIVE_ALERT_SEVERITY: '{bad' }, 'alert.severity'],
    ['an alert type TheHive 5 refuses (> 32 chars)', { TRACEHIVE_ALERT_TYPE: 'x'.repeat(33) }, 'alert.type'],
    ['an unreadable CA file', { THEHIVE_CA_FILE: '/nonexistent/ca.pem' }, 'thehive.caFile'],
    ['a switch that is neither true nor false', { THEHIVE_TLS_VERIFY: 'no' }, 'thehive.tlsVerify'],
    ['a switch spelled off', { TRACEHIVE_TCP_ENABLED: 'off' }, 'tcp.enabled'],
  ];

  it('reads switches as true/false or 1/0', () => {
    expect(load({ THEHIVE_TLS_VERIFY: '0', TRACEHIVE_TCP_ENABLED: 'FALSE', TRACEHIVE_HTTP_ENABLED: '1' })).to.deep.include({
      thehive: { ...load().thehive, tlsVerify: false },
      tcp: { ...load().tcp, enabled: false },
      http: { ...load().http, enabled: true },
    });
  });
  for (const [what, env, key] of bad) {
    it(`refuses ${what}, naming ${key} and where to fix it`, () => {
      const err = failure(() => load(env));
      expect(err.code).to.equal('ERR_CONFIG_INVALID');
      expect(err.message).to.include(key);
      expect(err.message).to.include(envNameOf(key) as string);
    });
  }

  it('refuses unknown keys (strict)', () => {
    const err = failure(() => load({}, { 'tcp.prot': 1 }));
    expect(err.message).to.include('tcp.prot: unknown key');
  });

  it('refuses severity rules that are not {match, severity 1-4}', () => {
    const err = failure(() => load({}, { 'alert.severity': [{ match: '*APT*', severity: 5 }] }));
    expect(err.message).to.include('alert.severity').and.include('rule 0');
  });

  it('needs an API key when a TheHive URL is set', () => {
    const err = failure(() => load({ THEHIVE_URL: 'https://h.example.org' }));
    expect(err.message).to.include('THEHIVE_API_KEY');
  });

  it('redacts the password of a user:password@ TheHive URL', () => {
    const c = load({ THEHIVE_URL: 'https://svc:hunter2@h.example.org/', THEHIVE_API_KEY: 'k' });
    expect(JSON.stringify(redactedConfig(c))).to.not.include('hunter2');
  });

  it('never prints the API key in check-config output or in errors', () => {
    const c = load({ THEHIVE_URL: 'https://h.example.org', THEHIVE_API_KEY: 'TOPSECRET' });
    expect(JSON.stringify(redactedConfig(c))).to.not.include('TOPSECRET');
    const err = failure(() => load({ THEHIVE_API_KEY: 'TOPSECRET', TRACEHIVE_TCP_PORT: 'x' }));
    expect(err.message).to.not.include('TOPSECRET');
  });

  it('ships config/default.json equal to the schema defaults, and config/example.json with every key', () => {
    const defaults = JSON.parse(JSON.stringify(load()));
    expect(JSON.parse(readFileSync('config/default.json', 'utf8'))).to.deep.equal(defaults);
    // The example leaves the key empty (it belongs in THEHIVE_API_KEY, not in a file).
    const example = loadConfig({ env: { THEHIVE_API_KEY: 'from-the-environment' }, useDefaultFile: false, file: 'config/example.json' });
    // thehive.targets is a map of names (its own keys are the operator's): one key here.
    const leaf = (key: string): boolean => key === 'thehive.targets';
    const keys = (o: object, p = ''): string[] => Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) && !leaf(`${p}${k}`) ? keys(v, `${p}${k}.`) : [`${p}${k}`]));
    const exampleKeys = keys(JSON.parse(readFileSync('config/example.json', 'utf8')));
    expect(exampleKeys.sort()).to.deep.equal(keys(defaults).sort());
    expect(example.thehive.url).to.match(/^https:/);
  });
});
