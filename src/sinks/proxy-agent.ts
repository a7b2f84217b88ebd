/**
 * The agent that carries requests to TheHive through an HTTP proxy (`thehive.proxy`): a CONNECT
 * tunnel per kept-alive connection (https-proxy-agent), then TLS to TheHive inside it with the same
 * settings as a direct connection (`thehive.tlsVerify`, `thehive.caFile`, the client certificate).
 *
 * What the proxy itself says is told apart from what TheHive says: a proxy that refuses the CONNECT
 * (403 for a port it does not allow, 407 for a missing login) or cannot be reached fails the request
 * with `ERR_THEHIVE_PROXY`. Left to https-proxy-agent, a refusal would reach the sink as an HTTP answer
 * of the same status, and a proxy's 403 would read as TheHive refusing the API key.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { AgentConnectOpts } from 'agent-base';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { redactUrl } from '../config-secrets.js';
import type { ErrorCode } from '../errors.js';

/** TLS settings of the connection to TheHive inside the tunnel. */
export type TunnelTls = Pick<ConnectionOptions, 'rejectUnauthorized' | 'ca' | 'cert' | 'key'>;

/** A failure of the proxy, not of TheHive. */
export class ProxyError extends Error {
  readonly code: ErrorCode = 'ERR_THEHIVE_PROXY';
}

export class TheHiveProxyAgent extends HttpsProxyAgent<string> {
  readonly #tls: TunnelTls;
  readonly #shown: string;

  /** `secure`: whether TheHive is https (the agent serves that scheme only). */
  constructor(proxy: string, secure: boolean, tls: TunnelTls) {
    // The proxy's own TLS (an https:// proxy) trusts the same CA and obeys the same verification.
    super(proxy, { keepAlive: true, rejectUnauthorized: tls.rejectUnauthorized ?? true, ...(tls.ca ? { ca: tls.ca } : {}) });
    this.protocol = secure ? 'https:' : 'http:';
    this.#tls = tls;
    this.#shown = redactUrl(proxy);
  }

  override async connect(req: ClientRequest, opts: AgentConnectOpts): Promise<Socket> {
    let refused: number | undefined;
    req.once('proxyConnect', (res: Pick<IncomingMessage, 'statusCode'>) => {
      if (res.statusCode !== 200) refused = res.statusCode;
    });
    const target = `${opts.host ?? ''}:${opts.port}`;
    let socket: Socket;
    try {
      socket = await super.connect(req, opts.secureEndpoint ? { ...opts, ...this.#tls } : opts);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ProxyError(`proxy ${this.#shown} unreachable for CONNECT ${target}: ${e.code ?? e.message}; check thehive.proxy (THEHIVE_PROXY, or HTTPS_PROXY with env)`, { cause: err });
    }
    if (refused !== undefined) {
      socket.destroy();
      const why = refused === 407 ? 'it wants a login: put user:password@ in the proxy URL' : 'allow TheHive\'s host and port in the proxy (tinyproxy: ConnectPort; squid: SSL_ports), or add it to NO_PROXY';
      throw new ProxyError(`proxy ${this.#shown} answered ${refused} to CONNECT ${target}: ${why}`);
    }
    return socket;
  }
}
