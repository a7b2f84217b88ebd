/**
 * Loading the configuration (contract §3): schema defaults, `config/default.json` when present,
 * the file of `--config`/`TRACEHIVE_CONFIG`, then the environment, lowest first. Validated once,
 * strictly, then frozen (fastify's initial-config validation): unknown keys and unknown
 * `TRACEHIVE_*`/`THEHIVE_*` variables, values out of bounds, lists left empty in the environment
 * and certificate files that do not load are errors naming the key and where to fix it. No
 * message carries a secret (config-secrets.ts). The schema is in config-schema.ts, its formats in
 * config-formats.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import convict from 'convict';
import { BridgeError } from './errors.js';
import { schema, type Config } from './config-schema.js';
import { environmentProblems, REPLACED_KEYS, type EnvKey } from './config-env.js';
import { keyMatches, readCertificates, readPrivateKey } from './config-files.js';
import { SECRET_KEYS, URL_KEYS, scrub, urlSecrets } from './config-secrets.js';
import { readSecretFiles, rememberSecretFiles } from './config-secret-files.js';
import { compileRules } from './map/rules/validate.js';
import { readKeyFile, ruleTargets, targetProblems, type TargetSpec } from './config-targets.js';
import { imapMailboxProblems, mailboxPasswords, mailboxTargetsOf, readMailboxPasswordFiles } from './config-imap-mailboxes.js';

export type { Config, FileBudget } from './config-schema.js';
export { redactUrl, redactedConfig } from './config-secrets.js';
export { startWarnings } from './config-warnings.js';

/** The package's own config/default.json, wherever tracehive is run from (dist/src/config.js → ../../config). */
const DEFAULT_FILE = fileURLToPath(new URL('../../config/default.json', import.meta.url));

interface SchemaLeaf {
  readonly env?: string;
  readonly format?: unknown;
}

/** Every key of the schema with its variable, dotted. */
const ENV_KEYS: readonly EnvKey[] = (function walk(node: Record<string, unknown>, prefix: string): EnvKey[] {
  return Object.entries(node).flatMap(([name, value]) => {
    const leaf = value as SchemaLeaf;
    if ('doc' in (value as object)) return leaf.env ? [{ env: leaf.env, key: `${prefix}${name}`, list: leaf.format === 'cidr-list' || leaf.format === 'string-list' || leaf.format === 'sender-list' }] : [];
    return walk(value as Record<string, unknown>, `${prefix}${name}.`);
  });
})(schema, '');

/** Where the configuration comes from; tests pass their own `env` and overrides. */
export interface ConfigSources {
  /** `--config FILE`; falls back to `env.TRACEHIVE_CONFIG`. */
  readonly file?: string;
  /** Defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Applied after the files, before the environment (used by tests and `make run`). */
  readonly overrides?: Record<string, unknown>;
  /** Read `config/default.json` when it exists (default true). */
  readonly useDefaultFile?: boolean;
}

/** Loads, validates strictly and freezes the configuration. Throws BridgeError ERR_CONFIG_* naming the key. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const conf = convict(schema, { env, args: [] }) as unknown as Conf & { load(o: object): void };
  const files: string[] = [];
  if (sources.useDefaultFile !== false && existsSync(DEFAULT_FILE)) files.push(DEFAULT_FILE);
  const extra = sources.file ?? env['TRACEHIVE_CONFIG'];
  if (extra) files.push(extra);
  for (const f of files) conf.load(objectLeaves(readJson(f)));
  if (sources.overrides) conf.load(objectLeaves(sources.overrides));
  const fromFiles = readSecretFiles((k) => String(conf.get(k)), env, keyName);
  const [problem] = fromFiles.problems;
  if (problem) throw new BridgeError(problem.code, `Invalid configuration:\n  ${fromFiles.problems.map((p) => p.message).join('\n  ')}`);
  for (const [key, value] of fromFiles.values) conf.set(key, value);
  const boxes = readMailboxPasswordFiles(conf.get('email.imap.mailboxes'));
  const [boxProblem] = boxes.problems;
  if (boxProblem) throw new BridgeError(boxProblem.code, `Invalid configuration:\n  ${boxes.problems.map((p) => p.message).join('\n  ')}`);
  if (Array.isArray(boxes.value)) conf.set('email.imap.mailboxes', boxes.value);
  const secrets = [...SECRET_KEYS.map((k) => String(conf.get(k))), ...URL_KEYS.flatMap((k) => urlSecrets(String(conf.get(k)))), ...mailboxPasswords(boxes.value), ...targetSecrets(conf.get('thehive.targets'))];
  try {
    const config = validated(conf, env, files);
    rememberSecretFiles(config, fromFiles.files);
    return config;
  } catch (err) {
    if (!(err instanceof BridgeError)) throw err;
    // No cause: convict's own message carries the values.
    throw new BridgeError(err.code, scrub(err.message, secrets));
  }
}

/** The part of convict's object used here, with string keys (the schema's types are checked by Config). */
interface Conf {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  validate(options: { allowed: 'strict' }): unknown;
  getProperties(): unknown;
}

