/**
 * `thehive.targets` (issue 14, routing): named TheHive targets besides `thehive.url`, each an
 * organisation of the same TheHive or another TheHive with its own key. A rule's `set.target`
 * (or a mailbox's `target`) names one. What a target leaves out comes from the `thehive.*` and
 * `queue.*` keys, so `{"tenant-b": {"organisation": "tenant-b"}}` is the same TheHive, another
 * organisation. Pure: {@link targetProblems} checks, {@link resolveTargets} fills in.
 *
 * Each target gets its own spool cursor, window (`maxPending`), rate (`ratePerSec`), delivery
 * readiness and dead letters (app.ts, target-runtime.ts), and a share of the spool
 * (`spoolMaxBytes`): past it, its backlog goes to its dead letters rather than filling the spool
 * that every target's input shares.
 */
import { readSecret } from './config-secret-files.js';

/** A target name: what metrics, directories and logs use. `default` is `thehive.url`'s. */
export const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_TARGET = 'default';

/** The keys an entry of `thehive.targets` may set. */
const TARGET_KEYS = ['url', 'apiKey', 'apiKeyFile', 'organisation', 'api', 'version', 'tlsVerify', 'caFile', 'proxy', 'clientCertFile', 'clientKeyFile', 'timeoutMs', 'ratePerSec', 'concurrency', 'maxPending', 'spoolMaxBytes'] as const;

/** One entry as written. */
export interface TargetSpec {
  readonly url?: string;
  readonly apiKey?: string;
  readonly apiKeyFile?: string;
  readonly organisation?: string;
  readonly api?: 'auto' | 'v1' | 'v0';
  readonly version?: 'auto' | '4' | '5.0' | '5.1' | '5.2';
  readonly tlsVerify?: boolean;
  readonly caFile?: string;
  readonly proxy?: string;
  readonly clientCertFile?: string;
  readonly clientKeyFile?: string;
  readonly timeoutMs?: number;
  readonly ratePerSec?: number;
  readonly concurrency?: number;
  readonly maxPending?: number;
  /** Spool bytes this target's backlog may hold at most; 0 (default): an equal share of spool.maxBytes. */
  readonly spoolMaxBytes?: number;
}

/** The `thehive.*`, `queue.*` and `spool.maxBytes` values a target inherits. */
export interface TargetDefaults {
  readonly url: string;
  readonly apiKey: string;
  readonly organisation: string;
  readonly api: 'auto' | 'v1' | 'v0';
  readonly version: 'auto' | '4' | '5.0' | '5.1' | '5.2';
  readonly tlsVerify: boolean;
  readonly caFile: string;
  readonly proxy: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly timeoutMs: number;
  readonly ratePerSec: number;
  readonly concurrency: number;
  readonly maxPending: number;
  readonly spoolMaxBytes: number;
}

