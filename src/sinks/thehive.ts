/**
 * The TheHive sink: builds one alert-creation request and classifies the answer into an {@link Outcome}
 * (contract §6, thehive-api §7.1), and carries the alert lifecycle's requests ({@link AlertOps},
 * thehive-ops.ts) over the same client. It never retries, sleeps or logs: the delivery queue does that.
 *
 * `thehive.api: auto` and `thehive.version: auto` read `GET /api/status` before the first request
 * (thehive-version.ts): TheHive 4 speaks v0, anything else v1; 4, 5.0 and 5.1 take TLP RED as 3.
 * Alerts are queued as 5.2 v1 bodies (v0 when so configured) and converted at send.
 */
import type { AxiosResponse } from 'axios';
import { commonOutcome, httpReason, isAlreadyExists, parseError, tooLargeReason, truncate } from './thehive-answers.js';
import { createTheHiveClient, type ExchangeResult, type Failure } from './thehive-client.js';
import { mayHaveFiles, withoutFiles, type FileSource } from './thehive-files.js';
import { createTheHiveOps } from './thehive-ops.js';
import { encodeV0, fromV0, type V0Alert } from './thehive-v0.js';
import { createDialectResolver, type TheHiveVersion } from './thehive-version.js';
import { legacyAlert } from './tlp-numbering.js';
import { refusedRule, wireAlert } from './rule-refusal.js';
import type { Alert, AlertMeta, Outcome, QueuedAlert, Sink } from '../types.js';

export { MAX_OUTCOME_BODY_BYTES, parseRetryAfter } from './thehive-answers.js';

/** What the sink needs from the `thehive.*` config keys. */
export interface TheHiveSinkOptions {
  /** Base URL, e.g. `https://thehive.example:9000` (`thehive.url`); a trailing `/` is ignored. */
  readonly url: string;
  /** `thehive.apiKey`, sent as `Authorization: Bearer <key>`. Never logged nor echoed in outcomes. */
  readonly apiKey: string;
  /** `thehive.organisation`, sent as `X-Organisation` when not empty. */
  readonly organisation: string;
  /** `v1`: TheHive 5 `/api/v1` + `observables`; `v0`: TheHive 4 `/api/alert` + `artifacts`; `auto`: asked of `GET /api/status`. */
  readonly api: 'auto' | 'v1' | 'v0';
  /**
   * `thehive.version`: how TheHive numbers TLP (5.0/5.1 and 4: RED 3); `auto` reads `GET /api/status`.
   * Omitted: `auto` when `api` is, else 5.2+ numbers without asking.
   */
  readonly version?: TheHiveVersion;
  /** Told once when TheHive's release is unknown and 5.2+ TLP numbers are assumed (the log, in serve). */
  readonly warn?: (message: string) => void;
  /** `thehive.tlsVerify`: false accepts any certificate. */
  readonly tlsVerify: boolean;
  /** PEM text of `thehive.caFile` (read by the caller), trusted in addition to Node's root CAs. */
  readonly ca?: string;
  /** PEM text of `thehive.clientCertFile` / `thehive.clientKeyFile` (read by the caller), for mTLS. */
  readonly clientCert?: string;
  readonly clientKey?: string;
  /** The proxy URL requests go through (`thehive.proxy` resolved for `url`); undefined = directly. */
  readonly proxy?: string;
  /** `thehive.timeoutMs`: a hard deadline for the whole exchange (connect, send, answer). */
  readonly timeoutMs: number;
  /** `queue.concurrency`: kept-alive connections to TheHive at most (requests in flight never exceed it). */
  readonly connections?: number;
  /** `queue.ratePerSec`: requests of any kind started per second at most (0 = unlimited). */
  readonly ratePerSec?: number;
  /** Where mail alerts' `file` observables wait (spool.dir/files); without it they are left out. */
  readonly files?: FileSource;
  /** Told of every exchange with TheHive (the request-duration histogram of /metrics). */
  readonly observe?: (result: ExchangeResult, seconds: number) => void;
}

/** A sink that can also check the key and organisation without creating anything. */
export interface TheHiveSink extends Sink {
  /** `GET /api/v1/user/current` (v1) or `/api/user/current` (v0): delivered = the key works. */
  checkAuth(signal: AbortSignal): Promise<Outcome>;
  /** Requests from now on carry this `thehive.apiKey` (a rotation: the key file read again on SIGHUP). */
  setApiKey(key: string): void;
  /** The API in use: the configured one, or what `auto` found (undefined until it could ask). */
  readonly api: 'v1' | 'v0' | undefined;
}