function validated(conf: Conf, env: NodeJS.ProcessEnv, files: readonly string[]): Config {
  const problems = environmentProblems(env, ENV_KEYS);
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    problems.unshift(...explain((err as Error).message, files));
  }
  if (problems.length === 0) problems.push(...fileProblems(conf));
  if (problems.length > 0) throw new BridgeError('ERR_CONFIG_INVALID', `Invalid configuration:\n  ${problems.join('\n  ')}`);
  const rules = compileRules(conf.get('alert.rules'), { extraFields: conf.get('alert.ruleFields') as string[] }).problems;
  if (rules.length > 0) {
    const where = [...files, 'the environment variable TRACEHIVE_ALERT_RULES'].join(' or ');
    throw new BridgeError('ERR_CONFIG_RULE', `Invalid alert.rules (fix them in ${where}; the README's "Mapping rules" describes them):\n  ${rules.join('\n  ')}`);
  }
  const mailboxes = conf.get('email.imap.mailboxes') as readonly unknown[];
  const imap = conf.get('email.imap') as Config['email']['imap'];
  const mailboxProblems = imapMailboxProblems(mailboxes, imap);
  if (mailboxProblems.length > 0) {
    const where = [...files, 'the environment variable TRACEHIVE_IMAP_MAILBOXES'].join(' or ');
    throw new BridgeError('ERR_CONFIG_INVALID', `Invalid email.imap.mailboxes (fix them in ${where}; the README's "Several mailboxes" describes them):\n  ${mailboxProblems.join('\n  ')}`);
  }
  const targets = targetProblems(conf.get('thehive.targets'), [...ruleTargets(conf.get('alert.rules')), ...mailboxTargetsOf(conf.get('email.imap.mailboxes'))], { url: String(conf.get('thehive.url')), apiKey: String(conf.get('thehive.apiKey')) });
  if (targets.length === 0) {
    for (const [name, spec] of Object.entries(conf.get('thehive.targets') as Record<string, TargetSpec>)) {
      try {
        if (spec.apiKeyFile) readKeyFile(spec.apiKeyFile, `thehive.targets.${name}.apiKeyFile`);
      } catch (err) {
        targets.push((err as Error).message);
      }
    }
  }
  if (targets.length > 0) {
    throw new BridgeError('ERR_CONFIG_TARGET', `Invalid thehive.targets (fix them in ${[...files, 'the environment variable THEHIVE_TARGETS'].join(' or ')}; the README's "Routing to several TheHive targets" describes them):\n  ${targets.join('\n  ')}`);
  }
  // With email.imap.mailboxes, each entry was checked for its host and user above.
  if (conf.get('email.imap.enabled') && mailboxes.length === 0 && (conf.get('email.imap.host') === '' || conf.get('email.imap.user') === '')) {
    throw new BridgeError('ERR_CONFIG_INVALID', 'email.imap: IMAP is enabled but email.imap.host or email.imap.user is empty. Set TRACEHIVE_IMAP_HOST, TRACEHIVE_IMAP_USER and TRACEHIVE_IMAP_PASSWORD, or TRACEHIVE_IMAP_ENABLED=false.');
  }
  if ((conf.get('thehive.clientKeyFile') === '') !== (conf.get('thehive.clientCertFile') === '')) {
    throw new BridgeError('ERR_CONFIG_INVALID', 'thehive.clientCertFile and thehive.clientKeyFile: give both (a client certificate needs its key) or neither. Set THEHIVE_CLIENT_CERT_FILE and THEHIVE_CLIENT_KEY_FILE.');
  }
  if ((conf.get('email.smtp.tlsKeyFile') === '') !== (conf.get('email.smtp.tlsCertFile') === '')) {
    throw new BridgeError('ERR_CONFIG_INVALID', 'email.smtp.tlsKeyFile and email.smtp.tlsCertFile: give both (STARTTLS needs the key and its certificate) or neither.');
  }
  if (conf.get('email.smtp.enabled') && Number(conf.get('email.smtp.maxInflightBytes')) < Number(conf.get('email.smtp.maxBytes'))) {
    throw new BridgeError('ERR_CONFIG_INVALID', `email.smtp.maxInflightBytes (${conf.get('email.smtp.maxInflightBytes')}) is below email.smtp.maxBytes (${conf.get('email.smtp.maxBytes')}): a mail between the two could never be taken and its MTA would retry it forever. Set TRACEHIVE_SMTP_MAX_INFLIGHT_BYTES to at least TRACEHIVE_SMTP_MAX_BYTES.`);
  }
  if (conf.get('notify.smtp.host') !== '' && (conf.get('notify.to') as readonly string[]).length === 0) {
    throw new BridgeError('ERR_CONFIG_INVALID', 'notify.to: notification mails go through notify.smtp.host but to nobody. Set TRACEHIVE_NOTIFY_TO (comma-separated addresses), or leave TRACEHIVE_NOTIFY_SMTP_HOST empty.');
  }
  if (conf.get('thehive.url') !== '' && conf.get('thehive.apiKey') === '') {
    throw new BridgeError('ERR_CONFIG_INVALID', 'thehive.apiKey: TheHive needs an API key when thehive.url is set. Set THEHIVE_API_KEY or THEHIVE_API_KEY_FILE (a TheHive user with the manageAlert/create permission).');
  }
  return deepFreeze(conf.getProperties() as Config);
}

