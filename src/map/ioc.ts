/**
 * Indicators in free text (mail bodies, SIEM fields): URLs, domains, IPs, e-mail addresses and
 * MD5/SHA-1/SHA-256, after refanging. Order of work (email-intake §6.6): refang → extract →
 * trim punctuation → unwrap gateway links (Safe Links, URL Defense) → validate (tldts, ipaddr.js)
 * → ignore lists → dedupe.
 *
 * Every scan is linear: the patterns are maximal runs of one character class (no constraint after
 * them, so nothing to backtrack), or bounded (`{1,3}`, `{0,15}`) behind a lookbehind that lets a
 * match start only where a run starts. Anything longer than a real indicator is skipped unread.
 */
import ipaddr from 'ipaddr.js';
import { parseCidr } from '../net/cidr.js';
import { ignoreMatcher, type IgnoreMatcher, type MailPolicy } from './mail-policy.js';
import { refang } from './refang.js';
import { unwrapUrl } from './unwrap-url.js';
import { bareIp, canonicalIp, ipScope, NAME_MAX, trimUrl, urlHost, validDomain } from './indicator-syntax.js';

/** What {@link extractIocs} found, each list deduplicated in order of first appearance. */
export interface Iocs {
  readonly urls: string[];
  /** Host names (lower case) of URLs and bare names in the text that end in an ICANN suffix. */
  readonly domains: string[];
  /** IPv4/IPv6 addresses and CIDR networks; see {@link ipScope} for the ones left out or tagged. */
  readonly ips: string[];
  /** Lower case. Addresses inside URLs (`https://user:pw@host`, `?to=a@b.c`) are not taken. */
  readonly emails: string[];
  /** Lower-case hex. */
  readonly hashes: { readonly md5: string[]; readonly sha1: string[]; readonly sha256: string[] };
  /** Values found beyond {@link MAX_PER_KIND} of one kind and left out. */
  readonly overflow: number;
  /** Ports written after an IPv4 address (`185.244.129.7:443`), by address: the indicator is the endpoint. */
  readonly ports: ReadonlyMap<string, readonly number[]>;
}

/** A mail with more indicators of one kind than this is a list, not an incident: the rest are counted, not sent. */
export const MAX_PER_KIND = 1000;
/** URLs longer than this are not observables (TheHive refuses data over 4096 chars). */
const URL_MAX = 4096;

