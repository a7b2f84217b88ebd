/**
 * Which fault the next alert-create request gets, and the answers of the `status`/`throttle` faults.
 *
 * TheHive itself never sends 429 (thehive-api.md §4.7); 502/503/504 and 429 come from a reverse proxy, so
 * their default bodies are nginx's HTML pages, not JSON: a client must not assume every error is JSON.
 */
import { STATUS_CODES } from 'node:http';
import type { Fault } from './types.js';

/** What the stand-in sends: a JSON body, or a raw text with its content type. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly text?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** mulberry32: a tiny seeded PRNG, so failRate runs are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Queued faults first (FIFO, each for N requests), then the probabilistic one. */
export class FaultPlan {
  #queue: { fault: Fault; remaining: number }[] = [];
  #rate = 0;
  #rateFault: Fault | undefined;
  #random: () => number = Math.random;

  /** Queue `fault` for the next `times` alert-create requests. */
  push(fault: Fault, times: number): void {
    if (!Number.isInteger(times) || times < 1) throw new TypeError(`Expected \`times\` to be a positive integer, got ${times}`);
    checkFault(fault);
    this.#queue.push({ fault, remaining: times });
  }

  /** Apply `fault` with probability `rate`, drawing from a PRNG seeded with `seed`; rate 0 turns it off. */
  setRate(rate: number, fault: Fault, seed: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new TypeError(`Expected \`rate\` to be between 0 and 1, got ${rate}`);
    checkFault(fault);
    this.#rate = rate;
    this.#rateFault = rate === 0 ? undefined : fault;
    this.#random = mulberry32(seed);
  }

  /** The fault for the alert-create request that just arrived, if any. */
  next(): Fault | undefined {
    const head = this.#queue[0];
    if (head !== undefined) {
      head.remaining -= 1;
      if (head.remaining === 0) this.#queue.shift();
      return head.fault;
    }
    if (this.#rateFault === undefined) return undefined;
    return this.#random() < this.#rate ? this.#rateFault : undefined;
  }
}

function checkFault(f: Fault): void {
  const status = f.kind === 'status' || f.kind === 'accept-then-fail' ? f.status : 200;
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new TypeError(`Expected \`status\` to be an HTTP status, got ${status}`);
  if (f.kind === 'slow' && !(f.ms >= 0)) throw new TypeError(`Expected \`ms\` to be a non-negative number, got ${f.ms}`);
  if (f.kind === 'throttle' && !(f.retryAfterSec >= 0)) {
    throw new TypeError(`Expected \`retryAfterSec\` to be a non-negative number, got ${f.retryAfterSec}`);
  }
}

/** nginx's own error page (what a proxy in front of TheHive answers). */
function nginxPage(status: number): Reply {
  const title = `${status} ${STATUS_CODES[status] ?? ''}`.trim();
  const text = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  return { status, text, contentType: 'text/html' };
}

/**
 * Answer of a `status` (or `accept-then-fail`) fault. Defaults: 502/503/504 → nginx page; other 5xx →
 * TheHive `InternalError` JSON (§4.2); 4xx → Play's client-error JSON (`BadRequest`/`Forbidden`/`NotFound`/
 * `Unknown`, ScalliGraph `ErrorHandler.onClientError`). A string `body` is sent as is (HTML if it starts with `<`).
 */
export function statusReply(status: number, body?: unknown): Reply {
  if (typeof body === 'string') return { status, text: body, contentType: body.startsWith('<') ? 'text/html' : 'text/plain; charset=utf-8' };
  if (body !== undefined) return { status, body };
  if (status === 502 || status === 503 || status === 504) return nginxPage(status);
  if (status >= 500) return { status, body: { type: 'InternalError', message: 'Internal server error' } };
  const type = status === 400 ? 'BadRequest' : status === 403 ? 'Forbidden' : status === 404 ? 'NotFound' : 'Unknown';
  return { status, body: { type, message: STATUS_CODES[status] ?? '' } };
}

/** A proxy's 429 with `Retry-After` (nginx `limit_req` page). */
export function throttleReply(retryAfterSec: number): Reply {
  return { ...nginxPage(429), headers: { 'Retry-After': String(retryAfterSec) } };
}
