/**
 * The configuration schema (contract §3): every key has a doc string, a format, a default
 * and an environment name; secrets are marked sensitive. Precedence, lowest first: schema
 * defaults, `config/default.json` when present, the file of `--config`/`TRACEHIVE_CONFIG`,
 * then the environment. Validated once, strictly, then frozen (fastify's initial-config
 * validation).
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import convict from 'convict';
import { BridgeError } from './errors.js';
import { parseCidr } from './net/cidr.js';
import { DEFAULT_SEVERITY_RULES } from './map/severity.js';
import { DEFAULT_MAIL_POLICY, type MailField } from './map/mail-policy.js';
import type { AlertPolicy, SeverityRule } from './types.js';

/** The package's own config/default.json, wherever tracehive is run from (dist/src/config.js → ../../config). */
const DEFAULT_FILE = fileURLToPath(new URL('../../config/default.json', import.meta.url));

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

convict.addFormat({
  name: 'http-url-or-empty',
  validate(value: unknown) {
    if (value === '') return;
    if (typeof value !== 'string') throw new Error('Expected an http(s) URL or ""');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`Expected an http(s) URL such as https://thehive.example.org:9000, got ${JSON.stringify(value)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`Expected an http: or https: URL, got ${JSON.stringify(url.protocol)}`);
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
        throw new Error(`Expected CIDR ranges such as 10.0.0.0/8 or ::1/128, got ${JSON.stringify(item)}`);
      }
    }
  },
  coerce: (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
});

convict.addFormat({
  name: 'string-list',
  validate(value: unknown) {
    if (!Array.isArray(value) || value.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 128)) {
      throw new Error('Expected a list of non-empty strings of at most 128 characters');
    }
  },
  coerce: (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
});

convict.addFormat({
  name: 'severity-rules',
  validate(value: unknown) {
    if (typeof value === 'string') throw new Error('Expected a JSON list of rules such as [{"match":"*_APT_*","severity":4}], got text that is not JSON');
    if (!Array.isArray(value)) throw new Error('Expected a list of {match, severity[, scoreField, steps]} rules');
    value.forEach((rule: unknown, i) => checkSeverityRule(rule, i));
  },
  // Bad JSON stays a string, so validation reports it against the key instead of throwing here.
  coerce: (v: string) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  },
});

convict.addFormat({
  name: 'switch',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error(`Expected true or false (or 1 or 0), got ${JSON.stringify(value)}`);
  },
  // convict's Boolean takes anything but "false" as true, so TLS_VERIFY=no would verify; refuse it instead.
  coerce: (v: string) => ({ true: true, '1': true, false: false, '0': false })[v.trim().toLowerCase()] ?? v,
});

const MAIL_FIELDS: readonly MailField[] = ['title', 'severity', 'date', 'status', 'type', 'source', 'description'];

convict.addFormat({
  name: 'field-names',
  validate(value: unknown) {
    if (typeof value === 'string') throw new Error('Expected a JSON object such as {"title":["title","Название"]}, got text that is not JSON');
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`Expected an object with the lists ${MAIL_FIELDS.join(', ')}`);
    for (const [field, names] of Object.entries(value)) {
      if (!MAIL_FIELDS.includes(field as MailField)) throw new Error(`unknown field ${JSON.stringify(field)}: expected one of ${MAIL_FIELDS.join(', ')}`);
      if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n.trim() === '')) throw new Error(`${field}: expected a list of non-empty field names`);
    }
    for (const field of MAIL_FIELDS) if (!(field in value)) throw new Error(`${field}: missing (give every field; copy the defaults from config/example.json)`);
  },
  coerce: (v: string) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  },
});

/** Integers with a floor, for keys where 0 would silently break the bridge. */
function intAtLeast(name: string, min: number, why: string): string {
  convict.addFormat({
    name,
    validate(value: unknown) {
      if (!Number.isInteger(value) || (value as number) < min) throw new Error(`Expected an integer ≥ ${min} (${why}), got ${JSON.stringify(value)}`);
    },
    coerce: (v: string) => Number(v),
  });
  return name;
}
const POSITIVE = intAtLeast('positive-int', 1, '0 would stop all work');
const LINE_BYTES = intAtLeast('line-bytes', 256, 'a detection line is longer than that');
const SPOOL_BYTES = intAtLeast('spool-bytes', 1048576, 'at least 1 MiB, or every line would pause the listener');
const SEGMENT_BYTES = intAtLeast('segment-bytes', 65536, 'at least 64 KiB');
const MAIL_BYTES = intAtLeast('mail-bytes', 65536, 'a mail with one attachment is larger');

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

const schema = {
  tcp: {
    enabled: { doc: 'Run the CyberTrace TCP listener.', format: 'switch', default: true, env: 'TRACEHIVE_TCP_ENABLED' },
    host: { doc: 'Listen address (CyberTrace’s documented default target is 127.0.0.1:9998).', format: 'host', default: '127.0.0.1', env: 'TRACEHIVE_TCP_HOST' },
    port: { doc: 'Listen port; 0 picks a free one (logged).', format: 'port', default: 9998, env: 'TRACEHIVE_TCP_PORT' },
    maxLineBytes: { doc: 'Longer lines are dropped and counted; the connection goes on (at least 256).', format: LINE_BYTES, default: 65536, env: 'TRACEHIVE_TCP_MAX_LINE_BYTES' },
    maxConnections: { doc: 'Concurrent connections at most; more are refused at accept.', format: POSITIVE, default: 256, env: 'TRACEHIVE_TCP_MAX_CONNECTIONS' },
    idleTimeoutMs: { doc: 'A connection silent this long is closed (0 = never).', format: 'nat', default: 300000, env: 'TRACEHIVE_TCP_IDLE_TIMEOUT_MS' },
    allow: { doc: 'CIDR allowlist of peers; empty allows all.', format: 'cidr-list', default: [] as string[], env: 'TRACEHIVE_TCP_ALLOW' },
    lineTimeoutMs: { doc: 'A line must end within this after its first byte, or the connection is closed (0 = no limit): a peer trickling bytes cannot hold a slot.', format: 'nat', default: 30000, env: 'TRACEHIVE_TCP_LINE_TIMEOUT_MS' },
    maxConnectionsPerPeer: { doc: 'Concurrent connections from one peer address at most, so one peer cannot take every slot of tcp.maxConnections.', format: POSITIVE, default: 32, env: 'TRACEHIVE_TCP_MAX_CONNECTIONS_PER_PEER' },
  },
  thehive: {
    url: { doc: 'TheHive base URL; empty uses the file sink.', format: 'http-url-or-empty', default: '', env: 'THEHIVE_URL' },
    apiKey: { doc: 'TheHive API key (sent as a Bearer token, never logged).', format: String, default: '', env: 'THEHIVE_API_KEY', sensitive: true },
    organisation: { doc: 'Sent as X-Organisation when set.', format: String, default: '', env: 'THEHIVE_ORG' },
    api: { doc: 'v1 = TheHive 5 /api/v1/alert with observables; v0 = TheHive 4 /api/alert with artifacts.', format: ['v1', 'v0'], default: 'v1', env: 'THEHIVE_API' },
    tlsVerify: { doc: 'Verify TheHive’s TLS certificate.', format: 'switch', default: true, env: 'THEHIVE_TLS_VERIFY' },
    caFile: { doc: 'Extra CA certificate (PEM file) for a private TheHive.', format: String, default: '', env: 'THEHIVE_CA_FILE' },
    timeoutMs: { doc: 'Per-request timeout.', format: POSITIVE, default: 10000, env: 'THEHIVE_TIMEOUT_MS' },
  },
  file: {
    path: { doc: 'The file sink: one alert (the exact request body) per line.', format: String, default: 'data/alerts.ndjson', env: 'TRACEHIVE_FILE_PATH' },
  },
  queue: {
    ratePerSec: { doc: 'Alerts sent per second at most (0 = unlimited).', format: 'nat', default: 20, env: 'TRACEHIVE_RATE_PER_SEC' },
    concurrency: { doc: 'Requests in flight at most.', format: POSITIVE, default: 4, env: 'TRACEHIVE_CONCURRENCY' },
    maxAttempts: { doc: 'Retriable failures before dead-lettering (0 = retry forever).', format: 'nat', default: 0, env: 'TRACEHIVE_MAX_ATTEMPTS' },
    maxPending: { doc: 'Alerts read from the spool and held in memory for delivery at most (the window); the backlog waits on disk.', format: POSITIVE, default: 1000, env: 'TRACEHIVE_MAX_PENDING' },
    retryBaseMs: { doc: 'First retry delay; doubles per consecutive failure, with full jitter.', format: 'nat', default: 500, env: 'TRACEHIVE_RETRY_BASE_MS' },
    retryMaxMs: { doc: 'Retry delay cap.', format: 'nat', default: 60000, env: 'TRACEHIVE_RETRY_MAX_MS' },
    authRetryMs: { doc: 'Retry delay after 401/403 (a wrong key waits for the operator).', format: 'nat', default: 30000, env: 'TRACEHIVE_AUTH_RETRY_MS' },
  },
  spool: {
    dir: { doc: 'Data directory: the durable queue (queue/), dead letters (dead/), rejected lines (rejected/), quarantined mails (quarantine/).', format: String, default: 'data/spool', env: 'TRACEHIVE_SPOOL_DIR' },
    maxBytes: { doc: 'Spool size at most; when full, TCP reads pause and mail intake defers (nothing accepted is dropped).', format: SPOOL_BYTES, default: 1073741824, env: 'TRACEHIVE_SPOOL_MAX_BYTES' },
    fsyncIntervalMs: { doc: 'Group commit: accepted input is fsynced together at most this long after it arrived (the one window a power cut can lose; 0 = at once).', format: 'nat', default: 20, env: 'TRACEHIVE_SPOOL_FSYNC_INTERVAL_MS' },
    segmentBytes: { doc: 'Spool segment file size; a segment is deleted once every alert in it is delivered or dead-lettered.', format: SEGMENT_BYTES, default: 67108864, env: 'TRACEHIVE_SPOOL_SEGMENT_BYTES' },
    commitBatchBytes: { doc: 'Input read but not yet durable at most: a group commit starts once this much waits, and input pauses while more would wait (what a crash or a failing disk can cost).', format: 'nat', default: 1048576, env: 'TRACEHIVE_SPOOL_COMMIT_BATCH_BYTES' },
    dead: {
      maxBytes: { doc: 'Dead-letter files (spool.dir/dead/) at most; above it input pauses until an operator requeues or removes them.', format: 'nat', default: 268435456, env: 'TRACEHIVE_SPOOL_DEAD_MAX_BYTES' },
      retentionDays: { doc: 'Dead-letter files older than this many days are deleted (they hold alert data); 0 keeps them forever.', format: 'nat', default: 30, env: 'TRACEHIVE_SPOOL_DEAD_RETENTION_DAYS' },
    },
    rejected: {
      maxBytes: { doc: 'Rejected-line files (spool.dir/rejected/) at most; the oldest are deleted first, then further lines are only counted.', format: 'nat', default: 16777216, env: 'TRACEHIVE_SPOOL_REJECTED_MAX_BYTES' },
      retentionDays: { doc: 'Rejected-line files older than this many days are deleted; 0 keeps them forever.', format: 'nat', default: 7, env: 'TRACEHIVE_SPOOL_REJECTED_RETENTION_DAYS' },
    },
    quarantine: {
      maxBytes: { doc: 'Quarantined mails (spool.dir/quarantine/) at most; above it a mail that would be quarantined is refused for now (SMTP 452, IMAP left unseen, drop left in place).', format: 'nat', default: 268435456, env: 'TRACEHIVE_SPOOL_QUARANTINE_MAX_BYTES' },
      retentionDays: { doc: 'Quarantined mails older than this many days are deleted (they hold personal data); 0 keeps them forever.', format: 'nat', default: 30, env: 'TRACEHIVE_SPOOL_QUARANTINE_RETENTION_DAYS' },
    },
  },
  ingest: {
    dropDir: { doc: 'Where `tracehive ingest` leaves mails for serve: its own directory outside spool.dir, writable by the MTA group (setgid and sticky bits).', format: String, default: 'data/incoming', env: 'TRACEHIVE_INGEST_DROP_DIR' },
  },
  email: {
    imap: {
      enabled: { doc: 'Poll a mailbox over IMAP: one alert per unseen mail.', format: 'switch', default: false, env: 'TRACEHIVE_IMAP_ENABLED' },
      host: { doc: 'IMAP server.', format: String, default: '', env: 'TRACEHIVE_IMAP_HOST' },
      port: { doc: 'IMAP port (993 implicit TLS, 143 plain/STARTTLS).', format: 'port', default: 993, env: 'TRACEHIVE_IMAP_PORT' },
      secure: { doc: 'true = implicit TLS; false = plain, upgraded with STARTTLS (see email.imap.starttls).', format: 'switch', default: true, env: 'TRACEHIVE_IMAP_SECURE' },
      starttls: { doc: 'With secure=false: required (refuse a server without STARTTLS: the password never crosses in clear), when-offered, or off.', format: ['required', 'when-offered', 'off'], default: 'required', env: 'TRACEHIVE_IMAP_STARTTLS' },
      tlsVerify: { doc: 'Verify the IMAP server certificate.', format: 'switch', default: true, env: 'TRACEHIVE_IMAP_TLS_VERIFY' },
      caFile: { doc: 'Extra CA certificate (PEM file) for a private IMAP server.', format: String, default: '', env: 'TRACEHIVE_IMAP_CA_FILE' },
      user: { doc: 'IMAP login.', format: String, default: '', env: 'TRACEHIVE_IMAP_USER' },
      password: { doc: 'IMAP password (never logged).', format: String, default: '', env: 'TRACEHIVE_IMAP_PASSWORD', sensitive: true },
      mailbox: { doc: 'Mailbox whose unseen mails become alerts.', format: String, default: 'INBOX', env: 'TRACEHIVE_IMAP_MAILBOX' },
      doneMailbox: { doc: 'Move taken mails here (created when missing); empty marks them \\Seen in place.', format: String, default: '', env: 'TRACEHIVE_IMAP_DONE_MAILBOX' },
      pollIntervalMs: { doc: 'Polling beside IDLE (the only trigger on servers without IDLE).', format: POSITIVE, default: 60000, env: 'TRACEHIVE_IMAP_POLL_INTERVAL_MS' },
      maxBytes: { doc: 'Larger mails are left unread in the mailbox and logged.', format: MAIL_BYTES, default: 26214400, env: 'TRACEHIVE_IMAP_MAX_BYTES' },
    },
    smtp: {
      enabled: { doc: 'Accept mail over SMTP (a spamtrap, a forwarding rule, a report-phishing address).', format: 'switch', default: false, env: 'TRACEHIVE_SMTP_ENABLED' },
      host: { doc: 'SMTP listen address.', format: 'host', default: '127.0.0.1', env: 'TRACEHIVE_SMTP_HOST' },
      port: { doc: 'SMTP listen port; 0 picks a free one (logged).', format: 'port', default: 2525, env: 'TRACEHIVE_SMTP_PORT' },
      allowFrom: { doc: 'Allowed envelope senders: addresses or @domain; empty allows all.', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_SMTP_ALLOW_FROM' },
      allowPeers: { doc: 'CIDR allowlist of SMTP clients; empty allows all.', format: 'cidr-list', default: [] as string[], env: 'TRACEHIVE_SMTP_ALLOW_PEERS' },
      maxBytes: { doc: 'Larger mails are refused with 552.', format: MAIL_BYTES, default: 26214400, env: 'TRACEHIVE_SMTP_MAX_BYTES' },
      tlsKeyFile: { doc: 'PEM private key: with tlsCertFile, STARTTLS is offered.', format: String, default: '', env: 'TRACEHIVE_SMTP_TLS_KEY_FILE' },
      tlsCertFile: { doc: 'PEM certificate (chain) for STARTTLS.', format: String, default: '', env: 'TRACEHIVE_SMTP_TLS_CERT_FILE' },
      maxClients: { doc: 'SMTP connections at once; more get 421.', format: POSITIVE, default: 100, env: 'TRACEHIVE_SMTP_MAX_CLIENTS' },
      maxClientsPerPeer: { doc: 'SMTP connections from one client address at most.', format: POSITIVE, default: 10, env: 'TRACEHIVE_SMTP_MAX_CLIENTS_PER_PEER' },
      maxInflightBytes: { doc: 'Bytes of mails being received or parsed at once, over every session; a mail that would go over gets 452 (the MTA retries).', format: 'nat', default: 67108864, env: 'TRACEHIVE_SMTP_MAX_INFLIGHT_BYTES' },
      commandTimeoutMs: { doc: 'A client must start DATA within this after connecting or after its last mail (NOOP, RSET and the like do not extend it), else 421.', format: POSITIVE, default: 60000, env: 'TRACEHIVE_SMTP_COMMAND_TIMEOUT_MS' },
      dataTimeoutMs: { doc: 'A mail’s DATA must end within this after it started, else 421.', format: POSITIVE, default: 300000, env: 'TRACEHIVE_SMTP_DATA_TIMEOUT_MS' },
    },
    fieldNames: { doc: 'SIEM notification mails: synonyms of title, severity, date, status, type, source and description (case-insensitive).', format: 'field-names', default: DEFAULT_MAIL_POLICY.fieldNames as unknown as Record<MailField, string[]>, env: 'TRACEHIVE_EMAIL_FIELD_NAMES' },
    ignore: {
      domains: { doc: 'Domains never sent as observables (each covers its subdomains; *.test = every name under .test).', format: 'string-list', default: [...DEFAULT_MAIL_POLICY.ignore.domains], env: 'TRACEHIVE_EMAIL_IGNORE_DOMAINS' },
      ips: { doc: 'Addresses and CIDR ranges never sent as observables.', format: 'cidr-list', default: [...DEFAULT_MAIL_POLICY.ignore.ips], env: 'TRACEHIVE_EMAIL_IGNORE_IPS' },
      hashes: { doc: 'MD5/SHA-1/SHA-256 never sent as observables (default: the digests of empty input).', format: 'string-list', default: [...DEFAULT_MAIL_POLICY.ignore.hashes], env: 'TRACEHIVE_EMAIL_IGNORE_HASHES' },
      emails: { doc: 'Addresses (or @domain) never sent as observables.', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_EMAIL_IGNORE_EMAILS' },
    },
    privateIps: { doc: 'Private, CGNAT and link-local addresses found in mails: keep (tagged private) or drop.', format: ['keep', 'drop'], default: 'keep', env: 'TRACEHIVE_EMAIL_PRIVATE_IPS' },
    maxDepth: { doc: 'Forwarded mails nested deeper than this are kept as attachments, not parsed.', format: 'nat', default: 3, env: 'TRACEHIVE_EMAIL_MAX_DEPTH' },
    type: { doc: 'Alert `type` of an ordinary mail (≤ 32 chars).', format: 'thehive-name', default: 'mail', env: 'TRACEHIVE_EMAIL_TYPE' },
    notificationType: { doc: 'Alert `type` of a SIEM notification mail (≤ 32 chars).', format: 'thehive-name', default: 'siem-mail', env: 'TRACEHIVE_EMAIL_NOTIFICATION_TYPE' },
    source: { doc: 'Alert `source` of mail alerts (≤ 32 chars).', format: 'thehive-name', default: 'mail', env: 'TRACEHIVE_EMAIL_SOURCE' },
  },
  shutdown: {
    timeoutMs: { doc: 'On SIGTERM/SIGINT, time allowed to deliver in-flight alerts before exiting.', format: 'nat', default: 10000, env: 'TRACEHIVE_SHUTDOWN_TIMEOUT_MS' },
  },
  http: {
    enabled: { doc: 'Serve /healthz, /readyz and /metrics.', format: 'switch', default: true, env: 'TRACEHIVE_HTTP_ENABLED' },
    host: { doc: 'Admin HTTP listen address.', format: 'host', default: '127.0.0.1', env: 'TRACEHIVE_HTTP_HOST' },
    port: { doc: 'Admin HTTP port; 0 picks a free one.', format: 'port', default: 9999, env: 'TRACEHIVE_HTTP_PORT' },
  },
  log: {
    level: { doc: 'pino level: fatal, error, warn, info, debug, trace or silent.', format: LOG_LEVELS, default: 'info', env: 'LOG_LEVEL' },
  },
  alert: {
    type: { doc: 'Alert `type` of detections (≤ 32 chars).', format: 'thehive-name', default: 'cybertrace', env: 'TRACEHIVE_ALERT_TYPE' },
    serviceType: { doc: 'Alert `type` of CyberTrace service alerts (≤ 32 chars).', format: 'thehive-name', default: 'cybertrace-service', env: 'TRACEHIVE_ALERT_SERVICE_TYPE' },
    source: { doc: 'Alert `source` (≤ 32 chars).', format: 'thehive-name', default: 'CyberTrace', env: 'TRACEHIVE_ALERT_SOURCE' },
    tags: { doc: 'Extra tags on every alert.', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_ALERT_TAGS' },
    tlp: { doc: 'TLP: 0 CLEAR, 1 GREEN, 2 AMBER, 3 AMBER+STRICT, 4 RED (TheHive ≥ 5.2).', format: [0, 1, 2, 3, 4], default: 2, env: 'TRACEHIVE_ALERT_TLP' },
    pap: { doc: 'PAP: 0 WHITE … 3 RED.', format: [0, 1, 2, 3], default: 2, env: 'TRACEHIVE_ALERT_PAP' },
    severity: { doc: 'Severity policy: rules tried in order, the first whose glob matches the category wins.', format: 'severity-rules', default: DEFAULT_SEVERITY_RULES as unknown as SeverityRule[], env: 'TRACEHIVE_ALERT_SEVERITY' },
    defaultSeverity: { doc: 'Severity when no rule matches.', format: [1, 2, 3, 4], default: 2, env: 'TRACEHIVE_ALERT_DEFAULT_SEVERITY' },
    serviceAlerts: { doc: 'CyberTrace service alerts: `log` (log and count) or `alert` (also create alerts).', format: ['log', 'alert'], default: 'log', env: 'TRACEHIVE_SERVICE_ALERTS' },
    groupWindowMs: { doc: 'Aggregation: detections with the same category and matchedIndicator received within this window become one alert listing the sightings (0 = off).', format: 'nat', default: 0, env: 'TRACEHIVE_ALERT_GROUP_WINDOW_MS' },
    groupMaxSightings: { doc: 'Aggregation: a group is sent once it holds this many sightings, even inside its window.', format: POSITIVE, default: 1000, env: 'TRACEHIVE_ALERT_GROUP_MAX_SIGHTINGS' },
  },
};

/** A directory of kept files with a byte cap and a retention (0 = none). */
export interface FileBudget {
  readonly maxBytes: number;
  readonly retentionDays: number;
}

/** The validated, frozen configuration. */
export interface Config {
  readonly tcp: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly maxLineBytes: number; readonly maxConnections: number; readonly idleTimeoutMs: number; readonly allow: readonly string[]; readonly lineTimeoutMs: number; readonly maxConnectionsPerPeer: number };
  readonly thehive: { readonly url: string; readonly apiKey: string; readonly organisation: string; readonly api: 'v1' | 'v0'; readonly tlsVerify: boolean; readonly caFile: string; readonly timeoutMs: number };
  readonly file: { readonly path: string };
  readonly queue: { readonly ratePerSec: number; readonly concurrency: number; readonly maxAttempts: number; readonly maxPending: number; readonly retryBaseMs: number; readonly retryMaxMs: number; readonly authRetryMs: number };
  readonly spool: {
    readonly dir: string;
    readonly maxBytes: number;
    readonly fsyncIntervalMs: number;
    readonly segmentBytes: number;
    readonly commitBatchBytes: number;
    readonly dead: FileBudget;
    readonly rejected: FileBudget;
    readonly quarantine: FileBudget;
  };
  readonly ingest: { readonly dropDir: string };
  readonly email: {
    readonly imap: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly secure: boolean; readonly starttls: 'required' | 'when-offered' | 'off'; readonly tlsVerify: boolean; readonly caFile: string; readonly user: string; readonly password: string; readonly mailbox: string; readonly doneMailbox: string; readonly pollIntervalMs: number; readonly maxBytes: number };
    readonly smtp: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly allowFrom: readonly string[]; readonly allowPeers: readonly string[]; readonly maxBytes: number; readonly tlsKeyFile: string; readonly tlsCertFile: string; readonly maxClients: number; readonly maxClientsPerPeer: number; readonly maxInflightBytes: number; readonly commandTimeoutMs: number; readonly dataTimeoutMs: number };
    readonly fieldNames: Readonly<Record<MailField, readonly string[]>>;
    readonly ignore: { readonly domains: readonly string[]; readonly ips: readonly string[]; readonly hashes: readonly string[]; readonly emails: readonly string[] };
    readonly privateIps: 'keep' | 'drop';
    readonly maxDepth: number;
    readonly type: string;
    readonly notificationType: string;
    readonly source: string;
  };
  readonly shutdown: { readonly timeoutMs: number };
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly log: { readonly level: string };
  readonly alert: Omit<AlertPolicy, 'severity' | 'tags'> & { readonly severity: readonly SeverityRule[]; readonly tags: readonly string[]; readonly groupWindowMs: number; readonly groupMaxSightings: number };
}

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
  const conf = convict(schema, { env, args: [] });
  const files: string[] = [];
  if (sources.useDefaultFile !== false && existsSync(DEFAULT_FILE)) files.push(DEFAULT_FILE);
  const extra = sources.file ?? env['TRACEHIVE_CONFIG'];
  if (extra) files.push(extra);
  for (const f of files) conf.load(readJson(f));
  if (sources.overrides) conf.load(sources.overrides);
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    throw new BridgeError('ERR_CONFIG_INVALID', explain((err as Error).message, files), { cause: err });
  }
  const caFile = conf.get('thehive.caFile');
  if (caFile !== '') {
    try {
      accessSync(caFile, constants.R_OK);
    } catch (err) {
      throw new BridgeError('ERR_CONFIG_INVALID', `Invalid configuration:\n  thehive.caFile: cannot read ${caFile} (${(err as NodeJS.ErrnoException).code}). Fix it in the environment variable THEHIVE_CA_FILE or the config file.`, { cause: err });
    }
  }
  if (conf.get('email.imap.enabled') && (conf.get('email.imap.host') === '' || conf.get('email.imap.user') === '')) {
    throw new BridgeError('ERR_CONFIG_INVALID', 'email.imap: IMAP is enabled but email.imap.host or email.imap.user is empty. Set TRACEHIVE_IMAP_HOST, TRACEHIVE_IMAP_USER and TRACEHIVE_IMAP_PASSWORD, or TRACEHIVE_IMAP_ENABLED=false.');
  }
  const smtpTls = [conf.get('email.smtp.tlsKeyFile'), conf.get('email.smtp.tlsCertFile')];
  if (smtpTls.filter((f) => f !== '').length === 1) {
    throw new BridgeError('ERR_CONFIG_INVALID', 'email.smtp.tlsKeyFile and email.smtp.tlsCertFile: give both (STARTTLS needs the key and its certificate) or neither.');
  }
  for (const [key, file] of [['email.smtp.tlsKeyFile', smtpTls[0]], ['email.smtp.tlsCertFile', smtpTls[1]]] as const) {
    if (file === '' || file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      throw new BridgeError('ERR_CONFIG_INVALID', `Invalid configuration:\n  ${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code}). Fix it in the environment variable ${envNameOf(key)} or the config file.`, { cause: err });
    }
  }
  if (conf.get('thehive.url') !== '' && conf.get('thehive.apiKey') === '') {
    throw new BridgeError('ERR_CONFIG_INVALID', 'thehive.apiKey: TheHive needs an API key when thehive.url is set. Set THEHIVE_API_KEY (a TheHive user with the manageAlert/create permission).');
  }
  return deepFreeze(conf.getProperties() as unknown as Config);
}

/** The effective configuration as JSON with secrets masked, for `check-config`. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as { thehive: { apiKey: string; url: string } };
  if (copy.thehive.apiKey !== '') copy.thehive.apiKey = '[redacted]';
  const imap = (copy as unknown as { email: { imap: { password: string } } }).email.imap;
  if (imap.password !== '') imap.password = '[redacted]';
  copy.thehive.url = redactUrl(copy.thehive.url);
  return copy;
}

/** A URL without the password of its `user:password@` part, for logs and output. */
export function redactUrl(text: string): string {
  if (!text.includes('@')) return text;
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = 'redacted';
    return url.toString();
  } catch {
    return text;
  }
}

/** The environment variable of each key, for error hints and docs. */
export function envNameOf(key: string): string | undefined {
  let node: unknown = schema;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return (node as { env?: string } | undefined)?.env;
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BridgeError('ERR_CONFIG_FILE', `Cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`, { cause: err });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new BridgeError('ERR_CONFIG_FILE', `Config file ${file} is not valid JSON: ${(err as Error).message}.`, { cause: err });
  }
}

/** Turns convict's lines into one message per key, each with where to fix it. */
function explain(message: string, files: readonly string[]): string {
  const lines = message.split('\n').map((line) => {
    const undeclared = /^configuration param '([^']+)' not declared/.exec(line);
    if (undeclared) return `${undeclared[1]}: unknown key (check its spelling against config/example.json).`;
    const key = /^([\w.]+): /.exec(line)?.[1];
    const envName = key ? envNameOf(key) : undefined;
    const where = [...files, envName ? `the environment variable ${envName}` : ''].filter(Boolean).join(' or ');
    return where ? `${line}. Fix it in ${where}.` : line;
  });
  return `Invalid configuration:\n  ${lines.join('\n  ')}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
