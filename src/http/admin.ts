/**
 * The admin port: `/healthz` (the process is alive), `/readyz` (input is accepted: what a load
 * balancer asks; a TheHive outage does not take the listener out, the spool absorbs it),
 * `/readyz/delivery` (the sink takes alerts: TheHive accepts our key and answers) and `/metrics`
 * (Prometheus text). Other routes (`POST /webhooks/thehive`) are added with {@link AdminServer.route}.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { listen } from '../net/listen.js';

/** What /readyz reports; `reasons` say what to fix when not ready. */
export interface ReadyState {
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** `/readyz`: accepting input. */
  readonly readiness: () => ReadyState;
  /** `/readyz/delivery`: the sink takes alerts. */
  readonly deliveryReadiness: () => ReadyState;
}

/** A route added to the admin port: it answers the request itself. */
export type AdminRoute = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

export class AdminServer {
  readonly #opts: AdminServerOptions;
  readonly #routes = new Map<string, AdminRoute>();
  #server: http.Server | undefined;

  constructor(opts: AdminServerOptions) {
    this.#opts = opts;
  }

  /** Serves `method path` with `handler` (one route each; the GET ones above stay as they are). */
  route(method: 'POST', path: string, handler: AdminRoute): void {
    this.#routes.set(`${method} ${path}`, handler);
  }

  async start(): Promise<AddressInfo> {
    const server = http.createServer((req, res) => void this.#handle(req, res));
    // The admin port is for probes and scrapers: no reason to hold idle sockets long.
    server.keepAliveTimeout = 5000;
    this.#server = server;
    return listen(server, this.#opts.port, this.#opts.host);
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const route = this.#routes.get(`${req.method ?? ''} ${path}`);
    if (route) {
      try {
        await route(req, res);
      } catch (err) {
        if (!res.headersSent) send(res, 500, { error: (err as Error).message });
        else res.destroy();
      }
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'Only GET is served here.' });
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/readyz' || path === '/readyz/delivery') {
      const state = path === '/readyz' ? this.#opts.readiness() : this.#opts.deliveryReadiness();
      return send(res, state.ready ? 200 : 503, { status: state.ready ? 'ready' : 'not ready', reasons: state.reasons });
    }
    if (path === '/metrics') {
      try {
        const body = await this.#opts.registry.metrics();
        res.writeHead(200, { 'content-type': this.#opts.registry.contentType });
        res.end(body);
      } catch (err) {
        send(res, 500, { error: (err as Error).message });
      }
      return;
    }
    send(res, 404, { error: `No route ${path}; try /healthz, /readyz, /readyz/delivery or /metrics.` });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}
