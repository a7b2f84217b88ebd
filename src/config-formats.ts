/**
 * The convict formats of the configuration schema: what a value of each kind must look like, and
 * how a string from the environment becomes one. convict's own `nat` and `int` read a value with
 * parseInt, so `TRACEHIVE_TCP_IDLE_TIMEOUT_MS=5m` would be 5 ms and `3000000000` a timer that
 * overflows; {@link intIn} takes decimal digits only, within bounds each key states with its why.
 * A message never repeats a URL's password: the URL key is also `sensitive` in the schema, so
 * convict does not append the value either.
 */
import { isIP } from 'node:net';
import convict from 'convict';
import { parseCidr } from './net/cidr.js';
import { redactUrl } from './config-secrets.js';
import type { MailField } from './map/mail-policy.js';
import type { SeverityRule } from './types.js';
import { RULES_MAX } from './map/rules/validate.js';
import { MAILBOXES_MAX } from './config-imap-mailboxes.js';
import { splitPair, zoneProblem } from './map/time-zones.js';

/** The pino levels `log.level` takes. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The fields of `email.fieldNames`, each a list of synonyms. */
export const MAIL_FIELDS: readonly MailField[] = [
  'incidentId', 'title', 'severity', 'date', 'status', 'type', 'source', 'description', 'attacker', 'victim', 'destination', 'user',
];


/** Splits a comma-separated list from the environment; empty entries are dropped (config-env.ts refuses a list left empty). */
const splitList = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** Bad JSON stays a string, so validation reports it against the key instead of throwing here. */
function jsonOrText(v: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/**
 * Registers (once) and names an integer format from `min` to `max`; `why` explains the bounds in
 * the message. The environment's text must be decimal digits: anything else is reported as given.
 */
export function intIn(min: number, max: number, why: string): string {
  const name = `integer ${min}..${max}: ${why}`;
  convict.addFormat({
    name,
    validate(value: unknown) {
      if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
        throw new Error(`Expected an integer ${range} (${why}), got ${JSON.stringify(value)}`);
      }
    },
    coerce: (v: string) => (/^\d{1,16}$/.test(v.trim()) ? Number(v.trim()) : v),
  });
  return name;
}

/** An integer with a floor only, for counts where 0 would silently break the bridge. */
export const intAtLeast = (min: number, why: string): string => intIn(min, Number.MAX_SAFE_INTEGER, why);

convict.addFormat({
  name: 'http-url-or-empty',
  validate(value: unknown) {
    if (value === '') return;
    if (typeof value !== 'string') throw new Error('Expected an http(s) URL or ""');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`Expected an http(s) URL such as https://thehive.example.org:9000, got ${JSON.stringify(redactUrl(value))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`Expected an http: or https: URL, got ${JSON.stringify(url.protocol)}`);
    }
  },
});

/** `thehive.proxy`: off (""), `env` (HTTPS_PROXY/HTTP_PROXY/NO_PROXY), or the URL of an HTTP(S) proxy. */
convict.addFormat({
  name: 'proxy-setting',
  validate(value: unknown) {
    if (value === '' || value === 'env') return;
    if (typeof value !== 'string') throw new Error('Expected "", "env" or a proxy URL such as http://proxy.example:3128');
    // `host:port` parses as a URL whose scheme is the host: say what is missing instead.
    if (!value.includes('://')) throw new Error(`Expected "", "env" or a proxy URL with its scheme, such as http://proxy.example:3128, got ${JSON.stringify(redactUrl(value))}`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`Expected "", "env" or a proxy URL such as http://proxy.example:3128, got ${JSON.stringify(redactUrl(value))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`Expected an http: or https: proxy URL (CONNECT through an HTTP proxy; SOCKS is not supported), got ${JSON.stringify(url.protocol)}`);
    }
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      throw new Error(`Expected a proxy URL without a path, such as http://proxy.example:3128, got ${JSON.stringify(redactUrl(value))}`);
    }
  },
});

convict.addFormat({
  name: 'host',
  validate(value: unknown) {
    if (typeof value !== 'string' || value.length === 0) throw new Error('Expected an IP address or host name');
    if (!isIP(value) && !/^[A-Za-z0-9.-]+$/.test(value)) throw new Error(`Expected an IP address or host name, got ${JSON.stringify(value)}`);
  },
});

convict.addFormat({
  name: 'cidr-list',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('Expected a list of CIDR ranges');
    for (const item of value) {
      if (typeof item !== 'string' || parseCidr(item) === null) {
        throw new Error(`Expected CIDR ranges such as 10.0.0.0/8 or ::1/128 (dotted quads without leading zeros, or IPv6), got ${JSON.stringify(item)}`);
      }
    }
  },
  coerce: splitList,
});

convict.addFormat({
  name: 'string-list',
  validate(value: unknown) {
    if (!Array.isArray(value) || value.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 128)) {
      throw new Error('Expected a list of non-empty strings of at most 128 characters');
    }
  },
  coerce: splitList,
});

convict.addFormat({
  name: 'sender-list',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('Expected a list of addresses or @domain entries');
    for (const item of value) {
      if (typeof item !== 'string' || item.length > 254 || !/^(?:[^@\s]+@[^@\s]+|@[^@\s]+)$/.test(item.trim())) {
        const hint = typeof item === 'string' && parseCidr(item) !== null ? ' (addresses of sending servers go in email.trustedSenderIps)' : '';
        throw new Error(`Expected addresses (siem@example.org) or @domain entries (@example.org), got ${JSON.stringify(item)}${hint}`);
      }
    }
  },
  coerce: splitList,
});

