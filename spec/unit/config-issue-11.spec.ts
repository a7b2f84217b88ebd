/**
 * Issue 11, "Config" and "Network config": what a wrong value in the environment or a config file
 * used to do silently (an overflowing timer, allow-all, a directory as CA file, a password in an
 * error, a misspelt variable ignored), and the clear error each gets now.
 */
import { expect } from 'chai';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, redactedConfig, redactUrl, envNameOf } from '../../src/config.js';
import { nest } from '../support/harness.js';
import { failure } from '../support/config-failure.js';

const TLS = 'spec/fixtures/tls';

const load = (env: Record<string, string> = {}, overrides?: Record<string, unknown>) =>
  loadConfig({ env, useDefaultFile: false, ...(overrides ? { overrides: nest(overrides) } : {}) });


/** Every key of the configuration, dotted. */
function keysOf(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) ? keysOf(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

describe('configuration under hostile input (issue 11)', () => {
  describe('durations and sizes have upper bounds', () => {
    it('refuses THEHIVE_TIMEOUT_MS=3000000000 (setTimeout would fire after 1 ms), naming key, variable and bound', () => {
      const err = failure(() => load({ THEHIVE_TIMEOUT_MS: '3000000000' }));
      expect(err.code).to.equal('ERR_CONFIG_INVALID');
      expect(err.message).to.include('thehive.timeoutMs').and.include('THEHIVE_TIMEOUT_MS').and.include('600000');
    });

    it('takes a value at the bound', () => {
      expect(load({ THEHIVE_TIMEOUT_MS: '600000' }).thehive.timeoutMs).to.equal(600000);
    });

    const numeric = keysOf(load()).filter((k) => /(Ms|Bytes|Days)$/.test(k));
    it('knows the duration and size keys it checks below', () => {
      expect(numeric).to.include.members(['tcp.idleTimeoutMs', 'spool.maxBytes', 'spool.dead.retentionDays', 'email.smtp.dataTimeoutMs']);
    });
    for (const key of numeric) {
      it(`bounds ${key}`, () => {
        const envName = envNameOf(key) as string;
        const err = failure(() => load({ [envName]: '3000000000000000' }));
        expect(err.code).to.equal('ERR_CONFIG_INVALID');
        expect(err.message).to.include(key).and.include(envName).and.match(/from \d+ to \d+/);
      });
    }

    it('refuses a number with a unit or other trailing text instead of reading its digits (5m is not 5 ms)', () => {
      for (const value of ['5m', '10ms', '1.5', '0x10', ' ', '']) {
        const err = failure(() => load({ TRACEHIVE_TCP_IDLE_TIMEOUT_MS: value }));
        expect(err.message, JSON.stringify(value)).to.include('tcp.idleTimeoutMs').and.include('TRACEHIVE_TCP_IDLE_TIMEOUT_MS');
      }
    });
  });

  describe('CIDR lists', () => {
    it('refuses tcp.allow=010.020.000.005/32 (octal to the parser: it would allow 8.16.0.5)', () => {
      const err = failure(() => load({ TRACEHIVE_TCP_ALLOW: '010.020.000.005/32' }));
      expect(err.message).to.include('tcp.allow').and.include('TRACEHIVE_TCP_ALLOW').and.include('010.020.000.005/32');
    });

    it('refuses short forms in every CIDR list', () => {
      for (const [key, value] of [['TRACEHIVE_TCP_ALLOW', '10.1'], ['TRACEHIVE_SMTP_ALLOW_PEERS', '10'], ['TRACEHIVE_EMAIL_IGNORE_IPS', '127.1']]) {
        const err = failure(() => load({ [key as string]: value as string }));
        expect(err.message, key).to.include(key as string);
      }
    });

    it('refuses them in a config file too', () => {
      const err = failure(() => load({}, { 'email.smtp.allowPeers': ['192.168.001.0/24'] }));
      expect(err.message).to.include('email.smtp.allowPeers');
    });
  });

  describe('an empty list in the environment', () => {
    const lists: [string, string][] = [
      ['tcp.allow', 'unset it to allow all peers'],
      ['email.smtp.allowPeers', 'unset it to allow all peers'],
      ['email.smtp.allowFrom', 'unset it to allow all senders'],
      ['email.ignore.ips', 'unset it'],
      ['email.ignore.domains', 'unset it'],
      ['email.ignore.hashes', 'unset it'],
      ['email.ignore.emails', 'unset it'],
      ['alert.tags', 'unset it'],
    ];
    for (const [key, hint] of lists) {
      for (const value of ['', ' , ', ',']) {
        it(`is an error for ${key} (${JSON.stringify(value)}), naming the variable`, () => {
          const envName = envNameOf(key) as string;
          const err = failure(() => load({ [envName]: value }));
          expect(err.code).to.equal('ERR_CONFIG_INVALID');
          expect(err.message).to.include(envName).and.include(hint);
        });
      }
    }

    it('unset, or [] in a config file, allows all peers', () => {
      expect(load().tcp.allow).to.deep.equal([]);
      expect(load({}, { 'tcp.allow': [] }).tcp.allow).to.deep.equal([]);
    });
  });

  describe('environment variables', () => {
    it('refuses an unknown TRACEHIVE_* variable, naming the closest known one', () => {
      const err = failure(() => load({ TRACEHIVE_TCP_ALOW: '10.0.0.0/8' }));
      expect(err.code).to.equal('ERR_CONFIG_INVALID');
      expect(err.message).to.include('TRACEHIVE_TCP_ALOW').and.include('did you mean TRACEHIVE_TCP_ALLOW?');
    });

    it('refuses an unknown THEHIVE_* variable without echoing its value', () => {
      const err = failure(() => load({ THEHIVE_APIKEY: 'Sup3rSecretKey' }));
      expect(err.message).to.include('THEHIVE_APIKEY').and.include('did you mean THEHIVE_API_KEY?');
      expect(err.message).to.not.include('Sup3rSecretKey');
    });

    it('knows TRACEHIVE_CONFIG and leaves other variables alone', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tracehive-config-'));
      try {
        const file = join(dir, 'c.json');
        await writeFile(file, JSON.stringify({ tcp: { port: 7100 } }));
        const c = load({ TRACEHIVE_CONFIG: file, PATH: '/usr/bin', HOME: '/root', LOG_LEVEL: 'warn', TRACEHIVEX: '1', NODE_OPTIONS: '' });
        expect(c.tcp.port).to.equal(7100);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('certificate and key files', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tracehive-pem-'));
      await mkdir(join(dir, 'a-directory'));
      await writeFile(join(dir, 'not-pem.txt'), 'hello, I am no certificate\n');
      await writeFile(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
      await copyFile(join(TLS, 'test-cert.pem'), join(dir, 'ca.pem'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    const caKeys: [string, string][] = [
      ['thehive.caFile', 'THEHIVE_CA_FILE'],
      ['email.imap.caFile', 'TRACEHIVE_IMAP_CA_FILE'],
      ['notify.smtp.caFile', 'TRACEHIVE_NOTIFY_SMTP_CA_FILE'],
    ];
    for (const [key, envName] of caKeys) {
      it(`refuses a directory as ${key}`, () => {
        const err = failure(() => load({ [envName]: join(dir, 'a-directory') }));
        expect(err.code).to.equal('ERR_CONFIG_INVALID');
        expect(err.message).to.include(key).and.include(envName).and.include('not a regular file');
      });

      it(`refuses a file that is not PEM as ${key}`, () => {
        const err = failure(() => load({ [envName]: join(dir, 'not-pem.txt') }));
        expect(err.message).to.include(key).and.include('PEM');
      });

      it(`refuses a PEM block that is no certificate as ${key}, without printing it`, () => {
        const err = failure(() => load({ [envName]: join(TLS, 'test-key.pem') }));
        expect(err.message).to.include(key).and.include('CERTIFICATE');
        expect(err.message).to.not.include('PRIVATE KEY-----\n');
        const broken = failure(() => load({ [envName]: join(dir, 'broken.pem') }));
        expect(broken.message).to.include(key).and.include('cannot be read as a certificate');
        expect(broken.message).to.not.include('Tm90IGEgY2VydGlmaWNhdGU');
      });

      it(`takes a PEM certificate as ${key}`, () => {
        const c = load({ [envName]: join(dir, 'ca.pem') });
        const read = { 'thehive.caFile': c.thehive.caFile, 'email.imap.caFile': c.email.imap.caFile, 'notify.smtp.caFile': c.notify.smtp.caFile }[key];
        expect(read).to.equal(join(dir, 'ca.pem'));
      });
    }

    it('refuses an SMTP key file that holds no private key, and a key that does not belong to the certificate', () => {
      const swapped = failure(() => load({ TRACEHIVE_SMTP_TLS_KEY_FILE: join(TLS, 'test-cert.pem'), TRACEHIVE_SMTP_TLS_CERT_FILE: join(TLS, 'test-cert.pem') }));
      expect(swapped.message).to.include('email.smtp.tlsKeyFile').and.include('TRACEHIVE_SMTP_TLS_KEY_FILE').and.include('private key');
      const other = failure(() => load({ TRACEHIVE_SMTP_TLS_KEY_FILE: join(TLS, 'other-key.pem'), TRACEHIVE_SMTP_TLS_CERT_FILE: join(TLS, 'test-cert.pem') }));
      expect(other.message).to.include('email.smtp.tlsKeyFile').and.include('does not match');
      const dirAsCert = failure(() => load({ TRACEHIVE_SMTP_TLS_KEY_FILE: join(TLS, 'test-key.pem'), TRACEHIVE_SMTP_TLS_CERT_FILE: join(dir, 'a-directory') }));
      expect(dirAsCert.message).to.include('email.smtp.tlsCertFile').and.include('not a regular file');
      const c = load({ TRACEHIVE_SMTP_TLS_KEY_FILE: join(TLS, 'test-key.pem'), TRACEHIVE_SMTP_TLS_CERT_FILE: join(TLS, 'test-cert.pem') });
      expect(c.email.smtp.tlsKeyFile).to.equal(join(TLS, 'test-key.pem'));
    });
  });

  describe('credentials never reach an error message', () => {
    const urls = ['ftp://svc:s3cr3t-pw@thehive.example.org/', 'http://svc:s3cr3t-pw@exa mple.org/', 'http://svc:s3cr3t-pw@[::1/', 'svc:s3cr3t-pw@thehive.example.org'];
    for (const url of urls) {
      it(`an invalid THEHIVE_URL ${JSON.stringify(url.replace('s3cr3t-pw', '…'))} is named without its password`, () => {
        const err = failure(() => load({ THEHIVE_URL: url, THEHIVE_API_KEY: 'k' }));
        expect(err.code).to.equal('ERR_CONFIG_INVALID');
        expect(err.message).to.include('thehive.url');
        expect(err.message).to.not.include('s3cr3t-pw');
      });
    }

    it('a config file that is not JSON is named with its line, without quoting what is around the error', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tracehive-config-'));
      try {
        const file = join(dir, 'broken.json');
        await writeFile(file, '{\n  "thehive": {\n    "apiKey": K3yS3cret\n  }\n}\n');
        const err = failure(() => loadConfig({ env: {}, useDefaultFile: false, file }));
        expect(err.code).to.equal('ERR_CONFIG_FILE');
        expect(err.message).to.include(file).and.include('not valid JSON');
        expect(err.message).to.not.include('S3cret');
        expect(err.message).to.match(/line 3/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('check-config output redacts the IMAP password, the API key and a URL password', () => {
      const c = load({ THEHIVE_URL: 'https://svc:s3cr3t-pw@h.example.org', THEHIVE_API_KEY: 'K3Y-S3CRET', TRACEHIVE_IMAP_PASSWORD: 'IMAP-S3CRET' });
      const text = JSON.stringify(redactedConfig(c));
      for (const secret of ['s3cr3t-pw', 'K3Y-S3CRET', 'IMAP-S3CRET']) expect(text).to.not.include(secret);
    });
  });
});

describe('redactUrl: a token in the user part is a secret too (issue 11)', () => {
  it('hides the user and the password of a URL, and keeps the rest to point at the host', () => {
    expect(redactUrl('https://SECRETTOKEN@thehive.example.org:9000/')).to.equal('https://redacted@thehive.example.org:9000/');
    expect(redactUrl('https://api:s3cr3t@thehive.example.org/')).to.equal('https://redacted:redacted@thehive.example.org/');
    expect(redactUrl('https://thehive.example.org/')).to.equal('https://thehive.example.org/');
  });
});
