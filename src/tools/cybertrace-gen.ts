/**
 * Realistic CyberTrace detection lines for load tests, from a seeded PRNG: the same seed always
 * gives the same lines. Shapes follow cybertrace-format §2.2 (the 5.x EventFormat with a
 * ` %ParamName%=%ParamValue%` record context) and §3 (categories and their record fields): a
 * `%Date%` header, the fixed prefix `category matchedIndicator url src ip md5 sha1 sha256 usrName`,
 * then the feed record: whois/ip_whois nests as `parent/child` keys, `;` multi-values, comma-space
 * lists (`geo=vn, in, mx`), values with blanks, a little non-ASCII.
 *
 * Sizes average about 340 bytes (median 320, p99 about 730) with a long tail up to a few KiB
 * (Phishing whois, Botnet CnC `files/MD5` lists, hash records with `urls/url` lists). A share of
 * the lines repeat an earlier indicator (a scanning host hitting it again): a repeat carries the
 * same feed record, with its own event fields (date, src, user, url).
 *
 * Indicator IPs come from the benchmarking range 198.18.0.0/15 (RFC 2544), event sources from
 * 10/8; domain names are random syllables under common TLDs; hashes are random hex. None is a
 * known indicator, so a loaded TheHive with analyzers looks up nothing real by IP.
 */

/** A seeded PRNG stream (mulberry32). `seed` lets a generator derive sub-streams. */
export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
}

/** Options of {@link generateLine}. */
export interface GeneratorOptions {
  /**
   * Share of lines (0–1) that repeat an earlier line's indicator and feed record.
   * @default 0.25
   */
  readonly repeatShare?: number;
}

/** A mulberry32 stream: fast, 32-bit state, good enough for test data (not for secrets). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    seed: seed >>> 0,
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** Categories and their weights in the mix (cybertrace-format §3.1; IP and URL feeds dominate real traffic). */
export const GENERATED_CATEGORIES: ReadonlyArray<readonly [category: string, weight: number]> = [
  ['KL_IP_Reputation', 29], ['KL_Malicious_URL', 24], ['KL_Phishing_URL', 6], ['KL_BotnetCnC_URL', 8],
  ['KL_Malicious_Hash_MD5', 9], ['KL_Malicious_Hash_SHA1', 1], ['KL_Malicious_Hash_SHA256', 2],
  ['KL_Ransomware_URL', 4], ['KL_APT_URL', 2], ['KL_APT_IP', 2], ['KL_APT_Hash_MD5', 2], ['KL_IoT_URL', 4],
  ['KL_Mobile_Malicious_Hash_MD5', 3], ['KL_Mobile_BotnetCnC_Hash_MD5', 1], ['KL_ICS_Hash_MD5', 1], ['KL_InternalTI_IP', 2],
];
const WEIGHT_TOTAL = GENERATED_CATEGORIES.reduce((n, [, w]) => n + w, 0);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Oct 12 2024 00:00 UTC: the §7 samples' day. Dates advance 20 ms a line, so 50 lines share a second. */
const BASE_MS = Date.UTC(2024, 9, 12);
const LINE_MS = 20;
/** Repeats pick among the previous lines within this window half of the time (a burst), else any earlier line. */
const RECENT_WINDOW = 2000;

