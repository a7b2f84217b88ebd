/**
 * Issue 14, routing: `thehive.targets`. A wrong target, or a rule naming one that does not exist,
 * stops start-up with the key; what a target leaves out comes from thehive.* and queue.*.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig, redactedConfig } from '../../src/config.js';
import { resolveTargets, type TargetDefaults } from '../../src/config-targets.js';
import { failure } from '../support/config-failure.js';

const HIVE = { THEHIVE_URL: 'https://thehive.example:9000', THEHIVE_API_KEY: 'k' };
const load = (env: Record<string, string> = {}) => loadConfig({ env: { ...HIVE, ...env }, useDefaultFile: false });
const rules = (target: string): string => JSON.stringify([{ match: { category: '*_Tenant_B_*' }, set: { target } }]);

describe('thehive.targets (issue 14, routing)', () => {
  it('is empty by default: every alert goes to thehive.url', () => {
    expect(load().thehive.targets).to.deep.equal({});
  });

  it('takes named targets from THEHIVE_TARGETS and rules that name them', () => {
    const c = load({ THEHIVE_TARGETS: JSON.stringify({ 'tenant-b': { organisation: 'tenant-b' } }), TRACEHIVE_ALERT_RULES: rules('tenant-b') });
    expect(c.thehive.targets).to.deep.equal({ 'tenant-b': { organisation: 'tenant-b' } });
  });

  it('refuses a rule naming a target thehive.targets lacks, naming the rule and what it has', () => {
    const err = failure(() => load({ THEHIVE_TARGETS: JSON.stringify({ 'tenant-b': { organisation: 'b' } }), TRACEHIVE_ALERT_RULES: rules('tenant-c') }));
    expect(err.code).to.equal('ERR_CONFIG_TARGET');
    expect(err.message).to.include('alert.rules[0].set.target: no target "tenant-c" in thehive.targets (it has tenant-b)');
  });

  it('takes "default" as thehive.url in a rule (a rule sends an alert back after an earlier rule moved it)', () => {
    expect(load({ TRACEHIVE_ALERT_RULES: rules('default') }).alert.rules).to.have.length(1);
  });

  for (const [targets, says] of [
    [{ Default: {} }, 'thehive.targets.Default: a target name is 1 to 64'],
    [{ default: {} }, 'not "default"'],
    [{ b: { url: 'https://other:9000' } }, 'thehive.targets.b: a target with its own url needs its own apiKey or apiKeyFile'],
    [{ b: { url: 'ftp://other' , apiKey: 'x' } }, 'thehive.targets.b.url: expected an http(s) URL'],
    [{ b: { ratePerSec: -1 } }, 'thehive.targets.b.ratePerSec: expected a whole number ≥ 0'],
    [{ b: { orgnisation: 'x' } }, 'thehive.targets.b.orgnisation: unknown key'],
    [{ b: { apiKey: 'x', apiKeyFile: 'f' } }, 'thehive.targets.b: apiKey and apiKeyFile are both set'],
    [{ b: 'tenant-b' }, 'thehive.targets.b: expected an object'],
  ] as const) {
    it(`refuses ${JSON.stringify(targets)}: ${says}`, () => {
      const err = failure(() => load({ THEHIVE_TARGETS: JSON.stringify(targets) }));
      expect(err.code).to.equal('ERR_CONFIG_TARGET');
      expect(err.message).to.include(says).and.include('THEHIVE_TARGETS');
    });
  }

  it('refuses a target when there is no thehive.url to inherit (the file sink takes no targets)', () => {
    const err = failure(() => loadConfig({ env: { THEHIVE_TARGETS: JSON.stringify({ b: { organisation: 'b' } }) }, useDefaultFile: false }));
    expect(err.message).to.include('thehive.targets.b: no url, and thehive.url is empty');
  });

  it('refuses an apiKeyFile it cannot read, naming the key', () => {
    const err = failure(() => load({ THEHIVE_TARGETS: JSON.stringify({ b: { url: 'https://b:9000', apiKeyFile: join(tmpdir(), 'no-such-tracehive-key') } }) }));
    expect(err.code).to.equal('ERR_CONFIG_TARGET');
    expect(err.message).to.include('thehive.targets.b.apiKeyFile: cannot read').and.include('ENOENT');
  });

  it('never prints a target’s API key', () => {
    const c = load({ THEHIVE_TARGETS: JSON.stringify({ b: { url: 'https://b:9000', apiKey: 'secret-of-b' } }) });
    expect(JSON.stringify(redactedConfig(c))).not.to.include('secret-of-b');
  });

  describe('resolveTargets', () => {
    const defaults: TargetDefaults = { url: 'https://a:9000', apiKey: 'ka', organisation: 'SOC', api: 'auto', version: 'auto', tlsVerify: true, caFile: '', proxy: '', clientCertFile: '', clientKeyFile: '', timeoutMs: 10000, ratePerSec: 20, concurrency: 4, maxPending: 1000, spoolMaxBytes: 900 };

    it('gives the default target the whole spool when it is the only one', () => {
      expect(resolveTargets({}, defaults)).to.deep.equal([{ ...defaults, name: 'default', spoolMaxBytes: Infinity }]);
    });

    it('fills in what a target leaves out, shares the spool equally unless told, and reads its key file', () => {
      const dir = mkdtempSync(join(tmpdir(), 'tracehive-targets-'));
      try {
        writeFileSync(join(dir, 'c.key'), 'key-of-c\n');
        const [a, b, c] = resolveTargets({ b: { organisation: 'B', ratePerSec: 5 }, c: { url: 'https://c:9000', apiKeyFile: join(dir, 'c.key'), spoolMaxBytes: 100 } }, defaults);
        expect(a).to.include({ name: 'default', organisation: 'SOC', spoolMaxBytes: 300 });
        expect(b).to.include({ name: 'b', url: 'https://a:9000', apiKey: 'ka', organisation: 'B', ratePerSec: 5, concurrency: 4, spoolMaxBytes: 300 });
        expect(c).to.include({ name: 'c', url: 'https://c:9000', apiKey: 'key-of-c', organisation: 'SOC', spoolMaxBytes: 100 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('thehive.targets named by a mailbox (issue 14)', () => {
  it('refuses a mailbox whose target thehive.targets lacks, naming the entry', () => {
    const err = failure(() =>
      load({ TRACEHIVE_IMAP_ENABLED: 'true', TRACEHIVE_IMAP_HOST: 'mail.example', TRACEHIVE_IMAP_USER: 'soc', TRACEHIVE_IMAP_PASSWORD: 'p', TRACEHIVE_IMAP_MAILBOXES: JSON.stringify([{ mailbox: 'INBOX/b', target: 'tenant-b' }]) }),
    );
    expect(err.code).to.equal('ERR_CONFIG_TARGET');
    expect(err.message).to.include('email.imap.mailboxes[0].target: no target "tenant-b" in thehive.targets (which is empty)');
  });
});