/** The certificate and key files that are set, each loaded as TLS will load it. */
function fileProblems(conf: Conf): string[] {
  const problems: string[] = [];
  const fail = (key: string, problem: string): void => {
    problems.push(`${key}: ${problem}. Fix it in the environment variable ${envNameOf(key)} or the config file.`);
  };
  for (const key of ['thehive.caFile', 'email.imap.caFile', 'notify.smtp.caFile'] as const) {
    const file = String(conf.get(key));
    if (file === '') continue;
    const certs = readCertificates(file);
    if (!certs.ok) fail(key, certs.problem);
  }
  keyPairProblems(conf, 'email.smtp.tlsKeyFile', 'email.smtp.tlsCertFile', fail);
  keyPairProblems(conf, 'thehive.clientKeyFile', 'thehive.clientCertFile', fail);
  return problems;
}

/** A private key and its certificate, each loaded as TLS will load it, and whether they belong together. */
function keyPairProblems(conf: Conf, keyKey: string, certKey: string, fail: (key: string, problem: string) => void): void {
  const keyFile = String(conf.get(keyKey));
  const certFile = String(conf.get(certKey));
  const key = keyFile === '' ? undefined : readPrivateKey(keyFile);
  const certs = certFile === '' ? undefined : readCertificates(certFile);
  if (key && !key.ok) fail(keyKey, key.problem);
  if (certs && !certs.ok) fail(certKey, certs.problem);
  if (key?.ok && certs?.ok && !keyMatches(certs.value, key.value)) {
    fail(keyKey, `the key in ${keyFile} does not match the certificate in ${certFile} (give the key the certificate was issued for)`);
  }
}

