/**
 * How mails become alerts (contract §5, `email.fieldNames`, `email.ignore`): which keys of a SIEM
 * notification mean what, which values are too benign to send as observables, and the mail
 * alert's `type`/`source`, what severity words mean. Pure data, the defaults, and the helpers that
 * read them ({@link severityFromText}, {@link ignoreMatcher}).
 */
import ipaddr from 'ipaddr.js';
import { parseCidr } from '../net/cidr.js';
import type { Severity } from '../types.js';

/**
 * The fields of a SIEM notification's `key: value` lines: the incident ID, the alert fields they
 * fill, and the roles ({@link ROLE_FIELDS}) that tag the observables of their values.
 */
export type MailField =
  | 'incidentId' | 'title' | 'severity' | 'date' | 'status' | 'type' | 'source' | 'description'
  | 'attacker' | 'victim' | 'destination' | 'user';

/**
 * The fields whose values' observables are tagged with the field's name, in the order their
 * observables are listed: who attacked, from where, whom, to where, as whom.
 */
export const ROLE_FIELDS = ['attacker', 'source', 'victim', 'destination', 'user'] as const satisfies readonly MailField[];

/**
 * Values never sent as observables: known-benign, documentation or empty-input values.
 *
 * The mail's own infrastructure is handled apart and needs no entry here: `Received:` and other
 * transport headers are never scanned (relays and our MX never become observables), and the top
 * mail's own To/Cc addresses (the SOC mailbox, the colleagues in copy) are never `mail`
 * observables. The organisation's own domains are not guessed from those addresses: list them
 * here, knowing that phishing often abuses or imitates them.
 */
export interface MailIgnore {
  /** Host names; an entry covers itself and every name under it. `*.test` = every name under `.test`. */
  readonly domains: readonly string[];
  /** Addresses and CIDR networks (`203.0.113.0/24`, `2001:db8::/32`). */
  readonly ips: readonly string[];
  /** MD5/SHA-1/SHA-256 in hex, any case. */
  readonly hashes: readonly string[];
  /** Whole addresses (`noreply@corp.example`) or `@domain` for every address of a domain. */
  readonly emails?: readonly string[];
}

