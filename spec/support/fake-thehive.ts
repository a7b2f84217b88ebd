/**
 * A stand-in TheHive 5 for integration tests: a plain `node:http` server on 127.0.0.1 that answers alert
 * creation exactly as TheHive does (docs thehive-api.md §7.2): same status codes, error bodies, check order,
 * duplicate detection and field limits, so a test fails where TheHive would. `POST /api/alert` answers as the
 * TheHive 4 v0 API. Faults (slow, resets, proxy 5xx/429, lost 201) are injected into alert-create requests.
 *
 * Custom fields, case templates, ATT&CK patterns and organisations exist as the options say: a create naming
 * another is refused as TheHive refuses it (404 NotFoundError; 403 for an organisation the user is not in).
 * Not modelled: multipart bodies (file observables on 5.x), Basic/session auth.
 */
import { isMultipart, readMultipart } from './fake-thehive/multipart.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import { FaultPlan, statusReply, throttleReply, type Reply } from './fake-thehive/faults.js';
import { handle, matchRoute } from './fake-thehive/routes.js';
import { AlertStore } from './fake-thehive/store.js';
import { KNOWN_PATTERNS, type Fault, type FakeTheHive, type FakeTheHiveOptions, type RequestRecord, type StoredAlert } from './fake-thehive/types.js';

export type { Fault, FakeTheHive, FakeTheHiveOptions, OutputAlert, OutputObservable, RequestRecord, StoredAlert } from './fake-thehive/types.js';

/** TheHive 5's default `play.http.parser.maxMemoryBuffer` (§5). */
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** TheHive 4.1's default `play.http.parser.maxMemoryBuffer = 256kB` (§5): HOCON reads kB as 1000 bytes (K or KiB would be 1024). */
const V4_MAX_BODY_BYTES = 256_000;
/** Play's default idle timeout: a keep-alive client must not meet a server-side close sooner than on TheHive. */
const KEEP_ALIVE_TIMEOUT_MS = 75_000;

/** Starts a stand-in TheHive on 127.0.0.1 (a free port unless `port` is given). */
export async function startFakeTheHive(opts: FakeTheHiveOptions = {}): Promise<FakeTheHive> {
  const fake = new FakeTheHiveServer(opts);
  await fake.up();
  return fake;
}

class FakeTheHiveServer implements FakeTheHive {
  readonly requests: RequestRecord[] = [];
  readonly #server: Server;
  readonly #store: AlertStore;
  readonly #faults = new FaultPlan();
  /** Faults for the next requests of any route (GET, PATCH, observables, query…). */
  readonly #anyFaults = new FaultPlan();
  readonly #sockets = new Set<Socket>();
  /** Cancels of in-flight `slow` delays: down()/close() end them without an answer. */
  readonly #pending = new Set<() => void>();
  readonly #organisation: string;
  readonly #organisations: readonly string[];
  readonly #strict: boolean;
  readonly #maxBodyBytes: number;
  readonly #version: 4 | 5;
  readonly #release: string | undefined;
  #apiKey: string;
  #port: number;
  #listening = false;
  #closed = false;
  readonly #secure: boolean;

