/**
 * A lean axios adapter (axios' documented `adapter` config) for the TheHive sink: one `node:http(s)`
 * request on the caller's keep-alive agent, the answer collected as text under a size limit. The
 * client uses it through `thehive.proxy` (its agent tunnels with CONNECT, proxy-agent.ts); directly,
 * the undici one (undici-adapter.ts) costs less CPU a request.
 *
 * Why not axios' own http adapter: per request it builds a transform stream, a redirect wrapper, a
 * decompression pipeline and several listeners. Measured on 2 vCPUs with 4 requests in flight to a
 * local endpoint, it cost 305 µs of CPU a request against 85 µs for the bare `http.request`; with
 * this adapter axios costs 208 µs. At one request per alert that overhead capped delivery (bench
 * row (c)). axios keeps everything else: config, headers, `validateStatus`, `AxiosError`.
 *
 * Bodies are strings, or a `Readable` (multipart file uploads) piped as it is read.
 *
 * What this adapter does not do, on purpose: follow redirects (the sink sets `maxRedirects: 0` and
 * reports a redirect as a wrong `thehive.url`), use proxies (`proxy: false`), ask for compression
 * (no `Accept-Encoding` is sent, so TheHive answers plain JSON).
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { AxiosError, AxiosHeaders, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';

/** Sends the request and resolves with the whole answer; rejects with an `AxiosError` carrying the socket's code. */
export const nodeHttpAdapter: AxiosAdapter = (config: InternalAxiosRequestConfig): Promise<AxiosResponse<string>> =>
  new Promise((resolve, reject) => {
    const url = new URL(fullUrl(config));
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      reject(new AxiosError(`Unsupported protocol ${url.protocol}`, AxiosError.ERR_BAD_REQUEST, config));
      return;
    }
    const body = typeof config.data === 'string' ? config.data : undefined;
    // A streamed body (multipart.ts: files from disk): its Content-Length comes with the caller's headers.
    const stream = config.data instanceof Readable ? config.data : undefined;
    const headers: Record<string, string | number> = {};
    for (const [name, value] of Object.entries(AxiosHeaders.from(config.headers).toJSON())) {
      if (typeof value === 'string' || typeof value === 'number') headers[name] = value;
    }
    if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
    const limit = config.maxContentLength !== undefined && config.maxContentLength >= 0 ? config.maxContentLength : Infinity;
    const options: http.RequestOptions = {
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: (config.method ?? 'get').toUpperCase(),
      headers,
      agent: secure ? config.httpsAgent : config.httpAgent,
      ...(config.signal ? { signal: config.signal as AbortSignal } : {}),
    };
    const req = (secure ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        reject(AxiosError.from(err, undefined, config, req));
      };
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          fail(new AxiosError(`maxContentLength size of ${limit} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, req));
          res.destroy();
          return;
        }
        chunks.push(chunk);
      });
      // A connection cut in the middle of the answer ends the response with ECONNRESET "aborted".
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        const response: AxiosResponse<string> = {
          data: Buffer.concat(chunks, size).toString('utf8'),
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: new AxiosHeaders(res.headers as Record<string, string>),
          config,
          request: req,
        };
        const valid = config.validateStatus ?? ((status: number) => status >= 200 && status < 300);
        if (valid(response.status)) resolve(response);
        else reject(new AxiosError(`Request failed with status code ${response.status}`, AxiosError.ERR_BAD_RESPONSE, config, req, response));
      });
    });
    req.on('error', (err) => reject(AxiosError.from(err, undefined, config, req)));
    if (stream === undefined) {
      req.end(body);
      return;
    }
    // A file that cannot be read fails the request (and so the attempt), never a half-sent body taken as whole.
    stream.on('error', (err) => req.destroy(err));
    req.on('close', () => stream.destroy());
    stream.pipe(req);
  });

/** axios' own rule (combineURLs): an absolute `url` wins, else `baseURL` + `/` + `url`. */
export function fullUrl(config: InternalAxiosRequestConfig): string {
  const url = config.url ?? '';
  if (/^[a-z][a-z\d+\-.]*:\/\//i.test(url) || !config.baseURL) return url;
  return `${config.baseURL.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`;
}
