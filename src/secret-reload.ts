/**
 * SIGHUP in `tracehive serve`: the secret files are read again (config-secret-files.ts), so a
 * SOC rotates TheHive's API key without a restart: the spool's window stays in memory, delivery
 * goes on, and requests from then on carry the new key. Only `thehive.apiKey` is replaced while
 * running; another secret that changed is said to take effect at the next restart. A file that
 * cannot be read keeps the secret in use and is logged as an error. Keys are never logged, only
 * their names and files.
 */
import type { Logger } from 'pino';
import type { Config } from './config-schema.js';
import { keyName } from './config.js';
import { rereadSecretFiles, secretFilesOf, type SecretKey } from './config-secret-files.js';

/** What a rotation acts on. */
export interface SecretReloadTarget {
  /** The TheHive sink, when alerts go to TheHive. */
  readonly theHive?: { setApiKey(key: string): void };
  /** Checks the new key at once, so `/readyz/delivery` says whether TheHive takes it. */
  readonly recheck?: () => void;
}

/** What one SIGHUP did, for the log and the tests. */
export interface SecretReload {
  readonly replaced: readonly SecretKey[];
  readonly restartNeeded: readonly SecretKey[];
  readonly failed: readonly SecretKey[];
}

export class SecretReloader {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #target: SecretReloadTarget;
  /** The value in use of each secret read from a file. */
  readonly #current = new Map<SecretKey, string>();

  constructor(config: Config, log: Logger, target: SecretReloadTarget) {
    this.#config = config;
    this.#log = log;
    this.#target = target;
    for (const f of secretFilesOf(config)) this.#current.set(f.key, valueOf(config, f.key));
  }

  /** Reads every secret file again and swaps what changed; never throws. */
  reload(): SecretReload {
    const files = secretFilesOf(this.#config);
    if (files.length === 0) {
      this.#log.info('SIGHUP: no secret is read from a file (a *File key, a *_FILE variable or $CREDENTIALS_DIRECTORY): nothing to read again.');
      return { replaced: [], restartNeeded: [], failed: [] };
    }
    const read = rereadSecretFiles(files, keyName);
    for (const p of read.problems) this.#log.error({ code: p.code, key: p.key }, `${p.message}. The secret in use is kept.`);
    const replaced: SecretKey[] = [];
    const restartNeeded: SecretKey[] = [];
    for (const [key, value] of read.values) {
      if (value === this.#current.get(key)) continue;
      const file = files.find((f) => f.key === key);
      if (key === 'thehive.apiKey' && this.#target.theHive) {
        this.#target.theHive.setApiKey(value);
        this.#current.set(key, value);
        replaced.push(key);
        this.#log.info({ key, from: file?.from, path: file?.path }, 'TheHive API key replaced from its file: requests from now on carry the new key (requests in flight finish with the old one).');
        this.#target.recheck?.();
      } else {
        restartNeeded.push(key);
        this.#log.warn({ key, from: file?.from, path: file?.path }, `${key} changed in its file: it is used from the next restart (only thehive.apiKey is replaced while running).`);
      }
    }
    const failed = read.problems.map((p) => p.key);
    this.#log.info({ files: files.length, replaced, restartNeeded, failed }, 'SIGHUP: secret files read again.');
    return { replaced, restartNeeded, failed };
  }
}

function valueOf(config: Config, key: string): string {
  return String(key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config));
}
