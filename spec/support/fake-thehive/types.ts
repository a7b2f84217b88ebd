/**
 * Public shapes of the TheHive stand-in (spec/support/fake-thehive.ts).
 *
 * Output shapes follow TheHive 5's OpenAPI `OutputAlert` / `OutputObservable`, keys in the
 * OpenAPI property order (thehive-api.md §4.1).
 */
import type { TlsOptions } from 'node:tls';

/** Options of {@link FakeTheHive}. */
export interface FakeTheHiveOptions {
  /**
   * The one API key accepted as `Authorization: Bearer <key>`.
   * @default 'test-key'
   */
  readonly apiKey?: string;
  /**
   * Name of the organisation every alert lands in; any other `X-Organisation` is refused.
   * @default 'tracehive-test'
   */
  readonly organisation?: string;
  /**
   * 5.x mode (5.2.16 and later): a JSON POST without `Content-Type: application/json` gets 400.
   * When false (4.x, or 5.x with `ignoreCSRFProtection`), a non-JSON body is ignored as on 4.x.
   * @default true
   */
  readonly strictContentType?: boolean;
  /**
   * Port to listen on (127.0.0.1 only); 0 picks a free port, kept across down()/up().
   * @default 0
   */
  readonly port?: number;
  /**
   * Largest request body accepted; a larger one gets 413 (5.x `maxMemoryBuffer` default 10M).
   * @default 10485760 (256000 when `version` is 4)
   */
  readonly maxBodyBytes?: number;
  /**
   * The TheHive major version played. 4 answers with 4.1's default body limit (256 kB, §5) and
   * lenient JSON content types; the alert API is the same v0 route either way.
   * @default 5
   */
  readonly version?: 4 | 5;
  /**
   * The release `GET /api/status` names in `versions.TheHive`, e.g. `5.1.2-1`. Playing 5.0 or 5.1, the
   * v1 routes take TLP 0–3 only (RED is 3 there; AMBER+STRICT 3 and RED 4 came in 5.2, thehive-api
   * §3.1), so a TLP 4 is refused with 400 AttributeCheckingError as any value out of range [infer].
   * @default '5.5.13-1' ('4.1.24-1' when `version` is 4)
   */
  readonly release?: string;
  /**
   * Custom fields defined on the stand-in, by name → type; a create naming another one is a 404
   * `NotFoundError` "CustomField <name> not found", as TheHive answers (thehive-api §3.2).
   * @default {} (none)
   */
  readonly customFields?: Readonly<Record<string, 'string' | 'integer' | 'float' | 'boolean' | 'date' | 'url'>>;
  /**
   * Case templates that exist. On v1 another name is a 404 `NotFoundError` "CaseTemplate <name> not
   * found" [infer: 5.x looks it up like a custom field]; v0 ignores an unknown one, as 4.x does (§3.2).
   * @default [] (none)
   */
  readonly caseTemplates?: readonly string[];
  /**
   * ATT&CK pattern IDs TheHive's catalogue holds: a v1 procedure naming another is a 404
   * `NotFoundError` "Pattern <id> not found" [infer].
   * @default {@link KNOWN_PATTERNS}
   */
  readonly patterns?: readonly string[];
  /**
   * Further organisations the API user is a member of (besides `organisation`): an `X-Organisation`
   * naming one of them is served there; any other is refused with 403 (§2).
   * @default []
   */
  readonly organisations?: readonly string[];
  /**
   * Serve https with these TLS settings (key, cert; with `requestCert` and `ca`, a TheHive or reverse
   * proxy that wants a client certificate). `url` then starts with https://.
   * @default undefined (plain http)
   */
  readonly tls?: TlsOptions;
}

/** Pattern IDs the stand-in's ATT&CK catalogue holds by default (a sample of the Enterprise matrix). */
export const KNOWN_PATTERNS: readonly string[] = ['T1071', 'T1105', 'T1189', 'T1204', 'T1486', 'T1496', 'T1566', 'T1566.001', 'T1566.002', 'T1568', 'T1595'];

/** A procedure of an alert as the stand-in keeps it (TheHive 5 shows them under the alert's TTPs). */
export interface StoredProcedure {
  readonly patternId: string;
  readonly occurDate: number;
  readonly tactic?: string;
}

/** A failure injected into alert-create requests (`POST /api/v1/alert`, `POST /api/alert`). */
export type Fault =
  /** Answer `status` with `body` (default: TheHive InternalError JSON for 500, an nginx page for 502/503/504). */
  | { readonly kind: 'status'; readonly status: number; readonly body?: unknown }
  /** Wait `ms`, then process and answer normally; the alert is created even if the client gave up meanwhile. */
  | { readonly kind: 'slow'; readonly ms: number }
  /** Read the body, then destroy the socket: nothing is created, the client sees a reset. */
  | { readonly kind: 'reset' }
  /** Process normally (the alert IS created), send the headers and half of the body, then destroy the socket. */
  | { readonly kind: 'reset-mid-body' }
  /** 429 with `Retry-After`, as a reverse proxy sends it (TheHive itself never does, §4.7). Nothing is created. */
  | { readonly kind: 'throttle'; readonly retryAfterSec: number }
  /** Process normally (the alert IS created), then answer `status` instead of 201: the lost 201 of §4.4. */
  | { readonly kind: 'accept-then-fail'; readonly status: number };

