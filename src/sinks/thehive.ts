/**
 * The TheHive sink: builds one alert-creation request and classifies the answer into an {@link Outcome}
 * (contract §6, thehive-api §7.1). It never retries, sleeps or logs: the delivery queue does that.
 *
 * The API key is only ever put in the `Authorization` header. Axios errors carry their config (headers
 * included), so they are never passed on: every reason is built here and scrubbed of the key.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import axios, { type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { nodeHttpAdapter } from './http-adapter.js';
import { encodeV0, fromV0, type V0Alert } from './thehive-v0.js';
import type { Alert, Outcome, QueuedAlert, Sink } from '../types.js';

/** What the sink needs from the `thehive.*` config keys. */
export interface TheHiveSinkOptions {
  /** Base URL, e.g. `https://thehive.example:9000` (`thehive.url`); a trailing `/` is ignored. */
  readonly url: string;
  /** `thehive.apiKey`, sent as `Authorization: Bearer <key>`. Never logged nor echoed in outcomes. */
  readonly apiKey: string;
  /** `thehive.organisation`, sent as `X-Organisation` when not empty. */
  readonly organisation: string;
  /** `v1`: TheHive 5 `POST /api/v1/alert` + `observables`; `v0`: TheHive 4 `POST /api/alert` + `artifacts`. */
  readonly api: 'v1' | 'v0';
  /** `thehive.tlsVerify`: false accepts any certificate. */
  readonly tlsVerify: boolean;
  /** PEM text of `thehive.caFile` (read by the caller), trusted in addition to Node's root CAs. */
  readonly ca?: string;
  /** `thehive.timeoutMs`: a hard deadline for the whole exchange (connect, send, answer). */
  readonly timeoutMs: number;
}

/** A sink that can also check the key and organisation without creating anything. */
export interface TheHiveSink extends Sink {
  /** `GET /api/v1/user/current` (v1) or `/api/user/current` (v0): delivered = the key works. */
  checkAuth(signal: AbortSignal): Promise<Outcome>;
}

/** Answer bodies kept in drop outcomes (and so in the dead-letter log) are cut at 64 KiB. */
export const MAX_OUTCOME_BODY_BYTES = 64 * 1024;
/** Bigger answers are refused: a 201 echoes the alert (≤ a few MiB); anything larger is not TheHive. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** TheHive's `message` is quoted in reasons up to this many characters. */
const MAX_MESSAGE_CHARS = 300;

const KEY_HINT = 'check THEHIVE_API_KEY (thehive.apiKey) and that its user is not locked';
const PERMISSION_HINT =
  'check THEHIVE_ORG (thehive.organisation) names an organisation of the API user and that its profile grants manageAlert/create';

