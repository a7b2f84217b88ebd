/**
 * How tracehive reads TheHive's answers (thehive-api.md §4.2, §4.5, §7.1): the error envelope, the
 * statuses every request treats alike (auth, redirects, retriable ones), Retry-After, and failures
 * without an answer. Pure; every text that leaves here can be scrubbed of the API key.
 */
import type { AxiosResponse } from 'axios';
import type { Outcome } from '../types.js';
import { parseRetryAfter } from '../net/retry-after.js';

export { parseRetryAfter };

/** Answer bodies kept in drop outcomes (and so in the dead-letter log) are cut at 64 KiB. */
export const MAX_OUTCOME_BODY_BYTES = 64 * 1024;
/** Bigger answers are refused: a 201 echoes the alert (≤ a few MiB); anything larger is not TheHive. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** TheHive's `message` is quoted in reasons up to this many characters. */
const MAX_MESSAGE_CHARS = 300;

const KEY_HINT = 'check THEHIVE_API_KEY (thehive.apiKey) and that its user is not locked';
const PERMISSION_HINT =
  'check THEHIVE_ORG (thehive.organisation) names an organisation of the API user and that its profile grants manageAlert/create, manageAlert/update and manageObservable';

/**
 * TheHive's answer to a create of an alert it has already (same type, source and sourceRef in the
 * organisation, thehive-api §4.4): 409, or 400 `CreateError` "… already exist …".
 */
export function isAlreadyExists(status: number, error: TheHiveError): boolean {
  return status === 409 || (status === 400 && error.type === 'CreateError' && /already exist/i.test(error.message));
}

/** The reason of a 413: the request's size, and who may have refused it. */
export function tooLargeReason(status: number, error: TheHiveError, requestBytes: number): string {
  return `${httpReason(status, error)}: the request of ${requestBytes} bytes is over the server's (or a proxy's) body limit`;
}

/** Statuses every request treats alike: auth, redirects and the retriable ones. */
export function commonOutcome(res: AxiosResponse, error: TheHiveError): Outcome | null {
  const { status } = res;
  if (status === 401) return { kind: 'retry', auth: true, reason: `${httpReason(status, error)}: ${KEY_HINT}` };
  if (status === 403) return { kind: 'retry', auth: true, forbidden: true, reason: `${httpReason(status, error)}: ${PERMISSION_HINT}` };
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

export interface TheHiveError {
  readonly type: string;
  readonly message: string;
}

/** TheHive's error envelope `{type, message}`; empty strings when the body is something else. */
export function parseError(text: string): TheHiveError {
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
export function httpReason(status: number, error: TheHiveError): string {
  const detail = [error.type, error.message.slice(0, MAX_MESSAGE_CHARS)].filter(Boolean).join(': ');
  return detail ? `HTTP ${status} ${detail}` : `HTTP ${status}`;
}

export function header(res: AxiosResponse, name: string): string | undefined {
  const value: unknown = res.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Cuts a body at {@link MAX_OUTCOME_BODY_BYTES} (UTF-8), saying how much was left out. */
export function truncate(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= MAX_OUTCOME_BODY_BYTES) return text;
  return `${bytes.subarray(0, MAX_OUTCOME_BODY_BYTES).toString('utf8')}…[${bytes.length - MAX_OUTCOME_BODY_BYTES} more bytes cut]`;
}

/** A failure without an HTTP answer: connection, DNS, TLS, oversized answer. Never echoes the config. */
export function networkOutcome(err: unknown): Extract<Outcome, { readonly kind: 'retry' }> {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (/maxContentLength/.test(message)) return { kind: 'retry', reason: `answer larger than ${MAX_RESPONSE_BYTES} bytes` };
  const what = !message || message === code ? code || 'network error' : code ? `${code} (${message})` : message;
  // An alert TheHive (or the gateway in front of it) sent about our certificate: none, or one it does not trust.
  if (/^ERR_SSL_.*_ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|ACCESS_DENIED)$/.test(code)) {
    return { kind: 'retry', auth: true, reason: `TLS ${code}: TheHive (or its gateway) wants a client certificate it trusts; check THEHIVE_CLIENT_CERT_FILE and THEHIVE_CLIENT_KEY_FILE (thehive.clientCertFile, thehive.clientKeyFile)` };
  }
  if (/^(CERT_|UNABLE_TO_|ERR_TLS_|ERR_SSL_)|SELF_SIGNED/.test(code)) {
    return { kind: 'retry', auth: true, reason: `TLS ${what}: check THEHIVE_CA_FILE (thehive.caFile) or THEHIVE_TLS_VERIFY` };
  }
  return { kind: 'retry', reason: what };
}

/** Removes the API key from every text of an outcome, whatever produced it (a proxy may echo headers). */
export function scrub<R extends { readonly kind: string }>(outcome: R, redact: (text: string) => string): R {
  if (outcome.kind !== 'retry' && outcome.kind !== 'drop') return outcome;
  const o = outcome as unknown as Exclude<Outcome, { kind: 'delivered' }>;
  if (o.kind === 'drop' && o.body !== undefined) return { ...o, reason: redact(o.reason), body: redact(o.body) } as unknown as R;
  return { ...o, reason: redact(o.reason) } as unknown as R;
}