const SYLLABLES = ['ka', 'zu', 'mor', 'tex', 'vin', 'lo', 'qua', 'set', 'rin', 'bo', 'dex', 'fal', 'gri', 'nov', 'pix', 'sha', 'tor', 'ul', 'wex', 'yam'];
const TLDS = ['com', 'net', 'ru', 'nu', 'xyz', 'top', 'info', 'org', 'biz', 'cn', 'su', 'online'];
const PATHS = ['gate.php', 'login.php', 'admin/index.php', 'wp-content/plugins/up.php', 'files/invoice.doc', 'bins/mips', 'update', 'pay', 'secure/account/verify', 'dl/setup.exe', 'api/v1/ping', '.i'];
/** Kaspersky verdicts by feed family; `default` for the URL and hash feeds. */
const THREATS: Readonly<Record<string, readonly string[]>> = {
  default: ['HEUR:Trojan.Script.Generic', 'Trojan.Win32.Waldek', 'Backdoor.Win32.Agent.gen', 'Trojan-Banker.Win32.Generic', 'HEUR:Trojan-Downloader.Script.Generic', 'Trojan-PSW.Win32.Stealer.gen', 'HEUR:Exploit.MSOffice.Generic', 'not-a-virus:HEUR:AdWare.Win32.Generic'],
  Ransomware: ['Trojan-Ransom.Win32.Lockbit.gen', 'Trojan-Ransom.Win32.Conti.a', 'HEUR:Trojan-Ransom.Win32.Generic'],
  IoT: ['HEUR:Backdoor.Linux.Mirai.b', 'HEUR:Trojan-DDoS.Linux.Gafgyt.a', 'Backdoor.Linux.Mozi.a'],
  Mobile: ['HEUR:Trojan-Banker.AndroidOS.Agent.ab', 'HEUR:Trojan-Spy.AndroidOS.SpyNote.a', 'HEUR:Backdoor.AndroidOS.Agent.x'],
  ICS: ['Trojan.Win32.Industroyer.a', 'HEUR:Trojan.Win32.Triton.gen'],
};
const threat = (r: Rng, category: string): string => pick(r, THREATS[/^KL_(Ransomware|IoT|Mobile|ICS)_/.exec(category)?.[1] ?? 'default'] ?? []);
const GEO = ['us', 'ru', 'de', 'cn', 'br', 'in', 'vn', 'mx', 'tr', 'hk', 'nl', 'fr', 'gb', 'ua', 'ir', 'jp', 'kr', 'id', 'pl', 'sa', 'ae'];
const USERS = ['jsmith', 'a.petrova', 'v.sokolova', 'm.ivanov', 'k.smirnov', 'svc-build', 'operator', 'admin', 'h.muller', 'l.garcia'];
const ORGS = ['Example Registrant, Inc.', 'Domains By Proxy, LLC', 'REDACTED FOR PRIVACY', 'Whois Privacy Protection Service, Inc.', 'Private Person', 'ООО Пример'];
const REGISTRARS = ['MarkMonitor Inc.', 'NameCheap, Inc.', 'GoDaddy.com, LLC', 'REG.RU LLC', 'PDR Ltd. d/b/a PublicDomainRegistry.com', 'Tucows Domains Inc.'];
const CITIES = ['Reykjavik', 'Phoenix', 'Panama', 'Moscow', 'Москва', 'Shenzhen', 'Amsterdam', 'Scottsdale'];
const TARGETS = [['Netflix Inc', 'Entertainment'], ['PayPal Holdings Inc', 'Payment system'], ['Microsoft Corporation', 'Email'], ['Apple Inc.', 'E-shop'], ['DHL International GmbH', 'Delivery'], ['Sberbank', 'Banking']] as const;
const IP_CATEGORIES = ['malware', 'spam', 'tor_exit_node', 'phishing', 'botnet_cnc', 'scanner'];
const REPORTS = ['Example APT report', 'Lazarus targets defense contractors', 'Operation Example Heron', 'ShadowPad in ICS networks'];

