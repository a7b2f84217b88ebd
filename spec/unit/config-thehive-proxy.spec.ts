/**
 * Issue 17: `thehive.proxy` and the client certificate of TheHive. A wrong value stops start-up
 * with the key, its variable and what to write instead; a proxy password never shows.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { loadConfig, redactedConfig } from '../../src/config.js';
import { failure } from '../support/config-failure.js';

const TLS = 'spec/fixtures/tls';
const HIVE = { THEHIVE_URL: 'https://thehive.example:9000', THEHIVE_API_KEY: 'k' };
const load = (env: Record<string, string> = {}) => loadConfig({ env: { ...HIVE, ...env }, useDefaultFile: false });

describe('thehive.proxy and the TheHive client certificate (issue 17)', () => {
  it('is off by default: no proxy, no client certificate', () => {
    const c = load();
    expect(c.thehive.proxy).to.equal('');
    expect(c.thehive.clientCertFile).to.equal('');
    expect(c.thehive.clientKeyFile).to.equal('');
  });

  it('takes env and http(s) proxy URLs', () => {
    expect(load({ THEHIVE_PROXY: 'env' }).thehive.proxy).to.equal('env');
    expect(load({ THEHIVE_PROXY: 'http://proxy.example:3128' }).thehive.proxy).to.equal('http://proxy.example:3128');
    expect(load({ THEHIVE_PROXY: 'https://u:p@proxy.example' }).thehive.proxy).to.equal('https://u:p@proxy.example');
  });

  for (const [value, says] of [
    ['socks5://proxy.example:1080', 'SOCKS is not supported'],
    ['proxy.example:3128', 'with its scheme, such as http://proxy.example:3128'],
    ['http://proxy.example:3128/path', 'without a path'],
    ['ENV', 'proxy URL'],
  ] as const) {
    it(`refuses THEHIVE_PROXY=${value}, naming the key and the variable`, () => {
      const err = failure(() => load({ THEHIVE_PROXY: value }));
      expect(err.code).to.equal('ERR_CONFIG_INVALID');
      expect(err.message).to.include('thehive.proxy').and.include('THEHIVE_PROXY').and.include(says);
    });
  }

  it('never shows the proxy password: not in an error, not in check-config output', () => {
    const err = failure(() => load({ THEHIVE_PROXY: 'http://user:s3cret-pw@proxy.example:3128/x' }));
    expect(err.message).to.include('thehive.proxy').and.not.include('s3cret-pw');
    const shown = JSON.stringify(redactedConfig(load({ THEHIVE_PROXY: 'http://user:s3cret-pw@proxy.example:3128' })));
    expect(shown).to.include('proxy.example:3128').and.not.include('s3cret-pw');
  });

  it('takes a client certificate with its key', () => {
    const c = load({ THEHIVE_CLIENT_CERT_FILE: join(TLS, 'test-cert.pem'), THEHIVE_CLIENT_KEY_FILE: join(TLS, 'test-key.pem') });
    expect(c.thehive.clientCertFile).to.equal(join(TLS, 'test-cert.pem'));
  });

  it('refuses a certificate without its key, and a key without its certificate', () => {
    const halves: Record<string, string>[] = [{ THEHIVE_CLIENT_CERT_FILE: join(TLS, 'test-cert.pem') }, { THEHIVE_CLIENT_KEY_FILE: join(TLS, 'test-key.pem') }];
    for (const env of halves) {
      const err = failure(() => load(env));
      expect(err.code).to.equal('ERR_CONFIG_INVALID');
      expect(err.message).to.include('THEHIVE_CLIENT_CERT_FILE').and.include('THEHIVE_CLIENT_KEY_FILE').and.include('give both');
    }
  });

  it('refuses a key that is not the certificate\'s, and a file that is missing or not PEM', () => {
    const other = failure(() => load({ THEHIVE_CLIENT_CERT_FILE: join(TLS, 'test-cert.pem'), THEHIVE_CLIENT_KEY_FILE: join(TLS, 'other-key.pem') }));
    expect(other.message).to.include('thehive.clientKeyFile').and.include('THEHIVE_CLIENT_KEY_FILE').and.include('does not match');
    const missing = failure(() => load({ THEHIVE_CLIENT_CERT_FILE: join(TLS, 'no-such.pem'), THEHIVE_CLIENT_KEY_FILE: join(TLS, 'test-key.pem') }));
    expect(missing.message).to.include('thehive.clientCertFile').and.include('THEHIVE_CLIENT_CERT_FILE');
    const swapped = failure(() => load({ THEHIVE_CLIENT_CERT_FILE: join(TLS, 'test-key.pem'), THEHIVE_CLIENT_KEY_FILE: join(TLS, 'test-cert.pem') }));
    expect(swapped.message).to.include('thehive.clientCertFile').and.include('thehive.clientKeyFile');
  });
});