/** Everything {@link alertFromMail} and `extractIocs` need beyond the `alert.*` policy. */
export interface MailPolicy {
  /**
   * Synonyms of each field in SIEM notification mails, compared case-insensitively with blanks and
   * `_` collapsed (`Event_Severity` = `event severity`), in order of priority: the first synonym
   * present (with a value) wins, wherever its line is, so incident-level names come before
   * event-level ones. A body with an `incidentId` synonym (and a value) is a SIEM notification.
   * Every line of a role field ({@link ROLE_FIELDS}) tags its observables, not only the first.
   */
  readonly fieldNames: Readonly<Record<MailField, readonly string[]>>;
  /**
   * Severity fields with a numeric scale of their own (0 or 1 to the number given): a number in
   * them is read as a fraction of it (≥ 0.9 critical, ≥ 0.7 high, ≥ 0.4 medium, else low);
   * words are read as anywhere. Keys as {@link normaliseKey} gives them.
   */
  readonly severityScales: Readonly<Record<string, number>>;
  /** A line starting with one of these (any case) opens the raw events block, kept verbatim. */
  readonly rawEventsMarkers: readonly string[];
  readonly ignore: MailIgnore;
  /** Forwarded mails nested deeper than this are kept as attachments, not parsed. @default 3 */
  readonly maxDepth: number;
  /**
   * Private, CGNAT, link-local and unique-local addresses: `keep` sends them tagged `private`
   * (the internal host of an incident matters to the analyst), `drop` leaves them out.
   * Loopback, unspecified, broadcast and multicast addresses are always left out.
   * @default 'keep'
   */
  readonly privateIps: 'keep' | 'drop';
  /** Alert `type` of an ordinary mail (≤ 32 chars). @default 'mail' */
  readonly type: string;
  /** Alert `type` of a SIEM notification mail (≤ 32 chars). @default 'siem-mail' */
  readonly notificationType: string;
  /** Alert `source` of every mail alert (≤ 32 chars); part of TheHive's dedup key. @default 'mail' */
  readonly source: string;
  /**
   * Sites an advisory links to for reading (CERTs, vendor research blogs, vulnerability
   * databases), each with its subdomains: their URLs are listed in the description as references,
   * never sent as observables (an analyzer run would leak them to third parties).
   */
  readonly referenceDomains: readonly string[];
  /**
   * A line starting with one of these (any case; a word of punctuation only, `--`, must be the
   * whole line) ends the text scanned for indicators: signatures and disclaimers name the
   * sender's own sites and numbers. The description keeps the whole text. @default ['--']
   */
  readonly stopwords: readonly string[];
  /** `keyword=tag`: a mail whose subject or text holds the keyword (any case) gets the tag. */
  readonly keywordTags: readonly string[];
  /** `glob=tag`: a mail whose subject matches the glob (`*` any run, any case) gets the tag. */
  readonly subjectTags: readonly string[];
  /** Globs: a mail whose subject matches one (an auto-reply, a newsletter) is taken and makes no alert. */
  readonly dropSubjects: readonly string[];
  /**
   * CIDRs of our own mail servers (`email.internalRelays`): a reported phish's `Received:` hops
   * from them are our infrastructure passing the mail on, never observables. @default []
   */
  readonly internalRelays?: readonly string[];
  /**
   * `email.files.*`: the mail (`.eml`) and its attachments sent as `file` observables, each up to
   * `maxBytes`, all of one mail up to `maxTotalBytes`; over it, hashes and name only. `maxBytes` 0:
   * no files. @default { maxBytes: 10485760, maxTotalBytes: 26214400 }
   */
  readonly files?: MailFilesPolicy;
  /**
   * `email.timeZones`: sender domain → the zone its SIEM writes times in (IANA name or `±HH:MM`), for
   * times without an offset; the domain or a parent matches, before the mail's `Date:` offset. @default {}
   */
  readonly timeZones?: Readonly<Record<string, string>>;
}

export interface MailFilesPolicy {
  readonly maxBytes: number;
  readonly maxTotalBytes: number;
}

/** 10 MiB per file, 25 MiB per mail (issue 13): what a sandbox takes, under TheHive 5's 10 MB JSON limit for the rest. */
export const DEFAULT_FILES_POLICY: MailFilesPolicy = { maxBytes: 10 * 1024 * 1024, maxTotalBytes: 25 * 1024 * 1024 };

/** Reading, not indicators: CERTs, vulnerability databases and vendors' research blogs. */
export const DEFAULT_REFERENCE_DOMAINS: readonly string[] = [
  ...['attack.mitre.org', 'cve.mitre.org', 'cwe.mitre.org', 'nvd.nist.gov', 'cisa.gov', 'us-cert.gov', 'first.org', 'cert.org'],
  ...['cert.kz', 'cert.gov.kz', 'safe-surf.ru', 'bdu.fstec.ru', 'cert.ru', 'cert-eu.europa.eu', 'ncsc.gov.uk', 'bsi.bund.de'],
  ...['securelist.com', 'securelist.ru', 'kaspersky.com', 'kaspersky.ru', 'ics-cert.kaspersky.com', 'blog.talosintelligence.com'],
  ...['unit42.paloaltonetworks.com', 'mandiant.com', 'msrc.microsoft.com', 'learn.microsoft.com', 'microsoft.com'],
  ...['welivesecurity.com', 'bi.zone', 'ptsecurity.com', 'research.checkpoint.com', 'crowdstrike.com', 'sentinelone.com'],
  ...['trendmicro.com', 'proofpoint.com', 'bleepingcomputer.com', 'thehackernews.com', 'virustotal.com', 'malpedia.caad.fkie.fraunhofer.de'],
];

/**
 * Field synonyms: the KazDream EMAIL2THEHIVE `names_dict` (shared/seeds), plus the spellings of
 * KUMA, ArcSight, QRadar and FortiSIEM notifications and their Russian equivalents. Each list is
 * in order of priority: incident (offense, alert) fields before event fields.
 */