convict.addFormat({
  name: 'severity-rules',
  validate(value: unknown) {
    if (typeof value === 'string') throw new Error('Expected a JSON list of rules such as [{"match":"*_APT_*","severity":4}], got text that is not JSON');
    if (!Array.isArray(value)) throw new Error('Expected a list of {match, severity[, scoreField, steps]} rules');
    value.forEach((rule: unknown, i) => checkSeverityRule(rule, i));
  },
  coerce: jsonOrText,
});

convict.addFormat({
  name: 'alert-rules',
  // The shape only: each rule is checked in config.ts (compileRules), which also sees alert.ruleFields
  // and reports every problem on its own line, named by the rule's index and key.
  validate(value: unknown) {
    if (typeof value === 'string') throw new Error('Expected a JSON list of rules such as [{"match":{"category":"*_Phishing_*"},"set":{"tags":["phish"]}}], got text that is not JSON');
    if (!Array.isArray(value) || value.length > RULES_MAX) throw new Error(`Expected a list of at most ${RULES_MAX} rules {name?, match?, set?, stop?}`);
  },
  coerce: jsonOrText,
});

convict.addFormat({
  name: 'thehive-targets',
  // The shape only: config.ts checks each target (config-targets.ts), with the names rules use.
  validate(value: unknown) {
    if (typeof value === 'string') throw new Error('Expected a JSON object of named targets such as {"tenant-b": {"organisation": "tenant-b"}}, got text that is not JSON');
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('Expected an object of named targets such as {"tenant-b": {"organisation": "tenant-b"}}');
  },
  coerce: jsonOrText,
});

convict.addFormat({
  name: 'imap-mailboxes',
  // The shape only: each entry is checked in config.ts (config-imap-mailboxes.ts), which also sees
  // the email.imap.* keys it inherits, and reports every problem on its own line.
  validate(value: unknown) {
    if (typeof value === 'string') throw new Error('Expected a JSON list of mailboxes such as [{"mailbox":"INBOX/tenant-b","target":"tenant-b"}], got text that is not JSON');
    if (!Array.isArray(value) || value.length > MAILBOXES_MAX) throw new Error(`Expected a list of at most ${MAILBOXES_MAX} mailboxes {mailbox, name?, doneMailbox?, role?, target?, host?, port?, user?, password?, passwordFile?}`);
  },
  coerce: jsonOrText,
});

convict.addFormat({
  name: 'switch',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error(`Expected true or false (or 1 or 0), got ${JSON.stringify(value)}`);
  },
  // convict's Boolean takes anything but "false" as true, so TLS_VERIFY=no would verify; refuse it instead.
  coerce: (v: string) => ({ true: true, '1': true, false: false, '0': false })[v.trim().toLowerCase()] ?? v,
});

convict.addFormat({
  name: 'field-names',
  validate(value: unknown) {
    if (typeof value === 'string') throw new Error('Expected a JSON object such as {"title":["title","Название"]}, got text that is not JSON');
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`Expected an object with the lists ${MAIL_FIELDS.join(', ')}`);
    for (const [field, names] of Object.entries(value)) {
      if (!MAIL_FIELDS.includes(field as MailField)) throw new Error(`unknown field ${JSON.stringify(field)}: expected one of ${MAIL_FIELDS.join(', ')}`);
      if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n.trim() === '')) throw new Error(`${field}: expected a list of non-empty field names`);
    }
  },
  coerce: jsonOrText,
});

/** `email.timeZones`: `domain=zone` entries (a list: convict reads the dots of a domain used as an object key as a path). */
convict.addFormat({
  name: 'time-zones',
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('Expected a list of domain=zone entries such as kuma.example.kz=Asia/Almaty');
    for (const item of value) {
      const [domain = '', zone = ''] = typeof item === 'string' ? splitPair(item) : [];
      if (!/^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?$/i.test(domain)) throw new Error(`Expected domain=zone entries such as kuma.example.kz=Asia/Almaty or example.org=+05:00, got ${JSON.stringify(item)}`);
      const problem = zoneProblem(zone);
      if (problem !== null) throw new Error(`domain ${domain}: ${problem}, got ${JSON.stringify(item)}`);
    }
  },
  coerce: splitList,
});

convict.addFormat({
  name: 'thehive-name',
  validate(value: unknown) {
    if (typeof value !== 'string' || value.length < 1 || value.length > 32) {
      throw new Error(`Expected 1 to 32 characters (TheHive 5 refuses longer alert types and sources), got ${JSON.stringify(value)}`);
    }
  },
});

function isSeverity(n: unknown): boolean {
  return n === 1 || n === 2 || n === 3 || n === 4;
}

function checkSeverityRule(rule: unknown, i: number): void {
  const r = rule as Partial<SeverityRule> | null;
  const at = `rule ${i}`;
  if (r === null || typeof r !== 'object') throw new Error(`${at}: expected an object`);
  if (typeof r.match !== 'string' || r.match.length === 0) throw new Error(`${at}: expected \`match\` to be a non-empty glob such as "*APT*"`);
  if (!isSeverity(r.severity)) throw new Error(`${at}: expected \`severity\` to be 1, 2, 3 or 4, got ${JSON.stringify(r.severity)}`);
  if (r.steps !== undefined) {
    if (typeof r.scoreField !== 'string') throw new Error(`${at}: \`steps\` needs a \`scoreField\``);
    if (!Array.isArray(r.steps) || r.steps.some((s) => typeof s?.min !== 'number' || !isSeverity(s.severity))) {
      throw new Error(`${at}: expected \`steps\` to be a list of {min: number, severity: 1-4}`);
    }
  }
}
