/**
 * Notifications on critical alerts end to end over real sockets (issue 12 point 5): a real SMTP
 * listener (smtp-server) as the relay, a real HTTP server as the webhook, the admin port receiving
 * TheHive's own webhooks. Once per alert and severity, also after a restart; retried while the
 * relay is down; dead-lettered when refused, and put back by requeue-dead.
 */
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadConfig, type Config } from '../../src/config.js';
import { AdminServer } from '../../src/http/admin.js';
import { THEHIVE_WEBHOOK_PATH, theHiveWebhookHandler } from '../../src/http/thehive-webhook.js';
import { startNotifier, type NotifierRuntime } from '../../src/notify/runtime.js';
import { notificationKey } from '../../src/notify/record.js';
import type { AlertEvent } from '../../src/notify/thehive-event.js';
import type { NotificationEvent } from '../../src/lifecycle/types.js';
import { requeueDead } from '../../src/queue/requeue.js';
import { Relay } from '../support/smtp-relay.js';
import { fixturePath, readFixture } from '../support/fixtures.js';

/** A real webhook receiver answering from `answers` in turn (the last one repeats). */
class Hook {
  readonly requests: { headers: http.IncomingHttpHeaders; body: Record<string, unknown>; at: number }[] = [];
  answers: { status: number; headers?: Record<string, string> }[] = [{ status: 200 }];
  #server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, at: Date.now() });
      const a = this.answers[Math.min(this.requests.length - 1, this.answers.length - 1)]!;
      res.writeHead(a.status, a.headers ?? {});
      res.end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/notify`;
  }

  stop(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const silent = pino({ level: 'silent' });

function critical(sourceRef: string, over: Partial<NotificationEvent> = {}): NotificationEvent {
  return {
    sourceRef,
    alertId: '~4242',
    title: 'Botnet C&C contacted',
    severity: 4,
    previousSeverity: 3,
    sightings: 12,
    firstSeen: Date.UTC(2026, 2, 1, 8, 0, 0),
    lastSeen: Date.UTC(2026, 2, 1, 9, 30, 0),
    organisation: 'SOC',
    iocs: [{ dataType: 'domain', data: 'cnc.evil.example' }],
    ...over,
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits for a metric line: a counter follows its record's write to disk. */
async function untilMetric(registry: () => Registry, line: string): Promise<void> {
  const end = Date.now() + 8000;
  while (!(await registry().metrics()).includes(line)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${line}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function deadLines(spoolDir: string): Promise<Record<string, unknown>[]> {
  const dir = join(spoolDir, 'dead');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('notify-'));
  const lines: Record<string, unknown>[] = [];
  for (const n of names) for (const l of (await readFile(join(dir, n), 'utf8')).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
  return lines;
}

describe('notifications on critical alerts (real SMTP relay, real webhook)', function () {
  this.timeout(30_000);
  let spoolDir: string;
  let relay: Relay;
  let hook: Hook;
  const running: NotifierRuntime[] = [];
  let registry: Registry;

  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'tracehive-notify-it-'));
    relay = new Relay();
    hook = new Hook();
    registry = new Registry();
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.close();
    await relay.stop();
    await hook.stop().catch(() => undefined);
    await rm(spoolDir, { recursive: true, force: true });
  });

  function config(notify: Record<string, unknown>, http: Record<string, unknown> = {}): Config {
    return loadConfig({ env: {}, useDefaultFile: false, overrides: { spool: { dir: spoolDir }, notify: { linkBaseUrl: 'https://hive.example', ...notify }, http } });
  }
  async function start(c: Config): Promise<NotifierRuntime> {
    registry = new Registry();
    const r = await startNotifier({ config: c, log: silent, registry, now: Date.now });
    if (!r) throw new Error('no notifier');
    running.push(r);
    return r;
  }
  const mailConfig = (port: number): Config => config({ smtp: { host: '127.0.0.1', port, starttls: 'off' }, to: ['soc@example.org'], from: 'tracehive@example.org' });

  it('reaches a relay with a private certificate through notify.smtp.caFile, and never one it cannot verify', async () => {
    const tls = { key: readFixture('tls', 'test-key.pem'), cert: readFixture('tls', 'test-cert.pem') };
    const port = await relay.start(0, tls);
    const unverified = await start(config({ smtp: { host: '127.0.0.1', port, secure: true }, to: ['soc@example.org'] }));
    await unverified.notifier.notify(critical('ct-k-untrusted'));
    await untilMetric(() => registry, 'tracehive_notifications_total{channel="mail",outcome="retried"} 1');
    expect(relay.mails).to.have.length(0);
    await unverified.close();
    running.splice(running.indexOf(unverified), 1);
    await rm(join(spoolDir, 'notify'), { recursive: true, force: true });
    const trusted = await start(config({ smtp: { host: '127.0.0.1', port, secure: true, caFile: fixturePath('tls', 'test-cert.pem') }, to: ['soc@example.org'] }));
    await trusted.notifier.notify(critical('ct-k-trusted'));
    await until('the mail over TLS', () => relay.mails.length === 1);
    expect(relay.mails[0]?.subject).to.equal('[tracehive] CRITICAL: Botnet C&C contacted');
  });

  it('mails a critical alert once: deterministic Message-ID, subject and body; not again when notified twice or after a restart', async () => {
    const port = await relay.start();
    const n = await start(mailConfig(port));
    await n.notifier.notify(critical('ct-k1'));
    await n.notifier.notify(critical('ct-k1'));
    await until('the mail', () => relay.mails.length === 1);
    const mail = relay.mails[0]!;
    expect(mail.messageId).to.equal(`<notify-${notificationKey('ct-k1', 4)}@tracehive>`);
    expect(mail.subject).to.equal('[tracehive] CRITICAL: Botnet C&C contacted');
    expect(mail.to).to.equal('soc@example.org');
    for (const field of ['Severity: CRITICAL (HIGH → CRITICAL)', 'Sightings: 12', 'First seen: 2026-03-01T08:00:00.000Z', 'Last seen: 2026-03-01T09:30:00.000Z', 'Organisation: SOC', 'domain: cnc.evil.example', 'https://hive.example/alerts/~4242/details']) {
      expect(mail.text).to.include(field);
    }
    await n.close();
    running.length = 0;
    const again = await start(mailConfig(port));
    await again.notifier.notify(critical('ct-k1'));
    await sleep(700);
    expect(relay.mails).to.have.length(1);
    await untilMetric(() => registry, 'tracehive_notifications_pending 0');
  });

  it('retries while the relay is down and delivers once it is up (and a pending one survives a restart)', async () => {
    const probe = new Relay();
    const port = await probe.start();
    await probe.stop(); // a free port nobody listens on
    const first = await start(mailConfig(port));
    await first.notifier.notify(critical('ct-k2'));
    await until('a failed attempt', () => (first.outbox.waiting()[0]?.channels.mail?.attempts ?? 0) >= 1);
    await first.close();
    running.length = 0;
    await relay.start(port);
    const second = await start(mailConfig(port));
    await until('the mail after the restart', () => relay.mails.length === 1, 10_000);
    await until('the record marked sent', () => second.outbox.pending === 0 && second.outbox.waiting().length === 0);
    await untilMetric(() => registry, 'tracehive_notifications_total{channel="mail",outcome="sent"} 1');
  });

  it('dead-letters a mail the relay refuses (5xx: ERR_NOTIFY_REJECTED) and requeue-dead puts it back', async () => {
    relay.refuse = true;
    const port = await relay.start();
    const n = await start(mailConfig(port));
    await n.notifier.notify(critical('ct-k3'));
    await until('the dead letter', () => n.outbox.pending === 0);
    const [dead] = await deadLines(spoolDir);
    expect(dead).to.deep.include({ kind: 'notification', channel: 'mail', status: 550, key: notificationKey('ct-k3', 4) });
    expect(String(dead?.reason)).to.match(/^ERR_NOTIFY_REJECTED: .*Relaying denied/);
    await untilMetric(() => registry, 'tracehive_notifications_total{channel="mail",outcome="dead"} 1');
    relay.refuse = false;
    const noSpool = { full: false, whenSpace: () => Promise.resolve(), append: () => 0, commit: () => Promise.resolve() };
    const result = await requeueDead(spoolDir, noSpool, { notifications: n.requeue });
    expect(result.notifications).to.equal(1);
    await until('the requeued mail', () => relay.mails.length === 1);
  });

  it('POSTs the webhook with bearer and Idempotency-Key, honours Retry-After on 503, and sends once', async () => {
    hook.answers = [{ status: 503, headers: { 'retry-after': '1' } }, { status: 200 }];
    const url = await hook.start();
    const n = await start(config({ webhook: { url, token: 's3cret' } }));
    await n.notifier.notify(critical('ct-k4'));
    await n.notifier.notify(critical('ct-k4'));
    await until('the second request', () => hook.requests.length === 2);
    const [a, b] = hook.requests;
    expect(b!.at - a!.at).to.be.at.least(900);
    for (const r of [a!, b!]) {
      expect(r.headers.authorization).to.equal('Bearer s3cret');
      expect(r.headers['idempotency-key']).to.equal(notificationKey('ct-k4', 4));
    }
    expect(b!.body).to.deep.include({ sourceRef: 'ct-k4', severity: 4, sightings: 12, organisation: 'SOC', link: 'https://hive.example/alerts/~4242/details' });
    await sleep(500);
    expect(hook.requests).to.have.length(2);
    await untilMetric(() => registry, 'tracehive_notifications_total{channel="webhook",outcome="retried"} 1');
  });

  it('dead-letters after a webhook 4xx without retrying, and a mail channel that worked is not resent', async () => {
    hook.answers = [{ status: 422 }];
    const url = await hook.start();
    const port = await relay.start();
    const n = await start(config({ smtp: { host: '127.0.0.1', port, starttls: 'off' }, to: ['soc@example.org'], webhook: { url } }));
    await n.notifier.notify(critical('ct-k5'));
    await until('both channels done', () => n.outbox.pending === 0 && relay.mails.length === 1);
    await sleep(300);
    expect(hook.requests).to.have.length(1);
    const [dead] = await deadLines(spoolDir);
    expect(dead).to.deep.include({ channel: 'webhook', status: 422 });
    expect(String(dead?.reason)).to.match(/^ERR_NOTIFY_REJECTED: .*answered 422/);
    await n.requeue(critical('ct-k5'), 'webhook');
    await until('the webhook again', () => hook.requests.length === 2);
    expect(relay.mails).to.have.length(1);
  });

  describe('POST /webhooks/thehive on the admin port', () => {
    let admin: AdminServer;
    afterEach(() => admin?.stop());

    async function adminWith(token: string, n?: NotifierRuntime, events: AlertEvent[] = []): Promise<string> {
      admin = new AdminServer({ host: '127.0.0.1', port: 0, registry, readiness: () => ({ ready: true, reasons: [] }), deliveryReadiness: () => ({ ready: true, reasons: [] }) });
      admin.route('POST', THEHIVE_WEBHOOK_PATH, theHiveWebhookHandler({ token, minSeverity: 4, notifier: () => n?.notifier, onAlertEvent: (e) => events.push(e) }));
      const { port } = await admin.start();
      return `http://127.0.0.1:${port}${THEHIVE_WEBHOOK_PATH}`;
    }
    const post = (url: string, body: string | Buffer, auth?: string): Promise<Response> => fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) } });
    const alertEvent = (severity: number, stage = 'New') => JSON.stringify({ operation: 'create', objectType: 'Alert', objectId: '~77', object: { _id: '~77', title: 'Escalated by an analyst', severity, sourceRef: 'siem-9', stage, status: 'New' }, organisation: 'SOC' });

    it('is 404 while http.thehiveWebhookToken is empty', async () => {
      const url = await adminWith('');
      expect((await post(url, alertEvent(4), 'Bearer x')).status).to.equal(404);
    });

    it('is 401 without the bearer token or with a wrong one, 413 over 4 MiB, 400 for bad JSON', async () => {
      const url = await adminWith('tok-1');
      expect((await post(url, alertEvent(4))).status).to.equal(401);
      expect((await post(url, alertEvent(4), 'Bearer tok-2')).status).to.equal(401);
      expect((await post(url, Buffer.alloc(4 * 1024 * 1024 + 10, 0x20), 'Bearer tok-1')).status).to.equal(413);
      expect((await post(url, '{"operation":', 'Bearer tok-1')).status).to.equal(400);
    });

    it('mails a critical alert event once, hands every alert event to onAlertEvent, and does not notify a lower severity', async () => {
      const port = await relay.start();
      const n = await start(mailConfig(port));
      const events: AlertEvent[] = [];
      const url = await adminWith('tok-1', n, events);
      const ok = await post(url, alertEvent(4), 'Bearer tok-1');
      expect(ok.status).to.equal(200);
      expect(await ok.json()).to.deep.include({ notified: true });
      expect((await post(url, alertEvent(4, 'InProgress'), 'Bearer tok-1')).status).to.equal(200);
      expect((await post(url, alertEvent(2, 'Closed'), 'Bearer tok-1')).status).to.equal(200);
      await until('the mail', () => relay.mails.length === 1);
      await sleep(500);
      expect(relay.mails).to.have.length(1);
      expect(relay.mails[0]!.subject).to.equal('[tracehive] CRITICAL: Escalated by an analyst');
      expect(relay.mails[0]!.text).to.include('https://hive.example/alerts/~77/details');
      expect(events.map((e) => e.status)).to.deep.equal(['open', 'open', 'closed']);
      expect(events[0]).to.deep.equal({ id: '~77', sourceRef: 'siem-9', status: 'open' });
      // Not an alert event: answered, ignored.
      expect((await post(url, JSON.stringify({ operation: 'create', objectType: 'Case', object: { _id: '~1' } }), 'Bearer tok-1')).status).to.equal(200);
    });
  });
});
