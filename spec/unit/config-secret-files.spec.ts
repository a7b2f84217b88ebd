/**
 * Secrets from files (issue 17): every secret key also reads from `<ENV>_FILE`, a `<key>File`
 * config key and, under systemd, `$CREDENTIALS_DIRECTORY/<name>`; one source per secret; a
 * file that cannot give a secret is an error saying which and why. Real files in a temp dir.
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envNameOf, loadConfig, redactedConfig } from '../../src/config.js';
import { SECRET_FILES, secretFilesOf } from '../../src/config-secret-files.js';
import { SECRET_KEYS } from '../../src/config-secrets.js';
import { failure } from '../support/config-failure.js';

const load = (env: Record<string, string>, overrides?: Record<string, unknown>) => loadConfig({ env, useDefaultFile: false, ...(overrides ? { overrides } : {}) });
const get = (config: object, key: string): unknown => key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);

describe('secrets from files', () => {
  let dir: string;
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tracehive-secrets-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('every secret key has a <key>File key read from <ENV>_FILE, its trailing newline cut', () => {
    expect(SECRET_FILES.map((s) => s.key).sort()).to.deep.equal([...SECRET_KEYS].sort());
    for (const s of SECRET_FILES) {
      const fileEnv = envNameOf(s.fileKey);
      expect(fileEnv, s.fileKey).to.equal(`${envNameOf(s.key)}_FILE`);
      const config = load({ [fileEnv as string]: file(s.credential, `secret-of-${s.credential}\n`) });
      expect(get(config, s.key), s.key).to.equal(`secret-of-${s.credential}`);
    }
  });

  it('reads thehive.apiKeyFile from a config file; check-config shows the path, never the key', () => {
    const path = file('key', 'K3Y-from-file\r\n');
    const config = load({ THEHIVE_URL: 'https://h.example.org' }, { thehive: { apiKeyFile: path } });
    expect(config.thehive.apiKey).to.equal('K3Y-from-file');
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).to.include(path).and.not.include('K3Y-from-file');
    expect(secretFilesOf(config)).to.deep.equal([{ key: 'thehive.apiKey', from: 'thehive.apiKeyFile', path }]);
  });

  it('refuses the value and the file of one secret together, naming both keys and variables', () => {
    const err = failure(() => load({ THEHIVE_API_KEY: 'SECRET-VALUE', THEHIVE_API_KEY_FILE: file('key', 'SECRET-FILE\n') }));
    expect(err.code).to.equal('ERR_CONFIG_SECRET_BOTH');
    expect(err.message).to.include('thehive.apiKey (THEHIVE_API_KEY)').and.include('thehive.apiKeyFile (THEHIVE_API_KEY_FILE)');
    expect(err.message).to.not.include('SECRET-VALUE').and.not.include('SECRET-FILE');
    const imap = failure(() => load({ TRACEHIVE_IMAP_PASSWORD: 'pw-value' }, { email: { imap: { passwordFile: file('pw', 'pw-file\n') } } }));
    expect(imap.code).to.equal('ERR_CONFIG_SECRET_BOTH');
    expect(imap.message).to.include('email.imap.password (TRACEHIVE_IMAP_PASSWORD)').and.include('email.imap.passwordFile (TRACEHIVE_IMAP_PASSWORD_FILE)');
  });

  it('says what is wrong with a file that gives no secret: missing, empty, a directory, two lines, unreadable', () => {
    const cases: [string, string][] = [
      [join(dir, 'missing'), 'cannot be read (ENOENT)'],
      [file('empty', '\n'), 'is empty'],
      [dir, 'is not a regular file'],
      [file('two', 'first\nsecond\n'), 'holds more than one line'],
    ];
    if (process.getuid?.() !== 0) {
      const locked = file('locked', 'k\n');
      chmodSync(locked, 0o000);
      cases.push([locked, 'cannot be read (EACCES)']);
    }
    for (const [path, problem] of cases) {
      const err = failure(() => load({ TRACEHIVE_NOTIFY_SMTP_PASSWORD_FILE: path }));
      expect(err.code, path).to.equal('ERR_CONFIG_SECRET_FILE');
      expect(err.message, path).to.include(`notify.smtp.password (TRACEHIVE_NOTIFY_SMTP_PASSWORD): notify.smtp.passwordFile ${path} ${problem}`);
    }
    expect(failure(() => load({ THEHIVE_API_KEY_FILE: file('two', 'first\nsecond\n') })).message).to.not.include('first').and.not.include('second');
  });

  it('reads $CREDENTIALS_DIRECTORY/<name> under systemd when neither the value nor the file is set', () => {
    const credentials = join(dir, 'credentials');
    mkdirSync(credentials);
    writeFileSync(join(credentials, 'thehive-api-key'), 'from-credential\n');
    writeFileSync(join(credentials, 'imap-password'), 'imap-from-credential');
    const config = load({ CREDENTIALS_DIRECTORY: credentials, THEHIVE_URL: 'https://h.example.org' });
    expect(config.thehive.apiKey).to.equal('from-credential');
    expect(config.email.imap.password).to.equal('imap-from-credential');
    expect(config.notify.smtp.password).to.equal('');
    // An explicit value or file wins: a drop-in can point THEHIVE_API_KEY_FILE at a file it rotates.
    expect(load({ CREDENTIALS_DIRECTORY: credentials, THEHIVE_API_KEY: 'explicit' }).thehive.apiKey).to.equal('explicit');
    expect(load({ CREDENTIALS_DIRECTORY: credentials, THEHIVE_API_KEY_FILE: file('k', 'rotating\n') }).thehive.apiKey).to.equal('rotating');
    writeFileSync(join(credentials, 'thehive-api-key'), '');
    const err = failure(() => load({ CREDENTIALS_DIRECTORY: credentials }));
    expect(err.code).to.equal('ERR_CONFIG_SECRET_FILE');
    expect(err.message).to.include(`thehive.apiKey (THEHIVE_API_KEY): $CREDENTIALS_DIRECTORY/thehive-api-key ${join(credentials, 'thehive-api-key')} is empty`);
  });

  it('asks for the key or its file when thehive.url is set without either', () => {
    const err = failure(() => load({ THEHIVE_URL: 'https://h.example.org' }));
    expect(err.message).to.include('THEHIVE_API_KEY_FILE');
  });
});