const int = (r: Rng, n: number): number => Math.floor(r.next() * n);
const pick = <T>(r: Rng, list: readonly T[]): T => list[int(r, list.length)] as T;
const chance = (r: Rng, p: number): boolean => r.next() < p;
/** Geometric count ≥ 1 with mean 1/(1-p): how feeds' multi-valued fields are distributed. */
function count(r: Rng, p: number, max: number): number {
  let n = 1;
  while (n < max && chance(r, p)) n++;
  return n;
}
/** One record in a hundred carries a long list: the tail that bounds a listener's line buffer. */
const longTail = (r: Rng): boolean => chance(r, 0.01);
/** `00`…`FF`: a table lookup per byte is several times faster than `toString(16)` + padding. */
const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0').toUpperCase());
function hex(r: Rng, chars: number): string {
  let s = '';
  while (s.length < chars) {
    const v = (r.next() * 4294967296) >>> 0;
    s += (HEX_BYTES[v >>> 24] as string) + HEX_BYTES[(v >>> 16) & 255] + HEX_BYTES[(v >>> 8) & 255] + HEX_BYTES[v & 255];
  }
  return s.length === chars ? s : s.slice(0, chars);
}
function name(r: Rng): string {
  let s = '';
  for (let k = 2 + int(r, 2); k > 0; k--) s += pick(r, SYLLABLES);
  return chance(r, 0.8) ? `${s}${int(r, 10_000)}` : s;
}
const domain = (r: Rng): string => `${name(r)}.${pick(r, TLDS)}`;
const ip = (r: Rng): string => `198.${18 + int(r, 2)}.${int(r, 256)}.${int(r, 256)}`;
const list = (n: number, of: () => string, sep: string): string => Array.from({ length: n }, of).join(sep);
/** Feed dates span these days from 2015-01-01 (to Oct 2024, the events' month); their `DD.MM.YYYY` texts are built once, not per line. */
const FEED_DAYS = 3570;
const DAY_TEXT = Array.from({ length: FEED_DAYS + 1 }, (_, d) => {
  const t = new Date(Date.UTC(2015, 0, 1) + d * 86_400_000);
  return `${pad2(t.getUTCDate())}.${pad2(t.getUTCMonth() + 1)}.${t.getUTCFullYear()}`;
});
const CLOCK_TEXT = Array.from({ length: 1440 }, (_, m) => `${pad2(Math.floor(m / 60))}:${pad2(m % 60)}`);
function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
/** `DD.MM.YYYY HH:MM` (§4.5): the feeds' date shape. */
const feedDate = (day: number, r: Rng): string => `${DAY_TEXT[day]} ${CLOCK_TEXT[int(r, 1440)]}`;
const feedDay = (r: Rng): string => DAY_TEXT[int(r, FEED_DAYS)] as string;
/** `first_seen`, usually a later `last_seen`, `popularity`. */
function seen(r: Rng): string {
  const first = int(r, FEED_DAYS);
  const last = chance(r, 0.6) ? ` last_seen=${feedDate(first + int(r, Math.min(366, FEED_DAYS - first)), r)}` : '';
  return ` first_seen=${feedDate(first, r)}${last} popularity=${1 + int(r, 5)}`;
}
type HashKind = 'MD5' | 'SHA1' | 'SHA256';

/** A feed record: the indicator, its context (from the record) and what the event prefix shows of it. */
interface FeedRecord {
  readonly category: string;
  readonly indicator: string;
  readonly context: string;
  /** URL feeds: the host of the event's `url=`. */
  readonly host?: string;
  /** IP feeds: the event's `ip=`. */
  readonly ip?: string;
  /** Hash feeds: the event's `md5=`, `sha1=` or `sha256=`. */
  readonly hash?: { readonly kind: HashKind; readonly value: string };
}

