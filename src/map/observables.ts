/**
 * The one observable builder of tracehive (detections now, mails later), and the typing of
 * indicator values. TheHive refuses a whole alert over one unknown dataType or one value over
 * 4096 chars (thehive-api §3.5, §5), so everything that could cause that is filtered here.
 */
import { BUILTIN_DATATYPES, type DataType, type Observable } from '../types.js';
import { oneLine, percentEncodeControls } from './controls.js';
import { isInternalName } from './indicator-syntax.js';
import { OBSERVABLE_DATA_MAX, cleanTags } from './limits.js';

const BUILTIN: ReadonlySet<string> = new Set(BUILTIN_DATATYPES);

/** Options of {@link ObservableSet.add}. */
export interface AddOptions {
  /** Marks an indicator of compromise; OR-ed when the same observable is added again. @default false */
  readonly ioc?: boolean;
  /** Merged (union, first-seen order) when the same observable is added again. */
  readonly tags?: readonly string[];
  /** Kept from the first add that gives one. */
  readonly message?: string;
}

/** Options of an {@link ObservableSet}. */
export interface ObservableSetOptions {
  /** Distinct observables at most; further new values are counted in {@link ObservableSet.leftOut}. @default Infinity */
  readonly max?: number;
}

interface Entry {
  dataType: DataType;
  data: string;
  ioc: boolean;
  tags: string[];
  message?: string;
}

/**
 * Observables of one alert, deduplicated on (dataType, data): TheHive 4.1 silently drops later
 * duplicates with their tags and 4.0 refuses the alert (thehive-api §5), so we merge first.
 */
export class ObservableSet {
  /** Every observable, in first-added order. */
  readonly #entries: Entry[] = [];
  /**
   * The same entries by dataType, then value, once there are more than {@link SCAN_MAX}: the
   * usual detection has a handful, which a scan of {@link #entries} finds sooner than two Map
   * lookups hash a value (and two Maps cost to make, one set an alert; issue 15). Two lookups
   * rather than one on a `type + value` key: building and hashing that string cost more.
   */
  #byType: Map<DataType, Map<string, Entry>> | undefined;
  #oversized = 0;
  readonly #max: number;
  /** Values refused at the cap, by dataType then value: counted once each, however often they come. */
  #leftOut: Map<DataType, Set<string>> | undefined;
  #leftOutCount = 0;

  constructor(options: ObservableSetOptions = {}) {
    this.#max = options.max ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Adds one value. Control characters made harmless (controls.ts: percent-encoded in a URL,
   * `<U+XXXX>` elsewhere), then trimmed; hashes lower-cased (`MD5=C91…` and `md5=c91…` are one
   * observable). Ignored: non-built-in dataTypes, null, empty and `-` values. Values over
   * 4096 chars are dropped and counted in {@link oversized}; new values past the `max` of the
   * set in {@link leftOut} (the first ones added are kept). Tags are cleaned by cleanTags.
   */
  add(dataType: DataType, data: string | null | undefined, opts: AddOptions = {}): void {
    if (!BUILTIN.has(dataType) || data === null || data === undefined) return;
    let value = (dataType === 'url' ? percentEncodeControls(data) : oneLine(data)).trim();
    if (value === '' || value === '-') return;
    if (value.length > OBSERVABLE_DATA_MAX) {
      this.#oversized += 1;
      return;
    }
    if (dataType === 'hash') value = value.toLowerCase();
    const tags = opts.tags ?? [];
    const known = this.#find(dataType, value);
    if (known === undefined && this.#entries.length >= this.#max) {
      this.#refuse(dataType, value);
      return;
    }
    if (known === undefined) {
      // Most values come without tags: no need to clean an empty list.
      const entry: Entry = { dataType, data: value, ioc: opts.ioc === true, tags: tags.length === 0 ? [] : cleanTags(tags) };
      if (opts.message !== undefined && opts.message !== '') entry.message = opts.message;
      this.#entries.push(entry);
      if (this.#byType !== undefined) indexEntry(this.#byType, entry);
      else if (this.#entries.length > SCAN_MAX) this.#byType = indexOf(this.#entries);
      return;
    }
    known.ioc ||= opts.ioc === true;
    known.tags = cleanTags([...known.tags, ...tags]);
    if (known.message === undefined && opts.message !== undefined && opts.message !== '') known.message = opts.message;
  }

  /** The entry of (dataType, value), if any: a scan while there are few, else the index. */
  #find(dataType: DataType, value: string): Entry | undefined {
    if (this.#byType !== undefined) return this.#byType.get(dataType)?.get(value);
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      if (e.data === value && e.dataType === dataType) return e;
    }
    return undefined;
  }

  #refuse(dataType: DataType, value: string): void {
    this.#leftOut ??= new Map();
    let seen = this.#leftOut.get(dataType);
    if (seen === undefined) {
      seen = new Set();
      this.#leftOut.set(dataType, seen);
    }
    if (seen.has(value)) return;
    seen.add(value);
    this.#leftOutCount += 1;
  }