/** A key as messages name it: `thehive.apiKey (THEHIVE_API_KEY)`. */
export function keyName(key: string): string {
  const env = envNameOf(key);
  return env ? `${key} (${env})` : key;
}

/** The environment variable of each key, for error hints and docs. */
export function envNameOf(key: string): string | undefined {
  return ENV_KEYS.find((k) => k.key === key)?.env;
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BridgeError('ERR_CONFIG_FILE', `Cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // No cause: V8's message quotes the text around the error, which may be a secret.
    throw new BridgeError('ERR_CONFIG_FILE', `Config file ${file} is not valid JSON: ${jsonError((err as Error).message, text)}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BridgeError('ERR_CONFIG_FILE', `Config file ${file} must hold a JSON object such as {"tcp": {"port": 9998}}.`);
  return value as Record<string, unknown>;
}

/**
 * V8's JSON error without the text it quotes, with the line and column. V8 gives either the
 * position, or (for an unexpected token) up to 10 characters either side of it, which tell where.
 */
function jsonError(message: string, text: string): string {
  const quoted = /^(Unexpected token .*?), (\.\.\.)?"([\s\S]*)"(\.\.\.)? is not valid JSON$/.exec(message);
  let what = message.replace(/ in JSON at position \d+.*$/s, '');
  let position = Number(/at position (\d+)/.exec(message)?.[1] ?? NaN);
  if (quoted) {
    what = quoted[1] as string;
    const at = text.indexOf(quoted[3] as string);
    if (at >= 0) position = at + (quoted[2] ? 10 : 0);
  }
  if (Number.isNaN(position)) return what;
  const before = text.slice(0, position).split('\n');
  return `${what} at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/** Turns convict's lines into one line per key, each with where to fix it. */
function explain(message: string, files: readonly string[]): string[] {
  return message.split('\n').map((raw) => {
    // Our formats already say what they got; convict would repeat it.
    const line = raw.includes(', got ') ? raw.replace(/: value was [\s\S]*$/, '') : raw;
    const undeclared = /^configuration param '([^']+)' not declared/.exec(line);
    const replaced = undeclared ? REPLACED_KEYS[undeclared[1] as string] : undefined;
    if (undeclared && replaced) return `${undeclared[1]}: ${replaced.instead}.`;
    if (undeclared) return `${undeclared[1]}: unknown key (check its spelling against config/example.json).`;
    const key = /^([\w.]+): /.exec(line)?.[1];
    const envName = key ? envNameOf(key) : undefined;
    const where = [...files, envName ? `the environment variable ${envName}` : ''].filter(Boolean).join(' or ');
    return where ? `${line}. Fix it in ${where}.` : line;
  });
}

/**
 * convict merges a file's objects key by key into the schema, so an object-valued key (its value a
 * map of names, as thehive.targets) must reach it whole: as JSON text, which its format parses.
 */
function objectLeaves(o: object): object {
  const thehive = (o as Record<string, unknown>)['thehive'];
  if (thehive === null || typeof thehive !== 'object' || Array.isArray(thehive)) return o;
  const targets = (thehive as Record<string, unknown>)['targets'];
  if (targets === null || typeof targets !== 'object' || Array.isArray(targets)) return o;
  return { ...o, thehive: { ...thehive, targets: JSON.stringify(targets) } };
}

/** The API keys and URL passwords of thehive.targets: scrubbed from error messages like thehive.apiKey. */
function targetSecrets(targets: unknown): string[] {
  if (targets === null || typeof targets !== 'object') return [];
  return Object.values(targets as Record<string, Record<string, unknown> | null>).flatMap((t) => [
    ...(typeof t?.['apiKey'] === 'string' ? [t['apiKey']] : []),
    ...(typeof t?.['url'] === 'string' ? urlSecrets(t['url']) : []),
    ...(typeof t?.['proxy'] === 'string' ? urlSecrets(t['proxy']) : []),
  ]);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