function urlRecord(r: Rng, category: string): FeedRecord {
  const botnet = category === 'KL_BotnetCnC_URL' || category === 'KL_APT_URL';
  const host = botnet && chance(r, 0.6) ? `${hex(r, 32).toLowerCase()}.com` : category === 'KL_IoT_URL' && chance(r, 0.4) ? ip(r) : chance(r, 0.2) ? `${name(r)}.${domain(r)}` : domain(r);
  const shape = r.next();
  const indicator = category === 'KL_Phishing_URL' && shape < 0.4 ? `${host}/*` : shape < 0.55 ? `${host}/${pick(r, PATHS)}` : shape < 0.6 && !host.startsWith('198.') ? `*.${host}` : host;
  let context = ` mask=${indicator}`;
  if (category === 'KL_Phishing_URL') {
    const [org, industry] = pick(r, TARGETS);
    context = ` id=${100_000_000 + int(r, 900_000_000)} type=20${context} industry=${industry}${seen(r)}`;
    if (chance(r, 0.35)) {
      const ns = list(2 + int(r, 3), () => `ns${1 + int(r, 4)}.${domain(r)}`, ', ');
      context += ` whois/domain=${host} whois/created=${feedDay(r)} whois/updated=${feedDay(r)} whois/expires=${feedDay(r)} whois/org=${pick(r, ORGS)} whois/country=${pick(r, GEO).toUpperCase()} whois/city=${pick(r, CITIES)} whois/registrar_name=${pick(r, REGISTRARS)} whois/registrar_email=abuse@${domain(r)} whois/NS=${ns}`;
    }
    context += ` stolen_data_type=${pick(r, ['email_address', 'credentials', 'bank_card', 'phone_number'])} targeted_organization=${org} attack_type=Phishing`;
  } else if (category === 'KL_APT_URL') {
    context += ` detection_date=${feedDay(r)} publication_name=${pick(r, REPORTS)}`;
  } else {
    context += ` type=1${seen(r)} threat=${threat(r, category)}`;
    if (category === 'KL_BotnetCnC_URL') {
      context += ` geo=${list(1 + int(r, 4), () => pick(r, GEO), ', ')}`;
      if (chance(r, 0.4)) context += ` files/MD5=${list(longTail(r) ? 20 + int(r, 80) : count(r, 0.5, 8), () => hex(r, 32), ';')}`;
    } else if (chance(r, 0.15)) {
      context += ` whois/domain=${host} whois/created=${feedDay(r)} whois/registrar_name=${pick(r, REGISTRARS)}`;
    }
  }
  return { category, indicator, context, host };
}

function ipRecord(r: Rng, category: string): FeedRecord {
  const addr = ip(r);
  let context = ` ip=${addr}`;
  if (category === 'KL_IP_Reputation') {
    context += ` threat_score=${40 + int(r, 61)} category=${pick(r, IP_CATEGORIES)}${seen(r)} ip_geo=${pick(r, GEO)}${chance(r, 0.3) ? '' : ` users_geo=${list(1 + int(r, 3), () => pick(r, GEO), ', ')}`}`;
    if (chance(r, 0.15)) {
      const net = addr.slice(0, addr.lastIndexOf('.'));
      context += ` ip_whois/net_range=${net}.0 - ${net}.255 ip_whois/net_name=NET-${name(r).toUpperCase()} ip_whois/descr=${pick(r, ['Hosting provider', 'Dedicated servers', 'VPS customers', 'Residential broadband'])} ip_whois/created=${feedDay(r)} ip_whois/country=${pick(r, GEO).toUpperCase()} ip_whois/asn=${64_512 + int(r, 1023)}`;
    }
  } else if (category === 'KL_APT_IP') {
    context += ` detection_date=${feedDay(r)} publication_name=${pick(r, REPORTS)}`;
  } else {
    context = ` comment=Blocked by SOC ticket ${1000 + int(r, 9000)}`;
  }
  return { category, indicator: addr, context, ip: addr };
}

function hashRecord(r: Rng, category: string): FeedRecord {
  const hashes = { MD5: hex(r, 32), SHA1: hex(r, 40), SHA256: hex(r, 64) };
  const kind: HashKind = category.endsWith('SHA256') ? 'SHA256' : category.endsWith('SHA1') ? 'SHA1' : 'MD5';
  let context = ` MD5=${hashes.MD5}${chance(r, 0.15) || kind === 'SHA1' ? ` SHA1=${hashes.SHA1}` : ''}${chance(r, 0.15) || kind === 'SHA256' ? ` SHA256=${hashes.SHA256}` : ''}`;
  context += category.startsWith('KL_APT_') ? ` detection_date=${feedDay(r)} publication_name=${pick(r, REPORTS)}` : ` file_size=${1000 + int(r, 5_000_000)}${seen(r)} threat=${threat(r, category)}`;
  const long = longTail(r);
  if (long || chance(r, 0.08)) context += ` urls/url=${list(long ? 20 + int(r, 80) : count(r, 0.5, 8), () => `${domain(r)}/${pick(r, PATHS)}`, ';')}`;
  return { category, indicator: hashes[kind], context, hash: { kind, value: hashes[kind] } };
}

