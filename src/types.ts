/**
 * The shapes every component of tracehive agrees on. Pure data: no I/O here.
 *
 * Flow: a source emits raw lines or mails → `parse/*` turns them into records →
 * `map/alert.ts` turns records into {@link Alert}s → the delivery queue hands them to a {@link Sink}.
 */
import type { ErrorCode } from './errors.js';

/** Result of a pure step that may refuse its input. Pure code never throws. */
export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: ErrorCode; readonly detail: string };

/** One `key=value` pair of a CyberTrace line, in line order. `value` is null for `-` or empty. */
export interface KvPair {
  readonly key: string;
  readonly value: string | null;
}

/** Which output recipe produced the line (cybertrace-format §2). */
export type LineFormat =
  | 'kv' //   `[date] category=… matchedIndicator=… …` (the documented EventFormat family)
  | 'esm' //  `Kaspersky CyberTrace Detection Event| date=… reason=… detected=… … msg:…` (McAfee ESM recipe)
  | 'cef' //  `CEF:0|Kaspersky|…| reason=… … cs5=<indicator> …` (ArcSight recipe)
  | 'kuma' // `Category=…|MatchedIndicator=…|k=v|…` (KUMA lookup/pipe format, §6)
  | 'leef'; // `LEEF:1.0|Kaspersky Lab|…|<category>|k=v<TAB>k=v…` or LEEF:2.0 with its delimiter (QRadar recipe)

/** The syslog header a relay (rsyslog, syslog-ng) put before the CyberTrace line, removed before parsing. */
export type LineFraming = 'rfc3164' | 'rfc5424';

interface RecordBase {
  /**
   * What `sourceRef` hashes: the normalised line (`\r` and trailing whitespace removed) without
   * a syslog header; a KUMA or LEEF line rendered as its plain `key=value` equivalent, a line
   * with glued context fields with the blanks put back. So the same event makes the same alert
   * whichever way it travelled.
   */
  readonly line: string;
  readonly format: LineFormat;
  /** The syslog header that was removed, when the line came through a relay. */
  readonly framing?: LineFraming;
  /** Context fields that were glued to the value before them and split apart (RecordFieldContextFormat without its leading blank). */
  readonly glued?: number;
  /** Text of the event's own timestamp (`Oct 12 16:14:02`, an ISO string…) when the line carries one, else null. */
  readonly dateText: string | null;
  /** Every key/value of the line in order, repeats kept (for CEF: the extension pairs). */
  readonly pairs: readonly KvPair[];
}

/** A threat detection: CyberTrace matched `matchedIndicator` in a feed of `category`. */
export interface DetectionRecord extends RecordBase {
  readonly kind: 'detection';
  /** The first `category` (or `reason` in ESM/CEF) of the line: CyberTrace's own, e.g. `KL_Malicious_URL`. */
  readonly category: string;
  /** The first `matchedIndicator` (`detected` in ESM, `cs5` in CEF), or null when absent/`-`. */
  readonly matchedIndicator: string | null;
}

/** A CyberTrace service alert (`alert=KL_ALERT_…`, or `reason=KL_ALERT_…` in CEF). */
export interface ServiceAlertRecord extends RecordBase {
  readonly kind: 'service';
  /** The alert name, e.g. `KL_ALERT_UpdatedFeed`. Unknown names are accepted. */
  readonly alert: string;
}

/** A `LookupFinished` event: counted and dropped, never an alert. */
export interface FinishedRecord extends RecordBase {
  readonly kind: 'finished';
}

export type CyberTraceRecord = DetectionRecord | ServiceAlertRecord | FinishedRecord;

/** Observable dataTypes built into TheHive 4.1 and 5 (thehive-api §3.5). Never send any other. */
export const BUILTIN_DATATYPES = [
  'url',
  'other',
  'user-agent',
  'regexp',
  'mail-subject',
  'registry',
  'mail',
  'autonomous-system',
  'domain',
  'ip',
  'uri_path',
  'filename',
  'hash',
  'file',
  'fqdn',
  'hostname',
] as const;
export type DataType = (typeof BUILTIN_DATATYPES)[number];