/** Creates the TheHive sink. One set of keep-alive connections serves every request until `close()`. */
export function createTheHiveSink(opts: TheHiveSinkOptions): TheHiveSink {
  const client = createTheHiveClient(opts);
  // Bodies are encoded as v0 only when configured so; with auto they are v1 until TheHive says it is 4.
  const encodedAs = opts.api === 'v0' ? 'v0' : 'v1';
  // No thehive.version given (the sink's callers before it existed): TheHive 5.2+ numbers, never asked.
  const dialect = createDialectResolver(client, opts.api, opts.version ?? (opts.api === 'auto' ? 'auto' : '5.2'), opts.warn ?? (() => {}));
  const resolveApi = async (signal: AbortSignal): Promise<'v1' | 'v0' | Failure> => {
    const d = await dialect.resolve(signal);
    return 'api' in d ? d.api : d;
  };
  /** A v1 body as this TheHive takes it: in 5.0/5.1 TLP numbers when it is one of them. */
  const forServer = (body: string): string => (dialect.current?.legacyTlp === true ? JSON.stringify(legacyAlert(JSON.parse(body) as Alert)) : body);

  const ops = createTheHiveOps(client, dialect.resolve, opts.files);
  const decode = (body: string): Alert => (encodedAs === 'v1' ? (JSON.parse(body) as Alert) : fromV0(JSON.parse(body) as V0Alert));

  return {
    name: 'thehive',
    maxBatch: 1, // one request per alert
    get api() {
      return dialect.current?.api;
    },
    // v0: TheHive 4 refuses bodies over 256 kB, so encodeV0 shortens a bigger alert (thehive-v0.ts).
    encode: (alert: Alert): string => (encodedAs === 'v1' ? JSON.stringify(wireAlert(alert)) : encodeV0(alert)),
    wire: encodedAs === 'v1',
    decode,
    async send(batch: readonly QueuedAlert[], signal: AbortSignal): Promise<Outcome> {
      const [queued] = batch;
      if (queued === undefined || batch.length > 1) throw new TypeError(`Expected \`batch\` to hold 1 alert, got ${batch.length}.`);
      const a = await resolveApi(signal);
      if (typeof a !== 'string') return a;
      // A mail's files go by multipart (TheHive 5) or one request each after the alert (4): the ops do both.
      if (mayHaveFiles(queued.body)) {
        const alert = decode(queued.body);
        if (opts.files !== undefined) {
          const made = await ops.create(alert, signal);
          return made.kind === 'ok' ? { kind: 'delivered', ...(made.value.duplicate ? { duplicate: true } : {}) } : made;
        }
        const plain = withoutFiles(alert);
        const text = a === 'v1' ? forServer(JSON.stringify(plain)) : encodeV0(plain);
        return client.request({ method: 'POST', url: `${a === 'v1' ? '/api/v1' : '/api'}/alert`, data: text }, signal, (res) => classifyCreate(res, Buffer.byteLength(text)));
      }
      const body = a === 'v0' ? (encodedAs === 'v0' ? queued.body : encodeV0(JSON.parse(queued.body) as Alert)) : forServer(queued.body);
      // A rule's organisation (alert.rules set.organisation) for this alert only; else thehive.organisation.
      const organisation = queued.meta?.organisation;
      const config = { method: 'POST', url: `${a === 'v1' ? '/api/v1' : '/api'}/alert`, data: body, ...(organisation === undefined ? {} : { headers: { 'X-Organisation': organisation } }) } as const;
      return client.request(config, signal, (res) => classifyCreate(res, Buffer.byteLength(body), queued.meta));
    },
    async checkAuth(signal: AbortSignal): Promise<Outcome> {
      const a = await resolveApi(signal);
      if (typeof a !== 'string') return a;
      return client.request({ method: 'GET', url: `${a === 'v1' ? '/api/v1' : '/api'}/user/current` }, signal, classifyCheck);
    },
    ops,
    setApiKey: (key: string) => client.setApiKey(key),
    async close(): Promise<void> {
      client.close();
    },
  };
}

/** Answer to `POST …/alert`. */
function classifyCreate(res: AxiosResponse, requestBytes: number, meta?: AlertMeta): Outcome {
  const { status } = res;
  // TheHive's 201 echoes the whole alert: it is not read, only an error envelope is.
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const text = typeof res.data === 'string' ? res.data : '';
  const error = parseError(text);
  // The alert exists already (same type/source/sourceRef): our sourceRef is deterministic, so it is ours.
  if (isAlreadyExists(status, error)) return { kind: 'delivered', duplicate: true };
  // A value a rule set (a custom field, a case template, an organisation): that rule's configuration, not a retry.
  const refused = refusedRule(meta, status, error);
  if (refused !== null) return { kind: 'drop', reason: refused.reason, status, body: truncate(text), rule: refused.rule };
  const common = commonOutcome(res, error);
  if (common) return common;
  const reason = status === 413 ? tooLargeReason(status, error, requestBytes) : httpReason(status, error);
  if (status >= 400 && status < 500) return { kind: 'drop', reason, status, body: truncate(text) };
  return { kind: 'retry', reason };
}

/** Answer to `GET …/user/current`. */
function classifyCheck(res: AxiosResponse): Outcome {
  if (res.status >= 200 && res.status < 300) return { kind: 'delivered' };
  const error = parseError(typeof res.data === 'string' ? res.data : '');
  return commonOutcome(res, error) ?? { kind: 'retry', reason: httpReason(res.status, error) };
}

