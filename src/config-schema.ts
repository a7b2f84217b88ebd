/**
 * The configuration schema (contract §3) and the type it validates to: every key has a doc
 * string, a format, a default and an environment name; secrets are marked sensitive. Every
 * duration and size has an upper bound, stated below with its reason: the one every timer shares
 * is setTimeout's, which fires at once for a delay that does not fit in a signed 32-bit integer.
 */
import type { TargetSpec } from './config-targets.js';
import { DEFAULT_SEVERITY_RULES } from './map/severity.js';
import { DEFAULT_MAIL_POLICY, type MailField } from './map/mail-policy.js';
import type { MailRole } from './map/mail-trust.js';
import type { ImapMailboxSpec } from './config-imap-mailboxes.js';
import type { AlertPolicy, SeverityRule } from './types.js';
import { LOG_LEVELS, intAtLeast, intIn } from './config-formats.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

/** setTimeout holds delays in a signed 32-bit integer (24.8 days); every duration bound stays below it. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

const POSITIVE = intAtLeast(1, '0 would stop all work');
const COUNT = intAtLeast(0, 'a count');
/** A line is buffered per connection until it ends: 1 MiB × the default 256 connections is already 256 MiB. */
const LINE_BYTES = intIn(256, MiB, 'a detection line is longer than 256 bytes, and each connection buffers up to one line');
/** Threads mapping lines: more than the cores of a big box only adds heaps. */
const MAP_WORKERS = intIn(1, 64, '1 to 64 threads');
/** A peer silent for a day is gone; 0 = never close. */
const IDLE_MS = intIn(0, DAY, 'at most a day; 0 = never');
/** A line that takes an hour to arrive is a peer holding a slot, not CyberTrace. */
const LINE_MS = intIn(0, HOUR, 'at most an hour; 0 = no limit');
/** A TheHive request slower than 10 minutes is a dead connection: the retry is the better bet. */
const REQUEST_MS = intIn(1, 10 * MINUTE, '1 ms to 10 minutes per request');
/** A retry delay longer than an hour leaves a recovered TheHive idle for that long. */
const RETRY_MS = intIn(0, HOUR, 'at most an hour');
/** The spool holds what TheHive cannot take yet: more than a disk holds is a typo. */
const SPOOL_BYTES = intIn(MiB, 16 * TiB, 'at least 1 MiB, or every line would pause the listener; at most 16 TiB');
/** What a power cut can lose: more than 10 s of accepted input is not "accepted means on disk". */
const FSYNC_MS = intIn(0, 10 * SECOND, 'at most 10 s: what a power cut can lose; 0 = at once');
/** A segment is deleted only once every alert in it is done: a larger one keeps delivered data on disk longer. */
const SEGMENT_BYTES = intIn(64 * KiB, GiB, 'from 64 KiB to 1 GiB');
/** Read but not yet durable is held in memory, and lost with the process. */
const COMMIT_BATCH_BYTES = intIn(64 * KiB, 64 * MiB, 'from 64 KiB (a few lines per commit) to 64 MiB (input held in memory until it is on disk)');
/** A budget of kept files on disk. */
const FILE_BYTES = intIn(0, GiB, 'from 0 (no files) to 1 GiB');
const DISK_BYTES = intIn(0, 16 * TiB, 'at most 16 TiB');
/** Retention in days: ten years is forever for alert data, and keeps the cut-off a valid date. */
const RETENTION_DAYS = intIn(0, 3650, 'at most 3650 days; 0 = forever');
/** A mail is held in memory and parsed whole (several times its size): 256 MiB is far above what mail servers accept. */
const MAIL_BYTES = intIn(64 * KiB, 256 * MiB, 'a mail with one attachment is larger than 64 KiB; one is parsed in memory, so at most 256 MiB');
/** Mails received or parsed at once, in memory. */
const INFLIGHT_BYTES = intIn(0, 4 * GiB, 'at most 4 GiB: mails held in memory at once');
/** A poll interval longer than a day is no polling; the timer must fit too. */
const POLL_MS = intIn(1, DAY, '1 ms to a day');
/** An SMTP client idling for an hour holds a slot a real mail needs. */
const SESSION_MS = intIn(1, HOUR, '1 ms to an hour');
/** Beyond an hour a supervisor (systemd's default is 90 s) has long killed the process. */
const SHUTDOWN_MS = intIn(0, HOUR, 'at most an hour');
/** An alert taking sightings for more than a year is no longer "this incident". */
const UPDATE_WINDOW_MS = intIn(0, 365 * DAY, 'at most 365 days; 0 = off (every detection its own alert)');
/** Sightings of one key wait this long in memory before their update is sent. */
const FLUSH_MS = intIn(100, 10 * MINUTE, 'from 100 ms (a request per key per 100 ms) to 10 minutes');

