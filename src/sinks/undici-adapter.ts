/**
 * An axios adapter (axios' documented `adapter` config) on an undici `Pool`: the transport of the
 * TheHive client when no proxy is configured. One pool serves `thehive.url`'s origin, its keep-alive
 * connections bounded by `queue.concurrency`.
 *
 * Why: undici parses HTTP with llhttp on its own socket handling, without node:http's ClientRequest,
 * IncomingMessage and their stream and event machinery per request (scripts/bench-http.ts measures
 * both adapters in one process; README "Benchmarks").
 *
 * It behaves as http-adapter.ts does, so the sink cannot tell them apart: bodies are strings, or a
 * `Readable` (multipart uploads) whose `Content-Length` comes with the caller's headers; no redirects
 * followed, no compression asked for, the answer read as text under a size limit; undici's socket
 * errors are given the codes node:http gives (ECONNRESET), so outcomes read the same.
 */
import { Readable } from 'node:stream';
import { AxiosError, AxiosHeaders, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { buildConnector, type Pool } from 'undici';
import { fullUrl } from './http-adapter.js';

/**
 * An adapter sending every request through `pool`, which serves `origin` (scheme://host:port) only;
 * a request for another origin is refused.
 *
 * It hands undici a plain dispatch handler rather than calling `pool.request()`: that one wraps each
 * answer in a Readable and a promise chain, the per-request cost this transport is here to avoid.
 */
export function undiciAdapter(pool: Pool, origin: string): AxiosAdapter {
  return (config: InternalAxiosRequestConfig): Promise<AxiosResponse<string>> =>
    new Promise((resolve, reject) => {
      const url = new URL(fullUrl(config));
      if (url.origin !== origin) {
        reject(new AxiosError(`this transport serves ${origin} only, not ${url.origin}`, AxiosError.ERR_BAD_REQUEST, config));
        return;
      }
      const data: unknown = config.data;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(AxiosHeaders.from(config.headers).toJSON())) {
        if (typeof value === 'string' || typeof value === 'number') headers[name] = String(value);
      }
      const limit = config.maxContentLength !== undefined && config.maxContentLength >= 0 ? config.maxContentLength : Infinity;
      const signal = config.signal as AbortSignal | undefined;
      let settled = false;
      let status = 0;
      let answerHeaders: AxiosHeaders | undefined;
      let abortSocket: ((err?: Error) => void) | undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(err instanceof AxiosError ? err : AxiosError.from(asNodeError(err, status > 0), undefined, config));
      };
      // The request may still wait for a connection of the pool: the caller hears of the abort at once.
      const onAbort = (): void => {
        const reason = Object.assign(new Error('canceled'), { code: AxiosError.ERR_CANCELED });
        abortSocket?.(reason);
        fail(new AxiosError('canceled', AxiosError.ERR_CANCELED, config));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      pool.dispatch(
        {
          path: url.pathname + url.search,
          method: (config.method ?? 'get').toUpperCase() as 'GET',
          headers,
          body: typeof data === 'string' || data instanceof Readable ? data : null,
        },
        {
          onConnect(abort: (err?: Error) => void): void {
            if (settled) abort(new Error('canceled'));
            else abortSocket = abort;
          },
          onHeaders(statusCode: number, raw: Buffer[]): boolean {
            if (statusCode < 200) return true; // 100 Continue and such: the answer is still to come
            status = statusCode;
            answerHeaders = headersOf(raw);
            return true;
          },
          onData(chunk: Buffer): boolean {
            size += chunk.length;
            if (size > limit) {
              const err = new AxiosError(`maxContentLength size of ${limit} exceeded`, AxiosError.ERR_BAD_RESPONSE, config);
              abortSocket?.(err);
              fail(err);
              return false;
            }
            chunks.push(chunk);
            return true;
          },
          onComplete(): void {
            if (settled) return;
            settled = true;
            signal?.removeEventListener('abort', onAbort);
            const response: AxiosResponse<string> = {
              data: chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks, size).toString('utf8'),
              status,
              statusText: '',
              headers: answerHeaders ?? new AxiosHeaders(),
              config,
              request: undefined,
            };
            const valid = config.validateStatus ?? ((s: number) => s >= 200 && s < 300);
            const settle = valid(status)
              ? () => resolve(response)
              : () => reject(new AxiosError(`Request failed with status code ${status}`, AxiosError.ERR_BAD_RESPONSE, config, undefined, response));
            // undici frees the connection one event-loop turn after the answer (a setImmediate queued
            // right after this call). Answering the caller after it, the caller's next request goes on
            // the same kept-alive connection, not on a new one: sequential sends keep one socket.
            process.nextTick(setImmediate, settle);
          },
          onError: fail,
        },
      );
    });
}

/** Raw header pairs as axios keeps them: lower-case names, repeated ones joined. */
function headersOf(raw: Buffer[]): AxiosHeaders {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1').toLowerCase();
    const value = (raw[i + 1] as Buffer).toString('latin1');
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return new AxiosHeaders(out);
}

/**
 * The pool's connector: undici's own, plus one listener per socket. A server that refuses our client
 * certificate (mTLS, TLS 1.3) sends its alert after the handshake; the socket reports it
 * (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED), then ends, and undici fails the request with the
 * "other side closed" of the end. The first error is kept as that one's `cause`, so the outcome
 * still names the certificate and the key to set.
 */
export function tlsAwareConnector(options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) =>
    connect(opts, (...args) => {
      const socket = args[1];
      if (socket) {
        let first: Error | undefined;
        // Prepended: it runs before undici's own listener reads the error.
        socket.prependListener('error', (err: Error & { code?: unknown }) => {
          if (first === undefined) first = err;
          else if (err.code === 'UND_ERR_SOCKET' && err.cause === undefined) err.cause = first;
        });
      }
      callback(...args);
    });
}

/** undici's errors as node:http reports the same events, so outcomes (and the specs) read alike. */
function asNodeError(err: unknown, answered: boolean): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  // The socket failed first (a TLS alert), then undici saw it end: the first failure is the news.
  if (code === 'UND_ERR_SOCKET' && typeof cause?.code === 'string') return cause;
  // The peer closed the connection: node:http says "socket hang up" before the answer, "aborted" during it.
  if (code === 'UND_ERR_SOCKET') return Object.assign(new Error(answered ? 'aborted' : 'socket hang up', { cause: err }), { code: 'ECONNRESET' });
  return err;
}