/** Creates the TheHive sink. One keep-alive agent pair serves every request until `close()`. */
export function createTheHiveSink(opts: TheHiveSinkOptions): TheHiveSink {
  const base = opts.url.replace(/\/+$/, '');
  const prefix = opts.api === 'v1' ? '/api/v1' : '/api';
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({
    keepAlive: true,
    rejectUnauthorized: opts.tlsVerify,
    ...(opts.ca ? { ca: [...rootCertificates, opts.ca] } : {}),
  });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json',
    Authorization: `Bearer ${opts.apiKey}`,
    // Some proxies and WAFs in front of TheHive refuse requests without one.
    'User-Agent': 'tracehive',
  };
  if (opts.organisation) headers['X-Organisation'] = opts.organisation;
  const client = axios.create({
    baseURL: base,
    headers,
    httpAgent,
    httpsAgent,
    adapter: nodeHttpAdapter, // axios' own http adapter cost 3.6× a bare request (http-adapter.ts)
    validateStatus: () => true, // every status is classified below, none throws
    maxRedirects: 0, // a redirect is a wrong thehive.url; following it could replay the key elsewhere
    proxy: false, // no silent HTTP(S)_PROXY detour: TheHive is reached directly
    responseType: 'text',
    transformResponse: [(data: unknown) => data], // keep the raw text: it goes to the dead-letter log
    // Bodies are JSON already (encode()): axios would otherwise JSON.parse each one again to check it.
    transformRequest: [(data: unknown) => data],
    maxContentLength: MAX_RESPONSE_BYTES,
  });
  const redact = (text: string): string => (opts.apiKey ? text.split(opts.apiKey).join('[REDACTED]') : text);

  /** Sends one request under the deadline and turns whatever happens into a scrubbed Outcome. */
  async function exchange(config: AxiosRequestConfig, signal: AbortSignal, classify: (res: AxiosResponse) => Outcome): Promise<Outcome> {
    if (signal.aborted) return { kind: 'retry', reason: 'aborted before sending' };
    // One controller for both the caller's signal and the deadline. Not AbortSignal.any: on Node 20
    // each call leaves an entry on the caller's signal, the queue's, which lives as long as the
    // process: one per request, never freed (nodejs/node#55351). This listener is removed below.
    const request = new AbortController();
    const abort = (): void => request.abort();
    const timer = setTimeout(abort, opts.timeoutMs);
    signal.addEventListener('abort', abort, { once: true });
    let outcome: Outcome;
    try {
      const res = await client.request({ ...config, signal: request.signal });
      outcome = classify(res);
    } catch (err) {
      if (signal.aborted) outcome = { kind: 'retry', reason: 'aborted' };
      else if (request.signal.aborted) outcome = { kind: 'retry', reason: `timeout after ${opts.timeoutMs} ms` };
      else outcome = networkOutcome(err);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
    }
    return scrub(outcome, redact);
  }

  return {
    name: 'thehive',
    maxBatch: 1, // one request per alert
    // v0: TheHive 4 refuses bodies over 256 kB, so encodeV0 shortens a bigger alert (thehive-v0.ts).
    encode: (alert: Alert): string => (opts.api === 'v1' ? JSON.stringify(alert) : encodeV0(alert)),
    decode: (body: string): Alert => (opts.api === 'v1' ? (JSON.parse(body) as Alert) : fromV0(JSON.parse(body) as V0Alert)),
    send(batch: readonly QueuedAlert[], signal: AbortSignal): Promise<Outcome> {
      const [queued] = batch;
      if (queued === undefined || batch.length > 1) throw new TypeError(`Expected \`batch\` to hold 1 alert, got ${batch.length}.`);
      const { body } = queued;
      const config = { method: 'POST', url: `${prefix}/alert`, data: body } as const;
      return exchange(config, signal, (res) => classifyCreate(res, Buffer.byteLength(body)));
    },
    checkAuth(signal: AbortSignal): Promise<Outcome> {
      return exchange({ method: 'GET', url: `${prefix}/user/current` }, signal, classifyCheck);
    },
    async close(): Promise<void> {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** Answer to `POST …/alert`. */
function classifyCreate(res: AxiosResponse, requestBytes: number): Outcome {
  const { status } = res;
  // TheHive's 201 echoes the whole alert: it is not read, only an error envelope is.
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const text = typeof res.data === 'string' ? res.data : '';
  const error = parseError(text);
  // The alert exists already (same type/source/sourceRef): our sourceRef is deterministic, so it is ours.
  if (status === 409 || (status === 400 && error.type === 'CreateError' && /already exist/i.test(error.message))) {
    return { kind: 'delivered', duplicate: true };
  }
  const common = commonOutcome(res, error);
  if (common) return common;
  const reason =
    status === 413
      ? `${httpReason(status, error)}: the request of ${requestBytes} bytes is over the server's (or a proxy's) body limit`
      : httpReason(status, error);
  if (status >= 400 && status < 500) return { kind: 'drop', reason, status, body: truncate(text) };
  return { kind: 'retry', reason };
}

/** Answer to `GET …/user/current`. */
function classifyCheck(res: AxiosResponse): Outcome {
  if (res.status >= 200 && res.status < 300) return { kind: 'delivered' };
  const error = parseError(typeof res.data === 'string' ? res.data : '');
  return commonOutcome(res, error) ?? { kind: 'retry', reason: httpReason(res.status, error) };
}

/** Statuses both requests treat alike: auth, redirects and the retriable ones. */
function commonOutcome(res: AxiosResponse, error: TheHiveError): Outcome | null {
  const { status } = res;
  if (status === 401) return { kind: 'retry', auth: true, reason: `${httpReason(status, error)}: ${KEY_HINT}` };
  if (status === 403) return { kind: 'retry', auth: true, reason: `${httpReason(status, error)}: ${PERMISSION_HINT}` };
  if (status >= 300 && status < 400) {
    const to = header(res, 'location');
    return { kind: 'retry', auth: true, reason: `HTTP ${status} redirect${to ? ` to ${to}` : ''}: set THEHIVE_URL (thehive.url) to the final address` };
  }
  if (status === 408 || status === 429 || status >= 500) {
    const afterMs = parseRetryAfter(header(res, 'retry-after'), Date.now());
    return afterMs === undefined ? { kind: 'retry', reason: httpReason(status, error) } : { kind: 'retry', reason: httpReason(status, error), afterMs };
  }
  return null;
}

interface TheHiveError {
  readonly type: string;
  readonly message: string;
}

/** TheHive's error envelope `{type, message}`; empty strings when the body is something else. */
function parseError(text: string): TheHiveError {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object') {
      const { type, message } = value as Record<string, unknown>;
      return { type: typeof type === 'string' ? type : '', message: typeof message === 'string' ? message : '' };
    }
  } catch {
    // not JSON (a proxy's HTML page…): no envelope
  }
  return { type: '', message: '' };
}

