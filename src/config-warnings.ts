/**
 * What serve says at start about a configuration that is valid but open: a listener other hosts
 * can reach without an allowlist, TLS verification turned off, TheHive over plain http to another
 * host, IMAP that may send its password in clear. Each is a sentence naming what to set. Pure: the
 * caller logs them (app.ts, at warn); `check-config` could print them too.
 */
import ipaddr from 'ipaddr.js';
import type { Config } from './config-schema.js';

/** The warnings for `config`, in a stable order; empty for the defaults. */
export function startWarnings(config: Config): string[] {
  const out: string[] = [];
  const { tcp, http, thehive } = config;
  const { imap, smtp } = config.email;
  if (tcp.enabled && !isLoopbackHost(tcp.host) && tcp.allow.length === 0) {
    out.push(`The CyberTrace listener (tcp.host ${tcp.host}) can be reached from other hosts and tcp.allow is empty: any peer that reaches port ${tcp.port} can create alerts. Set tcp.allow (TRACEHIVE_TCP_ALLOW) to the CyberTrace addresses, or listen on 127.0.0.1.`);
  }
  if (smtp.enabled && !isLoopbackHost(smtp.host) && smtp.allowPeers.length === 0) {
    out.push(`The SMTP intake (email.smtp.host ${smtp.host}) can be reached from other hosts and email.smtp.allowPeers is empty: any client can send mail that becomes alerts. Set email.smtp.allowPeers (TRACEHIVE_SMTP_ALLOW_PEERS) to the MTA addresses, or listen on 127.0.0.1.`);
  }
  if (http.enabled && !isLoopbackHost(http.host)) {
    out.push(`The admin port (http.host ${http.host}) can be reached from other hosts and has no allowlist: it serves /metrics and /readyz to anyone who reaches port ${http.port}. Set http.host (TRACEHIVE_HTTP_HOST) to 127.0.0.1, or firewall the port.`);
  }
  if (thehive.url !== '') {
    const url = new URL(thehive.url);
    if (url.protocol === 'https:' && !thehive.tlsVerify) {
      out.push('TLS verification of TheHive is off (thehive.tlsVerify=false): anyone on the path can read the API key and the alerts. Set thehive.caFile (THEHIVE_CA_FILE) to its CA and THEHIVE_TLS_VERIFY=true.');
    }
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      out.push(`TheHive at ${url.hostname} is reached over plain http (thehive.url): the API key and the alerts cross the network in clear. Use an https:// URL in THEHIVE_URL.`);
    }
  }
  const relay = config.notify.smtp;
  if (relay.host !== '' && !relay.tlsVerify && (relay.secure || relay.starttls !== 'off')) {
    out.push('TLS verification of the notification relay is off (notify.smtp.tlsVerify=false): anyone on the path can read the SMTP password and the notifications. Set notify.smtp.caFile (TRACEHIVE_NOTIFY_SMTP_CA_FILE) to its CA and TRACEHIVE_NOTIFY_SMTP_TLS_VERIFY=true.');
  }
  if (imap.enabled) {
    if (!imap.tlsVerify && (imap.secure || imap.starttls !== 'off')) {
      out.push('TLS verification of the IMAP server is off (email.imap.tlsVerify=false): anyone on the path can read the password and the mails. Set email.imap.caFile (TRACEHIVE_IMAP_CA_FILE) to its CA and TRACEHIVE_IMAP_TLS_VERIFY=true.');
    }
    if (!imap.secure && imap.starttls !== 'required') {
      const how = imap.starttls === 'off' ? 'always cross the network in clear' : 'cross in clear whenever STARTTLS is not offered (someone on the path can strip it)';
      out.push(`IMAP runs without implicit TLS and email.imap.starttls is ${imap.starttls}: the password and the mails ${how}. Set email.imap.starttls=required (TRACEHIVE_IMAP_STARTTLS), or email.imap.secure=true with port 993.`);
    }
  }
  out.push(...trustWarnings(config));
  return out;
}

/** A notifications source that trusts everyone, or a sender list that checks only the forgeable From:. */
function trustWarnings(config: Config): string[] {
  const e = config.email;
  const byAddress = e.trustedSenders.length > 0;
  const byServer = e.trustedSenderIps.length > 0 || e.authservId.trim() !== '';
  const out: string[] = [];
  const notifying = [
    ...(e.imap.enabled && e.imap.role === 'notifications' ? ['email.imap.role'] : []),
    ...(e.imap.enabled ? e.imap.mailboxes.flatMap((m, n) => (m.role === 'notifications' ? [`email.imap.mailboxes[${n}].role`] : [])) : []),
    ...(e.smtp.enabled && e.smtp.role === 'notifications' ? ['email.smtp.role'] : []),
    ...(config.ingest.role === 'notifications' ? ['ingest.role'] : []),
  ];
  if (notifying.length > 0 && !byAddress && !byServer) {
    out.push(`${notifying.join(' and ')} ${notifying.length === 1 ? 'is' : 'are'} notifications, but no trusted sender is set: anyone who can mail that source can raise a SIEM incident. Set email.trustedSenders with email.trustedSenderIps or email.authservId (TRACEHIVE_EMAIL_TRUSTED_SENDERS, _TRUSTED_SENDER_IPS, _AUTHSERV_ID).`);
  }
  if (byAddress && !byServer) {
    out.push('email.trustedSenders checks only the From: header, which any sender writes: a forged notification passes it. Set email.trustedSenderIps (TRACEHIVE_EMAIL_TRUSTED_SENDER_IPS) or email.authservId (TRACEHIVE_EMAIL_AUTHSERV_ID) too.');
  }
  return out;
}

/** Whether a listen address or host name means this machine only: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (!ipaddr.isValid(bare)) return false;
  return ipaddr.process(bare).range() === 'loopback';
}