export const DEFAULT_FIELD_NAMES: Readonly<Record<MailField, readonly string[]>> = {
  // Not a bare `incident`/`инцидент`: "Incident: I clicked a link" in a user's report is no SIEM mail.
  incidentId: ['incident id', 'incident number', 'incident no', 'incident #', 'offense id', 'offense number',
    'alert id', 'alarm id', 'case id', 'case number',
    'id инцидента', 'идентификатор инцидента', 'номер инцидента', 'инцидент №', 'инцидент #',
    'id алерта', 'идентификатор алерта', 'номер алерта', 'id нарушения', 'номер нарушения', 'id кейса', 'номер кейса'],
  title: ['incident title', 'incident name', 'offense name', 'offense description', 'alert name', 'case name',
    'title', 'name', 'rule name', 'rule', 'correlation rule', 'event title', 'event name',
    'название инцидента', 'название алерта', 'название', 'наименование', 'заголовок', 'имя',
    'правило корреляции', 'правило'],
  severity: ['incident severity', 'incident priority', 'incident severity category', 'alert severity', 'offense magnitude', 'magnitude',
    'severity', 'priority', 'criticality', 'urgency',
    'критичность инцидента', 'важность инцидента', 'приоритет инцидента', 'критичность алерта',
    'важность', 'критичность', 'приоритет', 'уровень критичности', 'серьезность', 'серьёзность', 'уровень',
    'event severity category', 'event severity', 'критичность события', 'важность события'],
  date: ['incident first occurrence time', 'incident first seen', 'incident occurrence time', 'incident time', 'offense start time', 'start time',
    'first seen', 'date', 'time', 'timestamp', 'datetime', 'occurrence time', 'detection time', 'detected',
    'incident last occurrence time', 'incident last seen',
    'время инцидента', 'время первого события', 'дата', 'время', 'дата и время', 'время обнаружения',
    'event first occurrence time', 'event occurrence time', 'event last occurrence time', 'event time', 'время события'],
  status: ['incident status', 'offense status', 'alert status', 'status', 'статус инцидента', 'статус алерта', 'статус', 'состояние', 'event status'],
  type: ['incident type', 'incident category', 'offense type', 'type', 'category', 'event type', 'event category',
    'тип инцидента', 'категория инцидента', 'тип', 'категория', 'тип события'],
  source: ['incident source', 'offense source', 'source ip', 'source address', 'source', 'src ip', 'src', 'source host',
    'ip источника', 'адрес источника', 'источник', 'хост источника'],
  description: ['incident description', 'description', 'incident detail', 'details', 'описание инцидента', 'описание', 'подробности', 'детали'],
  attacker: ['attacker', 'attacker ip', 'attacker address', 'attacker host', 'атакующий', 'ip атакующего', 'адрес атакующего',
    'атакующий хост', 'злоумышленник', 'ip злоумышленника'],
  victim: ['victim', 'victim ip', 'victim host', 'target', 'target ip', 'target host', 'incident target', 'host ip', 'host name', 'hostname',
    'affected host', 'жертва', 'ip жертвы', 'атакуемый хост', 'атакуемый', 'цель', 'затронутый хост', 'хост', 'узел'],
  destination: ['destination', 'destination ip', 'destination address', 'destination host', 'dst ip', 'dst',
    'назначение', 'ip назначения', 'адрес назначения', 'хост назначения'],
  user: ['user', 'username', 'user name', 'account', 'account name', 'source user', 'target user', 'destination user',
    'пользователь', 'учетная запись', 'учётная запись', 'имя пользователя'],
};

/**
 * Numeric severity scales by field: FortiSIEM's event severity and QRadar's magnitude run to 10
 * (FortiSIEM 0–10, QRadar 1–10). `severity` itself has none: its 1–4 is TheHive's own scale.
 */
export const DEFAULT_SEVERITY_SCALES: Readonly<Record<string, number>> = {
  'event severity': 10,
  'incident severity': 10,
  'offense magnitude': 10,
  magnitude: 10,
};