/**
 * A `file` observable's content: kept in the file store (io/file-store.ts) from the mail's
 * acceptance until TheHive has it; the sinks send the bytes (multipart), never this record.
 */
export interface FileRef {
  name: string;
  /** The type the magic bytes show, else the declared one. */
  contentType: string;
  size: number;
  sha256: string;
  /** The reference the mail holds on the content in the store (its own digest). */
  ref: string;
}

/**
 * One observable in TheHive 5 `InputCreateObservable` shape. A `file` observable holds its
 * content's SHA-256 in `data` (what tells two files apart) and the content in `attachment`.
 */
export interface Observable {
  dataType: DataType;
  data: string;
  attachment?: FileRef;
  ioc?: boolean;
  tags?: string[];
  message?: string;
  /** Set from a mail's TLP/PAP marking (markings.ts); TheHive's default (AMBER) otherwise. */
  tlp?: number;
  pap?: number;
}

/** TheHive 1–4: LOW, MEDIUM, HIGH, CRITICAL. */
export type Severity = 1 | 2 | 3 | 4;

/** One ATT&CK procedure of an alert (TheHive 5 `procedures`); TheHive 4 has none: the v0 sink makes it an `attack:<id>` tag. */
export interface Procedure {
  patternId: string;
  /** Epoch ms: the event's date. */
  occurDate: number;
  tactic?: string;
}

/**
 * What tracehive keeps about how `alert.rules` shaped an alert (rules/apply.ts). Internal: the
 * sinks never send it; the TheHive sink reads `organisation` into the `X-Organisation` header,
 * and a refusal is traced back to the rule that set what TheHive refused.
 */
export interface AlertMeta {
  /** The rules that matched, in order: `alert.rules[0] (tenant-a)`. */
  rules: string[];
  /** Which rule set each value TheHive may refuse: `organisation`, `caseTemplate`, `customFields.<name>`, `procedures`. */
  setBy: { field: string; rule: string }[];
  /** The TheHive organisation a rule chose (sent as `X-Organisation`). */
  organisation?: string;
  /** The `thehive.targets` name the alert goes to (a rule's `set.target`, a mailbox's `target`); none: `thehive.url`. */
  target?: string;
  /** Values a rule could not convert (left out of the alert), each with its reason: counted and logged. */
  dropped?: string[];
}

/** An alert in TheHive 5 `InputCreateAlert` shape; the v0 sink renames `observables` → `artifacts`. */
export interface Alert {
  type: string;
  source: string;
  sourceRef: string;
  title: string;
  description: string;
  severity: Severity;
  /** Epoch milliseconds. */
  date: number;
  tags: string[];
  tlp: number;
  pap: number;
  /** Set by `alert.rules` only: the built-in mapping leaves them out. */
  externalLink?: string;
  assignee?: string;
  caseTemplate?: string;
  customFields?: Record<string, string | number | boolean>;
  procedures?: Procedure[];
  observables: Observable[];
  /** Internal, never sent (see {@link AlertMeta}); absent when no rule matched. */
  meta?: AlertMeta;
}

/** One severity rule; rules are tried in order and the first whose `match` fits the category wins. */
export interface SeverityRule {
  /** Glob on the category (`*` = any run of characters), case-insensitive, e.g. `*APT*`. */
  readonly match: string;
  readonly severity: Severity;
  /** When set, a numeric field of the record (e.g. `threat_score`) refines the severity by `steps`. */
  readonly scoreField?: string;
  /** Highest `min` not above the score wins; below every step `severity` applies. */
  readonly steps?: readonly { readonly min: number; readonly severity: Severity }[];
}