  constructor(opts: FakeTheHiveOptions) {
    this.#apiKey = opts.apiKey ?? 'test-key';
    this.#organisation = opts.organisation ?? 'tracehive-test';
    // 4.x reads a body without a JSON content type as empty rather than refusing it (§2).
    this.#strict = opts.strictContentType ?? opts.version !== 4;
    this.#port = opts.port ?? 0;
    this.#version = opts.version ?? 5;
    this.#release = opts.release;
    this.#maxBodyBytes = opts.maxBodyBytes ?? (opts.version === 4 ? V4_MAX_BODY_BYTES : DEFAULT_MAX_BODY_BYTES);
    this.#organisations = opts.organisations ?? [];
    this.#store = new AlertStore(this.#organisation, `api@${this.#organisation}`, {
      customFields: new Map(Object.entries(opts.customFields ?? {})),
      caseTemplates: new Set(opts.caseTemplates ?? []),
      patterns: new Set(opts.patterns ?? KNOWN_PATTERNS),
      tlpBefore5_2: /^5\.[01]\./.test(opts.release ?? ''),
    });
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      const record: RequestRecord = { at: Date.now(), method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] ?? '/', status: 0, ...(req.headers['content-type'] === undefined ? {} : { contentType: req.headers['content-type'] }) };
      this.requests.push(record);
      // A bug in the stand-in answers 500 with its message rather than hanging the client.
      this.#serve(req, res, record).catch((err: unknown) => {
        if (res.headersSent) return void res.destroy();
        this.#send(res, record, { status: 500, body: { type: 'InternalError', message: String(err) } });
      });
    };
    this.#secure = opts.tls !== undefined;
    // https.Server has every method of http.Server used here; only the TLS handshake comes first.
    this.#server = opts.tls ? (createTlsServer(opts.tls, onRequest) as unknown as Server) : createServer(onRequest);
    this.#server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.#server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  get url(): string {
    return `${this.#secure ? 'https' : 'http'}://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get alerts(): readonly StoredAlert[] {
    return this.#store.alerts;
  }

  setApiKey(key: string): void {
    this.#apiKey = key;
  }

  fault(f: Fault, times = 1): void {
    this.#faults.push(f, times);
  }

  faultAny(f: Fault, times = 1): void {
    this.#anyFaults.push(f, times);
  }

  importIntoCase(sourceRef: string): string {
    return this.#store.importIntoCase(this.#bySourceRef(sourceRef), Date.now());
  }

  closeAlert(sourceRef: string, status = 'FalsePositive'): void {
    if (status === 'New' || status === 'InProgress' || status === 'Imported') throw new TypeError(`Expected a closing status, got ${status}`);
    this.#store.setStatus(this.#bySourceRef(sourceRef), status, Date.now());
  }

  setStatus(sourceRef: string, status: string): void {
    this.#store.setStatus(this.#bySourceRef(sourceRef), status, Date.now());
  }

  deleteAlert(sourceRef: string): void {
    this.#store.delete(this.#bySourceRef(sourceRef));
  }

  alert(sourceRef: string): StoredAlert | undefined {
    return this.#store.alerts.find((a) => a.sourceRef === sourceRef);
  }

  #bySourceRef(sourceRef: string): StoredAlert {
    const found = this.alert(sourceRef);
    if (found === undefined) throw new Error(`The stand-in TheHive has no alert with sourceRef ${sourceRef}.`);
    return found;
  }

  failRate(rate: number, f: Fault, seed = 1): void {
    this.#faults.setRate(rate, f, seed);
  }

  async up(): Promise<void> {
    if (this.#closed) throw new Error('The fake TheHive is closed.');
    if (this.#listening) return;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address();
    if (address !== null && typeof address === 'object') this.#port = address.port;
    this.#listening = true;
  }

  async down(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    for (const cancel of this.#pending) cancel();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  async close(): Promise<void> {
    await this.down();
    this.#closed = true;
  }

  countBySourceRef(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const a of this.#store.alerts) counts.set(a.sourceRef, (counts.get(a.sourceRef) ?? 0) + 1);
    return counts;
  }

  createRequestsPerSecond(): number[] {
    const seconds = this.requests.filter(isCreate).map((r) => Math.floor(r.at / 1000));
    if (seconds.length === 0) return [];
    const first = Math.min(...seconds);
    const buckets = new Array<number>(Math.max(...seconds) - first + 1).fill(0);
    for (const s of seconds) buckets[s - first] = (buckets[s - first] ?? 0) + 1;
    return buckets;
  }

  async #serve(req: IncomingMessage, res: ServerResponse, record: RequestRecord): Promise<void> {
    const { path } = record;
    const route = matchRoute(record.method, path, this.#version);
    const fault = this.#anyFaults.next() ?? (route.name === 'createV1' || route.name === 'createV0' ? this.#faults.next() : undefined);
    if (fault !== undefined) record.fault = fault.kind;
    const read = await readBody(req, this.#maxBodyBytes);
    if (read === undefined) return; // the client went away mid-body
    const sourceRef = peekSourceRef(read.body);
    if (sourceRef !== undefined) record.sourceRef = sourceRef;
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'status') return this.#send(res, record, statusReply(fault.status, fault.body));
    if (fault?.kind === 'throttle') return this.#send(res, record, throttleReply(fault.retryAfterSec));
    if (fault?.kind === 'slow' && !(await this.#delay(fault.ms))) return void req.socket.destroy();
    const multipart = isMultipart(req.headers) && !read.tooLarge ? await readMultipart(req.headers, read.body) : undefined;
    if (multipart !== undefined && 'json' in multipart && multipart.json !== undefined) {
      const ref = peekSourceRef(Buffer.from(multipart.json));
      if (ref !== undefined) record.sourceRef = ref;
    }
    const ctx = { path, headers: req.headers, body: read.body, tooLarge: read.tooLarge, now: Date.now(), ...(multipart === undefined ? {} : { multipart }) };
    const state = { store: this.#store, apiKey: this.#apiKey, organisation: this.#organisation, organisations: this.#organisations, strictContentType: this.#strict, version: this.#version, ...(this.#release === undefined ? {} : { release: this.#release }) };
    let reply = handle(route, ctx, state);
    if (fault?.kind === 'accept-then-fail' && reply.status >= 200 && reply.status < 300) reply = statusReply(fault.status);
    if (fault?.kind === 'reset-mid-body') return this.#sendHalf(req, res, record, reply);
    this.#send(res, record, reply);
  }

  #send(res: ServerResponse, record: RequestRecord, reply: Reply): void {
    if (res.socket?.destroyed ?? true) return; // nobody to answer: status stays 0
    const { payload, headers } = encode(reply);
    record.status = reply.status;
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  /** Headers (with the full Content-Length) and half the body, then a reset. */
  #sendHalf(req: IncomingMessage, res: ServerResponse, record: RequestRecord, reply: Reply): void {
    if (res.socket?.destroyed ?? true) return;
    const { payload, headers } = encode(reply);
    record.status = reply.status;
    res.writeHead(reply.status, headers);
    res.write(payload.subarray(0, Math.max(1, Math.floor(payload.length / 2))), () => req.socket.destroy());
  }

  /** Resolves true after `ms`, or false at once when down()/close() cancels it. */
  #delay(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = (): void => {
        clearTimeout(timer);
        this.#pending.delete(cancel);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.#pending.delete(cancel);
        resolve(true);
      }, ms);
      this.#pending.add(cancel);
    });
  }
}

function isCreate(r: RequestRecord): boolean {
  return r.method === 'POST' && (r.path === '/api/v1/alert' || r.path === '/api/alert');
}

/** Reads the whole body; past `max` bytes it keeps draining but stores nothing. Undefined if the client aborted. */
function readBody(req: IncomingMessage, max: number): Promise<{ body: Buffer; tooLarge: boolean } | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge: size > max }));
    req.on('error', () => resolve(undefined));
    req.on('close', () => resolve(req.complete ? { body: Buffer.concat(chunks), tooLarge: size > max } : undefined));
  });
}

function peekSourceRef(body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    const ref = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['sourceRef'] : undefined;
    return typeof ref === 'string' ? ref : undefined;
  } catch {
    return undefined;
  }
}

function encode(reply: Reply): { payload: Buffer; headers: Record<string, string | number> } {
  if (reply.status === 204) return { payload: Buffer.alloc(0), headers: { ...reply.headers } }; // No Content: no body, no type
  const payload = Buffer.from(reply.text ?? JSON.stringify(reply.body ?? null), 'utf8');
  return {
    payload,
    headers: { 'Content-Type': reply.contentType ?? 'application/json', 'Content-Length': payload.length, ...reply.headers },
  };
}