/** A target with every value filled in. */
export interface ResolvedTarget extends Omit<TargetDefaults, 'spoolMaxBytes'> {
  readonly name: string;
  /** Its share of the spool; Infinity when it is the only target (the spool's own limit applies). */
  readonly spoolMaxBytes: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Every problem of `thehive.targets` (shape, names, values) and of the names rules and mailboxes
 * use, one line each, named by key. `used`: where a target is named (`alert.rules[2].set.target`).
 */
export function targetProblems(raw: unknown, used: readonly { readonly key: string; readonly target: string }[], defaults: Pick<TargetDefaults, 'url' | 'apiKey'>): string[] {
  const problems: string[] = [];
  if (!isObj(raw)) return ['thehive.targets: expected an object of named targets such as {"tenant-b": {"organisation": "tenant-b"}}'];
  for (const [name, entry] of Object.entries(raw)) {
    const at = `thehive.targets.${name}`;
    if (!TARGET_NAME.test(name) || name === DEFAULT_TARGET) {
      problems.push(`${at}: a target name is 1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit, and not "${DEFAULT_TARGET}" (the name of thehive.url's target)`);
      continue;
    }
    if (!isObj(entry)) {
      problems.push(`${at}: expected an object such as {"organisation": "${name}"} or {"url": "https://thehive-b:9000", "apiKeyFile": "/etc/tracehive/${name}.key"}`);
      continue;
    }
    for (const key of Object.keys(entry)) {
      if (!(TARGET_KEYS as readonly string[]).includes(key)) problems.push(`${at}.${key}: unknown key (expected one of ${TARGET_KEYS.join(', ')})`);
    }
    const str = (key: string): void => {
      if (entry[key] !== undefined && typeof entry[key] !== 'string') problems.push(`${at}.${key}: expected a string, got ${JSON.stringify(entry[key])}`);
    };
    for (const key of ['url', 'apiKey', 'apiKeyFile', 'organisation', 'caFile', 'proxy', 'clientCertFile', 'clientKeyFile']) str(key);
    const count = (key: string, min: number): void => {
      const v = entry[key];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) problems.push(`${at}.${key}: expected a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
    };
    count('timeoutMs', 1);
    count('ratePerSec', 0);
    count('concurrency', 1);
    count('maxPending', 1);
    count('spoolMaxBytes', 0);
    if (entry['api'] !== undefined && !['auto', 'v1', 'v0'].includes(entry['api'] as string)) problems.push(`${at}.api: expected auto, v1 or v0, got ${JSON.stringify(entry['api'])}`);
    if (entry['version'] !== undefined && !['auto', '4', '5.0', '5.1', '5.2'].includes(entry['version'] as string)) problems.push(`${at}.version: expected auto, 4, 5.0, 5.1 or 5.2, got ${JSON.stringify(entry['version'])}`);
    if (entry['tlsVerify'] !== undefined && typeof entry['tlsVerify'] !== 'boolean') problems.push(`${at}.tlsVerify: expected true or false`);
    const url = typeof entry['url'] === 'string' ? entry['url'] : defaults.url;
    if (url === '') problems.push(`${at}: no url, and thehive.url is empty (the file sink takes no targets): give the target a url`);
    else if (!/^https?:\/\/[^\s/]+/i.test(url)) problems.push(`${at}.url: expected an http(s) URL such as https://thehive-b:9000`);
    if (typeof entry['apiKey'] === 'string' && typeof entry['apiKeyFile'] === 'string' && entry['apiKey'] !== '' && entry['apiKeyFile'] !== '') {
      problems.push(`${at}: apiKey and apiKeyFile are both set; keep one`);
    }
    // Another TheHive needs its own key: thehive.apiKey is for thehive.url's.
    const ownUrl = typeof entry['url'] === 'string' && entry['url'] !== '' && entry['url'] !== defaults.url;
    const hasKey = (typeof entry['apiKey'] === 'string' && entry['apiKey'] !== '') || (typeof entry['apiKeyFile'] === 'string' && entry['apiKeyFile'] !== '');
    if (ownUrl && !hasKey) problems.push(`${at}: a target with its own url needs its own apiKey or apiKeyFile (thehive.apiKey is thehive.url's)`);
    if (!ownUrl && !hasKey && defaults.apiKey === '' && url !== '') problems.push(`${at}: no apiKey: set thehive.apiKey or the target's apiKey/apiKeyFile`);
  }
  for (const { key, target } of used) {
    if (target !== DEFAULT_TARGET && !Object.prototype.hasOwnProperty.call(raw, target)) {
      const names = Object.keys(raw);
      problems.push(`${key}: no target ${JSON.stringify(target)} in thehive.targets (${names.length === 0 ? 'which is empty' : `it has ${names.join(', ')}`}); "${DEFAULT_TARGET}" is thehive.url`);
    }
  }
  return problems;
}

/** The targets `alert.rules` name: `{key: "alert.rules[2].set.target", target}`. */
export function ruleTargets(rules: unknown): { key: string; target: string }[] {
  if (!Array.isArray(rules)) return [];
  const out: { key: string; target: string }[] = [];
  rules.forEach((rule: unknown, i) => {
    const target = isObj(rule) && isObj(rule['set']) ? rule['set']['target'] : undefined;
    if (typeof target === 'string') out.push({ key: `alert.rules[${i}].set.target`, target });
  });
  return out;
}

/**
 * Every target, `default` (thehive.url, or the file sink) first, with what it leaves out filled
 * in from `defaults` and its key read from its apiKeyFile. The spool's share of each is its own
 * `spoolMaxBytes`, else an equal share; with no named target, the default one has no share of
 * its own (Infinity: the spool's limit is its limit, as before targets existed).
 * Throws (with the key) when an apiKeyFile cannot be read.
 */
export function resolveTargets(raw: Readonly<Record<string, TargetSpec>>, defaults: TargetDefaults): ResolvedTarget[] {
  const names = Object.keys(raw);
  const share = names.length === 0 ? Infinity : Math.floor(defaults.spoolMaxBytes / (names.length + 1));
  const { spoolMaxBytes: _spool, ...inherited } = defaults;
  const out: ResolvedTarget[] = [{ ...inherited, name: DEFAULT_TARGET, spoolMaxBytes: share }];
  for (const name of names) {
    const spec = raw[name] as TargetSpec;
    const apiKey = spec.apiKeyFile ? readKeyFile(spec.apiKeyFile, `thehive.targets.${name}.apiKeyFile`) : spec.apiKey || (spec.url && spec.url !== defaults.url ? '' : defaults.apiKey);
    out.push({
      ...inherited,
      ...definedOf(spec),
      name,
      apiKey,
      spoolMaxBytes: spec.spoolMaxBytes ? spec.spoolMaxBytes : share,
    });
  }
  return out;
}

/** The entries of `spec` that are set (an explicit undefined must not hide a default). */
function definedOf(spec: TargetSpec): Partial<TargetDefaults> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) if (v !== undefined && k !== 'apiKeyFile' && k !== 'apiKey' && k !== 'spoolMaxBytes') out[k] = v;
  return out as Partial<TargetDefaults>;
}

/** The key in `file`, read as the other `*File` secrets are (config-secret-files.ts); throws naming `key`. */
export function readKeyFile(file: string, key: string): string {
  const read = readSecret(file);
  if (!read.ok) throw new Error(`${key}: cannot read the key from ${file}: the file ${read.problem}`);
  return read.value;
}
