/**
 * CyberTrace records → TheHive alerts (contract §4). Pure: the same record, policy and
 * receive time always give the same alert, which is what makes redelivery idempotent.
 */
import type { Alert, AlertPolicy, CyberTraceRecord, DetectionRecord, KvPair, ServiceAlertRecord, Severity } from '../types.js';
import { detectionSummary, inlineCode, markdownDescription } from './description.js';
import { parseEventDate } from './event-date.js';
import { OBSERVABLE_DATA_MAX, SOURCE_MAX, TYPE_MAX, cleanTags, cleanTitle, cut } from './limits.js';
import { isInternalName } from './indicator-syntax.js';
import { ObservableSet, classifyIndicator, isCidr, isHexHash, isIp, isMask, isSchemelessUrl } from './observables.js';
import { DEFAULT_SEVERITY_RULES, globMatches, severityFor } from './severity.js';
import { sourceRefFor } from './source-ref.js';
import { keptPerKey } from './kept-per-key.js';
import { shapeAlert } from './rules/apply.js';
import { recordEvent } from './rules/fields.js';

export { DEFAULT_SEVERITY_RULES } from './severity.js';

/**
 * Observables of one detection at most, as mail caps each kind of indicator (ioc.ts): a detection
 * names one indicator and the context of its feed record, a few dozen values in real feeds. One
 * 64 KiB line of record context made thousands, a body TheHive 4 refuses (256 kB) and more than
 * an analyst reads. A thousand short values take about 70 kB of JSON. The rest stay in the table.
 */
export const MAX_DETECTION_OBSERVABLES = 1000;

/** The `alert.*` defaults of contract §3/§4. */
export const DEFAULT_POLICY: AlertPolicy = {
  type: 'cybertrace',
  serviceType: 'cybertrace-service',
  source: 'CyberTrace',
  tags: [],
  tlp: 2,
  pap: 2,
  severity: DEFAULT_SEVERITY_RULES,
  defaultSeverity: 2,
  serviceAlerts: 'log',
  internalSuffixes: [],
};

/** The alert of a detection event (contract §4). `receivedAt` (epoch ms) stands in for an unusable event date. */
export function alertFromDetection(rec: DetectionRecord, policy: AlertPolicy, receivedAt: number): Alert {
  // Lower-cased once here, not in each scan below: that was a tenth of the map's time.
  const keys = lowerKeys(rec.pairs);
  const observables = detectionObservables(rec, keys, policy.internalSuffixes);
  const facts = summaryFacts(rec.pairs, keys);
  const reputation = reputationOf(rec, keys, facts.threatScore);
  const summary = detectionSummary({ category: rec.category, indicator: rec.matchedIndicator, threat: facts.threat, srcHost: facts.src, user: facts.user, ...reputation });
  const tags = ['cybertrace', `category:${rec.category}`];
  if (facts.threat !== null) tags.push(`threat:${facts.threat}`);
  const oversized = observables.oversized;
  const leftOut = observables.leftOut;
  return {
    type: identifier(policy.type, DEFAULT_POLICY.type, TYPE_MAX),
    source: identifier(policy.source, DEFAULT_POLICY.source, SOURCE_MAX),
    sourceRef: sourceRefFor(rec.line),
    title: titleFor(rec.category, rec.matchedIndicator, reputation),
    description: markdownDescription(oversized === 0 && leftOut === 0 ? { summary, pairs: rec.pairs } : { summary, pairs: rec.pairs, notes: [...oversizedNote(oversized), ...capNote(leftOut)] }),
    severity: severityFor(rec, policy),
    date: parseEventDate(rec.dateText, receivedAt) ?? receivedAt,
    tags: cleanTags(policy.tags.length === 0 ? tags : tags.concat(policy.tags)),
    tlp: policy.tlp,
    pap: policy.pap,
    observables: observables.take(),
  };
}

/** The first values the summary names, in line order; keys compare in lower case. */
interface SummaryFacts {
  threat: string | null;
  src: string | null;
  user: string | null;
  threatScore: string | null;
}