/** `HTTP 404 NotFoundError: ObservableType x not found`, or just `HTTP 503`. */
function httpReason(status: number, error: TheHiveError): string {
  const detail = [error.type, error.message.slice(0, MAX_MESSAGE_CHARS)].filter(Boolean).join(': ');
  return detail ? `HTTP ${status} ${detail}` : `HTTP ${status}`;
}

function header(res: AxiosResponse, name: string): string | undefined {
  const value: unknown = res.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `nowMs`; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // HTTP-dates start with a day name (IMF-fixdate, RFC 850, asctime); Date.parse alone reads `-5` as a year.
  const at = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Cuts a body at {@link MAX_OUTCOME_BODY_BYTES} (UTF-8), saying how much was left out. */
function truncate(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= MAX_OUTCOME_BODY_BYTES) return text;
  return `${bytes.subarray(0, MAX_OUTCOME_BODY_BYTES).toString('utf8')}…[${bytes.length - MAX_OUTCOME_BODY_BYTES} more bytes cut]`;
}

/** A failure without an HTTP answer: connection, DNS, TLS, oversized answer. Never echoes the config. */
function networkOutcome(err: unknown): Outcome {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (/maxContentLength/.test(message)) return { kind: 'retry', reason: `answer larger than ${MAX_RESPONSE_BYTES} bytes` };
  const what = !message || message === code ? code || 'network error' : code ? `${code} (${message})` : message;
  if (/^(CERT_|UNABLE_TO_|ERR_TLS_|ERR_SSL_)|SELF_SIGNED/.test(code)) {
    return { kind: 'retry', auth: true, reason: `TLS ${what}: check THEHIVE_CA_FILE (thehive.caFile) or THEHIVE_TLS_VERIFY` };
  }
  return { kind: 'retry', reason: what };
}

/** Removes the API key from every text of an outcome, whatever produced it (a proxy may echo headers). */
function scrub(outcome: Outcome, redact: (text: string) => string): Outcome {
  switch (outcome.kind) {
    case 'delivered':
      return outcome;
    case 'retry':
      return { ...outcome, reason: redact(outcome.reason) };
    case 'drop':
      return outcome.body === undefined ? { ...outcome, reason: redact(outcome.reason) } : { ...outcome, reason: redact(outcome.reason), body: redact(outcome.body) };
  }
}