/** One request as the stand-in saw it, in arrival order. */
export interface RequestRecord {
  /** Arrival time, epoch ms. */
  readonly at: number;
  readonly method: string;
  /** Path without the query string, still percent-encoded. */
  readonly path: string;
  /** Status answered; 0 while unanswered, or when the socket was destroyed before an answer. */
  status: number;
  /** `sourceRef` of a JSON body, when it has a string one. */
  sourceRef?: string;
  /** Kind of the fault applied to this request, if any. */
  fault?: Fault['kind'];
  /** The request's `Content-Type` (what a multipart upload is told by). */
  contentType?: string;
}

/** TheHive 5 `OutputObservable`. */
export interface OutputObservable {
  _id: string;
  _type: 'Observable';
  _createdBy: string;
  _createdAt: number;
  dataType: string;
  data?: string;
  startDate: number;
  /** 5.x/4.x Attachment: hashes SHA-256, SHA-1, MD5 (TheHive's default `hashAlgorithm`), `id` the SHA-256. */
  attachment?: { name: string; contentType: string; size: number; hashes?: string[]; id?: string };
  tlp: number;
  tlpLabel: string;
  pap: number;
  papLabel: string;
  tags: string[];
  ioc: boolean;
  sighted: boolean;
  sightedAt?: number;
  reports: Record<string, unknown>;
  message?: string;
  extraData: Record<string, unknown>;
  ignoreSimilarity: boolean;
  external: boolean;
}

/** TheHive 5 `OutputAlert`. */
export interface OutputAlert {
  _id: string;
  _type: 'Alert';
  _createdBy: string;
  /** Set once observables were added (a GET shows it, the 201 does not: TheHive4py test note, §4.1). */
  _updatedBy?: string;
  _createdAt: number;
  _updatedAt?: number;
  type: string;
  source: string;
  sourceRef: string;
  externalLink?: string;
  title: string;
  description: string;
  severity: number;
  severityLabel: string;
  date: number;
  tags: string[];
  tlp: number;
  tlpLabel: string;
  pap: number;
  papLabel: string;
  follow: boolean;
  customFields: unknown[];
  observableCount: number;
  /** Set when the alert was imported into a case. */
  caseId?: string;
  status: string;
  stage: string;
  assignee?: string;
  summary?: string;
  extraData: Record<string, unknown>;
  newDate: number;
  timeToDetect: number;
}

/** A created alert: its OutputAlert plus its observables (in creation order). */
export interface StoredAlert extends OutputAlert {
  observables: OutputObservable[];
  /** The organisation it was created in (not part of TheHive's output). */
  organisation: string;
  /** Its procedures (TheHive 5 keeps them apart from the alert's output). */
  procedures: StoredProcedure[];
  caseTemplate?: string;
}

/** A running stand-in TheHive (thehive-api.md §7.2). */
export interface FakeTheHive {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Alerts created so far, in creation order (kept across down()/up()). */
  readonly alerts: readonly StoredAlert[];
  /** Every request, in arrival order. */
  readonly requests: readonly RequestRecord[];
  /** Replace the accepted API key (e.g. to simulate a key rotation). */
  setApiKey(key: string): void;
  /** Queue `f` for the next `times` alert-create requests (default 1); queued faults come before failRate. */
  fault(f: Fault, times?: number): void;
  /** Queue `f` for the next `times` requests of any route (GET, PATCH, observables, query, status…). */
  faultAny(f: Fault, times?: number): void;
  /** The analyst imports the alert into a new case (status and stage `Imported`, `caseId` set); returns the case id. */
  importIntoCase(sourceRef: string): string;
  /** The analyst closes the alert (stage `Closed`; status `FalsePositive` unless given, e.g. `Ignored`). */
  closeAlert(sourceRef: string, status?: string): void;
  /** Sets any status (`InProgress` keeps the alert open; the stage follows the status). */
  setStatus(sourceRef: string, status: string): void;
  /** The analyst deletes the alert: later requests for its id answer 404. */
  deleteAlert(sourceRef: string): void;
  /** The alert with this sourceRef, if any. */
  alert(sourceRef: string): StoredAlert | undefined;
  /** Apply `f` to each alert-create request with probability `rate` (seeded, deterministic); rate 0 turns it off. */
  failRate(rate: number, f: Fault, seed?: number): void;
  /** Stop listening and destroy every open socket (clients see ECONNREFUSED / resets); state is kept. */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): Promise<void>;
  /** Number of alerts per sourceRef: TheHive's dedup means every count must be 1. */
  countBySourceRef(): Map<string, number>;
  /** Alert-create requests per wall-clock second, from the first such request's second to the last's. */
  createRequestsPerSecond(): number[];
  /** Stop for good. */
  close(): Promise<void>;
}
