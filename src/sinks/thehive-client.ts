/**
 * The one HTTP client every request to TheHive goes through: keep-alive connections, the API key in
 * the `Authorization` header only, a hard deadline per exchange, `queue.ratePerSec` counted per
 * request ({@link RequestRate}), and every failure turned into a scrubbed retry outcome. What an
 * answer means is decided by the caller's `classify`.
 *
 * The transport under axios: an undici `Pool` (undici-adapter.ts) when TheHive is reached directly,
 * node:http with the CONNECT-tunnelling agent (http-adapter.ts, proxy-agent.ts) through
 * `thehive.proxy`, whose refusals that agent tells apart from TheHive's answers.
 *
 * Axios errors carry their config (headers included), so they are never passed on: every reason is
 * built here or in thehive-answers.ts and scrubbed of the key.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import axios, { type AxiosAdapter, type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { Pool } from 'undici';
import { nodeHttpAdapter } from './http-adapter.js';
import { tlsAwareConnector, undiciAdapter } from './undici-adapter.js';
import { TheHiveProxyAgent, type TunnelTls } from './proxy-agent.js';
import { MAX_RESPONSE_BYTES, networkOutcome, scrub } from './thehive-answers.js';
import { RequestRate } from './request-rate.js';
import type { Outcome } from '../types.js';

/** What the client needs from the `thehive.*` and `queue.ratePerSec` keys. */
export interface TheHiveClientOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly organisation: string;
  readonly tlsVerify: boolean;
  readonly ca?: string;
  /** PEM text of `thehive.clientCertFile` and `thehive.clientKeyFile`: presented when TheHive asks (mTLS). */
  readonly clientCert?: string;
  readonly clientKey?: string;
  /** The proxy to tunnel through (`thehive.proxy`, resolved by proxy-route.ts); undefined = directly. */
  readonly proxy?: string;
  readonly timeoutMs: number;
  /** Keep-alive connections to TheHive at most (`queue.concurrency`); requests beyond wait for one. @default 4 */
  readonly connections?: number;
  /**
   * The transport: `undici` (the default without a proxy) or `node` (node:http; always with a proxy).
   * Not a config key: the specs and scripts/bench-http.ts run both.
   */
  readonly transport?: 'undici' | 'node';
  /** Requests started per second at most (0 = unlimited). */
  readonly ratePerSec?: number;
  /** Told of every exchange that ended (not of one aborted by shutdown): its result and how long it took. */
  readonly observe?: (result: ExchangeResult, seconds: number) => void;
}

/** How an exchange with TheHive ended: the answer's status class, or no answer at all. */
export type ExchangeResult = '2xx' | '3xx' | '4xx' | '5xx' | 'network' | 'timeout';

/** The status class of an answer (1xx never reaches here: node answers them itself). */
export function statusClass(status: number): ExchangeResult {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

/** A failure of the exchange itself: no answer, a timeout, an abort. */
export type Failure = Extract<Outcome, { readonly kind: 'retry' }>;

export interface TheHiveClient {
  /** One exchange; `classify` reads the answer. Never throws for network or HTTP trouble. */
  request<R extends { readonly kind: string }>(config: AxiosRequestConfig, signal: AbortSignal, classify: (res: AxiosResponse) => R): Promise<R | Failure>;
  /** From now on, requests carry this key (a rotation on SIGHUP); requests in flight keep theirs. */
  setApiKey(key: string): void;
  close(): void;
}

export function createTheHiveClient(opts: TheHiveClientOptions): TheHiveClient {
  const base = opts.url.replace(/\/+$/, '');
  const tls: TunnelTls = {
    rejectUnauthorized: opts.tlsVerify,
    ...(opts.ca ? { ca: [...rootCertificates, opts.ca] } : {}),
    ...(opts.clientCert && opts.clientKey ? { cert: opts.clientCert, key: opts.clientKey } : {}),
  };
  const transport = opts.proxy ? nodeTransport(base, opts.proxy, tls) : opts.transport === 'node' ? nodeTransport(base, undefined, tls, opts.connections) : undiciTransport(base, tls, opts.connections);
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
    ...transport.config,
    validateStatus: () => true, // every status is classified by the caller, none throws
    maxRedirects: 0, // a redirect is a wrong thehive.url; following it could replay the key elsewhere
    proxy: false, // no silent HTTP(S)_PROXY detour: only thehive.proxy sends requests through a proxy (its agent above)
    responseType: 'text',
    transformResponse: [(data: unknown) => data], // keep the raw text: it goes to the dead-letter log
    // Bodies are JSON already: axios would otherwise JSON.parse each one again to check it.
    transformRequest: [(data: unknown) => data],
    maxContentLength: MAX_RESPONSE_BYTES,
  });
  leanDefaults(client);
  // Every key this client has carried: an answer to a request sent before a rotation may echo the old one.
  const keys = new Set(opts.apiKey ? [opts.apiKey] : []);
  const redact = (text: string): string => [...keys].reduce((t, key) => t.split(key).join('[REDACTED]'), text);
  const rate = new RequestRate(opts.ratePerSec ?? 0);

  return {
    async request<R extends { readonly kind: string }>(config: AxiosRequestConfig, signal: AbortSignal, classify: (res: AxiosResponse) => R): Promise<R | Failure> {
      if (signal.aborted || !(await rate.take(signal))) return { kind: 'retry', reason: 'aborted before sending' };
      // One controller for both the caller's signal and the deadline. Not AbortSignal.any: on Node 20
      // each call leaves an entry on the caller's signal, the queue's, which lives as long as the
      // process: one per request, never freed (nodejs/node#55351). This listener is removed below.
      const request = new AbortController();
      const abort = (): void => request.abort();
      const timer = setTimeout(abort, opts.timeoutMs);
      signal.addEventListener('abort', abort, { once: true });
      let outcome: R | Failure;
      const started = performance.now();
      const observe = (result: ExchangeResult): void => opts.observe?.(result, (performance.now() - started) / 1000);
      try {
        const res = await client.request({ ...config, signal: request.signal });
        observe(statusClass(res.status));
        outcome = classify(res);
      } catch (err) {
        if (signal.aborted) outcome = { kind: 'retry', reason: 'aborted' };
        else if (request.signal.aborted) {
          observe('timeout');
          outcome = { kind: 'retry', reason: `timeout after ${opts.timeoutMs} ms` };
        } else {
          observe('network');
          outcome = networkOutcome(err) as Failure;
        }
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
      }
      return scrub(outcome, redact);
    },
    setApiKey(key: string): void {
      keys.add(key);
      client.defaults.headers['Authorization'] = `Bearer ${key}`;
    },
    close(): void {
      transport.close();
    },
  };
}

