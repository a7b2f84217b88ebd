/**
 * `POST /webhooks/thehive` on the admin port: TheHive's own webhooks (`notification.webhook.endpoints`)
 * received with a shared token (`http.thehiveWebhookToken`, sent as `Authorization: Bearer <token>`).
 * An alert event at `notify.minSeverity` or above is notified with the same rules as tracehive's own
 * alerts (once per alert and severity); every alert event is also handed to `onAlertEvent`, so the
 * lifecycle learns when an analyst closed or imported an alert. Answers: 404 while the token is
 * empty (the route is off), 401 without the token, 413 over 4 MiB, 400 for a body that is not
 * JSON, 200 otherwise (also for events that are no alert's: TheHive sends every event).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { Notifier } from '../lifecycle/types.js';
import { readAlertEvent, type AlertEvent } from '../notify/thehive-event.js';

export const THEHIVE_WEBHOOK_PATH = '/webhooks/thehive';
/** Bodies larger are refused (413): an alert event is a few KiB. */
export const MAX_WEBHOOK_BYTES = 4 * 1024 * 1024;

export interface TheHiveWebhookOptions {
  readonly token: string;
  readonly minSeverity: number;
  /** The notifier once serve started it (undefined: no channel configured, nothing is notified). */
  readonly notifier?: () => Notifier | undefined;
  readonly onAlertEvent?: (event: AlertEvent) => void;
  /** A notification that could not be recorded (the disk): answered 500. */
  readonly failed?: (err: Error) => void;
}

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/** Constant-time: both sides hashed first, so neither the content nor the length leaks through timing. */
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function theHiveWebhookHandler(o: TheHiveWebhookOptions): RouteHandler {
  return async (req, res) => {
    if (o.token === '') return answer(res, 404, { error: 'The TheHive webhook is off: set http.thehiveWebhookToken (TRACEHIVE_HTTP_THEHIVE_WEBHOOK_TOKEN) to receive it.' });
    const auth = req.headers.authorization ?? '';
    const given = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? '';
    if (given === '' || !sameToken(given, o.token)) return answer(res, 401, { error: 'Send Authorization: Bearer <http.thehiveWebhookToken>.' }, true);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_WEBHOOK_BYTES) return answer(res, 413, { error: `Body over ${MAX_WEBHOOK_BYTES} bytes.` }, true);
    const body = await readBody(req, MAX_WEBHOOK_BYTES);
    if (body === null) return answer(res, 413, { error: `Body over ${MAX_WEBHOOK_BYTES} bytes.` }, true);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(res, 400, { error: 'The body is not JSON.' });
    }
    const event = readAlertEvent(parsed);
    if (event?.status) o.onAlertEvent?.(event.status);
    const n = event?.notification;
    let notified = false;
    const notifier = o.notifier?.();
    if (n && notifier && n.severity >= o.minSeverity) {
      try {
        await notifier.notify(n);
        notified = true;
      } catch (err) {
        o.failed?.(err as Error);
        return answer(res, 500, { error: 'The notification could not be recorded; see the log.' });
      }
    }
    answer(res, 200, { status: 'ok', alert: event !== null, notified });
  };
}

/** The whole body, or null once it grows over `max` (the rest is not read). */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** `close`: the connection is not reused (a body we did not read may still be coming). */
function answer(res: http.ServerResponse, status: number, body: unknown, close = false): void {
  res.writeHead(status, { 'content-type': 'application/json', ...(close ? { connection: 'close' } : {}) });
  res.end(`${JSON.stringify(body)}\n`);
}
