/**
 * The notification webhook: one JSON POST per notification to `notify.webhook.url`, with
 * `Authorization: Bearer <notify.webhook.token>` when set and `Idempotency-Key: <key>` (the same at
 * every attempt, so the receiver can drop a resend after a crash). No redirect is followed (a
 * redirect is a wrong URL, not a reason to send the token elsewhere). 2xx is sent; 408, 429 and
 * 5xx are retried (`Retry-After` honoured); another 4xx is final (ERR_NOTIFY_REJECTED).
 */
import axios from 'axios';
import type { AttemptResult, Channel } from './record.js';
import { parseRetryAfter } from '../net/retry-after.js';
import { renderWebhook, type Notification } from './render.js';

export interface WebhookChannelOptions {
  readonly url: string;
  readonly token: string;
  readonly linkBaseUrl: string;
  /** @default 10000 */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** Answer bodies kept in a reason at most. */
const BODY_CHARS = 200;

export function createWebhookChannel(o: WebhookChannelOptions): Channel {
  const client = axios.create({ timeout: o.timeoutMs ?? 10_000, maxRedirects: 0, proxy: false, validateStatus: () => true, responseType: 'text', transformResponse: [(d: unknown) => d] });
  const target = safeUrl(o.url);
  return {
    name: 'webhook',
    async send(n: Notification, key: string): Promise<AttemptResult> {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': key };
      if (o.token !== '') headers.authorization = `Bearer ${o.token}`;
      let status: number;
      let body: string;
      let retryAfter: string | undefined;
      try {
        const res = await client.post<string>(o.url, JSON.stringify(renderWebhook(n, o.linkBaseUrl, key)), { headers });
        status = res.status;
        body = typeof res.data === 'string' ? res.data.slice(0, BODY_CHARS) : '';
        const ra: unknown = res.headers['retry-after'];
        retryAfter = typeof ra === 'string' ? ra : undefined;
      } catch (err) {
        const e = err as { code?: string; message: string };
        return { kind: 'retry', reason: `${target}: ${e.message}${e.code ? ` (${e.code})` : ''}` };
      }
      if (status >= 200 && status < 300) return { kind: 'sent' };
      const reason = `${target} answered ${status}${body ? `: ${body.replace(/\s+/g, ' ')}` : ''}`;
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'rejected', reason, status };
      const after = status === 429 || status === 503 ? parseRetryAfter(retryAfter, (o.now ?? Date.now)()) : undefined;
      return after === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs: after };
    },
    async close() {},
  };
}

/** The URL without credentials, query or fragment (it may carry a secret): for reasons and logs. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'notify.webhook.url';
  }
}
