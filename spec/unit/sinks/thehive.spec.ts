import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createTheHiveSink, MAX_OUTCOME_BODY_BYTES, parseRetryAfter, type TheHiveSink, type TheHiveSinkOptions } from '../../../src/sinks/thehive.js';
import type { Alert, Outcome } from '../../../src/types.js';
import { testAlert } from '../../support/alerts.js';

const KEY = 'SECRET-KEY-123';

/** Exact TheHive bodies (thehive-api.md §4). */
const BODY = {
  created:
    '{"_id":"~4120","_type":"Alert","_createdBy":"api@org","_createdAt":1700000000123,"type":"cybertrace","source":"CyberTrace","sourceRef":"ct-0123456789abcdef0123","title":"t","description":"d","severity":2,"severityLabel":"MEDIUM","date":1700000000000,"tags":[],"tlp":2,"tlpLabel":"AMBER","pap":2,"papLabel":"AMBER","follow":true,"customFields":[],"observableCount":1,"status":"New","stage":"New","extraData":{},"newDate":1700000000123,"timeToDetect":123}',
  duplicate: '{"type":"CreateError","message":"Alert cybertrace:CyberTrace:ct-0123456789abcdef0123 already exist in organisation acme"}',
  attribute:
    '{"type":"AttributeCheckingError","message":"[Attribute title is missing]","errors":[{"name":"title","type":"MissingAttributeError"}]}',
  auth: '{"type":"AuthenticationError","message":"Authentication failure"}',
  forbidden: '{"type":"AuthorizationError","message":"Operation not permitted"}',
  unknownType: '{"type":"NotFoundError","message":"ObservableType x not found"}',
  tooLarge: '{"type":"Unknown","message":"Request Entity Too Large"}',
  internal: '{"type":"InternalError","message":"java.util.concurrent.TimeoutException: Futures timed out after [1 minute]"}',
};

