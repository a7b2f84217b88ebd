/**
 * What an indicator value is, apart from where it was found: the host of a URL, a URL without the
 * prose around it, a registrable domain name (tldts, ICANN suffixes), the scope of an IP address
 * (ipaddr.js) and its canonical form. Pure; the scanners of ioc.ts use these on each candidate.
 */
import ipaddr from 'ipaddr.js';
import { parse } from 'tldts';

/** RFC 1035: a name is at most 253 chars (plus a trailing dot). */
export const NAME_MAX = 254;
/**
 * Real TLDs that are far more often file extensions in mail text (`invoice.zip`, `README.md`,
 * `setup.py`, `run.sh`, `main.rs`, `clip.mov`): a bare two-label name under one of them is read as
 * a file name. Under a scheme (`https://invoice.zip/`) or with more labels it is still a domain.
 */
const FILE_LIKE_TLDS: ReadonlySet<string> = new Set(['zip', 'mov', 'md', 'py', 'sh', 'rs']);

/** The host of a scheme URL (userinfo and port removed, IPv6 brackets kept off), lower case; null when it has none. */
export function urlHost(url: string): string | null {
  const start = url.indexOf('://');
  if (start < 0) return null;
  const rest = url.slice(start + 3);
  let end = rest.length;
  for (const c of '/?#') {
    const i = rest.indexOf(c);
    if (i >= 0 && i < end) end = i;
  }
  let authority = rest.slice(0, end);
  authority = authority.slice(authority.lastIndexOf('@') + 1);
  if (authority.startsWith('[')) {
    const inner = authority.slice(1, authority.indexOf(']')).toLowerCase();
    return authority.includes(']') && ipaddr.IPv6.isValid(inner) ? inner : null;
  }
  const host = authority.replace(/:\d{0,5}$/, '').replace(/\.$/, '').toLowerCase();
  if (host === '' || !/^[\p{L}\p{N}_.-]+$/u.test(host)) return null;
  return host.includes('.') || bareIp(host) !== null ? host : null;
}

/**
 * A URL as it appears in text minus what surrounds it in prose: trailing `.,;:!?'"*`, and a
 * closing `)`, `]` or `>` that has no opening partner inside the URL (`(see https://x.io/a)`).
 */
export function trimUrl(url: string): string {
  let end = url.length;
  let parens = 0;
  let brackets = 0;
  for (const c of url) {
    if (c === '(') parens++;
    else if (c === ')') parens--;
    else if (c === '[') brackets++;
    else if (c === ']') brackets--;
  }
  while (end > 0) {
    const c = url[end - 1] as string;
    if ('.,;:!?\'"*>'.includes(c)) end--;
    else if (c === ')' && parens < 0) {
      parens++;
      end--;
    } else if (c === ']' && brackets < 0) {
      brackets++;
      end--;
    } else break;
  }
  return url.slice(0, end);
}

/**
 * `name` lower-cased when it is a registrable host name under an ICANN public suffix (not the
 * suffix alone, no empty or over-long label), else null. `underScheme` false applies the
 * file-name rule of {@link FILE_LIKE_TLDS}.
 */
export function validDomain(name: string, underScheme: boolean): string | null {
  const host = name.toLowerCase().replace(/\.$/, '');
  if (host.length === 0 || host.length > NAME_MAX - 1) return null;
  const info = parse(host);
  if (info.isIcann !== true || info.domain === null || info.isIp === true || info.hostname !== host) return null;
  const labels = host.split('.');
  if (labels.some((l) => l.length === 0 || l.length > 63)) return null;
  if (!underScheme && labels.length === 2 && FILE_LIKE_TLDS.has(info.publicSuffix ?? '')) return null;
  return host;
}

/**
 * What happens to an address: `drop` for loopback, unspecified, broadcast, multicast and reserved
 * (documentation, future use) ones, `private` for RFC 1918, CGNAT, link-local and unique-local ones,
 * `public` for the rest. A CIDR network is judged by its network address.
 */
export function ipScope(ip: string): 'public' | 'private' | 'drop' {
  const addr = ip.split('/')[0] ?? '';
  if (!ipaddr.isValid(addr)) return 'drop';
  const range = ipaddr.process(addr).range();
  if (['unspecified', 'loopback', 'broadcast', 'multicast', 'reserved'].includes(range)) return 'drop';
  return ['private', 'carrierGradeNat', 'linkLocal', 'uniqueLocal'].includes(range) ? 'private' : 'public';
}

/** `host` when it is a literal IPv4 (four decimal parts) or IPv6 address, else null. */
export function bareIp(host: string): string | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return host;
  return host.includes(':') && ipaddr.IPv6.isValid(host) ? host : null;
}

/** IPv6 in its canonical short form (RFC 5952), so `2a03:0:0::1` and `2a03::1` are one observable; IPv4 as is. */
export function canonicalIp(ip: string): string {
  const addr = ip.split('/')[0] ?? '';
  return addr.includes(':') ? ip.replace(addr, ipaddr.IPv6.parse(addr).toString()) : ip;
}

/** `host` is `suffix` or a name under it. */
function isUnder(host: string, suffix: string): boolean {
  return host.endsWith(suffix) && (host.length === suffix.length || host.charCodeAt(host.length - suffix.length - 1) === 0x2e);
}

/**
 * Suffixes of names that only resolve inside a network whatever the public suffix list says:
 * `.local` (mDNS), `.corp`, `.lan`, `.internal`, `.home.arpa` (RFC 8375), `.localdomain`.
 * Most are not public suffixes at all; listing them keeps the rule true if one ever becomes one.
 */
const INTERNAL_SUFFIXES: readonly string[] = ['local', 'corp', 'lan', 'internal', 'home.arpa', 'localdomain', 'intranet'];

/**
 * True when `name` (a DNS name) is an internal host name: one label (`ws-buh-07`), under no
 * ICANN public suffix (tldts), under one of {@link INTERNAL_SUFFIXES}, or equal to or under one
 * of `extra` (`alert.internalSuffixes`, e.g. `corp.kz`: a public suffix a company uses inside).
 * Such a name must never be a `domain` observable: analyzers would send it to public services.
 */
export function isInternalName(name: string, extra: readonly string[] = []): boolean {
  const host = name.toLowerCase().replace(/\.$/, '');
  if (host === '' || !host.includes('.')) return host !== '';
  // The built-in suffixes are in their normal form already: no copy of the list, no regex a name.
  for (const s of INTERNAL_SUFFIXES) if (isUnder(host, s)) return true;
  for (const suffix of extra) {
    const s = suffix.toLowerCase().replace(/^\.+|\.+$/g, '');
    if (s !== '' && isUnder(host, s)) return true;
  }
  return parse(host).isIcann !== true;
}
