/**
 * CIDR allowlists for peers (tcp.allow, email.smtp.allowPeers) and the mail ignore list. ipaddr.js
 * does the parsing, but it also reads inet_aton's legacy forms: `010.020.000.005` is octal to it
 * (8.16.0.5) and `10.1` is 10.0.0.1. An allowlist entry means what an operator reads, so only
 * strict dotted quads (no leading zeros, no short or hexadecimal forms) and plain IPv6 (no zone
 * index) are taken. An IPv4-mapped entry (`::ffff:a.b.c.d`, what a dual-stack socket reports for
 * an IPv4 peer) is normalised to the IPv4 address or range it carries, and a peer in either form
 * is matched as IPv4, so the two spellings of one address never disagree.
 */
import { isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/** An address and a prefix length, IPv4-mapped ranges already turned into IPv4. */
export type Range = readonly [ipaddr.IPv4 | ipaddr.IPv6, number];

/** A prefix length as written by people: decimal, no leading zero. */
const PREFIX = /^(0|[1-9]\d{0,2})$/;
/** The prefix length of `::ffff:0:0/96`, the IPv4-mapped block. */
const MAPPED_PREFIX = 96;

/** Parses `10.0.0.0/8`, `::1/128` or a bare address (a /32 or /128); null when not strictly valid. */
export function parseCidr(text: string): Range | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const prefix = slash < 0 ? undefined : text.slice(slash + 1);
  const addr = parseAddress(address);
  if (addr === null) return null;
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  if (prefix !== undefined && !PREFIX.test(prefix)) return null;
  const bits = prefix === undefined ? max : Number(prefix);
  if (bits > max) return null;
  if (addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() && bits >= MAPPED_PREFIX) return [addr.toIPv4Address(), bits - MAPPED_PREFIX];
  return [addr, bits];
}

/**
 * A predicate telling whether a peer address is allowed; an empty list allows everyone. Throws a
 * TypeError for an entry that is no address or range: an allowlist whose entries were all dropped
 * would otherwise allow everyone, the opposite of what was written (config.ts checks them first).
 */
export function cidrMatcher(list: readonly string[]): (address: string | undefined) => boolean {
  const ranges = list.map((c) => {
    const range = parseCidr(c);
    if (range === null) throw new TypeError(`Expected an allowlist entry to be a strict dotted quad or IPv6 address, optionally with /bits, got ${JSON.stringify(c)}.`);
    return range;
  });
  if (ranges.length === 0) return () => true;
  return (address) => {
    if (address === undefined || !ipaddr.isValid(address)) return false;
    // process() turns ::ffff:a.b.c.d into the IPv4 address it carries, as parseCidr does for entries.
    const addr = ipaddr.process(address);
    return ranges.some(([net, bits]) => addr.kind() === net.kind() && addr.match(net, bits));
  };
}

/** A strict dotted quad or an IPv6 address without zone; null otherwise. */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  // node:net's isIPv6 is strict about an embedded dotted quad (no leading zeros), unlike ipaddr.js.
  if (!text.includes('%') && isIPv6(text)) return ipaddr.IPv6.parse(text);
  return null;
}
