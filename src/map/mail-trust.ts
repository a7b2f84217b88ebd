/**
 * Whether a mail may speak as a SIEM (issue 13, point 6): its `From:` in `email.trustedSenders`,
 * the address the receiving hop of its `Received:` chain recorded in `email.trustedSenderIps`,
 * and, with `email.authservId`, SPF/DKIM/DMARC passed in the `Authentication-Results` (RFC 8601)
 * that OUR receiving server added. Anyone can write "Incident Severity: Critical" in a mail and
 * any header in it too: a result under another authserv-id, or below the topmost one of ours, is
 * the sender's word and is ignored. Every check left empty passes, so a configuration without
 * them trusts every sender, as before. Pure: header lines in, a verdict with its reasons out.
 */
import { isIP } from 'node:net';
import { cidrMatcher } from '../net/cidr.js';
import type { HeaderLine } from '../parse/mail-headers.js';

/** What a mail source is for: only SIEM notifications, only reported mails, or both. */
export type MailRole = 'notifications' | 'reports' | 'mixed';
export const MAIL_ROLES: readonly MailRole[] = ['notifications', 'reports', 'mixed'];

/** The trust keys of `email.*`; every list empty and authservId '' trusts every sender. */
export interface TrustPolicy {
  /** `addr@domain` or `@domain` (that domain exactly); empty: any sender. */
  readonly senders: readonly string[];
  /** CIDRs the receiving hop's peer must be in; empty: any. */
  readonly ips: readonly string[];
  /** The authserv-id of our receiving server; '' checks no Authentication-Results. */
  readonly authservId: string;
  /** CIDRs of our own relays behind the receiving server: their hops are skipped. Loopback always is. */
  readonly relays?: readonly string[];
}

export const OPEN_TRUST: TrustPolicy = { senders: [], ips: [], authservId: '' };

/** What the decision reads of a mail: the `From:` address and the raw top-level header fields. */
export interface TrustInput {
  readonly from: string | null;
  readonly headers: readonly HeaderLine[];
}

export interface TrustVerdict {
  readonly trusted: boolean;
  /** Why not, one sentence per failed check; empty when trusted. */
  readonly reasons: readonly string[];
}

/** True when the policy checks nothing: every mail is trusted (the default). */
export function trustsEveryone(p: TrustPolicy): boolean {
  return p.senders.length === 0 && p.ips.length === 0 && p.authservId.trim() === '';
}

/** The verdict on one mail under `policy`. */
export function mailTrust(mail: TrustInput, policy: TrustPolicy): TrustVerdict {
  const reasons: string[] = [];
  const from = (mail.from ?? '').trim().toLowerCase();
  if (policy.senders.length > 0 && !senderIn(from, policy.senders)) {
    reasons.push(from === '' ? 'the mail has no From: address (email.trustedSenders)' : `the sender ${from} is not in email.trustedSenders`);
  }
  if (policy.ips.length > 0) {
    const hop = receivingHop(mail.headers, policy.relays ?? []);
    if (hop === null) reasons.push('no Received: header names the address the mail came from (email.trustedSenderIps)');
    else if (!cidrMatcher(policy.ips)(hop)) reasons.push(`the mail came from ${hop}, which is not in email.trustedSenderIps`);
  }
  const id = policy.authservId.trim();
  if (id !== '') {
    const ours = mail.headers.filter((h) => h.key === 'authentication-results').map((h) => parseAuthResults(fieldValue(h.line))).find((r) => r !== null && sameId(r.authservId, id));
    if (ours === undefined || ours === null) reasons.push(`the mail has no Authentication-Results of ${id} (email.authservId)`);
    else {
      const why = unauthenticated(ours, from);
      if (why !== null) reasons.push(`${why} in the Authentication-Results of ${id}`);
    }
  }
  return { trusted: reasons.length === 0, reasons };
}

function senderIn(address: string, list: readonly string[]): boolean {
  if (!address.includes('@')) return false;
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return list.some((entry) => {
    const e = entry.trim().toLowerCase();
    return e.startsWith('@') ? e.slice(1) === domain : e === address;
  });
}

/** An authserv-id is a domain name in practice: compared without case (RFC 8601 §2.5). */
function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The peer address of the hop our receiving server recorded: the topmost `Received:` whose
 * `from` clause names an IP, loopback hops (content filters re-injecting the mail) and our own
 * relays skipped. Null when no hop names one.
 */
export function receivingHop(headers: readonly HeaderLine[], relays: readonly string[]): string | null {
  const isRelay = relays.length === 0 ? () => false : cidrMatcher(relays);
  for (const h of headers) {
    if (h.key !== 'received') continue;
    const ip = receivedFromIp(fieldValue(h.line));
    if (ip === null || isLoopback(ip) || isRelay(ip)) continue;
    return ip;
  }
  return null;
}

/**
 * The IP the receiving server recorded in a Received field's `from` clause. The name right after
 * `from` and any `helo=` are what the client said, and an address literal is a valid HELO
 * (`EHLO [192.0.2.10]`): the address in the server's own comment wins — Postfix and Sendmail
 * `(name [IP])`, Exim `([IP] helo=…)`, Exchange `(IP)`, `[IPv6:…]` — and the first token only
 * when no comment names one (Exim without reverse DNS: `from [IP] (helo=…)`).
 */