/** The documentation, example and empty-input values every SOC would otherwise see in test mails. */
export const DEFAULT_MAIL_IGNORE: MailIgnore = {
  // RFC 2606 / RFC 6761 reserved names.
  domains: ['example.com', 'example.net', 'example.org', '*.example', '*.test', '*.invalid', '*.localhost', 'localhost'],
  // RFC 5737 (IPv4) and RFC 3849 (IPv6) documentation ranges.
  ips: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'],
  // MD5, SHA-1 and SHA-256 of zero bytes: an empty attachment says nothing about a file.
  hashes: [
    'd41d8cd98f00b204e9800998ecf8427e',
    'da39a3ee5e6b4b0d3255bfef95601890afd80709',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  ],
  emails: [],
};

/** The `email.*` defaults. */
export const DEFAULT_MAIL_POLICY: MailPolicy = {
  fieldNames: DEFAULT_FIELD_NAMES,
  severityScales: DEFAULT_SEVERITY_SCALES,
  rawEventsMarkers: ['raw events', 'raw event', 'исходные события', 'сырые события', 'необработанные события'],
  ignore: DEFAULT_MAIL_IGNORE,
  maxDepth: 3,
  privateIps: 'keep',
  type: 'mail',
  notificationType: 'siem-mail',
  source: 'mail',
  referenceDomains: DEFAULT_REFERENCE_DOMAINS,
  stopwords: ['--'],
  keywordTags: [],
  subjectTags: [],
  dropSubjects: [],
  internalRelays: [],
  files: DEFAULT_FILES_POLICY,
};

/** A key as the synonym lists hold it: lower case, `_` and blank runs as one space, trimmed. */
export function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[\s_]+/g, ' ').trim();
}

/** Severity words of SIEM notifications, English and Russian stems; the earliest in the value wins. */
const SEVERITY_WORDS: ReadonlyArray<readonly [Severity, RegExp]> = [
  [4, /(?<!\p{L})(?:critical|crit|urgent|emergency|blocker|критич|чрезвычайн|блокирующ)/u],
  [3, /(?<!\p{L})(?:high|major|severe|important|высок|серь[её]зн|важн)/u],
  [2, /(?<!\p{L})(?:medium|moderate|normal|med|warning|средн|умерен|обычн)/u],
  [1, /(?<!\p{L})(?:low|minor|info|notice|низк|информ|незначит)/u],
];

/**
 * TheHive severity (1–4) of a SIEM severity value, or null when it names none:
 * - words: low/info/minor → 1, medium/moderate/normal → 2, high/major/severe → 3,
 *   critical/urgent/emergency → 4, and Russian низкая/средняя/высокая/критическая (any ending);
 *   the word that comes first decides (`High (3)`, `Высокий`);
 * - `P1`…`P5` priorities: P1 → 4, P2 → 3, P3 → 2, P4 and P5 → 1;
 * - `n/m` scores by their fraction: ≥ 0.9 → 4, ≥ 0.7 → 3, ≥ 0.4 → 2, else 1;
 * - bare numbers: 0 → 1, 1–4 are TheHive's own scale, 5–10 a 0–10 scale (5–6 → 2, 7–8 → 3,
 *   9–10 → 4), 11–100 a percentage (as `n/100`). Larger numbers name nothing.
 */
export function severityFromText(value: string): Severity | null {
  const v = value.toLowerCase();
  let best: { at: number; severity: Severity } | null = null;
  for (const [severity, re] of SEVERITY_WORDS) {
    const m = re.exec(v);
    if (m !== null && (best === null || m.index < best.at)) best = { at: m.index, severity };
  }
  if (best !== null) return best.severity;
  const p = /(?<![\p{L}\d])p([1-5])(?!\d)/u.exec(v);
  if (p !== null) return ([4, 3, 2, 1, 1] as const)[Number(p[1]) - 1] ?? null;
  const n = /(?<![\d.])(\d{1,3})(?:[.,]\d{1,3})?(?:[ \t]{0,2}\/[ \t]{0,2}(\d{1,3}))?(?![\d])/.exec(v);
  if (n === null) return null;
  const score = Number(n[1]);
  const scale = n[2] === undefined ? null : Number(n[2]);
  if (scale !== null) return scale > 0 && score <= scale ? byFraction(score / scale) : null;
  if (score <= 4) return Math.max(1, score) as Severity;
  if (score <= 10) return byFraction(score / 10);
  return score <= 100 ? byFraction(score / 100) : null;
}