/**
 * Strips an axios instance's defaults to what this client uses, for every request merges them
 * into its config (issue 15, point 5: axios cost a third of a POST's CPU on the main thread).
 * - The headers become one flat object: axios' per-method objects (`common`, `get`, `post`…)
 *   are deep-copied and merged on each request, and `common`'s `Accept` is replaced by ours anyway.
 * - `env` (FormData and Blob classes for multipart bodies) and `transitional` (switches of axios'
 *   own JSON parsing and its adapters' timeout errors) are dropped: bodies here are JSON text or a
 *   multipart stream this project builds (multipart.ts, with its own headers), answers stay raw
 *   text, and the adapters are this project's, which read neither.
 * A no-op adapter measured 34 → 24 µs of CPU a request.
 */
export function leanDefaults(instance: AxiosInstance): void {
  const defaults = instance.defaults as unknown as Record<string, unknown> & { headers: Record<string, unknown> };
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(defaults.headers)) if (typeof value === 'string') flat[name] = value;
  defaults.headers = flat;
  delete defaults['env'];
  delete defaults['transitional'];
}

/** What carries the requests: axios settings and how to let go of the connections. */
interface Transport {
  readonly config: Pick<AxiosRequestConfig, 'adapter' | 'httpAgent' | 'httpsAgent'>;
  close(): void;
}

/** An undici Pool on thehive.url's origin. */
function undiciTransport(base: string, tls: TunnelTls, connections = 4): Transport {
  const origin = new URL(base).origin;
  // TheHive's own idle timeout is unknown: undici's default (4 s, or the server's Keep-Alive hint) stays.
  // thehive.timeoutMs is the one deadline (the request's abort above): undici's own 300 s ones are off.
  const pool = new Pool(origin, { connections, headersTimeout: 0, bodyTimeout: 0, connect: tlsAwareConnector({ ...tls }) });
  return {
    config: { adapter: undiciAdapter(pool, origin) },
    close: () => void pool.destroy().catch(() => undefined),
  };
}

/** node:http(s) keep-alive agents; with a proxy, the agent of thehive.url's scheme tunnels through it. */
function nodeTransport(base: string, proxy: string | undefined, tls: TunnelTls, connections?: number): Transport {
  // thehive.url has one scheme: only its agent goes through the proxy.
  const secure = base.startsWith('https:');
  const bound = connections !== undefined ? { maxSockets: connections } : {};
  const httpAgent: http.Agent = proxy && !secure ? new TheHiveProxyAgent(proxy, false, tls) : new http.Agent({ keepAlive: true, ...bound });
  const httpsAgent: http.Agent = proxy && secure ? new TheHiveProxyAgent(proxy, true, tls) : new https.Agent({ keepAlive: true, ...bound, ...tls });
  return {
    // axios' own http adapter cost 3.6× a bare request (http-adapter.ts)
    config: { adapter: nodeHttpAdapter as AxiosAdapter, httpAgent, httpsAgent },
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