/**
 * `threat`, `src`, `usrName`/`suser` and `threat_score`: the first non-null value of each, in
 * one pass over the pairs (four scans of every pair before issue 15).
 */
function summaryFacts(pairs: readonly KvPair[], keys: readonly string[]): SummaryFacts {
  const facts: SummaryFacts = { threat: null, src: null, user: null, threatScore: null };
  for (let i = 0; i < pairs.length; i++) {
    const value = (pairs[i] as KvPair).value;
    if (value === null) continue;
    switch (keys[i]) {
      case 'threat':
        facts.threat ??= value;
        break;
      case 'src':
        facts.src ??= value;
        break;
      case 'usrname':
      case 'suser':
        facts.user ??= value;
        break;
      case 'threat_score':
        facts.threatScore ??= value;
        break;
    }
  }
  return facts;
}

/** Service alerts whose name matches one of these (case-insensitive globs, `KL_ALERT_` removed) mean lost detections: 2. */
const SERVICE_ALERTS_MEDIUM = ['ServiceUnavailable', 'FailedToUpdateFeed', 'OutdatedFeed', 'License*'];

/**
 * The alert of a CyberTrace service alert: type `alert.serviceType`, severity 2 for alerts that
 * mean detection is degraded (service down, feeds stale, licence) and 1 for the rest, tags
 * `cybertrace`, `service-alert`, `alert:<KL_ALERT_…>`, no observables (a service alert names
 * no indicator). The `alert.severity` rules do not apply: they are written for feed categories.
 */
export function alertFromServiceAlert(rec: ServiceAlertRecord, policy: AlertPolicy, receivedAt: number): Alert {
  const short = rec.alert.replace(/^KL_ALERT_/, '') || rec.alert;
  const severity: Severity = SERVICE_ALERTS_MEDIUM.some((g) => globMatches(g, short)) ? 2 : 1;
  const feed = firstValue(rec.pairs, lowerKeys(rec.pairs), ['feed']);
  const summary = `CyberTrace raised service alert ${inlineCode(rec.alert)}${feed === null ? '' : ` for feed ${inlineCode(feed)}`}.`;
  return {
    type: identifier(policy.serviceType, DEFAULT_POLICY.serviceType, TYPE_MAX),
    source: identifier(policy.source, DEFAULT_POLICY.source, SOURCE_MAX),
    sourceRef: sourceRefFor(rec.line),
    // The feed is what an analyst acts on (`UpdatedFeed` of which feed?): it goes in the title.
    title: cleanTitle(`CyberTrace service: ${short}${feed === null ? '' : ` (${feed})`}`),
    description: markdownDescription({ summary, pairs: rec.pairs }),
    severity,
    date: parseEventDate(rec.dateText, receivedAt) ?? receivedAt,
    tags: cleanTags(['cybertrace', 'service-alert', `alert:${rec.alert}`, ...policy.tags]),
    tlp: policy.tlp,
    pap: policy.pap,
    observables: [],
  };
}

/**
 * The alert of any record (`alert.rules` applied), or null for a `LookupFinished` record (never an alert). Whether a
 * service alert should be sent at all (`alert.serviceAlerts`) is the caller's decision.
 */
export function alertFromRecord(rec: CyberTraceRecord, policy: AlertPolicy, receivedAt: number, peer?: string): Alert | null {
  switch (rec.kind) {
    case 'detection':
      return shapedRecordAlert(rec, alertFromDetection(rec, policy, receivedAt), policy, peer);
    case 'service':
      return shapedRecordAlert(rec, alertFromServiceAlert(rec, policy, receivedAt), policy, peer);
    case 'finished':
      return null;
  }
}

/**
 * The built-in alert of a record with `alert.rules` layered over it (rules/apply.ts): the one
 * place rules meet CyberTrace events. `peer` is the sender's address, for rules that match on it.
 */
export function shapedRecordAlert(rec: DetectionRecord | ServiceAlertRecord, alert: Alert, policy: AlertPolicy, peer?: string): Alert {
  return shapeAlert(alert, () => recordEvent(rec, alert.date, peer), policy);
}

