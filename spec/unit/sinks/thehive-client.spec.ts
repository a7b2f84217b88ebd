/**
 * The TheHive client's transports (undici Pool, the default without a proxy; node:http, the one
 * through a proxy) against real sockets: each keeps as few connections as `queue.concurrency`
 * allows, sends streamed uploads whole, gives up on time, and names what a gateway asking for a
 * client certificate wants. Both must read alike to the sink.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { createTheHiveClient, type TheHiveClient, type TheHiveClientOptions } from '../../../src/sinks/thehive-client.js';
import { multipartBody } from '../../../src/sinks/multipart.js';
import { fixturePath } from '../../support/fixtures.js';

type Answer = { readonly kind: 'answer'; readonly status: number; readonly body: string };
const answer = (res: { status: number; data: unknown }): Answer => ({ kind: 'answer', status: res.status, body: String(res.data) });

for (const transport of ['undici', 'node'] as const) {
  describe(`sinks/thehive-client over ${transport}`, () => {
    let server: http.Server;
    let url: string;
    let ports: Set<number>;
    let bodies: Array<{ length: string | undefined; body: Buffer }>;
    /** Answers held back until release() (for "all in flight at once"). */
    let hold = false;
    let held: Array<() => void>;
    const clients: TheHiveClient[] = [];

    before(async () => {
      server = http.createServer((req, res) => {
        ports.add(req.socket.remotePort ?? 0);
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          bodies.push({ length: req.headers['content-length'], body: Buffer.concat(chunks) });
          const reply = (): void => void res.writeHead(201, { 'Content-Type': 'application/json' }).end('{"_id":"~1"}');
          if (req.url === '/slow') return void setTimeout(reply, 1500).unref();
          if (hold) held.push(reply);
          else reply();
        });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    beforeEach(() => {
      ports = new Set();
      bodies = [];
      hold = false;
      held = [];
    });
    after(() => {
      for (const c of clients) c.close();
      server.closeAllConnections();
      server.close();
    });

    function client(over: Partial<TheHiveClientOptions> = {}): TheHiveClient {
      const c = createTheHiveClient({ url, apiKey: 'k', organisation: '', tlsVerify: true, timeoutMs: 2000, transport, ...over });
      clients.push(c);
      return c;
    }
    const post = (c: TheHiveClient, data: unknown, extra: Record<string, unknown> = {}): Promise<Answer | { kind: 'retry'; reason: string }> =>
      c.request({ method: 'POST', url: '/api/v1/alert', data, ...extra }, new AbortController().signal, answer);

    it('sends one request after another on one kept-alive connection', async () => {
      const c = client();
      for (let i = 0; i < 4; i++) expect(await post(c, '{}')).to.deep.include({ kind: 'answer', status: 201 });
      expect(ports.size).to.equal(1);
    });

    it('opens no more connections than `connections`, and answers every request', async () => {
      const c = client({ connections: 2 });
      hold = true;
      const sent = Array.from({ length: 8 }, () => post(c, '{}'));
      // Two at the server, the rest waiting for a connection; answer them as they come.
      const timer = setInterval(() => held.splice(0).forEach((reply) => reply()), 20);
      try {
        const results = await Promise.all(sent);
        expect(results.every((r) => r.kind === 'answer' && r.status === 201)).to.equal(true);
      } finally {
        clearInterval(timer);
      }
      expect(bodies).to.have.length(8);
      expect(ports.size).to.be.at.most(2);
    });

    it('sends a streamed multipart body whole, with its Content-Length', async () => {
      const file = Buffer.alloc(300_000, 0x61);
      const mp = multipartBody('{"title":"t"}', [{ field: 'attachment', filename: 'a.bin', contentType: 'application/octet-stream', size: file.length, open: () => Readable.from([file.subarray(0, 100_000), file.subarray(100_000)]) }]);
      const r = await post(client(), mp.stream, { headers: { 'Content-Type': mp.contentType, 'Content-Length': mp.length } });
      expect(r).to.deep.include({ kind: 'answer', status: 201 });
      expect(bodies[0]?.length).to.equal(String(mp.length));
      expect(bodies[0]?.body.length).to.equal(mp.length);
    });

    it('a file shorter than announced fails the request instead of sending a short body', async () => {
      const mp = multipartBody('{}', [{ field: 'attachment', filename: 'a.bin', contentType: 'text/plain', size: 10, open: () => Readable.from([Buffer.from('abc')]) }]);
      const r = await post(client(), mp.stream, { headers: { 'Content-Type': mp.contentType, 'Content-Length': mp.length } });
      expect(r.kind).to.equal('retry');
      expect(bodies).to.have.length(0);
    });

    it('a request still waiting for a connection gives up at timeoutMs too', async () => {
      const c = client({ connections: 1, timeoutMs: 300 });
      const slow = c.request({ method: 'POST', url: '/slow', data: '{}' }, new AbortController().signal, answer);
      const started = Date.now();
      const waiting = await post(c, '{}');
      expect(waiting).to.deep.equal({ kind: 'retry', reason: 'timeout after 300 ms' });
      expect(Date.now() - started).to.be.below(1000);
      expect(await slow).to.deep.equal({ kind: 'retry', reason: 'timeout after 300 ms' });
    });

    it('a gateway wanting a client certificate is named as such, and one given is presented (mTLS)', async () => {
      const cert = readFileSync(fixturePath('tls', 'test-cert.pem'), 'utf8');
      const key = readFileSync(fixturePath('tls', 'test-key.pem'), 'utf8');
      // The server trusts its own self-signed certificate as the only client CA.
      const gateway = https.createServer({ cert, key, requestCert: true, rejectUnauthorized: true, ca: cert }, (_req, res) => res.writeHead(201).end('{}'));
      gateway.listen(0, '127.0.0.1');
      await once(gateway, 'listening');
      const gatewayUrl = `https://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
      try {
        const refused = await post(client({ url: gatewayUrl, ca: cert }), '{}');
        expect(refused.kind === 'retry' && refused.reason).to.match(/^TLS ERR_SSL_.*CERTIFICATE_REQUIRED.*THEHIVE_CLIENT_CERT_FILE/);
        expect(await post(client({ url: gatewayUrl, ca: cert, clientCert: cert, clientKey: key }), '{}')).to.deep.include({ kind: 'answer', status: 201 });
      } finally {
        gateway.closeAllConnections();
        gateway.close();
      }
    });
  });
}
