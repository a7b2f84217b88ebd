/**
 * The configuration as each component takes it: pure translations of `Config` into the option
 * objects of the TheHive sink, the IMAP and SMTP sources and the mail mapper. app.ts wires the
 * components; what each key becomes is here, in one place a reader can check against the README.
 * The only I/O is reading the CA files that config.ts has already checked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import type { MailTrust } from './mail-pipeline.js';
import { DEFAULT_MAIL_POLICY, type MailPolicy } from './map/mail-policy.js';
import { zoneTable } from './map/time-zones.js';
import { proxyFor } from './sinks/proxy-route.js';
import type { TheHiveSinkOptions } from './sinks/thehive.js';
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
export function theHiveOptionsOf(config: Config): TheHiveSinkOptions {
  const t = config.thehive;
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
    // Every request counts, not only creates: the sink's client limits them all (the delivery queue does not).
    ratePerSec: config.queue.ratePerSec,
  };
}

/** The `email.imap.*` keys as the IMAP source takes them; undefined when IMAP is off. */
export function imapOptionsOf(config: Config): ImapOptions | undefined {
  const i = config.email.imap;
  if (!i.enabled) return undefined;
  return {
    host: i.host,
    port: i.port,
    secure: i.secure,
    starttls: i.starttls,
    tlsVerify: i.tlsVerify,
    ...(i.caFile ? { ca: readFileSync(i.caFile, 'utf8') } : {}),
    user: i.user,
    password: i.password,
    mailbox: i.mailbox,
    doneMailbox: i.doneMailbox,
    pollIntervalMs: i.pollIntervalMs,
    maxBytes: i.maxBytes,
    stateFile: join(config.spool.dir, 'imap-state.json'),
    retryMaxMs: config.queue.retryMaxMs,
  };
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