/** The feed record of indicator slot `slot`: a pure function of (seed, slot), so a repeat reproduces it. */
function recordOf(seed: number, slot: number): FeedRecord {
  const r = createRng(mix(seed, slot));
  let w = r.next() * WEIGHT_TOTAL;
  let category = 'KL_Malicious_URL';
  for (const [c, weight] of GENERATED_CATEGORIES) if ((w -= weight) < 0) { category = c; break; }
  if (category.endsWith('_URL')) return urlRecord(r, category);
  if (category.includes('_Hash_')) return hashRecord(r, category);
  return ipRecord(r, category);
}

/** murmur3's finaliser over seed and slot: independent-looking sub-seeds for neighbouring slots. */
function mix(seed: number, slot: number): number {
  let h = (seed ^ Math.imul(slot + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `Oct 12 16:14:02`, with syslog's space-padded day (`Oct  2`), as `%Date%` renders. */
function dateText(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/**
 * Line `i` of the stream `rng` (no trailing newline). Call it with i = 0, 1, 2… on one stream:
 * the lines are then the same for the same seed. Whether a line repeats an earlier indicator,
 * and which, is a function of (seed, i), so the indicators do not depend on the stream.
 */
export function generateLine(rng: Rng, i: number, opts: GeneratorOptions = {}): string {
  const rec = recordOf(rng.seed, slotOf(rng.seed, i, opts.repeatShare ?? 0.25));
  const r = rng;
  let url = '-';
  if (rec.host !== undefined) {
    url = `${chance(r, 0.3) ? 'https' : 'http'}://${rec.host}/${chance(r, 0.5) ? pick(r, PATHS) : ''}${chance(r, 0.2) ? `?id=${int(r, 10_000)}&lang=${pick(r, GEO)}` : ''}`;
  } else if (rec.hash !== undefined && chance(r, 0.15)) {
    url = `http://${domain(r)}/${pick(r, PATHS)}`; // the download the hash was seen in
  }
  const eventIp = rec.ip ?? (rec.host !== undefined && chance(r, 0.2) ? ip(r) : '-');
  // The source's regex finds the one hash it carries; the others render as `-`.
  const hash = (kind: HashKind): string => (rec.hash?.kind === kind ? rec.hash.value.toLowerCase() : '-');
  const src = `10.${int(r, 64)}.${int(r, 256)}.${1 + int(r, 254)}`;
  const user = chance(r, 0.5) ? pick(r, USERS) : '-';
  return `${dateText(BASE_MS + i * LINE_MS)} category=${rec.category} matchedIndicator=${rec.indicator} url=${url} src=${src} ip=${eventIp} md5=${hash('MD5')} sha1=${hash('SHA1')} sha256=${hash('SHA256')} usrName=${user}${rec.context}`;
}

/** The indicator slot of line `i`: `i` itself, or (a repeat) an earlier line that was not a repeat. */
function slotOf(seed: number, i: number, share: number): number {
  if (i === 0 || share <= 0 || unit(seed, i, 1) >= share) return i;
  for (let k = 2; k < 40; k++) {
    const u = unit(seed, i, k);
    // Half bursts on a recent indicator, half old favourites (skewed to the first lines).
    const j = k % 2 === 0 ? Math.max(0, i - 1 - Math.floor(u * RECENT_WINDOW)) : Math.floor(i * u ** 3);
    if (j === 0 || unit(seed, j, 1) >= share) return j;
  }
  return 0;
}

/** A float in [0, 1) fixed by (seed, i, k). */
function unit(seed: number, i: number, k: number): number {
  return mix(mix(seed, i) ^ k, k) / 4294967296;
}