export function receivedFromIp(value: string): string | null {
  const m = /^\s*from\s+([\s\S]*?)(?:\s(?:by|via|with|id|for)\s|;|$)/i.exec(value);
  if (m === null) return null;
  const clause = m[1] as string;
  for (const comment of clause.matchAll(/\(([^()]*)\)/g)) {
    const text = (comment[1] as string).replace(/helo=\S*/gi, ' ');
    for (const found of text.matchAll(/(?:^|[\s[])(?:IPv6:)?([0-9A-Fa-f:.]*[0-9A-Fa-f:][0-9A-Fa-f:.]*)(?=$|[\s\]])/g)) {
      const ip = found[1] as string;
      if (isIpText(ip)) return ip.toLowerCase();
    }
  }
  const first = /^\[?(?:IPv6:)?([0-9A-Fa-f:.]+)\]?(?:\s|$)/i.exec(clause.trim());
  return first !== null && isIpText(first[1] as string) ? (first[1] as string).toLowerCase() : null;
}

function isIpText(s: string): boolean {
  return isIP(s) !== 0;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

/** One `Authentication-Results` field, read. */
export interface AuthResults {
  readonly authservId: string;
  readonly results: readonly AuthResult[];
}

/** One `method=result` with its properties (`smtp.mailfrom`, `header.d`, …), all lower case. */
export interface AuthResult {
  readonly method: string;
  readonly result: string;
  readonly props: Readonly<Record<string, string>>;
}

/**
 * Reads an `Authentication-Results` value (RFC 8601 §2.2): comments (nested) dropped, quoted
 * strings kept, `authserv-id [version]` then `;`-separated results; `none` means no result.
 * Null when there is not even an authserv-id.
 */
export function parseAuthResults(value: string): AuthResults | null {
  const parts = splitOutsideQuotes(stripComments(value), ';').map((p) => p.trim());
  const head = (parts[0] ?? '').split(/\s+/)[0] ?? '';
  const authservId = unquote(head);
  if (authservId === '') return null;
  const results: AuthResult[] = [];
  for (const part of parts.slice(1)) {
    const tokens = splitOutsideQuotes(part, ' ').flatMap((t) => t.split('\t')).filter((t) => t !== '');
    // `method = result` with spaces around `=` is legal: join the pieces again.
    const joined = joinEquals(tokens);
    const first = joined[0];
    if (first === undefined || first.toLowerCase() === 'none') continue;
    const eq = first.indexOf('=');
    if (eq <= 0) continue;
    const method = first.slice(0, eq).split('/')[0]?.toLowerCase() ?? '';
    const result = unquote(first.slice(eq + 1)).toLowerCase();
    const props: Record<string, string> = {};
    for (const t of joined.slice(1)) {
      const i = t.indexOf('=');
      if (i > 0) props[t.slice(0, i).toLowerCase()] = unquote(t.slice(i + 1)).toLowerCase();
    }
    results.push({ method, result, props });
  }
  return { authservId, results };
}

/**
 * Null when the results authenticate the From: domain: `dmarc=pass` (for that `header.from`), or a `dkim=pass` whose
 * `header.d` is that domain or a parent of it, or an `spf=pass` whose `smtp.mailfrom` is in that
 * domain. An SPF or DKIM pass for some other domain proves nothing about who wrote From:.
 */
function unauthenticated(ar: AuthResults, from: string): string | null {
  const domain = from.slice(from.lastIndexOf('@') + 1);
  const aligned = (d: string | undefined): boolean => d !== undefined && d !== '' && domain !== '' && (domain === d || domain.endsWith(`.${d}`));
  const pass = ar.results.some(
    (r) =>
      r.result === 'pass' &&
      ((r.method === 'dmarc' && (r.props['header.from'] === undefined || r.props['header.from'] === domain)) ||
        (r.method === 'dkim' && aligned(r.props['header.d'] ?? r.props['header.i']?.replace(/^.*@/, ''))) ||
        (r.method === 'spf' && aligned(r.props['smtp.mailfrom']?.replace(/^.*@/, '')))),
  );
  if (pass) return null;
  const said = ar.results.filter((r) => ['spf', 'dkim', 'dmarc'].includes(r.method)).map((r) => `${r.method}=${r.result}`);
  return said.length === 0 ? 'no SPF, DKIM or DMARC result' : `no SPF, DKIM or DMARC pass for ${domain || 'the From: domain'} (${[...new Set(said)].join(', ')})`;
}

function fieldValue(line: string): string {
  return line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
}

/** Drops `( … )` comments, nested ones too, outside quoted strings (RFC 5322 CFWS); each becomes a space. */
function stripComments(s: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (depth > 0) {
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) out += ' ';
      continue;
    }
    if (quoted) {
      out += c;
      if (c === '\\') out += s[++i] ?? '';
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '(') {
      depth = 1;
      continue;
    }
    if (c === '"') quoted = true;
    out += c;
  }
  return out;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && quoted) {
      cur += c + (s[i + 1] ?? '');
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      cur += c;
    } else if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function joinEquals(tokens: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    if (last !== undefined && (last.endsWith('=') || t.startsWith('='))) out[out.length - 1] = last + t;
    else out.push(t);
  }
  return out;
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/\\(.)/g, '$1') : t;
}