/**
 * TheHive severity of a notification's severity field `key: value`: a bare number (or `n/m`) in a
 * field of `policy.severityScales` on that field's scale, anything else as {@link severityFromText}.
 */
export function severityOfField(key: string, value: string, policy: Pick<MailPolicy, 'severityScales'>): Severity | null {
  const scale = policy.severityScales[normaliseKey(key)];
  const n = /^(\d{1,3})(?:[.,]\d{1,3})?$/.exec(value.trim());
  if (scale === undefined || scale <= 0 || n === null) return severityFromText(value);
  const score = Number(n[1]);
  return score <= scale ? byFraction(score / scale) : null;
}

function byFraction(f: number): Severity {
  return f >= 0.9 ? 4 : f >= 0.7 ? 3 : f >= 0.4 ? 2 : 1;
}

/** Compiled ignore lists: each predicate says whether a value is on them. */
export interface IgnoreMatcher {
  /** A host name (itself or under a listed name) or an IP literal (in a listed range). */
  host(host: string): boolean;
  /** An address or CIDR network (by its network address) in a listed range. */
  ip(ip: string): boolean;
  hash(hash: string): boolean;
  /** A listed address, an address of a listed `@domain` (or under it), or of an ignored host name. */
  email(address: string): boolean;
}

const compiledIgnores = new WeakMap<MailIgnore, IgnoreMatcher>();

/** `ignore` compiled once per policy object: host-aware domains, CIDR ranges, hash and address sets. */
/** A test of `host` (lower case) against `domains`: one of them or a name below one (`a.evil.top` is under `evil.top`). */
export function underDomains(domains: readonly string[]): (host: string) => boolean {
  const names = domains.map((d) => d.trim().toLowerCase().replace(/\.$/, '')).filter((d) => d !== '');
  return (host) => names.some((d) => host === d || host.endsWith(`.${d}`));
}

export function ignoreMatcher(ignore: MailIgnore): IgnoreMatcher {
  const known = compiledIgnores.get(ignore);
  if (known !== undefined) return known;
  const names = ignore.domains.map((d) => d.trim().toLowerCase().replace(/\.$/, '')).filter((d) => d !== '' && d !== '*.');
  const exact = underDomains(names.filter((d) => !d.startsWith('*.')));
  const wild = names.filter((d) => d.startsWith('*.')).map((d) => d.slice(1));
  const ranges = ignore.ips.map((c) => parseCidr(c.trim())).filter((r) => r !== null);
  const hashes = new Set(ignore.hashes.map((h) => h.trim().toLowerCase()));
  const emails = (ignore.emails ?? []).map((e) => e.trim().toLowerCase());
  const domainIgnored = (host: string): boolean =>
    exact(host) || wild.some((w) => host.endsWith(w));
  const ipIgnored = (ip: string): boolean => {
    const addr = ip.split('/')[0] ?? '';
    if (!ipaddr.isValid(addr)) return false;
    const a = ipaddr.process(addr);
    return ranges.some(([net, bits]) => a.kind() === net.kind() && a.match(net, bits));
  };
  const isIp = (host: string): boolean => (host.includes(':') ? ipaddr.IPv6.isValid(host) : ipaddr.IPv4.isValidFourPartDecimal(host));
  const matcher: IgnoreMatcher = {
    host: (host) => (isIp(host) ? ipIgnored(host) : domainIgnored(host.toLowerCase())),
    ip: ipIgnored,
    hash: (hash) => hashes.has(hash.toLowerCase()),
    email: (address) => {
      const a = address.toLowerCase();
      const domain = a.slice(a.lastIndexOf('@') + 1);
      return emails.some((e) => (e.startsWith('@') ? domain === e.slice(1) || domain.endsWith(`.${e.slice(1)}`) : a === e)) || domainIgnored(domain);
    },
  };
  compiledIgnores.set(ignore, matcher);
  return matcher;
}