// Scheme URLs: the run stops at blanks, quotes, angle brackets and characters never raw in a URL.
const URL_RE = /\b(?:https?|ftp):\/\/[^\s<>"'`{}|\\^\u0000-\u001f\u007f\ufffd]+/gi;
// Runs of name characters; a domain candidate is a run with a dot.
const NAME_RUN = /[\p{L}\p{N}_.-]+/gu;
// A dotted quad (and an optional prefix length) not glued to a word or to another dotted number.
/** `:443` right after an address (not `:443:`, not `:4430000`). */
const PORT_AFTER = /^:(\d{1,5})(?![\d:])/;
/** Ports kept per address: a scan report may list hundreds. */
const MAX_PORTS_PER_IP = 20;
const IPV4_RE = /(?<![\p{L}\p{N}_.])\d{1,3}(?:\.\d{1,3}){3}(?:\/(?:3[0-2]|[12]?\d))?(?![\p{L}\p{N}_]|\.\d)/gu;
// Two to seven `group:` then a tail (groups, or an embedded dotted quad), optional prefix length.
const IPV6_RE = /(?<![\p{L}\p{N}_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]{0,15}(?:\/\d{1,3})?/gu;
const HEX_RUN = /[0-9A-Fa-f]+/g;
const WORDISH = /[\p{L}\p{N}_]/u;
const LOCAL_CHAR = /[A-Za-z0-9._%+'-]/;
const DOMAIN_CHAR = /[\p{L}\p{N}.-]/u;

type Span = readonly [number, number];

/**
 * The indicators in `text` (refanged first), minus everything `policy.ignore` covers and, per
 * {@link ipScope}, loopback/multicast/reserved addresses (private ones too when
 * `policy.privateIps` is `drop`). Never throws; linear in the length of `text`.
 */
export function extractIocs(text: string, policy: Pick<MailPolicy, 'ignore' | 'privateIps'>): Iocs {
  const t = refang(text);
  const scan: Scan = { t, policy, ignore: ignoreMatcher(policy.ignore), out: new Collector() };
  const urlSpans = scanUrls(scan);
  const mailSpans = scanEmails(scan, spanTest(urlSpans));
  // URL hosts were taken with their URL and address domains are no bare names: skip both.
  const inSkipped = spanTest([...urlSpans, ...mailSpans].sort((a, b) => a[0] - b[0]));
  scanDomains(scan, inSkipped);
  scanIps(scan, inSkipped);
  scanHashes(scan);
  return scan.out.result();
}

/** One extraction's state, shared by the scans. */
interface Scan {
  readonly t: string;
  readonly policy: Pick<MailPolicy, 'privateIps'>;
  readonly ignore: IgnoreMatcher;
  readonly out: Collector;
}

/** Scheme URLs, their host as a domain or IP; returns the span of every URL seen (kept or not). */
function scanUrls({ t, policy, ignore, out }: Scan): Span[] {
  const spans: Span[] = [];
  for (const m of t.matchAll(URL_RE)) {
    const seen = trimUrl(m[0]);
    spans.push([m.index, m.index + seen.length]);
    // A Safe Links or URL Defense link stands for the link the sender wrote: that is the indicator.
    const url = unwrapUrl(seen);
    const host = urlHost(url);
    if (host === null || url.length > URL_MAX || ignore.host(host)) continue;
    const ip = bareIp(host);
    // A URL on a loopback or multicast address is noise; on a private one it follows `privateIps`.
    if (ip !== null && !ipWanted(ip, policy, ignore)) continue;
    out.add('urls', url);
    if (ip !== null) out.add('ips', canonicalIp(ip));
    else {
      const domain = validDomain(host, true);
      if (domain !== null) out.add('domains', domain);
    }
  }
  return spans;
}

/** Bare host names: runs of name characters with a dot, decoration trimmed, not in a path or a local part. */
function scanDomains({ t, ignore, out }: Scan, inSkipped: (offset: number) => boolean): void {
  for (const m of t.matchAll(NAME_RUN)) {
    const run = m[0];
    if (!run.includes('.') || run.length > NAME_MAX + 2) continue;
    const before = t[m.index - 1];
    // A name inside a path (`/tmp/run.sh`, `C:\x\a.dll`) or a local part (`first.last@`) is no domain.
    if (before === '/' || before === '\\' || t[m.index + run.length] === '@') continue;
    let lead = 0;
    let end = run.length;
    while (lead < end && '._-'.includes(run[lead] as string)) lead++;
    while (end > lead && '._-'.includes(run[end - 1] as string)) end--;
    if (inSkipped(m.index + lead)) continue;
    const domain = validDomain(run.slice(lead, end), false);
    if (domain !== null && !ignore.host(domain)) out.add('domains', domain);
  }
}

/** Dotted quads and IPv6 addresses (with optional prefix length) outside URLs and addresses. */
function scanIps({ t, policy, ignore, out }: Scan, inSkipped: (offset: number) => boolean): void {
  for (const m of t.matchAll(IPV4_RE)) {
    if (inSkipped(m.index) || !ipWanted(m[0], policy, ignore)) continue;
    out.add('ips', m[0]);
    const port = PORT_AFTER.exec(t.slice(m.index + m[0].length, m.index + m[0].length + 7));
    const n = port === null ? 0 : Number(port[1]);
    if (n >= 1 && n <= 65535 && !m[0].includes('/')) out.port(m[0], n);
  }
  for (const m of t.matchAll(IPV6_RE)) {
    const next = t[m.index + m[0].length];
    // Cut short by the bounded pattern (more groups follow) or glued to a word: not an address.
    if (next !== undefined && (next === ':' || WORDISH.test(next))) continue;
    let cand = m[0];
    while (cand.endsWith('.')) cand = cand.slice(0, -1);
    const addr = cand.split('/')[0] ?? '';
    // Two non-empty groups at least: `d::` (from `std::`) and `::1` are not worth an observable.
    if (inSkipped(m.index) || !ipaddr.IPv6.isValid(addr) || addr.split(':').filter((g) => g !== '').length < 2) continue;
    if (ipWanted(cand, policy, ignore)) out.add('ips', canonicalIp(cand));
  }
}

/** Hex runs of exactly 32, 40 or 64 digits, not glued to a word, not all digits (a number). Hashes in URLs count. */
function scanHashes({ t, ignore, out }: Scan): void {
  for (const m of t.matchAll(HEX_RUN)) {
    const run = m[0];
    const kind = run.length === 32 ? 'md5' : run.length === 40 ? 'sha1' : run.length === 64 ? 'sha256' : null;
    if (kind === null || /^\d+$/.test(run)) continue;
    const before = t[m.index - 1];
    const after = t[m.index + run.length];
    if ((before !== undefined && WORDISH.test(before)) || (after !== undefined && WORDISH.test(after))) continue;
    const hash = run.toLowerCase();
    if (!ignore.hash(hash)) out.add(kind, hash);
  }
}

/** Whether an address (or CIDR network) found in text is sent: valid, in scope ({@link ipScope}), not ignored. */
function ipWanted(ip: string, policy: Pick<MailPolicy, 'privateIps'>, ignore: IgnoreMatcher): boolean {
  const addr = ip.split('/')[0] ?? '';
  if (addr.includes(':') ? !ipaddr.IPv6.isValid(addr) : !ipaddr.IPv4.isValidFourPartDecimal(addr)) return false;
  if (ip.includes('/') && parseCidr(ip) === null) return false;
  const scope = ipScope(ip);
  if (scope === 'drop' || (scope === 'private' && policy.privateIps === 'drop')) return false;
  return !ignore.ip(ip);
}

/** Every `local@domain` outside URLs; adds the valid ones and returns the spans of all candidates. */
function scanEmails({ t, ignore, out }: Scan, inUrl: (offset: number) => boolean): Span[] {
  const spans: Span[] = [];
  for (let at = t.indexOf('@'); at >= 0; at = t.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && at - start <= 64 && LOCAL_CHAR.test(t[start - 1] as string)) start--;
    let end = at + 1;
    while (end < t.length && end - at <= NAME_MAX && DOMAIN_CHAR.test(t[end] as string)) end++;
    if (at - start > 64 || end - at > NAME_MAX) continue;
    while (start < at && t[start] === '.') start++;
    while (end > at + 1 && (t[end - 1] === '.' || t[end - 1] === '-')) end--;
    if (start === at || end === at + 1 || inUrl(at)) continue;
    spans.push([start, end]);
    const host = t.slice(at + 1, end);
    const domain = host.includes('.') ? validDomain(host, true) : null;
    if (domain === null) continue;
    const address = `${t.slice(start, at).toLowerCase()}@${domain}`;
    if (!ignore.email(address)) out.add('emails', address);
  }
  return spans;
}

/** A test "is this offset inside one of these spans", for spans sorted by start; each call O(log n). */
function spanTest(spans: readonly Span[]): (offset: number) => boolean {
  return (offset) => {
    let lo = 0;
    let hi = spans.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [s, e] = spans[mid] as Span;
      if (offset < s) hi = mid - 1;
      else if (offset >= e) lo = mid + 1;
      else return true;
    }
    return false;
  };
}

type Kind = 'urls' | 'domains' | 'ips' | 'emails' | 'md5' | 'sha1' | 'sha256';

/** Ordered, deduplicated lists with the per-kind cap. */
class Collector {
  readonly #lists = new Map<Kind, Set<string>>();
  readonly #ports = new Map<string, Set<number>>();
  #overflow = 0;

  port(ip: string, port: number): void {
    let set = this.#ports.get(ip);
    if (set === undefined) {
      set = new Set();
      this.#ports.set(ip, set);
    }
    if (set.size < MAX_PORTS_PER_IP) set.add(port);
  }

  add(kind: Kind, value: string): void {
    let set = this.#lists.get(kind);
    if (set === undefined) {
      set = new Set();
      this.#lists.set(kind, set);
    }
    if (set.has(value)) return;
    if (set.size >= MAX_PER_KIND) this.#overflow++;
    else set.add(value);
  }

  result(): Iocs {
    const list = (k: Kind): string[] => [...(this.#lists.get(k) ?? [])];
    return {
      urls: list('urls'),
      domains: list('domains'),
      ips: list('ips'),
      emails: list('emails'),
      hashes: { md5: list('md5'), sha1: list('sha1'), sha256: list('sha256') },
      overflow: this.#overflow,
      ports: new Map([...this.#ports].map(([ip, ports]) => [ip, [...ports]])),
    };
  }
}
