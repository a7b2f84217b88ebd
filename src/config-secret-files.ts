/**
 * Secrets read from files, so that no key has to sit in the environment (where `ps e`, a crash
 * dump or a child process can read it): every key of SECRET_KEYS also has a `<key>File` key
 * (`THEHIVE_API_KEY_FILE` …) and, under systemd, a credential `$CREDENTIALS_DIRECTORY/<name>`
 * (`LoadCredential=thehive-api-key:…`). One source per secret: the value and its file key both
 * set is an error naming both; the credential is read only when neither is set. A file is read
 * whole, one trailing newline cut (what `echo KEY > file` writes). `tracehive serve` reads the
 * files again on SIGHUP (cli.ts), so a key can be rotated without a restart.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SECRET_KEYS } from './config-secrets.js';
import type { Config } from './config-schema.js';

export type SecretKey = (typeof SECRET_KEYS)[number];

/** Each secret's file key and systemd credential name. */
export const SECRET_FILES: readonly { readonly key: SecretKey; readonly fileKey: string; readonly credential: string }[] = [
  { key: 'thehive.apiKey', fileKey: 'thehive.apiKeyFile', credential: 'thehive-api-key' },
  { key: 'email.imap.password', fileKey: 'email.imap.passwordFile', credential: 'imap-password' },
  { key: 'notify.smtp.password', fileKey: 'notify.smtp.passwordFile', credential: 'notify-smtp-password' },
  { key: 'notify.webhook.token', fileKey: 'notify.webhook.tokenFile', credential: 'notify-webhook-token' },
  { key: 'http.thehiveWebhookToken', fileKey: 'http.thehiveWebhookTokenFile', credential: 'thehive-webhook-token' },
];

/** A key file is a line of text: anything larger is the wrong file (a log, a key store). */
const MAX_SECRET_BYTES = 64 * 1024;

/** Where a secret's value came from, when it came from a file. */
export interface SecretFile {
  readonly key: SecretKey;
  /** The config key that named the file, or `$CREDENTIALS_DIRECTORY/<name>`. */
  readonly from: string;
  readonly path: string;
}

/** One problem, with the error code it is reported under. */
export interface SecretProblem {
  readonly code: 'ERR_CONFIG_SECRET_BOTH' | 'ERR_CONFIG_SECRET_FILE';
  readonly key: SecretKey;
  readonly message: string;
}

export interface SecretsRead {
  /** The value of each secret read from a file. */
  readonly values: ReadonlyMap<SecretKey, string>;
  readonly files: readonly SecretFile[];
  readonly problems: readonly SecretProblem[];
}

/** How a key is named in a message: the key and its variable. */
export type NameOf = (key: string) => string;

/**
 * Which secrets come from a file, and their values. `get` reads the loaded configuration (before
 * validation); `env` gives CREDENTIALS_DIRECTORY.
 */
export function readSecretFiles(get: (key: string) => string, env: NodeJS.ProcessEnv, nameOf: NameOf): SecretsRead {
  const files: SecretFile[] = [];
  const problems: SecretProblem[] = [];
  const credentials = env['CREDENTIALS_DIRECTORY'];
  for (const s of SECRET_FILES) {
    const path = get(s.fileKey);
    if (path !== '' && get(s.key) !== '') {
      problems.push({ code: 'ERR_CONFIG_SECRET_BOTH', key: s.key, message: `${nameOf(s.key)} and ${nameOf(s.fileKey)} are both set: give the secret one way. Unset the first to read it from the file, or the second to use the value.` });
    } else if (path !== '') {
      files.push({ key: s.key, from: s.fileKey, path });
    } else if (get(s.key) === '' && credentials) {
      // The unit's LoadCredential= names it; a credential the unit does not load is simply absent.
      const credential = join(credentials, s.credential);
      if (exists(credential)) files.push({ key: s.key, from: `$CREDENTIALS_DIRECTORY/${s.credential}`, path: credential });
    }
  }
  const read = rereadSecretFiles(files, nameOf);
  return { values: read.values, files, problems: [...problems, ...read.problems] };
}

/** The files again (SIGHUP): each value, or what is wrong with its file. */
export function rereadSecretFiles(files: readonly SecretFile[], nameOf: NameOf): SecretsRead {
  const values = new Map<SecretKey, string>();
  const problems: SecretProblem[] = [];
  for (const f of files) {
    const read = readSecret(f.path);
    if (read.ok) values.set(f.key, read.value);
    else problems.push({ code: 'ERR_CONFIG_SECRET_FILE', key: f.key, message: `${nameOf(f.key)}: ${f.from} ${f.path} ${read.problem}` });
  }
  return { values, files, problems };
}

/** A secret file's text without its trailing newline, or what is wrong with it (phrased to follow the path). */
export function readSecret(path: string): { ok: true; value: string } | { ok: false; problem: string } {
  let text: string;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) return { ok: false, problem: 'is not a regular file: give the file that holds the secret' };
    if (stats.size > MAX_SECRET_BYTES) return { ok: false, problem: `is larger than ${MAX_SECRET_BYTES} bytes: give the file that holds the secret alone` };
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const hint = code === 'EACCES' ? 'make it readable by the user tracehive runs as (chgrp tracehive FILE; chmod 640 FILE)' : 'check the path';
    return { ok: false, problem: `cannot be read (${code}): ${hint}` };
  }
  const value = text.replace(/\r?\n$/, '');
  if (value.trim() === '') return { ok: false, problem: 'is empty: put the secret in it (one line; a trailing newline is fine)' };
  // A second line would end up in an HTTP header or an AUTH command.
  if (/[\r\n]/.test(value)) return { ok: false, problem: 'holds more than one line: put the secret alone on one line' };
  return { ok: true, value };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Where each secret of a loaded configuration was read from: what SIGHUP reads again. */
const FILES_OF = new WeakMap<Config, readonly SecretFile[]>();

export function rememberSecretFiles(config: Config, files: readonly SecretFile[]): void {
  FILES_OF.set(config, files);
}

/** The secret files of a configuration loadConfig returned (none for one built otherwise). */
export function secretFilesOf(config: Config): readonly SecretFile[] {
  return FILES_OF.get(config) ?? [];
}
