/**
 * The transport indicators of a reported phish (issue 13): the headers of the forwarded mail that
 * say who sent it and from where — Reply-To, Return-Path, Message-ID, X-Originating-IP and the
 * public addresses of its `Received:` chain — each tagged with the header it came from. Only ever
 * read from the forwarded mail: the headers of the reporter's own mail name our own servers and
 * colleagues, never the attacker. Pure.
 */
import { isIP } from 'node:net';
import { cidrMatcher } from '../net/cidr.js';
import type { ParsedMail } from '../parse/email.js';
import { addressOf } from '../parse/mail-text.js';
import { canonicalIp, ipScope } from './indicator-syntax.js';
import type { IgnoreMatcher } from './mail-policy.js';
import { receivedFromIp } from './mail-trust.js';

/** One header indicator, as {@link ObservableSet.add} takes it. */
export interface HeaderIndicator {
  readonly dataType: 'mail' | 'ip' | 'other';
  readonly data: string;
  readonly tags: readonly string[];
}

/** One `Received:` hop whose sending address is kept: its place in the chain (1 = topmost) and the address. */
export interface SendingHop {
  readonly hop: number;
  readonly ip: string;
}

/**
 * The public sending addresses of a `Received:` chain (values topmost first): the address the
 * receiving server recorded in each hop's `from` clause (mail-trust.ts reads it), numbered by the
 * hop's place in the header (`hop1` is the topmost, the last added, as an analyst counts them in
 * the raw header). Private, loopback and reserved addresses, `relays` (email.internalRelays: our
 * own servers passing the mail on) and ignored addresses (email.ignore.ips) are left out.
 */
export function sendingHops(received: readonly string[], relays: readonly string[], ignore: Pick<IgnoreMatcher, 'ip'>): SendingHop[] {
  const isRelay = relays.length === 0 ? () => false : cidrMatcher(relays);
  const out: SendingHop[] = [];
  received.forEach((value, i) => {
    const ip = receivedFromIp(value);
    if (ip === null || ipScope(ip) !== 'public' || isRelay(ip) || ignore.ip(ip)) return;
    out.push({ hop: i + 1, ip: canonicalIp(ip) });
  });
  return out;
}

/**
 * The header indicators of a forwarded mail, in the order an analyst reads them: Reply-To
 * (`reply-to`), Return-Path (`return-path`), Message-ID (`other`, `message-id`),
 * X-Originating-IP (`x-originating-ip`, public addresses only: a private one is the attacker's
 * own LAN), then the sending hops (`received:hop<N>`). The sender (From) is the caller's.
 */
export function phishHeaderIndicators(mail: ParsedMail, relays: readonly string[], ignore: IgnoreMatcher): HeaderIndicator[] {
  const out: HeaderIndicator[] = [];
  const address = (a: string, tag: string): void => {
    const v = a.trim().toLowerCase();
    if (v.includes('@') && !ignore.email(v)) out.push({ dataType: 'mail', data: v, tags: [tag] });
  };
  for (const r of mail.replyTo) address(r.address, 'reply-to');
  const returnPath = mail.headers['return-path'];
  // `<>` (a bounce) names no one.
  if (returnPath !== undefined) address(addressOf(returnPath)?.address ?? '', 'return-path');
  if (mail.messageId !== null) out.push({ dataType: 'other', data: mail.messageId, tags: ['message-id'] });
  const origin = originatingIp(mail.headers['x-originating-ip']);
  if (origin !== null && ipScope(origin) === 'public' && !ignore.ip(origin)) out.push({ dataType: 'ip', data: canonicalIp(origin), tags: ['x-originating-ip'] });
  for (const h of sendingHops(mail.received ?? [], relays, ignore)) out.push({ dataType: 'ip', data: h.ip, tags: [`received:hop${h.hop}`] });
  return out;
}

/** `[192.0.2.7]`, `192.0.2.7` or `2001:db8::7` as written in X-Originating-IP; null when no address. */
function originatingIp(value: string | undefined): string | null {
  const v = (value ?? '').trim().replace(/^\[|\]$/g, '').replace(/^IPv6:/i, '').trim();
  return isIP(v) === 0 ? null : v.toLowerCase();
}