export const schema = {
  tcp: {
    enabled: { doc: 'Run the CyberTrace TCP listener.', format: 'switch', default: true, env: 'TRACEHIVE_TCP_ENABLED' },
    host: { doc: 'Listen address (CyberTrace’s documented default target is 127.0.0.1:9998).', format: 'host', default: '127.0.0.1', env: 'TRACEHIVE_TCP_HOST' },
    port: { doc: 'Listen port; 0 picks a free one (logged).', format: 'port', default: 9998, env: 'TRACEHIVE_TCP_PORT' },
    maxLineBytes: { doc: 'Longer lines are dropped and counted; the connection goes on (256 B to 1 MiB).', format: LINE_BYTES, default: 65536, env: 'TRACEHIVE_TCP_MAX_LINE_BYTES' },
    maxConnections: { doc: 'Concurrent connections at most; more are refused at accept.', format: POSITIVE, default: 256, env: 'TRACEHIVE_TCP_MAX_CONNECTIONS' },
    idleTimeoutMs: { doc: 'A connection silent this long is closed (0 = never).', format: IDLE_MS, default: 300000, env: 'TRACEHIVE_TCP_IDLE_TIMEOUT_MS' },
    allow: { doc: 'CIDR allowlist of peers: dotted quads or IPv6, ::ffff:a.b.c.d read as a.b.c.d; empty (unset) allows all, an empty TRACEHIVE_TCP_ALLOW is an error.', format: 'cidr-list', default: [] as string[], env: 'TRACEHIVE_TCP_ALLOW' },
    lineTimeoutMs: { doc: 'A line must end within this after its first byte, or the connection is closed (0 = no limit): a peer trickling bytes cannot hold a slot.', format: LINE_MS, default: 30000, env: 'TRACEHIVE_TCP_LINE_TIMEOUT_MS' },
    maxConnectionsPerPeer: { doc: 'Concurrent connections from one peer address at most, so one peer cannot take every slot of tcp.maxConnections.', format: POSITIVE, default: 32, env: 'TRACEHIVE_TCP_MAX_CONNECTIONS_PER_PEER' },
    mapWorkers: { doc: 'Map worker threads when tcp.mapWorker maps lines on a worker; batches go to each in turn. Each costs about 18 MiB at rest and a heap under load: more than one pays off with cores to spare (2 on 2 cores: +20 % lines/s, +50 MiB).', format: MAP_WORKERS, default: 1, env: 'TRACEHIVE_TCP_MAP_WORKERS' },
    mapWorker: { doc: 'Parse, map and encode the listener’s lines at accept on a worker thread: auto = when the machine has more than one core; on; off = on the main thread. Used while the alert lifecycle is off (alert.updateWindowMs 0) and alerts go out as TheHive 5 (v1) bodies; otherwise lines are mapped on the main thread as they are fed.', format: ['auto', 'on', 'off'], default: 'auto', env: 'TRACEHIVE_TCP_MAP_WORKER' },
  },
  thehive: {
    url: { doc: 'TheHive base URL; empty uses the file sink. A user:password@ part is never printed.', format: 'http-url-or-empty', default: '', env: 'THEHIVE_URL', sensitive: true },
    apiKey: { doc: 'TheHive API key (sent as a Bearer token, never logged).', format: String, default: '', env: 'THEHIVE_API_KEY', sensitive: true },
    apiKeyFile: { doc: 'A file holding thehive.apiKey (one line; read again on SIGHUP); not with thehive.apiKey. Under systemd, $CREDENTIALS_DIRECTORY/thehive-api-key is read when neither is set.', format: String, default: '', env: 'THEHIVE_API_KEY_FILE' },
    organisation: { doc: 'Sent as X-Organisation when set.', format: String, default: '', env: 'THEHIVE_ORG' },
    api: { doc: 'auto = read GET /api/status at start (TheHive 4 → v0, else v1); v1 = TheHive 5 /api/v1 with observables; v0 = TheHive 4 /api/alert with artifacts.', format: ['auto', 'v1', 'v0'], default: 'auto', env: 'THEHIVE_API' },
    version: { doc: 'How TheHive numbers TLP: auto = read GET /api/status before the first request; 5.2 = RED 4, AMBER+STRICT 3; 5.1, 5.0 and 4 = RED 3, AMBER+STRICT sent as AMBER with the tag tlp:amber+strict. An explicit value skips the question (a proxy that blocks /api/status); an unreadable status is taken as 5.2 and logged once.', format: ['auto', '4', '5.0', '5.1', '5.2'], default: 'auto', env: 'THEHIVE_VERSION' },
    tlsVerify: { doc: 'Verify TheHive’s TLS certificate.', format: 'switch', default: true, env: 'THEHIVE_TLS_VERIFY' },
    caFile: { doc: 'Extra CA certificate(s) (PEM file) for a private TheHive, trusted beside the system roots; checked at start.', format: String, default: '', env: 'THEHIVE_CA_FILE' },
    proxy: { doc: 'Reach TheHive through an HTTP proxy (CONNECT): "" = directly; a URL such as http://proxy.example:3128 (user:password@ for Basic auth, never printed); env = as HTTPS_PROXY/HTTP_PROXY and NO_PROXY say. The key check of /readyz/delivery goes the same way.', format: 'proxy-setting', default: '', env: 'THEHIVE_PROXY', sensitive: true },
    clientCertFile: { doc: 'Client certificate (PEM, chain) for a TheHive or reverse proxy that asks for one (mTLS); with thehive.clientKeyFile; checked at start.', format: String, default: '', env: 'THEHIVE_CLIENT_CERT_FILE' },
    clientKeyFile: { doc: 'Private key (PEM, unencrypted) of thehive.clientCertFile; checked at start against the certificate.', format: String, default: '', env: 'THEHIVE_CLIENT_KEY_FILE' },
    timeoutMs: { doc: 'Per-request timeout.', format: REQUEST_MS, default: 10000, env: 'THEHIVE_TIMEOUT_MS' },
    targets: { doc: 'Named TheHive targets besides thehive.url (another organisation, or another TheHive with its own key): {"tenant-b": {"organisation": "tenant-b"}}. A rule\'s set.target picks one. Each has its own spool cursor, window, rate, readiness and dead letters; unset keys come from thehive.* and queue.*. JSON in the environment. See the README, "Routing to several TheHive targets".', format: 'thehive-targets', default: {} as Record<string, unknown>, env: 'THEHIVE_TARGETS', sensitive: true },
  },
  file: {
    path: { doc: 'The file sink: one alert (the exact request body) per line.', format: String, default: 'data/alerts.ndjson', env: 'TRACEHIVE_FILE_PATH' },
  },
  queue: {
    ratePerSec: { doc: 'Requests to TheHive started per second at most, of any kind: creates, updates, observables, lookups (0 = unlimited).', format: COUNT, default: 20, env: 'TRACEHIVE_RATE_PER_SEC' },
    concurrency: { doc: 'Requests in flight at most.', format: POSITIVE, default: 4, env: 'TRACEHIVE_CONCURRENCY' },
    maxAttempts: { doc: 'Retriable failures before dead-lettering (0 = retry forever).', format: COUNT, default: 0, env: 'TRACEHIVE_MAX_ATTEMPTS' },
    maxPending: { doc: 'Alerts read from the spool and held in memory for delivery at most (the window); the backlog waits on disk.', format: POSITIVE, default: 1000, env: 'TRACEHIVE_MAX_PENDING' },
    retryBaseMs: { doc: 'First retry delay; doubles per consecutive failure, with full jitter.', format: RETRY_MS, default: 500, env: 'TRACEHIVE_RETRY_BASE_MS' },
    retryMaxMs: { doc: 'Retry delay cap.', format: RETRY_MS, default: 60000, env: 'TRACEHIVE_RETRY_MAX_MS' },
    authRetryMs: { doc: 'Retry delay after 401/403 (a wrong key waits for the operator).', format: RETRY_MS, default: 30000, env: 'TRACEHIVE_AUTH_RETRY_MS' },
  },
  spool: {
    dir: { doc: 'Data directory: the durable queue (queue/), dead letters (dead/), rejected lines (rejected/), quarantined mails (quarantine/).', format: String, default: 'data/spool', env: 'TRACEHIVE_SPOOL_DIR' },
    maxBytes: { doc: 'Spool size at most; when full, TCP reads pause and mail intake defers (nothing accepted is dropped).', format: SPOOL_BYTES, default: 1073741824, env: 'TRACEHIVE_SPOOL_MAX_BYTES' },
    fsyncIntervalMs: { doc: 'Group commit: accepted input is fsynced together at most this long after it arrived (the one window a power cut can lose; 0 = at once).', format: FSYNC_MS, default: 20, env: 'TRACEHIVE_SPOOL_FSYNC_INTERVAL_MS' },
    segmentBytes: { doc: 'Spool segment file size; a segment is deleted once every alert in it is delivered or dead-lettered.', format: SEGMENT_BYTES, default: 67108864, env: 'TRACEHIVE_SPOOL_SEGMENT_BYTES' },
    commitBatchBytes: { doc: 'Input read but not yet durable at most (what a crash or a failing disk can cost): input pauses while this much waits for its fsync, and a group commit starts early once half of it waits.', format: COMMIT_BATCH_BYTES, default: 2097152, env: 'TRACEHIVE_SPOOL_COMMIT_BATCH_BYTES' },
    dead: {
      maxBytes: { doc: 'Dead-letter files (spool.dir/dead/) at most; above it input pauses until an operator requeues or removes them.', format: DISK_BYTES, default: 268435456, env: 'TRACEHIVE_SPOOL_DEAD_MAX_BYTES' },
      retentionDays: { doc: 'Dead-letter files older than this many days are deleted (they hold alert data); 0 keeps them forever.', format: RETENTION_DAYS, default: 30, env: 'TRACEHIVE_SPOOL_DEAD_RETENTION_DAYS' },
    },
    rejected: {
      maxBytes: { doc: 'Rejected-line files (spool.dir/rejected/) at most; the oldest are deleted first, then further lines are only counted.', format: DISK_BYTES, default: 16777216, env: 'TRACEHIVE_SPOOL_REJECTED_MAX_BYTES' },
      retentionDays: { doc: 'Rejected-line files older than this many days are deleted; 0 keeps them forever.', format: RETENTION_DAYS, default: 7, env: 'TRACEHIVE_SPOOL_REJECTED_RETENTION_DAYS' },
    },
    quarantine: {
      maxBytes: { doc: 'Quarantined mails (spool.dir/quarantine/) at most; above it a mail that would be quarantined is refused for now (SMTP 452, IMAP left unseen, drop left in place).', format: DISK_BYTES, default: 268435456, env: 'TRACEHIVE_SPOOL_QUARANTINE_MAX_BYTES' },
      retentionDays: { doc: 'Quarantined mails older than this many days are deleted (they hold personal data); 0 keeps them forever.', format: RETENTION_DAYS, default: 30, env: 'TRACEHIVE_SPOOL_QUARANTINE_RETENTION_DAYS' },
    },
  },
  ingest: {
    dropDir: { doc: 'Where `tracehive ingest` leaves mails for serve: its own directory outside spool.dir, writable by the MTA group (setgid and sticky bits).', format: String, default: 'data/incoming', env: 'TRACEHIVE_INGEST_DROP_DIR' },
    role: { doc: 'What mails `tracehive ingest` takes: notifications (a SIEM notification from an untrusted sender is quarantined), reports or mixed (it becomes an ordinary mail, tagged untrusted-notification).', format: ['notifications', 'reports', 'mixed'], default: 'mixed', env: 'TRACEHIVE_INGEST_ROLE' },
  },
  email: {
    imap: {
      enabled: { doc: 'Poll a mailbox over IMAP: one alert per unseen mail.', format: 'switch', default: false, env: 'TRACEHIVE_IMAP_ENABLED' },
      host: { doc: 'IMAP server.', format: String, default: '', env: 'TRACEHIVE_IMAP_HOST' },
      port: { doc: 'IMAP port (993 implicit TLS, 143 plain/STARTTLS).', format: 'port', default: 993, env: 'TRACEHIVE_IMAP_PORT' },
      secure: { doc: 'true = implicit TLS; false = plain, upgraded with STARTTLS (see email.imap.starttls).', format: 'switch', default: true, env: 'TRACEHIVE_IMAP_SECURE' },
      starttls: { doc: 'With secure=false: required (refuse a server without STARTTLS: the password never crosses in clear), when-offered, or off.', format: ['required', 'when-offered', 'off'], default: 'required', env: 'TRACEHIVE_IMAP_STARTTLS' },
      tlsVerify: { doc: 'Verify the IMAP server certificate.', format: 'switch', default: true, env: 'TRACEHIVE_IMAP_TLS_VERIFY' },
      caFile: { doc: 'Extra CA certificate(s) (PEM file) for a private IMAP server, trusted beside the system roots; checked at start.', format: String, default: '', env: 'TRACEHIVE_IMAP_CA_FILE' },
      user: { doc: 'IMAP login.', format: String, default: '', env: 'TRACEHIVE_IMAP_USER' },
      password: { doc: 'IMAP password (never logged).', format: String, default: '', env: 'TRACEHIVE_IMAP_PASSWORD', sensitive: true },
      passwordFile: { doc: 'A file holding email.imap.password; not with email.imap.password. Under systemd, $CREDENTIALS_DIRECTORY/imap-password is read when neither is set.', format: String, default: '', env: 'TRACEHIVE_IMAP_PASSWORD_FILE' },
      mailbox: { doc: 'Mailbox whose unseen mails become alerts.', format: String, default: 'INBOX', env: 'TRACEHIVE_IMAP_MAILBOX' },
      doneMailbox: { doc: 'Move taken mails here (created when missing); empty marks them \\Seen in place.', format: String, default: '', env: 'TRACEHIVE_IMAP_DONE_MAILBOX' },
      pollIntervalMs: { doc: 'Polling beside IDLE (the only trigger on servers without IDLE).', format: POLL_MS, default: 60000, env: 'TRACEHIVE_IMAP_POLL_INTERVAL_MS' },
      maxBytes: { doc: 'Larger mails are left unread in the mailbox and logged.', format: MAIL_BYTES, default: 26214400, env: 'TRACEHIVE_IMAP_MAX_BYTES' },
      role: { doc: 'What the mailbox holds: notifications, reports or mixed (see ingest.role).', format: ['notifications', 'reports', 'mixed'], default: 'mixed', env: 'TRACEHIVE_IMAP_ROLE' },
      mailboxes: { doc: 'Several mailboxes, each polled on its own connection: a JSON list of {mailbox, name?, doneMailbox?, role?, target?, host?, port?, user?, password?, passwordFile?}; a key left out comes from email.imap.*. target names a thehive.targets entry for its mails. Empty: the one mailbox of email.imap.mailbox.', format: 'imap-mailboxes', default: [] as ImapMailboxSpec[], env: 'TRACEHIVE_IMAP_MAILBOXES' },
    },
    smtp: {
      enabled: { doc: 'Accept mail over SMTP (a spamtrap, a forwarding rule, a report-phishing address).', format: 'switch', default: false, env: 'TRACEHIVE_SMTP_ENABLED' },
      host: { doc: 'SMTP listen address.', format: 'host', default: '127.0.0.1', env: 'TRACEHIVE_SMTP_HOST' },
      port: { doc: 'SMTP listen port; 0 picks a free one (logged).', format: 'port', default: 2525, env: 'TRACEHIVE_SMTP_PORT' },
      allowFrom: { doc: 'Allowed envelope senders: addresses or @domain; empty allows all.', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_SMTP_ALLOW_FROM' },
      allowPeers: { doc: 'CIDR allowlist of SMTP clients (as tcp.allow); empty (unset) allows all.', format: 'cidr-list', default: [] as string[], env: 'TRACEHIVE_SMTP_ALLOW_PEERS' },
      maxBytes: { doc: 'Larger mails are refused with 552.', format: MAIL_BYTES, default: 26214400, env: 'TRACEHIVE_SMTP_MAX_BYTES' },
      tlsKeyFile: { doc: 'PEM private key (unencrypted): with tlsCertFile, STARTTLS is offered; checked at start against the certificate.', format: String, default: '', env: 'TRACEHIVE_SMTP_TLS_KEY_FILE' },
      tlsCertFile: { doc: 'PEM certificate (chain) for STARTTLS.', format: String, default: '', env: 'TRACEHIVE_SMTP_TLS_CERT_FILE' },
      maxClients: { doc: 'SMTP connections at once; more get 421.', format: POSITIVE, default: 100, env: 'TRACEHIVE_SMTP_MAX_CLIENTS' },
      maxClientsPerPeer: { doc: 'SMTP connections from one client address at most.', format: POSITIVE, default: 10, env: 'TRACEHIVE_SMTP_MAX_CLIENTS_PER_PEER' },
      maxInflightBytes: { doc: 'Bytes of mails being received or parsed at once, over every session; a mail that would go over gets 452 (the MTA retries).', format: INFLIGHT_BYTES, default: 67108864, env: 'TRACEHIVE_SMTP_MAX_INFLIGHT_BYTES' },
      commandTimeoutMs: { doc: 'A client must start DATA within this after connecting or after its last mail (NOOP, RSET and the like do not extend it), else 421.', format: SESSION_MS, default: 60000, env: 'TRACEHIVE_SMTP_COMMAND_TIMEOUT_MS' },
      dataTimeoutMs: { doc: 'A mail’s DATA must end within this after it started, else 421.', format: SESSION_MS, default: 300000, env: 'TRACEHIVE_SMTP_DATA_TIMEOUT_MS' },
      role: { doc: 'What mails the SMTP intake takes: notifications, reports or mixed (see ingest.role).', format: ['notifications', 'reports', 'mixed'], default: 'mixed', env: 'TRACEHIVE_SMTP_ROLE' },
    },
    fieldNames: { doc: 'SIEM notification mails: synonyms (case-insensitive, first in a list wins) of incidentId, title, severity, date, status, type, source, description and of the roles attacker, victim, destination, user; a field left out keeps its defaults.', format: 'field-names', default: DEFAULT_MAIL_POLICY.fieldNames as unknown as Record<MailField, string[]>, env: 'TRACEHIVE_EMAIL_FIELD_NAMES' },
    ignore: {
      domains: { doc: 'Domains never sent as observables (each covers its subdomains; *.test = every name under .test).', format: 'string-list', default: [...DEFAULT_MAIL_POLICY.ignore.domains], env: 'TRACEHIVE_EMAIL_IGNORE_DOMAINS' },
      ips: { doc: 'Addresses and CIDR ranges never sent as observables.', format: 'cidr-list', default: [...DEFAULT_MAIL_POLICY.ignore.ips], env: 'TRACEHIVE_EMAIL_IGNORE_IPS' },
      hashes: { doc: 'MD5/SHA-1/SHA-256 never sent as observables (default: the digests of empty input).', format: 'string-list', default: [...DEFAULT_MAIL_POLICY.ignore.hashes], env: 'TRACEHIVE_EMAIL_IGNORE_HASHES' },
      emails: { doc: 'Addresses (or @domain) never sent as observables.', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_EMAIL_IGNORE_EMAILS' },
    },
    stopwords: { doc: 'A line starting with one of these ends the text scanned for indicators (signatures, disclaimers); a word of punctuation only must be the whole line.', format: 'string-list', default: [...DEFAULT_MAIL_POLICY.stopwords], env: 'TRACEHIVE_EMAIL_STOPWORDS' },
    timeZones: { doc: 'SIEM notifications: domain=zone, the zone a sender domain writes its times in, an IANA name (kuma.example.kz=Asia/Almaty) or an offset (example.org=+05:00). A time without an offset is read in the zone of its sender\'s domain or nearest parent listed, else in the mail\'s Date: offset; an offset or Z in the time wins.', format: 'time-zones', default: [] as string[], env: 'TRACEHIVE_EMAIL_TIME_ZONES' },
    keywordTags: { doc: 'keyword=tag: a mail whose subject or text holds the keyword (any case) gets the tag (keyword alone: the keyword is the tag).', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_EMAIL_KEYWORD_TAGS' },
    dropSubjects: { doc: 'Globs (* any run, any case): a mail whose subject matches one (auto-replies, newsletters) is taken and makes no alert; counted and logged.', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_EMAIL_DROP_SUBJECTS' },
    subjectTags: { doc: 'glob=tag: a mail whose subject matches the glob (* any run, any case) gets the tag.', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_EMAIL_SUBJECT_TAGS' },
    referenceDomains: { doc: 'Sites advisories link to for reading (CERTs, vendor blogs), with subdomains: their links are listed as references in the description, never sent as observables.', format: 'string-list', default: [...DEFAULT_MAIL_POLICY.referenceDomains], env: 'TRACEHIVE_EMAIL_REFERENCE_DOMAINS' },
    trustedSenders: { doc: 'Senders (From: address or @domain) whose mails may be SIEM notifications; empty (unset) trusts every sender.', format: 'sender-list', default: [] as string[], env: 'TRACEHIVE_EMAIL_TRUSTED_SENDERS' },
    trustedSenderIps: { doc: 'CIDRs the receiving hop (the peer our receiving server wrote in the topmost Received:, loopback skipped) must be in for a SIEM notification; empty (unset): any.', format: 'cidr-list', default: [] as string[], env: 'TRACEHIVE_EMAIL_TRUSTED_SENDER_IPS' },
    internalRelays: { doc: 'CIDRs of your own mail servers behind the receiving one (mailbox store, internal relays): their Received: hops are skipped when finding the hop email.trustedSenderIps is checked against, and are never observables of a reported phish.', format: 'cidr-list', default: [] as string[], env: 'TRACEHIVE_EMAIL_INTERNAL_RELAYS' },
    authservId: { doc: 'The authserv-id of your receiving mail server: a SIEM notification needs SPF, DKIM or DMARC to pass, aligned with its From:, in that server’s Authentication-Results (others are ignored); empty checks none.', format: String, default: '', env: 'TRACEHIVE_EMAIL_AUTHSERV_ID' },
    privateIps: { doc: 'Private, CGNAT and link-local addresses found in mails: keep (tagged private) or drop.', format: ['keep', 'drop'], default: 'keep', env: 'TRACEHIVE_EMAIL_PRIVATE_IPS' },
    maxDepth: { doc: 'Forwarded mails nested deeper than this are kept as attachments, not parsed.', format: COUNT, default: 3, env: 'TRACEHIVE_EMAIL_MAX_DEPTH' },
    files: {
      maxBytes: { doc: 'Largest mail (.eml) or attachment sent to TheHive as a `file` observable (kept under spool.dir/files until delivered); larger ones keep their hashes and name only. 0: no files.', format: FILE_BYTES, default: 10 * MiB, env: 'TRACEHIVE_EMAIL_FILES_MAX_BYTES' },
      maxTotalBytes: { doc: 'Bytes of files one mail sends at most (attachments first, then the .eml); the rest keep their hashes and name only.', format: FILE_BYTES, default: 25 * MiB, env: 'TRACEHIVE_EMAIL_FILES_MAX_TOTAL_BYTES' },
    },
    type: { doc: 'Alert `type` of an ordinary mail (≤ 32 chars).', format: 'thehive-name', default: 'mail', env: 'TRACEHIVE_EMAIL_TYPE' },
    notificationType: { doc: 'Alert `type` of a SIEM notification mail (≤ 32 chars).', format: 'thehive-name', default: 'siem-mail', env: 'TRACEHIVE_EMAIL_NOTIFICATION_TYPE' },
    source: { doc: 'Alert `source` of mail alerts (≤ 32 chars).', format: 'thehive-name', default: 'mail', env: 'TRACEHIVE_EMAIL_SOURCE' },
  },
  notify: {
    minSeverity: { doc: 'Alerts created or updated to this severity or above are notified, once per alert and severity.', format: [1, 2, 3, 4], default: 4, env: 'TRACEHIVE_NOTIFY_MIN_SEVERITY' },
    smtp: {
      host: { doc: 'SMTP relay for notification mails; empty: no mail notifications.', format: String, default: '', env: 'TRACEHIVE_NOTIFY_SMTP_HOST' },
      port: { doc: 'SMTP relay port.', format: 'port', default: 25, env: 'TRACEHIVE_NOTIFY_SMTP_PORT' },
      secure: { doc: 'Implicit TLS (port 465); false = plain, protected as notify.smtp.starttls says.', format: 'switch', default: false, env: 'TRACEHIVE_NOTIFY_SMTP_SECURE' },
      starttls: { doc: 'With secure=false: required, when-offered, or off.', format: ['required', 'when-offered', 'off'], default: 'when-offered', env: 'TRACEHIVE_NOTIFY_SMTP_STARTTLS' },
      user: { doc: 'SMTP login; empty: no AUTH.', format: String, default: '', env: 'TRACEHIVE_NOTIFY_SMTP_USER' },
      password: { doc: 'SMTP password (never logged).', format: String, default: '', env: 'TRACEHIVE_NOTIFY_SMTP_PASSWORD', sensitive: true },
      passwordFile: { doc: 'A file holding notify.smtp.password; not with notify.smtp.password. Under systemd, $CREDENTIALS_DIRECTORY/notify-smtp-password is read when neither is set.', format: String, default: '', env: 'TRACEHIVE_NOTIFY_SMTP_PASSWORD_FILE' },
      tlsVerify: { doc: 'Verify the relay’s TLS certificate (implicit TLS or STARTTLS).', format: 'switch', default: true, env: 'TRACEHIVE_NOTIFY_SMTP_TLS_VERIFY' },
      caFile: { doc: 'Extra CA certificate(s) (PEM file) for a relay with a private certificate, trusted beside the system roots; checked at start.', format: String, default: '', env: 'TRACEHIVE_NOTIFY_SMTP_CA_FILE' },
    },
    from: { doc: 'Sender of notification mails.', format: String, default: 'tracehive@localhost', env: 'TRACEHIVE_NOTIFY_FROM' },
    to: { doc: 'Recipients of notification mails.', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_NOTIFY_TO' },
    webhook: {
      url: { doc: 'JSON POST per notification; empty: none.', format: 'http-url-or-empty', default: '', env: 'TRACEHIVE_NOTIFY_WEBHOOK_URL', sensitive: true },
      token: { doc: 'Bearer token sent to the webhook (never logged).', format: String, default: '', env: 'TRACEHIVE_NOTIFY_WEBHOOK_TOKEN', sensitive: true },
      tokenFile: { doc: 'A file holding notify.webhook.token; not with notify.webhook.token. Under systemd, $CREDENTIALS_DIRECTORY/notify-webhook-token is read when neither is set.', format: String, default: '', env: 'TRACEHIVE_NOTIFY_WEBHOOK_TOKEN_FILE' },
    },
    linkBaseUrl: { doc: 'Base of the alert link in notifications; empty: thehive.url.', format: 'http-url-or-empty', default: '', env: 'TRACEHIVE_NOTIFY_LINK_BASE_URL' },
  },
  shutdown: {
    timeoutMs: { doc: 'On SIGTERM/SIGINT, time allowed to deliver in-flight alerts before exiting.', format: SHUTDOWN_MS, default: 10000, env: 'TRACEHIVE_SHUTDOWN_TIMEOUT_MS' },
  },
  http: {
    enabled: { doc: 'Serve /healthz, /readyz and /metrics.', format: 'switch', default: true, env: 'TRACEHIVE_HTTP_ENABLED' },
    host: { doc: 'Admin HTTP listen address.', format: 'host', default: '127.0.0.1', env: 'TRACEHIVE_HTTP_HOST' },
    port: { doc: 'Admin HTTP port; 0 picks a free one.', format: 'port', default: 9999, env: 'TRACEHIVE_HTTP_PORT' },
    thehiveWebhookToken: { doc: 'Shared token of POST /webhooks/thehive, where TheHive’s own webhooks (notification.webhook.endpoints) are received; empty: the route is off.', format: String, default: '', env: 'TRACEHIVE_HTTP_THEHIVE_WEBHOOK_TOKEN', sensitive: true },
    thehiveWebhookTokenFile: { doc: 'A file holding http.thehiveWebhookToken; not with http.thehiveWebhookToken. Under systemd, $CREDENTIALS_DIRECTORY/thehive-webhook-token is read when neither is set.', format: String, default: '', env: 'TRACEHIVE_HTTP_THEHIVE_WEBHOOK_TOKEN_FILE' },
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
    internalSuffixes: { doc: 'DNS suffixes of internal names (e.g. corp.example.kz) besides the built-in .local, .corp, .lan, .internal and names under no public suffix: such names are hostname observables tagged internal, never domain (public analyzers never see them).', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_ALERT_INTERNAL_SUFFIXES' },
    updateWindowMs: { doc: 'A key’s open alert takes further sightings (updates) until this long after its last one; 0 = off: every detection its own alert.', format: UPDATE_WINDOW_MS, default: 86400000, env: 'TRACEHIVE_ALERT_UPDATE_WINDOW_MS' },
    updateKey: { doc: 'The detection fields whose values form its key (the TheHive target and organisation always belong to it).', format: 'string-list', default: ['category', 'matchedIndicator'], env: 'TRACEHIVE_ALERT_UPDATE_KEY' },
    updateFlushMs: { doc: 'Sightings of one key are sent as one update per interval.', format: FLUSH_MS, default: 5000, env: 'TRACEHIVE_ALERT_UPDATE_FLUSH_MS' },
    rules: { doc: 'Mapping rules, tried in order on every alert: each whose `match` fits layers its `set` (title/description templates, severity, tags, tlp, pap, type, source, customFields, caseTemplate, externalLink, assignee, procedures, organisation) over the built-in mapping; `stop: true` ends. JSON list in the environment. See the README, "Mapping rules".', format: 'alert-rules', default: [] as unknown[], env: 'TRACEHIVE_ALERT_RULES' },
    ruleFields: { doc: 'Field names of your feeds (record context) that alert.rules may use besides the CyberTrace and mail fields tracehive knows.', format: 'string-list', default: [] as string[], env: 'TRACEHIVE_ALERT_RULE_FIELDS' },
    procedures: { doc: 'Add the default ATT&CK procedure of each detection’s category (BotnetCnC → T1071, Phishing → T1566…; README table); TheHive 4 gets `attack:<id>` tags instead.', format: 'switch', default: false, env: 'TRACEHIVE_ALERT_PROCEDURES' },
    updateMaxKeys: { doc: 'Keys whose alert tracehive remembers at most (the least recently seen are forgotten first; a forgotten key is found again in TheHive by its key tag).', format: POSITIVE, default: 10000, env: 'TRACEHIVE_ALERT_UPDATE_MAX_KEYS' },
  },
};

/** A directory of kept files with a byte cap and a retention (0 = none). */
export interface FileBudget {
  readonly maxBytes: number;
  readonly retentionDays: number;
}

/** The validated, frozen configuration. */
export interface Config {
  readonly tcp: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly maxLineBytes: number; readonly maxConnections: number; readonly idleTimeoutMs: number; readonly allow: readonly string[]; readonly lineTimeoutMs: number; readonly maxConnectionsPerPeer: number; readonly mapWorker: 'auto' | 'on' | 'off'; readonly mapWorkers: number };
  readonly thehive: { readonly url: string; readonly apiKey: string; readonly apiKeyFile: string; readonly organisation: string; readonly api: 'auto' | 'v1' | 'v0'; readonly version: 'auto' | '4' | '5.0' | '5.1' | '5.2'; readonly tlsVerify: boolean; readonly caFile: string; readonly proxy: string; readonly clientCertFile: string; readonly clientKeyFile: string; readonly timeoutMs: number; readonly targets: Readonly<Record<string, TargetSpec>> };
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
  readonly ingest: { readonly dropDir: string; readonly role: MailRole };
  readonly email: {
    readonly imap: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly secure: boolean; readonly starttls: 'required' | 'when-offered' | 'off'; readonly tlsVerify: boolean; readonly caFile: string; readonly user: string; readonly password: string; readonly passwordFile: string; readonly mailbox: string; readonly doneMailbox: string; readonly pollIntervalMs: number; readonly maxBytes: number; readonly role: MailRole; readonly mailboxes: readonly ImapMailboxSpec[] };
    readonly smtp: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly allowFrom: readonly string[]; readonly allowPeers: readonly string[]; readonly maxBytes: number; readonly tlsKeyFile: string; readonly tlsCertFile: string; readonly maxClients: number; readonly maxClientsPerPeer: number; readonly maxInflightBytes: number; readonly commandTimeoutMs: number; readonly dataTimeoutMs: number; readonly role: MailRole };
    /** Partial: a configuration written before a field existed keeps that field's defaults (app-options.ts merges). */
    readonly fieldNames: Readonly<Partial<Record<MailField, readonly string[]>>>;
    readonly ignore: { readonly domains: readonly string[]; readonly ips: readonly string[]; readonly hashes: readonly string[]; readonly emails: readonly string[] };
    readonly trustedSenders: readonly string[];
    readonly trustedSenderIps: readonly string[];
    readonly internalRelays: readonly string[];
    readonly authservId: string;
    readonly privateIps: 'keep' | 'drop';
    readonly referenceDomains: readonly string[];
    readonly stopwords: readonly string[];
    readonly timeZones: readonly string[];
    readonly keywordTags: readonly string[];
    readonly subjectTags: readonly string[];
    readonly dropSubjects: readonly string[];
    readonly maxDepth: number;
    readonly files: { readonly maxBytes: number; readonly maxTotalBytes: number };
    readonly type: string;
    readonly notificationType: string;
    readonly source: string;
  };
  readonly notify: {
    readonly minSeverity: 1 | 2 | 3 | 4;
    readonly smtp: { readonly host: string; readonly port: number; readonly secure: boolean; readonly starttls: 'required' | 'when-offered' | 'off'; readonly user: string; readonly password: string; readonly passwordFile: string; readonly tlsVerify: boolean; readonly caFile: string };
    readonly from: string;
    readonly to: readonly string[];
    readonly webhook: { readonly url: string; readonly token: string; readonly tokenFile: string };
    readonly linkBaseUrl: string;
  };
  readonly shutdown: { readonly timeoutMs: number };
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly thehiveWebhookToken: string; readonly thehiveWebhookTokenFile: string };
  readonly log: { readonly level: string };
  readonly alert: Omit<AlertPolicy, 'severity' | 'tags'> & { readonly severity: readonly SeverityRule[]; readonly tags: readonly string[]; readonly updateWindowMs: number; readonly updateKey: readonly string[]; readonly updateFlushMs: number; readonly updateMaxKeys: number; readonly rules: readonly unknown[]; readonly ruleFields: readonly string[]; readonly procedures: boolean };
}