  /** How many distinct values were not added because the set was at its `max` (the description says so). */
  get leftOut(): number {
    return this.#leftOutCount;
  }

  /** How many values were dropped for being longer than 4096 chars (the description says so). */
  get oversized(): number {
    return this.#oversized;
  }

  /** How many distinct observables the set holds. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * The observables in first-added order, the set's own objects handed over (`ioc` and `tags`
   * always set, fields in {@link toArray}'s order): for a caller done with the set, which must
   * not add to it afterwards. The per-alert copy of every observable is saved.
   */
  take(): Observable[] {
    return this.#entries;
  }

  /** The observables in first-added order, as fresh objects (`ioc` and `tags` always set). */
  toArray(): Observable[] {
    return this.#entries.map((e) => {
      const o: Observable = { dataType: e.dataType, data: e.data, ioc: e.ioc, tags: [...e.tags] };
      if (e.message !== undefined) o.message = e.message;
      return o;
    });
  }
}

/** Entries an {@link ObservableSet} finds by scanning; past this many it indexes them by dataType and value. */
const SCAN_MAX = 16;

/** The entries by dataType, then value. */
function indexOf(entries: readonly Entry[]): Map<DataType, Map<string, Entry>> {
  const byType = new Map<DataType, Map<string, Entry>>();
  for (const entry of entries) indexEntry(byType, entry);
  return byType;
}

function indexEntry(byType: Map<DataType, Map<string, Entry>>, entry: Entry): void {
  let sameType = byType.get(entry.dataType);
  if (sameType === undefined) {
    sameType = new Map();
    byType.set(entry.dataType, sameType);
  }
  sameType.set(entry.data, entry);
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
// Letters of any script, digits, `-` and `_` (seen in real DNS names despite RFC 952).
const LABEL = /^[\p{L}\p{N}_](?:[\p{L}\p{N}_-]{0,61}[\p{L}\p{N}_])?$/u;

/**
 * True for an MD5, SHA-1 or SHA-256 in hex (32, 40 or 64 hex digits), any case. By char codes,
 * after a length check that rules out most values at once: the regex it replaces,
 * `/^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i`, cost twice as much, on every hash field and
 * indicator (issue 15).
 */
export function isHexHash(value: string): boolean {
  const n = value.length;
  if (n !== 32 && n !== 40 && n !== 64) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) continue;
    const letter = c | 0x20; // A-F as a-f: no other code lands in a-f
    if (letter < 0x61 || letter > 0x66) return false;
  }
  return true;
}

/** True for a dotted-quad IPv4 address or an IPv6 address (optionally with a `%zone`). */
export function isIp(value: string): boolean {
  return IPV4.test(value) || isIpv6(value);
}

function isIpv6(value: string): boolean {
  // Cheap early answer for the common host name or IPv4 (the zone cut below cannot add a colon).
  if (!value.includes(':')) return false;
  const addr = value.replace(/%[\w.-]+$/, '');
  if (!/^[0-9a-f:.]+$/i.test(addr) || !addr.includes(':')) return false;
  let groups = addr.split(':');
  const last = groups[groups.length - 1] ?? '';
  let width = 8;
  if (last.includes('.')) {
    // An embedded IPv4 tail (`::ffff:192.0.2.1`) stands for two groups.
    if (!IPV4.test(last)) return false;
    groups = groups.slice(0, -1).concat('0');
    width = 7;
  }
  const doubleColon = addr.indexOf('::');
  if (doubleColon !== addr.lastIndexOf('::')) return false;
  if (doubleColon < 0) return groups.length === width && groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g));
  const filled = groups.filter((g) => g !== '');
  return filled.length < width && filled.every((g) => /^[0-9a-f]{1,4}$/i.test(g));
}

/** Number of labels when `value` is a DNS name with a non-numeric last label, else 0. */
function hostLabels(value: string): number {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253) return 0;
  const labels = name.split('.');
  if (!labels.every(isDnsLabel)) return 0;
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return 0;
  return labels.length;
}

