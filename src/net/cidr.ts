/**
 * CIDR allowlists for peers (tcp.allow, later the SMTP allowlist). ipaddr.js does the
 * parsing: it knows IPv4-mapped IPv6 (`::ffff:10.1.2.3`, what a dual-stack socket reports
 * for an IPv4 peer), which a hand-written matcher easily gets wrong.
 */
import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses `10.0.0.0/8`, `::1/128` or a bare address (a /32 or /128); null when invalid. */
export function parseCidr(text: string): Range | null {
  try {
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const addr = ipaddr.parse(text);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

/** A predicate telling whether a peer address is allowed; an empty list allows everyone. */
export function cidrMatcher(list: readonly string[]): (address: string | undefined) => boolean {
  const ranges = list.map((c) => parseCidr(c)).filter((r): r is Range => r !== null);
  if (ranges.length === 0) return () => true;
  return (address) => {
    if (address === undefined || !ipaddr.isValid(address)) return false;
    // process() turns ::ffff:a.b.c.d into the IPv4 address it carries.
    const addr = ipaddr.process(address);
    return ranges.some(([net, bits]) => addr.kind() === net.kind() && addr.match(net, bits));
  };
}
