/**
 * Mail alerts in the lifecycle (issue 12 point 2), with the real delivery queue and state store and
 * an in-memory TheHive: a SIEM re-notification updates its incident's alert once, a resend changes
 * nothing, an ordinary mail twice stays one alert, an imported alert makes the next notification a
 * new alert, and a restart at each step neither loses nor repeats an update.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIL_STATE_FILE, MailLifecycle, type MailKeyState } from '../../../src/lifecycle/mail-lifecycle.js';
import { StateStore } from '../../../src/lifecycle/state-store.js';
import type { NotificationEvent } from '../../../src/lifecycle/types.js';
import { Delivery } from '../../../src/queue/delivery.js';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import type { Alert, Sink } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';
import { MemoryHive } from '../../support/memory-hive.js';

const T0 = Date.UTC(2024, 2, 14, 3, 23, 12);
const T1 = Date.UTC(2024, 2, 14, 3, 42, 5);

async function mail(name: string, receivedAt: number): Promise<Alert> {
  return alertFromMail(await parseMail(await readFile(fixturePath('mail', name))), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, receivedAt);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out waiting until ${what}`);
    await sleep(5);
  }
}
const noSink: Sink = { name: 'none', maxBatch: 1, encode: (a) => JSON.stringify(a), decode: (b) => JSON.parse(b) as never, send: () => Promise.resolve({ kind: 'delivered' }), close: () => Promise.resolve() };

describe('lifecycle: mail alerts', function () {
  this.timeout(15_000);
  let dir: string;
  let hive: MemoryHive;
  let running: { mails: MailLifecycle; delivery: Delivery; store: StateStore<MailKeyState> }[] = [];
  let notified: NotificationEvent[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-mail-lifecycle-'));
    hive = new MemoryHive();
    notified = [];
  });
  afterEach(async () => {
    for (const r of running) {
      r.mails.stop();
      await r.delivery.close();
      await r.store.close();
    }
    running = [];
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ mails: MailLifecycle; acked: Set<number>; dead: number[]; store: StateStore<MailKeyState> }> {
    const store = await StateStore.open<MailKeyState>({ dir: join(dir, 'alerts'), file: MAIL_STATE_FILE, maxKeys: 100 });
    const acked = new Set<number>();
    const dead: number[] = [];
    const settle = (a: { ticket: readonly number[]; job?: { settled(): void } }, isDead: boolean): void => {
      for (const s of a.ticket) {
        acked.add(s);
        if (isDead) dead.push(s);
      }
      a.job?.settled();
    };
    const delivery = new Delivery({
      sink: noSink,
      deadLetters: { write: () => Promise.resolve() },
      ratePerSec: 0,
      concurrency: 4,
      maxAttempts: 0,
      maxPending: 100,
      retryBaseMs: 5,
      retryMaxMs: 20,
      authRetryMs: 20,
      hooks: { delivered: (a) => settle(a, false), retried: () => undefined, dead: (a) => settle(a, true), readiness: () => undefined },
    });
    const mails = new MailLifecycle({
      store,
      ops: hive,
      queue: delivery,
      target: { url: 'https://thehive.test', organisation: 'SOC' },
      ack: (seq) => acked.add(seq),
      notifier: { notify: (e) => Promise.resolve(void notified.push(e)) },
      notifyMinSeverity: 4,
    });
    running.push({ mails, delivery, store });
    return { mails, acked, dead, store };
  }

  it('a re-notification raising INC-2024-0042 to CRITICAL updates its alert once and notifies once; its resend changes nothing', async () => {
    const r = await start();
    const first = await mail('siem-en.eml', T0);
    r.mails.add(1, first, T0);
    await until(() => r.acked.has(1), 'the first notification delivered');
    expect(hive.alerts.size).to.equal(1);
    r.mails.add(2, await mail('siem-en-escalated.eml', T1), T1);
    r.mails.add(3, await mail('siem-en-escalated-resend.eml', T1 + 60_000), T1 + 60_000);
    await until(() => r.acked.size === 3, 'every mail acknowledged');
    const alert = hive.bySourceRef(first.sourceRef);
    expect(alert?.severity).to.equal(4);
    expect(alert?.tags).to.include('status:Escalated').and.not.include('status:New');
    expect(alert?.description).to.contain('Severity raised: HIGH → CRITICAL');
    expect(hive.alerts.size).to.equal(1);
    expect(hive.requests.filter((q) => q.startsWith('update'))).to.have.length(1);
    expect(notified.map((e) => [e.sourceRef, e.severity, e.previousSeverity])).to.deep.equal([[first.sourceRef, 4, 3]]);
  });

  it('sends the re-notification’s status check and update to the organisation a rule created the alert in', async () => {
    const r = await start();
    const inTenant = (a: Alert): Alert => ({ ...a, meta: { rules: ['alert.rules[0] (siem)'], setBy: [{ field: 'organisation', rule: 'alert.rules[0] (siem)' }], organisation: 'tenantA' } });
    r.mails.add(1, inTenant(await mail('siem-en.eml', T0)), T0);
    await until(() => r.acked.has(1), 'the first notification delivered');
    // The escalation comes without the rule's organisation (a rule changed since): the alert's own stands.
    r.mails.add(2, await mail('siem-en-escalated.eml', T1), T1);
    await until(() => r.acked.size === 2, 'the update');
    expect(hive.organisations).to.include('create tenantA').and.include('update tenantA');
    expect(hive.organisations.filter((o) => !o.endsWith('tenantA'))).to.deep.equal([]);
    expect(r.store.list()[0]?.organisation).to.equal('tenantA');
  });

  it('an ordinary mail sent twice stays one alert, with no request for the second', async () => {
    const r = await start();
    const a = await mail('attachments.eml', T0);
    r.mails.add(1, a, T0);
    await until(() => r.acked.has(1), 'the mail delivered');
    const before = hive.requests.length;
    r.mails.add(2, await mail('attachments.eml', T1), T1);
    await until(() => r.acked.has(2), 'the second acknowledged');
    expect(hive.alerts.size).to.equal(1);
    expect(hive.requests.length).to.equal(before);
  });

  it('after the alert was imported into a case, the next notification opens a new alert that links it', async () => {
    const r = await start();
    const first = await mail('siem-en.eml', T0);
    r.mails.add(1, first, T0);
    await until(() => r.acked.has(1), 'created');
    const old = hive.bySourceRef(first.sourceRef);
    if (old) old.status = 'closed';
    r.mails.add(2, await mail('siem-en-escalated.eml', T1), T1);
    await until(() => r.acked.has(2), 'the re-notification handled');
    const next = hive.bySourceRef(`${first.sourceRef}-2`);
    expect(next?.description).to.match(new RegExp(`^Follows alert \`${old?.id}\``));
    expect(next?.severity).to.equal(4);
  });

  it('with its state lost, a re-notification finds the alert ("already exists"), applies the update, and a replay of the first changes nothing', async () => {
    const a = await start();
    const first = await mail('siem-en.eml', T0);
    a.mails.add(1, first, T0);
    await until(() => a.acked.has(1), 'created');
    await a.store.forget(a.store.list()[0]!.key);
    // A restart on that state: the same first mail replayed (a crash before its ack), then the escalation.
    const b = await start();
    b.mails.add(1, first, T0);
    b.mails.add(2, await mail('siem-en-escalated.eml', T1), T1);
    await until(() => b.acked.size === 2, 'both handled');
    expect(hive.alerts.size).to.equal(1);
    const alert = hive.bySourceRef(first.sourceRef);
    expect(alert?.severity).to.equal(4);
    expect(hive.requests.filter((q) => q.startsWith('update'))).to.have.length(1);
    expect((alert?.description.match(/Severity raised/g) ?? []).length).to.equal(1);
  });

  it('a crash between the update and the state write sends the same absolute patch again: one Updates entry', async () => {
    const a = await start();
    const first = await mail('siem-en.eml', T0);
    a.mails.add(1, first, T0);
    await until(() => a.acked.has(1), 'created');
    // The update reaches TheHive, then the state write "crashes": a store that refuses writes.
    const put = a.store.put.bind(a.store);
    a.store.put = () => Promise.reject(new Error('killed'));
    const escalated = await mail('siem-en-escalated.eml', T1);
    a.mails.add(2, escalated, T1);
    await until(() => hive.requests.some((q) => q.startsWith('update')), 'the update sent');
    await sleep(50);
    a.store.put = put;
    a.mails.stop();
    const b = await start();
    b.mails.add(2, escalated, T1);
    await until(() => b.acked.has(2), 'replayed');
    const alert = hive.bySourceRef(first.sourceRef);
    expect((alert?.description.match(/Severity raised/g) ?? []).length).to.equal(1);
    expect(alert?.severity).to.equal(4);
  });
});