/** How alerts are built: the `alert.*` config keys. */
export interface AlertPolicy {
  readonly type: string;
  readonly serviceType: string;
  readonly source: string;
  readonly tags: readonly string[];
  readonly tlp: number;
  readonly pap: number;
  readonly severity: readonly SeverityRule[];
  readonly defaultSeverity: Severity;
  /** `log`: service alerts are only logged and counted; `alert`: they also become alerts. */
  readonly serviceAlerts: 'log' | 'alert';
  /** `alert.rules` (map/rules/): layered over the built-in mapping, in order. Absent or empty: none. */
  readonly rules?: readonly unknown[];
  /** `alert.procedures`: add the default ATT&CK procedure of each detection's category. */
  readonly procedures?: boolean;
  /** `alert.ruleFields`: a feed's own field names rules may use besides the known ones. */
  readonly ruleFields?: readonly string[];
  /**
   * DNS suffixes of internal names besides the built-in ones (`.local`, `.corp`, `.lan`,
   * `.internal`, names under no public suffix): names under them are `hostname` observables
   * tagged `internal`, never `domain`. @default []
   */
  readonly internalSuffixes?: readonly string[];
}

/** What a sink says about one delivery attempt (style.md: components classify, the runtime retries). */
export type Outcome =
  | { readonly kind: 'delivered'; readonly duplicate?: boolean }
  | {
      readonly kind: 'retry';
      readonly reason: string;
      /** Server-requested wait (Retry-After), in ms. */
      readonly afterMs?: number;
      /** True when the cause is our configuration (401/403): retry slowly and report not-ready. */
      readonly auth?: boolean;
      /**
       * 403: the key works but lacks a permission (an organisation, manageAlert/update…). Unlike a
       * 401 it counts toward `queue.maxAttempts`: retried, then dead-lettered when that is set.
       */
      readonly forbidden?: boolean;
    }
  | {
      readonly kind: 'drop';
      readonly reason: string;
      readonly status?: number;
      readonly body?: string;
      /** TheHive refused a value this rule set (`alert.rules[1] (name)`): a configuration problem, ERR_RULE_REFUSED. */
      readonly rule?: string;
    };

/**
 * An alert as the delivery queue holds it: serialised once, when it is queued, in its sink's wire
 * format. One flat string costs the garbage collector next to nothing while it waits, where the
 * alert's object graph (about 60 objects, 5 KB) dominated GC time under load.
 */
export interface QueuedAlert {
  readonly sourceRef: string;
  /** The sink's encoding of the alert ({@link Sink.encode}): what `send` delivers, byte for byte. */
  readonly body: string;
  /** How `alert.rules` shaped it (never in `body`): the organisation to send it to, the rules to name on a refusal. */
  readonly meta?: AlertMeta;
}

/** Where alerts go: TheHive or the NDJSON file. */
export interface Sink {
  readonly name: string;
  /**
   * Alerts one `send` may take: 1 for TheHive (one request per alert); more for a sink that writes
   * many alerts in one operation (the file sink: one append per batch).
   */
  readonly maxBatch: number;
  /** The alert in this sink's wire format (TheHive 4 wants `artifacts`); called once, when it is queued. */
  encode(alert: Alert): string;
  /**
   * True when `encode(alert)` is `JSON.stringify(wireAlert(alert))` (the v1 body): then lines may be
   * mapped and encoded at accept, on the map worker (issue 15), and handed to the queue as is.
   */
  readonly wire?: boolean;
  /** The alert back from `encode`'s output, in {@link Alert} shape: dead letters keep the alert as an object. */
  decode(body: string): Alert;
  /** Delivers 1 to `maxBatch` alerts; the outcome holds for each of them. */
  send(batch: readonly QueuedAlert[], signal: AbortSignal): Promise<Outcome>;
  /** The requests of the alert lifecycle (lifecycle/types.ts), when this sink can update alerts. */
  readonly ops?: import('./lifecycle/types.js').AlertOps;
  close(): Promise<void>;
}