/**
 * {@link LABEL}, with an ASCII label (nearly every one) checked by char codes: the Unicode
 * property classes make the regex the slower test, and it runs on each label of each host.
 */
export function isDnsLabel(label: string): boolean {
  const n = label.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = label.charCodeAt(i);
    // The regex counts code points, not UTF-16 units: a label with any non-ASCII goes to it whole.
    if (c >= 0x80) return LABEL.test(label);
    const word = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
    if (!word && (c !== 0x2d || i === 0 || i === n - 1)) return false;
  }
  return n <= 63;
}

/** True when an indicator is a feed mask (`host/path/*`, `*.host`) rather than one address. */
export function isMask(value: string): boolean {
  return value.includes('*');
}

/**
 * TheHive dataType of an indicator, from its value alone. The category suffix decides first:
 * `_URL` → `url` when the value has a scheme, `domain` for a bare two-label public name
 * (`fakess123.nu`), `fqdn` for a longer one, `hostname` for an internal name (one label, no
 * public suffix, `.local`/`.corp`/`.lan`/`.internal`, `internalSuffixes`), `ip` for a bare
 * address; `_IP` and `IP_Reputation` → `ip` (an address or a CIDR network); `_Hash_*` → `hash`.
 * A mask (`*`) is `other` whatever the category. A URL without a scheme (`host/path`,
 * `host:port`) is `other`: which scheme it had is a guess, and only the event can tell
 * ({@link isSchemelessUrl}; alert.ts makes it absolute when it can). A value that does not fit
 * its category and any other category fall back to its shape: IPv4/IPv6 → `ip` (CIDR too),
 * 32/40/64 hex → `hash`, scheme → `url`, `/path` → `uri_path`, DNS name of several labels →
 * `domain`, `fqdn` or `hostname` (internal), anything else `other`.
 */
export function classifyIndicator(category: string, value: string, internalSuffixes: readonly string[] = []): DataType {
  const v = value.trim();
  // A feed mask (`host/path/*`, `*.host`) is a pattern, not an address: as a `url` or `domain`
  // observable, analyzers would fetch or resolve the literal `*` (cybertrace-format §4.7).
  if (isMask(v)) return 'other';
  const cat = category.toUpperCase();
  if (cat.endsWith('_URL')) {
    // A single label in a URL feed is a host name (`http://ws-buh-07/`'s host), not a word.
    if (hostLabels(v) === 1) return 'hostname';
    return shapeOf(v, internalSuffixes);
  }
  if ((cat.endsWith('_IP') || cat.includes('IP_REPUTATION')) && (isIp(v) || isCidr(v))) return 'ip';
  if (/_HASH(_|$)/.test(cat) && isHexHash(v)) return 'hash';
  return shapeOf(v, internalSuffixes);
}

/**
 * True for a URL written without its scheme: something host-like (a DNS name or an address,
 * optionally with a port) followed by a path (`e593…fd.com/.i`, `192.0.2.7:8080/x`).
 */
export function isSchemelessUrl(value: string): boolean {
  const v = value.trim();
  if (SCHEME.test(v) || isMask(v)) return false;
  const slash = v.indexOf('/');
  if (slash <= 0) return false;
  const host = v.slice(0, slash).replace(/:\d{1,5}$/, '');
  return hostLabels(host) > 0 || isIp(host);
}

/** `192.0.2.0/24`, `2001:db8::/32`: feeds list networks too, and TheHive's `ip` type takes them. */
export function isCidr(value: string): boolean {
  // Cheap early answer for the common value without a slash, which the regex below would reject.
  if (!value.includes('/')) return false;
  const m = /^(.+)\/(\d{1,3})$/.exec(value);
  if (m === null) return false;
  const prefix = Number(m[2]);
  const addr = m[1] ?? '';
  return IPV4.test(addr) ? prefix <= 32 : isIpv6(addr) && prefix <= 128;
}

function shapeOf(v: string, internalSuffixes: readonly string[]): DataType {
  if (isIp(v) || isCidr(v)) return 'ip';
  if (isHexHash(v)) return 'hash';
  if (SCHEME.test(v)) return 'url';
  if (v.startsWith('/') && !v.startsWith('//') && !/\s/.test(v)) return 'uri_path';
  const labels = hostLabels(v);
  if (labels < 2) return 'other';
  if (isInternalName(v, internalSuffixes)) return 'hostname';
  return labels === 2 ? 'domain' : 'fqdn';
}