/** A self-signed test certificate for 127.0.0.1/localhost, valid 2000–2100 (test fixture, not a secret). */
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg59uqrocPy+snOWsF
SjsQAvsXCbYUrXxupC4As+jA9Q6hRANCAARcrqCMFhHM/v0+upijPhpXwTpkoKB2
GPSe5GxLwOQAytw/lb6kpflAyjixST/OEbx3FXnLQHYHjuYAjhUwFJzy
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBcjCCARegAwIBAgIBATAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA50cmFjZWhp
dmUtdGVzdDAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowGTEXMBUG
A1UEAwwOdHJhY2VoaXZlLXRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARc
rqCMFhHM/v0+upijPhpXwTpkoKB2GPSe5GxLwOQAytw/lb6kpflAyjixST/OEbx3
FXnLQHYHjuYAjhUwFJzyo04wTDAPBgNVHRMBAf8EBTADAQH/MBoGA1UdEQQTMBGH
BH8AAAGCCWxvY2FsaG9zdDAdBgNVHQ4EFgQUA4ANNZYieKQF3APTmPE2UxXOM2ww
CgYIKoZIzj0EAwIDSQAwRgIhAMruimdq2SEtjVxtqxOGJ+evleS5gX/Zwm6hX88V
qbjyAiEA+uhPF5JpMhb1ku4c6r3XZnctRfXbUmEUpNuwwBIG6uo=
-----END CERTIFICATE-----
`;

const alert = (ref?: string): Alert => testAlert(ref);

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  remotePort: number;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const json = (status: number, body: string, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body);
};

describe('sinks/thehive', () => {
  let server: http.Server;
  let base: string;
  let handler: Handler;
  let seen: Seen[];
  const sinks: TheHiveSink[] = [];
  /** Every outcome of the file: none may contain the key. */
  const outcomes: Outcome[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, remotePort: req.socket.remotePort ?? 0 });
        handler(req, res, body);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    seen = [];
    handler = json(201, BODY.created);
  });

  after(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    server.closeAllConnections();
    server.close();
  });

  function sink(over: Partial<TheHiveSinkOptions> = {}): TheHiveSink {
    const s = createTheHiveSink({ url: base, apiKey: KEY, organisation: 'acme', api: 'v1', tlsVerify: true, timeoutMs: 2000, ...over });
    sinks.push(s);
    return s;
  }

  async function send(s: TheHiveSink, a: Alert = alert(), signal = new AbortController().signal): Promise<Outcome> {
    const outcome = await s.send([{ sourceRef: a.sourceRef, body: s.encode(a) }], signal);
    outcomes.push(outcome);
    return outcome;
  }

  it('v1 posts the alert with observables to /api/v1/alert with Bearer and X-Organisation; 201 is delivered', async () => {
    expect(await send(sink())).to.deep.equal({ kind: 'delivered' });
    expect(seen).to.have.length(1);
    const [req] = seen;
    expect(req?.method).to.equal('POST');
    expect(req?.url).to.equal('/api/v1/alert');
    expect(req?.headers['authorization']).to.equal(`Bearer ${KEY}`);
    expect(req?.headers['x-organisation']).to.equal('acme');
    expect(req?.headers['content-type']).to.match(/^application\/json/);
    expect(JSON.parse(req?.body ?? '')).to.deep.equal(alert());
  });

  it('v0 posts artifacts (not observables) to /api/alert; a trailing slash of the URL is ignored', async () => {
    handler = json(201, '{"_id":"~1","id":"~1","_type":"alert","status":"New","artifacts":[]}');
    expect(await send(sink({ api: 'v0', url: `${base}/` }))).to.deep.equal({ kind: 'delivered' });
    expect(seen[0]?.url).to.equal('/api/alert');
    expect(seen[0]?.headers['authorization']).to.equal(`Bearer ${KEY}`);
    expect(seen[0]?.headers['x-organisation']).to.equal('acme');
    const { observables, ...rest } = alert();
    expect(JSON.parse(seen[0]?.body ?? '')).to.deep.equal({ ...rest, artifacts: observables });
  });

  it('sends one alert a request, and decodes both API shapes back to the alert for dead letters', () => {
    const v1 = sink();
    const v0 = sink({ api: 'v0' });
    expect(v1.maxBatch).to.equal(1);
    expect(v1.decode(v1.encode(alert()))).to.deep.equal(alert());
    expect(v0.decode(v0.encode(alert()))).to.deep.equal(alert());
    expect(Object.keys(v0.decode(v0.encode(alert())))).to.deep.equal(Object.keys(alert()));
  });

  it('sends no X-Organisation when the organisation is empty', async () => {
    await send(sink({ organisation: '' }));
    expect(seen[0]?.headers).not.to.have.property('x-organisation');
  });

  it('keeps one socket alive for several sends', async () => {
    const s = sink();
    for (let i = 0; i < 4; i++) expect(await send(s, alert(`ct-${i}`))).to.deep.equal({ kind: 'delivered' });
    expect(new Set(seen.map((r) => r.remotePort)).size).to.equal(1);
  });

  it('400 CreateError "already exist" is a delivered duplicate', async () => {
    handler = json(400, BODY.duplicate);
    expect(await send(sink())).to.deep.equal({ kind: 'delivered', duplicate: true });
  });

  it('409 is a delivered duplicate', async () => {
    handler = (_req, res) => {
      res.writeHead(409);
      res.end();
    };
    expect(await send(sink())).to.deep.equal({ kind: 'delivered', duplicate: true });
  });

  it('400 AttributeCheckingError is dropped with the status and the exact body', async () => {
    handler = json(400, BODY.attribute);
    expect(await send(sink())).to.deep.equal({
      kind: 'drop',
      reason: 'HTTP 400 AttributeCheckingError: [Attribute title is missing]',
      status: 400,
      body: BODY.attribute,
    });
  });

  it('404 unknown observable type is dropped with the body', async () => {
    handler = json(404, BODY.unknownType);
    const outcome = await send(sink());
    expect(outcome).to.deep.include({ kind: 'drop', status: 404, body: BODY.unknownType });
    expect(outcome.kind === 'drop' && outcome.reason).to.equal('HTTP 404 NotFoundError: ObservableType x not found');
  });

  it('413 is dropped, naming the request size', async () => {
    handler = json(413, BODY.tooLarge);
    const outcome = await send(sink());
    expect(outcome).to.deep.include({ kind: 'drop', status: 413, body: BODY.tooLarge });
    expect(outcome.kind === 'drop' && outcome.reason).to.match(/^HTTP 413 .*request of \d+ bytes/);
  });

  it('cuts dropped bodies at 64 KiB', async () => {
    handler = json(400, JSON.stringify({ type: 'BadRequest', message: 'x'.repeat(100_000) }));
    const outcome = await send(sink());
    expect(outcome.kind).to.equal('drop');
    const body = outcome.kind === 'drop' ? (outcome.body ?? '') : '';
    expect(body.startsWith('{"type":"BadRequest","message":"xxx')).to.equal(true);
    expect(Buffer.byteLength(body)).to.be.within(MAX_OUTCOME_BODY_BYTES, MAX_OUTCOME_BODY_BYTES + 100);
    expect(outcome.kind === 'drop' && outcome.reason.length).to.be.below(400);
  });

  it('401 is an auth retry telling the operator to check THEHIVE_API_KEY', async () => {
    handler = json(401, BODY.auth, { 'WWW-Authenticate': 'Basic realm="thehive"' });
    const outcome = await send(sink());
    expect(outcome).to.deep.include({ kind: 'retry', auth: true });
    expect(outcome.kind === 'retry' && outcome.reason).to.match(/^HTTP 401 AuthenticationError: Authentication failure: check THEHIVE_API_KEY/);
  });

  it('403 is an auth retry telling the operator to check THEHIVE_ORG and permissions', async () => {
    handler = json(403, BODY.forbidden);
    const outcome = await send(sink());
    expect(outcome).to.deep.include({ kind: 'retry', auth: true, forbidden: true });
    expect(outcome.kind === 'retry' && outcome.reason).to.match(/^HTTP 403 AuthorizationError: Operation not permitted: check THEHIVE_ORG.*manageAlert/);
  });

  it('a redirect is a configuration retry naming the target', async () => {
    handler = (_req, res) => {
      res.writeHead(308, { Location: 'https://thehive.example/api/v1/alert' });
      res.end();
    };
    const outcome = await send(sink());
    expect(outcome).to.deep.include({ kind: 'retry', auth: true });
    expect(outcome.kind === 'retry' && outcome.reason).to.include('redirect to https://thehive.example/api/v1/alert');
  });

  it('429 with Retry-After seconds is retried after that delay', async () => {
    handler = json(429, '{"type":"Unknown","message":"Too Many Requests"}', { 'Retry-After': '7' });
    expect(await send(sink())).to.deep.equal({ kind: 'retry', reason: 'HTTP 429 Unknown: Too Many Requests', afterMs: 7000 });
  });

  it('503 with an HTTP-date Retry-After is retried after about that delay', async () => {
    const at = new Date(Date.now() + 5000).toUTCString();
    handler = (_req, res) => {
      res.writeHead(503, { 'Content-Type': 'text/html', 'Retry-After': at });
      res.end('<html><body>Service Unavailable</body></html>');
    };
    const outcome = await send(sink());
    expect(outcome).to.deep.include({ kind: 'retry', reason: 'HTTP 503' });
    expect(outcome.kind === 'retry' && outcome.afterMs).to.be.within(3000, 5000);
  });

  for (const status of [408, 500, 502, 503, 504]) {
    it(`${status} is retried`, async () => {
      handler = status === 500 ? json(500, BODY.internal) : (_req, res) => {
        res.writeHead(status, { 'Content-Type': 'text/html' });
        res.end('<html>bad gateway</html>');
      };
      const outcome = await send(sink());
      expect(outcome.kind).to.equal('retry');
      expect(outcome.kind === 'retry' && outcome.reason).to.match(new RegExp(`^HTTP ${status}`));
      expect(outcome).not.to.have.property('auth');
    });
  }

  it('a socket destroyed before answering is retried (ECONNRESET / socket hang up)', async () => {
    handler = (req) => req.socket.destroy();
    const outcome = await send(sink());
    expect(outcome.kind).to.equal('retry');
    expect(outcome.kind === 'retry' && outcome.reason).to.match(/ECONNRESET|socket hang up/);
  });

  it('a connection cut in the middle of the answer is retried with ECONNRESET', async () => {
    handler = (req, res) => {
      res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': '5000' });
      res.write('{"_id":"~41', () => req.socket.destroy());
    };
    const outcome = await send(sink());
    expect(outcome.kind).to.equal('retry');
    expect(outcome.kind === 'retry' && outcome.reason).to.match(/^ECONNRESET/);
  });

  it('an answer over 16 MiB is not read to the end: retried, naming the limit', async () => {
    const mib = Buffer.alloc(1024 * 1024, 0x20);
    handler = (_req, res) => {
      res.writeHead(201, { 'Content-Type': 'application/json' });
      let sent = 0;
      const more = (): void => {
        while (sent < 20 && !res.destroyed) {
          sent++;
          if (!res.write(mib)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    };
    expect(await send(sink({ timeoutMs: 5000 }))).to.deep.equal({ kind: 'retry', reason: `answer larger than ${16 * 1024 * 1024} bytes` });
  });

  it('names itself and asks for no compression (the answer is read as plain text)', async () => {
    await send(sink());
    expect(seen[0]?.headers).not.to.have.property('accept-encoding');
    expect(seen[0]?.headers['user-agent']).to.equal('tracehive');
    expect(seen[0]?.headers['content-length']).to.equal(String(Buffer.byteLength(seen[0]?.body ?? '')));
  });

  // The client's axios defaults are stripped to one flat set of headers (leanDefaults, issue 15):
  // a create carries exactly these, and not axios' own `Accept: application/json, text/plain, */*`.
  it('sends a create with exactly its own headers: JSON in and out, the key as a bearer token', async () => {
    await send(sink());
    const headers = seen[0]?.headers ?? {};
    expect(headers['accept']).to.equal('application/json');
    expect(headers['content-type']).to.equal('application/json');
    expect(headers['authorization']).to.match(/^Bearer \S+$/);
    expect(Object.keys(headers).sort()).to.deep.equal(['accept', 'authorization', 'connection', 'content-length', 'content-type', 'host', 'user-agent', 'x-organisation']);
  });

  it('an answer slower than timeoutMs is retried with "timeout after N ms"', async () => {
    handler = (_req, res) => {
      const t = setTimeout(() => json(201, BODY.created)(_req, res, ''), 1500);
      res.on('close', () => clearTimeout(t));
    };
    const started = Date.now();
    expect(await send(sink({ timeoutMs: 200 }))).to.deep.equal({ kind: 'retry', reason: 'timeout after 200 ms' });
    expect(Date.now() - started).to.be.below(1000);
  });

  it('a refused connection is retried with ECONNREFUSED', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, 'close');
    const outcome = await send(sink({ url: `http://127.0.0.1:${port}` }));
    expect(outcome.kind).to.equal('retry');
    expect(outcome.kind === 'retry' && outcome.reason).to.match(/^ECONNREFUSED/);
  });

  it('an unknown host is retried with the DNS error', async () => {
    const outcome = await send(sink({ url: 'http://tracehive-test.invalid', timeoutMs: 3000 }));
    expect(outcome.kind).to.equal('retry');
    expect(outcome.kind === 'retry' && outcome.reason).to.match(/ENOTFOUND|EAI_AGAIN|timeout/);
  });

  it('an aborted signal is a retry without a request', async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await send(sink(), alert(), ac.signal)).kind).to.equal('retry');
    expect(seen).to.have.length(0);
  });

  it('scrubs the API key from bodies that echo it (a proxy page)', async () => {
    handler = (req, res) => json(400, JSON.stringify({ type: 'BadRequest', message: `bad header ${req.headers['authorization']}` }))(req, res, '');
    const outcome = await send(sink());
    expect(outcome.kind).to.equal('drop');
    expect(JSON.stringify(outcome)).to.include('[REDACTED]');
  });

  describe('checkAuth', () => {
    it('v1 GETs /api/v1/user/current: 200 is delivered', async () => {
      handler = json(200, '{"login":"api@acme","name":"api","organisation":"acme"}');
      const outcome = await sink().checkAuth(new AbortController().signal);
      outcomes.push(outcome);
      expect(outcome).to.deep.equal({ kind: 'delivered' });
      expect(seen[0]).to.deep.include({ method: 'GET', url: '/api/v1/user/current' });
      expect(seen[0]?.headers['authorization']).to.equal(`Bearer ${KEY}`);
    });

    it('v0 GETs /api/user/current: 401 is an auth retry', async () => {
      handler = json(401, BODY.auth);
      const outcome = await sink({ api: 'v0' }).checkAuth(new AbortController().signal);
      outcomes.push(outcome);
      expect(outcome).to.deep.include({ kind: 'retry', auth: true });
      expect(seen[0]?.url).to.equal('/api/user/current');
    });

    it('a 500 is a plain retry', async () => {
      handler = json(500, BODY.internal);
      const outcome = await sink().checkAuth(new AbortController().signal);
      outcomes.push(outcome);
      expect(outcome.kind).to.equal('retry');
      expect(outcome).not.to.have.property('auth');
    });
  });

  it('parseRetryAfter reads seconds and HTTP-dates', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).to.equal(120_000);
    expect(parseRetryAfter(' 0 ', now)).to.equal(0);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).to.equal(30_000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now)).to.equal(0);
    expect(parseRetryAfter('soon', now)).to.equal(undefined);
    expect(parseRetryAfter('-5', now)).to.equal(undefined);
    expect(parseRetryAfter(undefined, now)).to.equal(undefined);
  });

  describe('TLS', () => {
    let tlsServer: https.Server;
    let tlsBase: string;

    before(async () => {
      tlsServer = https.createServer({ key: TEST_KEY, cert: TEST_CERT }, (req, res) => {
        req.resume();
        req.on('end', () => json(201, BODY.created)(req, res, ''));
      });
      tlsServer.listen(0, '127.0.0.1');
      await once(tlsServer, 'listening');
      tlsBase = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
    });

    after(() => {
      tlsServer.closeAllConnections();
      tlsServer.close();
    });

    it('an untrusted certificate is a configuration retry pointing at THEHIVE_CA_FILE', async () => {
      const outcome = await send(sink({ url: tlsBase }));
      expect(outcome).to.deep.include({ kind: 'retry', auth: true });
      expect(outcome.kind === 'retry' && outcome.reason).to.match(/^TLS \S*SELF_SIGNED.*THEHIVE_CA_FILE/);
    });

    it('the ca option trusts a private CA', async () => {
      expect(await send(sink({ url: tlsBase, ca: TEST_CERT }))).to.deep.equal({ kind: 'delivered' });
    });

    it('tlsVerify false accepts any certificate', async () => {
      expect(await send(sink({ url: tlsBase, tlsVerify: false }))).to.deep.equal({ kind: 'delivered' });
    });
  });

  describe("TheHive 4's 256 kB request limit (issue 11)", () => {
    /** TheHive 4.1's `play.http.parser.maxMemoryBuffer = 256kB`: HOCON's kB is 1,000 bytes (thehive-api §5). */
    const LIMIT = 256_000;
    /** Answers as TheHive 4 does: 413 over the limit, else 201. */
    const theHive4: Handler = (_req, res, body) => json(Buffer.byteLength(body) > LIMIT ? 413 : 201, Buffer.byteLength(body) > LIMIT ? BODY.tooLarge : BODY.created)(_req, res, body);
    const observable = (i: number): Alert['observables'][number] => ({ dataType: 'url', data: `http://host-${i}.evil.example/some/longer/path/${i}`, ioc: false, tags: ['context'] });
    // A mail's description: Cyrillic text (2 bytes a character in UTF-8), quotes and line breaks that JSON escapes.
    const bigDescription = 'Mail from `x`.\n\n| key | value |\n|---|---|\n' + Array.from({ length: 12_000 }, (_, i) => `| Строка ${i} | "значение" \\ ${i} |`).join('\n');
    const observables = Array.from({ length: 5000 }, (_, i) => observable(i));
    const bodyOf = (s: TheHiveSink, a: Alert): { bytes: number; sent: Alert; note: string } => {
      const body = s.encode(a);
      const sent = s.decode(body);
      return { bytes: Buffer.byteLength(body), sent, note: /^_(.*)_\n\n/.exec(sent.description)?.[1] ?? '' };
    };

    it('a big description is cut first; every observable stays', async () => {
      const a = alert('ct-big-description');
      a.description = bigDescription;
      expect(Buffer.byteLength(JSON.stringify(a))).to.be.above(LIMIT);
      const v0 = sink({ api: 'v0' });
      const { bytes, sent, note } = bodyOf(v0, a);
      expect(bytes).to.be.at.most(LIMIT);
      expect(sent.observables).to.deep.equal(a.observables);
      expect(note).to.match(new RegExp(`^Shortened for TheHive 4, which refuses request bodies over 256 kB: the description was cut from ${bigDescription.length} to \\d+ characters\\.$`));
      const kept = sent.description.slice(sent.description.indexOf('\n\n') + 2);
      expect(kept.endsWith('…')).to.equal(true);
      expect(bigDescription.startsWith(kept.slice(0, -1))).to.equal(true);
      handler = theHive4;
      expect(await send(v0, a)).to.deep.equal({ kind: 'delivered' });
    });

    it('then observables from the end, the first (the matched indicator) kept; the note says how many', async () => {
      const a = testAlert('ct-many-observables', { description: bigDescription, observables });
      const v0 = sink({ api: 'v0' });
      const { bytes, sent, note } = bodyOf(v0, a);
      expect(bytes).to.be.at.most(LIMIT);
      const kept = sent.observables.length;
      expect(kept).to.be.within(1, observables.length - 1);
      expect(sent.observables).to.deep.equal(observables.slice(0, kept));
      expect(note).to.match(/^Shortened for TheHive 4, which refuses request bodies over 256 kB: the description was cut from \d+ to \d+ characters; the last (\d+) of 5000 observables were left out\.$/);
      expect(note).to.include(`the last ${observables.length - kept} of 5000 observables`);
      // The description keeps its first 64 KiB or so before any observable goes.
      expect(Buffer.byteLength(sent.description)).to.be.above(60_000);
      handler = theHive4;
      expect(await send(v0, a)).to.deep.equal({ kind: 'delivered' });
    });

    it('observables alone over the limit: only they are cut, and the description says so', () => {
      const a = testAlert('ct-only-observables', { observables });
      const { bytes, sent, note } = bodyOf(sink({ api: 'v0' }), a);
      expect(bytes).to.be.at.most(LIMIT);
      expect(note).to.match(/^Shortened for TheHive 4, which refuses request bodies over 256 kB: the last \d+ of 5000 observables were left out\.$/);
      expect(sent.description).to.equal(`_${note}_\n\nd`);
    });

    it('is deterministic, leaves a body under the limit untouched, and v1 (TheHive 5, 10 MB) never cuts', () => {
      const a = testAlert('ct-deterministic', { description: bigDescription, observables });
      const v0 = sink({ api: 'v0' });
      expect(v0.encode(a)).to.equal(v0.encode(structuredClone(a)));
      const small = alert();
      const { observables: obs, ...rest } = small;
      expect(v0.encode(small)).to.equal(JSON.stringify({ ...rest, artifacts: obs }));
      expect(sink().encode(a)).to.equal(JSON.stringify(a));
    });
  });

  // Last: mocha runs nested suites after the tests of their parent.
  describe('secrets', () => {
    it('the API key appears in no outcome of this file', () => {
      expect(outcomes.length).to.be.above(25);
      expect(JSON.stringify(outcomes)).not.to.include(KEY);
    });
  });
});