/**
 * `<category without KL_, underscores as spaces>: <indicator>`, at most 512 chars, control
 * characters made visible ({@link cleanTitle}); the category alone without an indicator;
 * `CyberTrace detection` when both are blank. An IP-reputation hit adds what the feed says of
 * the address: `IP Reputation: 192.0.2.0 (malware, threat score 97)`.
 */
export function titleFor(category: string, indicator: string | null, reputation: Reputation = {}): string {
  const label = categoryLabel(category);
  const { reputationCategory, threatScore } = reputation;
  const score = threatScore === undefined ? undefined : `threat score ${threatScore}`;
  const facts = reputationCategory === undefined ? score : score === undefined ? reputationCategory : `${reputationCategory}, ${score}`;
  const tail = facts === undefined ? '' : ` (${facts})`;
  // A blank category and indicator would leave an empty title, which TheHive refuses (1..512).
  return cleanTitle(indicator === null ? `${label}${tail}` : `${label}: ${indicator}${tail}`) || 'CyberTrace detection';
}

/** `KL_Malicious_URL` → `Malicious URL`, kept per category (kept-per-key.ts). */
const categoryLabel = keptPerKey((category) => (category.startsWith('KL_') ? category.slice(3) : category).replaceAll('_', ' ').trim() || category);

/** What an IP-reputation record says of the address (cybertrace-format §3.2). */
export interface Reputation {
  readonly threatScore?: string;
  readonly reputationCategory?: string;
}

/**
 * `threat_score` and the record's own `category` (`malware`, `spam`…) of an IP-reputation
 * detection; nothing for other categories. The record's `category` is the first one that is not
 * the detection's own (in the key=value format both are called `category`, §4.3).
 */
function reputationOf(rec: DetectionRecord, keys: readonly string[], firstThreatScore: string | null): Reputation {
  if (!/IP_REPUTATION/i.test(rec.category)) return {};
  const threatScore = firstThreatScore ?? undefined;
  let reputationCategory: string | undefined;
  for (let i = 0; i < rec.pairs.length && reputationCategory === undefined; i++) {
    const value = (rec.pairs[i] as KvPair).value;
    if (keys[i] === 'category' && value !== null && value !== rec.category) reputationCategory = value;
  }
  return { ...(threatScore === undefined ? {} : { threatScore }), ...(reputationCategory === undefined ? {} : { reputationCategory }) };
}

/** What the value of a key becomes: `ip` carries the tags of its observable, `urls` is a `;` list. */
type KeyRole =
  | { readonly as: 'ip'; readonly tags: readonly string[] }
  | { readonly as: 'url' | 'urls' | 'hash' | 'user' | 'hostname' };

const HASH_ROLE: KeyRole = { as: 'hash' };
// Keys are compared in lower case: CEF/ESM recipes and feeds differ in case (`MD5` vs `md5`, `Ip`).
// A Map, not an object literal: a key such as `constructor` or `__proto__` must not hit the prototype.
// One table, so that each key costs one lookup: most keys of a line have no role at all.
const KEY_ROLES: ReadonlyMap<string, KeyRole> = new Map<string, KeyRole>([
  ['src', { as: 'ip', tags: ['src'] }],
  ['dst', { as: 'ip', tags: ['dst'] }],
  ['ip', { as: 'ip', tags: [] }],
  ['url', { as: 'url' }],
  ['request', { as: 'url' }],
  ['urls/url', { as: 'urls' }],
  ['md5', HASH_ROLE],
  ['sha1', HASH_ROLE],
  ['sha256', HASH_ROLE],
  ['hash', HASH_ROLE],
  ['filehash', HASH_ROLE],
  ['usrname', { as: 'user' }],
  ['suser', { as: 'user' }],
  ['hostname', { as: 'hostname' }],
]);

/** The role of a lower-case key: the table, or a hash for any `files/*` key. */
function roleOf(key: string): KeyRole | undefined {
  return KEY_ROLES.get(key) ?? (key.startsWith('files/') ? HASH_ROLE : undefined);
}

