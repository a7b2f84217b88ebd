/**
 * The configuration as each component takes it: pure translations of `Config` into the option
 * objects of the TheHive sink, the IMAP and SMTP sources and the mail mapper. app.ts wires the
 * components; what each key becomes is here, in one place a reader can check against the README.
 * The only I/O is reading the CA files that config.ts has already checked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import { imapMailboxesOf } from './config-imap-mailboxes.js';
import type { MailTrust } from './mail-pipeline.js';
import { DEFAULT_MAIL_POLICY, type MailPolicy } from './map/mail-policy.js';
import { zoneTable } from './map/time-zones.js';
import { proxyFor } from './sinks/proxy-route.js';
import type { TheHiveSinkOptions } from './sinks/thehive.js';
import { resolveTargets, type ResolvedTarget } from './config-targets.js';
import type { ImapOptions } from './sources/imap.js';
import type { SmtpOptions } from './sources/smtp.js';

/** The `email.*` keys as the mail mapper takes them. */
export function mailPolicyOf(config: Config): MailPolicy {
  const e = config.email;
  return {
    // A configuration written before a field existed keeps that field's default synonyms.
    fieldNames: { ...DEFAULT_MAIL_POLICY.fieldNames, ...e.fieldNames },
    severityScales: DEFAULT_MAIL_POLICY.severityScales,
    rawEventsMarkers: DEFAULT_MAIL_POLICY.rawEventsMarkers,
    ignore: e.ignore,
    maxDepth: e.maxDepth,
    privateIps: e.privateIps,
    type: e.type,
    notificationType: e.notificationType,
    source: e.source,
    referenceDomains: e.referenceDomains,
    stopwords: e.stopwords,
    keywordTags: e.keywordTags,
    subjectTags: e.subjectTags,
    dropSubjects: e.dropSubjects,
    internalRelays: e.internalRelays,
    files: e.files,
    timeZones: zoneTable(e.timeZones),
  };
}

/** `email.trustedSenders`, `email.trustedSenderIps`, `email.internalRelays`, `email.authservId` and each mail source's role, as the mail pipeline takes them. */
export function mailTrustOf(config: Config): MailTrust {
  const e = config.email;
  return {
    policy: { senders: e.trustedSenders, ips: e.trustedSenderIps, authservId: e.authservId, relays: e.internalRelays },
    roles: { imap: e.imap.role, smtp: e.smtp.role, ingest: config.ingest.role },
  };
}

function proxyOf(setting: string, url: string): { proxy?: string } {
  const proxy = proxyFor(setting, url);
  return proxy === undefined ? {} : { proxy };
}

/** The `thehive.*` keys as the TheHive sink takes them (its CA and client certificate files read, as PEM text; the proxy resolved). */
export function theHiveOptionsOf(t: ResolvedTarget): TheHiveSinkOptions {
  return {
    url: t.url,
    apiKey: t.apiKey,
    organisation: t.organisation,
    // `auto` is resolved by the sink before its first request (GET /api/status).
    api: t.api,
    // TLP numbering (5.0/5.1 and 4: RED 3); `auto` is read from the same GET /api/status.
    version: t.version,
    tlsVerify: t.tlsVerify,
    ...(t.caFile ? { ca: readFileSync(t.caFile, 'utf8') } : {}),
    ...(t.clientCertFile ? { clientCert: readFileSync(t.clientCertFile, 'utf8'), clientKey: readFileSync(t.clientKeyFile, 'utf8') } : {}),
    // `env` is read here, once: HTTPS_PROXY/NO_PROXY as serve was started with them.
    ...proxyOf(t.proxy, t.url),
    timeoutMs: t.timeoutMs,
    // As many kept-alive connections as requests the target's queue has in flight.
    connections: t.concurrency,
    // Every request counts, not only creates: the sink's client limits them all (the delivery queue does not).
    ratePerSec: t.ratePerSec,
  };
}

/** Every delivery target, thehive.url's (`default`, or the file sink) first, with thehive.targets' filled in (config-targets.ts). */
export function targetsOf(config: Config): ResolvedTarget[] {
  const t = config.thehive;
  const q = config.queue;
  return resolveTargets(t.targets, {
    url: t.url,
    apiKey: t.apiKey,
    organisation: t.organisation,
    api: t.api,
    version: t.version,
    tlsVerify: t.tlsVerify,
    caFile: t.caFile,
    proxy: t.proxy,
    clientCertFile: t.clientCertFile,
    clientKeyFile: t.clientKeyFile,
    timeoutMs: t.timeoutMs,
    ratePerSec: q.ratePerSec,
    concurrency: q.concurrency,
    maxPending: q.maxPending,
    spoolMaxBytes: config.spool.maxBytes,
  });
}

/**
 * The `email.imap.*` keys as the IMAP sources take them: one source per mailbox of
 * `email.imap.mailboxes` (imapflow selects one mailbox per connection), or the one of
 * `email.imap.mailbox` when that list is empty; none when IMAP is off. The sources share the state
 * file, each under its account and mailbox.
 */
export function imapOptionsOf(config: Config): ImapOptions[] {
  const i = config.email.imap;
  if (!i.enabled) return [];
  const ca = i.caFile ? { ca: readFileSync(i.caFile, 'utf8') } : {};
  return imapMailboxesOf(config).map((m) => ({
    host: m.host,
    port: m.port,
    secure: i.secure,
    starttls: i.starttls,
    tlsVerify: i.tlsVerify,
    ...ca,
    user: m.user,
    password: m.password,
    mailbox: m.mailbox,
    doneMailbox: m.doneMailbox,
    pollIntervalMs: i.pollIntervalMs,
    maxBytes: i.maxBytes,
    stateFile: join(config.spool.dir, 'imap-state.json'),
    retryMaxMs: config.queue.retryMaxMs,
    legacyState: m.legacyState,
    configKey: m.key,
    ...(m.target === undefined ? {} : { target: m.target }),
    ...(m.role === undefined ? {} : { role: { value: m.role, key: `${m.key}.role` } }),
  }));
}

/** The `email.smtp.*` keys as the SMTP source takes them; undefined when SMTP is off. */
export function smtpOptionsOf(config: Config): SmtpOptions | undefined {
  const m = config.email.smtp;
  if (!m.enabled) return undefined;
  return {
    host: m.host,
    port: m.port,
    maxBytes: m.maxBytes,
    allowFrom: m.allowFrom,
    allowPeers: m.allowPeers,
    tlsKeyFile: m.tlsKeyFile,
    tlsCertFile: m.tlsCertFile,
    maxClients: m.maxClients,
    maxClientsPerPeer: m.maxClientsPerPeer,
    maxInflightBytes: m.maxInflightBytes,
    commandTimeoutMs: m.commandTimeoutMs,
    dataTimeoutMs: m.dataTimeoutMs,
  };
}