/**
 * Observables of a detection: the matched indicator first (`ioc: true`, tag
 * `category:<category>`, plus `mask` for masks), then, in line order, `src`/`dst`/`ip` (ip, or
 * hostname for a host name), `url`/`request`/`urls/url` (url), hex hashes of
 * `md5`/`sha1`/`sha256`/`hash`/`fileHash`/`files/*`, `usrName`/`suser` (other, tag `user`),
 * `hostname` (hostname). A URL without a scheme becomes the absolute URL of the same event that
 * it abbreviates (`e593…fd.com/.i` and `url=http://e593…fd.com/.i`: one `url`) and stays
 * `other` when there is none or more than one; a path alone is `uri_path`. Internal host
 * names are `hostname` tagged `internal` (`internalSuffixes` adds to the built-in ones).
 * `keys` are the pairs' keys lower-cased, index for index, for a caller that already has them.
 * At most {@link MAX_DETECTION_OBSERVABLES}: the rest are counted in the set's `leftOut`.
 */
export function detectionObservables(rec: DetectionRecord, keys: readonly string[] = lowerKeys(rec.pairs), internalSuffixes: readonly string[] = []): ObservableSet {
  const set = new ObservableSet({ max: MAX_DETECTION_OBSERVABLES });
  const absolute = absoluteUrls(rec.pairs, keys);
  if (rec.matchedIndicator !== null) {
    const value = rec.matchedIndicator.trim();
    const tags = [`category:${rec.category}`];
    if (isMask(value)) tags.push('mask');
    const full = isSchemelessUrl(value) ? absolute(value) : null;
    const dataType = full === null ? classifyIndicator(rec.category, value, internalSuffixes) : 'url';
    if (dataType === 'hostname' && isInternalName(value, internalSuffixes)) tags.push('internal');
    set.add(dataType, full ?? value, { ioc: true, tags });
  }
  const addUrl = (value: string): void => {
    const v = value.trim();
    if (SCHEME.test(v)) set.add('url', v);
    else if (isSchemelessUrl(v)) set.add(absolute(v) === null ? 'other' : 'url', absolute(v) ?? v);
    else addHost(set, v, [], internalSuffixes, v.startsWith('/') ? 'uri_path' : 'other', false);
  };
  for (let i = 0; i < rec.pairs.length; i++) {
    const value = (rec.pairs[i] as KvPair).value;
    // `-` is CyberTrace's empty field (`md5=-`, half of a line's fields): no role makes anything of it, add() drops it.
    if (value === null || value === '-') continue;
    const role = roleOf(keys[i] as string);
    switch (role?.as) {
      case 'ip':
        // A host name here (some recipes put one in src/dst) is a hostname, never claimed to be an ip.
        if (isIp(value.trim()) || isCidr(value.trim())) set.add('ip', value, { tags: role.tags });
        else addHost(set, value.trim(), role.tags, internalSuffixes, 'other', true);
        break;
      case 'url':
        addUrl(value);
        break;
      case 'urls':
        // Record-context lists join repeated fields with `;` (cybertrace-format §3.2).
        for (const url of listItems(value)) addUrl(url);
        break;
      case 'hash':
        for (const hash of listItems(value)) if (isHexHash(hash.trim())) set.add('hash', hash);
        break;
      case 'user':
        set.add('other', value, { tags: ['user'] });
        break;
      case 'hostname':
        set.add('hostname', value, { tags: isInternalName(value.trim(), internalSuffixes) ? ['internal'] : [] });
        break;
    }
  }
  return set;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The items of a record-context list (`a;b;c`, cybertrace-format §3.2): `value.split(';')`, without
 * the split for the usual value that is one item (the split copied every hash a line; issue 15).
 */
function listItems(value: string): readonly string[] {
  return value.includes(';') ? value.split(';') : [value];
}

/**
 * A DNS name by its shape (`domain`/`fqdn`, `hostname` tagged `internal` for an internal one;
 * always `hostname` when `asHost`: a name in `src`/`dst` names a machine), an address as `ip`,
 * anything else as `fallback`.
 */
function addHost(set: ObservableSet, value: string, tags: readonly string[], internalSuffixes: readonly string[], fallback: 'other' | 'uri_path', asHost: boolean): void {
  const type = classifyIndicator('', value, internalSuffixes);
  if (type === 'hostname' || ((type === 'domain' || type === 'fqdn') && asHost)) {
    set.add('hostname', value, { tags: isInternalName(value, internalSuffixes) ? [...tags, 'internal'] : tags });
  } else if (type === 'domain' || type === 'fqdn' || type === 'ip' || type === 'url' || type === 'uri_path') {
    set.add(type, value, { tags });
  } else {
    set.add(fallback, value, { tags });
  }
}

/**
 * The absolute URLs of the event's URL fields, and a lookup that gives the one a scheme-less
 * URL abbreviates (the same text after `scheme://`, a trailing `/` aside; the host in any
 * case), or null when none or several (`http://` and `https://`) do: that would be a guess.
 */
function absoluteUrls(pairs: readonly KvPair[], keys: readonly string[]): (schemeless: string) => string | null {
  // Built at the first question: most detections hold no URL without its scheme, and never ask.
  let byRest: Map<string, Set<string>> | undefined;
  return (schemeless) => {
    byRest ??= urlsByRest(pairs, keys);
    const hits = byRest.get(comparable(schemeless.trim()));
    return hits !== undefined && hits.size === 1 ? ([...hits][0] as string) : null;
  };
}

/** The absolute URLs of the URL fields by their {@link comparable} text after `scheme://`. */
function urlsByRest(pairs: readonly KvPair[], keys: readonly string[]): Map<string, Set<string>> {
  const byRest = new Map<string, Set<string>>();
  for (let i = 0; i < pairs.length; i++) {
    const value = (pairs[i] as KvPair).value;
    const as = value === null ? undefined : roleOf(keys[i] as string)?.as;
    if (value === null || (as !== 'url' && as !== 'urls')) continue;
    for (const part of as === 'urls' ? listItems(value) : [value]) {
      const url = part.trim();
      const m = SCHEME.exec(url);
      if (m === null) continue;
      const rest = comparable(url.slice(m[0].length));
      let seen = byRest.get(rest);
      if (seen === undefined) byRest.set(rest, (seen = new Set()));
      seen.add(url);
    }
  }
  return byRest;
}

/** `host/path` with the host lower-cased and one trailing `/` dropped, for comparing. */
function comparable(rest: string): string {
  const slash = rest.indexOf('/');
  const text = slash < 0 ? rest.toLowerCase() : rest.slice(0, slash).toLowerCase() + rest.slice(slash);
  return text.endsWith('/') ? text.slice(0, -1) : text;
}

function oversizedNote(count: number): string[] {
  if (count === 0) return [];
  const what = count === 1 ? '1 value was' : `${count} values were`;
  return [`${what} longer than ${OBSERVABLE_DATA_MAX} characters and not added as observables; see the table.`];
}

function capNote(count: number): string[] {
  if (count === 0) return [];
  const what = count === 1 ? '1 more value was' : `${count} more values were`;
  return [`${what} not added as observables (at most ${MAX_DETECTION_OBSERVABLES} per detection); see the table.`];
}

/** The key of every pair in lower case, index for index: keys compare case-insensitively. */
function lowerKeys(pairs: readonly KvPair[]): string[] {
  return pairs.map((pair) => pair.key.toLowerCase());
}

/**
 * The first non-null value of any of `wanted` (lower case), in line order. `keys` are the
 * pairs' keys lower-cased ({@link lowerKeys}), so keys compare case-insensitively.
 */
function firstValue(pairs: readonly KvPair[], keys: readonly string[], wanted: readonly string[]): string | null {
  for (let i = 0; i < pairs.length; i++) {
    const value = (pairs[i] as KvPair).value;
    if (value !== null && wanted.includes(keys[i] as string)) return value;
  }
  return null;
}

/** `type`/`source` within TheHive's limit; an empty configured value falls back to the default. */
function identifier(value: string, fallback: string, max: number): string {
  return cut(value.trim(), max) || fallback;
}
