/**
 * Issue 13: two reports of the same phish become one alert. With the lifecycle on, the second
 * report updates the phish's alert: its reporter listed under the description, its new
 * observables added; the same report fetched again changes nothing. With it off, TheHive's
 * "already exists" for the phish's sourceRef counts as delivered (over real HTTP, the stand-in).
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIL_STATE_FILE, MailLifecycle, type MailKeyState } from '../../../src/lifecycle/mail-lifecycle.js';
import { StateStore } from '../../../src/lifecycle/state-store.js';
import { Delivery } from '../../../src/queue/delivery.js';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import { createTheHiveSink } from '../../../src/sinks/thehive.js';
import type { Alert, Sink } from '../../../src/types.js';
import { startFakeTheHive } from '../../support/fake-thehive.js';
import { fixturePath } from '../../support/fixtures.js';
import { MemoryHive } from '../../support/memory-hive.js';

const T0 = Date.UTC(2024, 2, 18, 4, 40, 12);
const T1 = Date.UTC(2024, 2, 18, 5, 31, 2);

/** The Halyk phish (sent to Ruslan, Aigerim in copy) forwarded inline by Aigerim. */
const SECOND_REPORT = [
  'From: Aigerim Serikova <a.serikova@qazlogistik.kz>',
  'To: phishing@qazlogistik.kz',
  'Subject: FW: Urgent: invoice 4412 overdue',
  'Date: Mon, 18 Mar 2024 11:31:02 +0600',
  'Message-ID: <AM0PR01MB9901A@AM0PR01MB9901.corp.qazlogistik.kz>',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'I got this too.',
  '',
  '________________________________',
  'From: Halyk Billing <billing@halyk-billing-kz.top>',
  'Sent: 18 March 2024 10:15',
  'To: Ruslan Ivanov <r.ivanov@qazlogistik.kz>',
  'Cc: Aigerim Serikova <a.serikova@qazlogistik.kz>',
  'Subject: Urgent: invoice 4412 overdue',
  '',
  'Dear Ruslan Ivanov (r.ivanov@qazlogistik.kz),',
  'invoice 4412 is overdue. Pay today to avoid a penalty: https://halyk-billing-kz.top/pay?inv=4412',
  'The invoice is attached.',
  '',
].join('\r\n');

async function mapped(raw: Buffer, receivedAt: number): Promise<Alert> {
  return alertFromMail(await parseMail(raw), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, receivedAt);
}
const first = async (at = T0): Promise<Alert> => mapped(await readFile(fixturePath('mail', 'phish-report-outlook-en.eml')), at);
const second = async (at = T1): Promise<Alert> => mapped(Buffer.from(SECOND_REPORT), at);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out waiting until ${what}`);
    await sleep(5);
  }
}
const noSink: Sink = { name: 'none', maxBatch: 1, encode: (a) => JSON.stringify(a), decode: (b) => JSON.parse(b) as never, send: () => Promise.resolve({ kind: 'delivered' }), close: () => Promise.resolve() };

describe('lifecycle: two reports of one phish are one alert (issue 13)', function () {
  this.timeout(15_000);
  let dir: string;
  let hive: MemoryHive;
  const running: { mails: MailLifecycle; delivery: Delivery; store: StateStore<MailKeyState> }[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-report-merge-'));
    hive = new MemoryHive();
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.mails.stop();
      await r.delivery.close();
      await r.store.close();
    }
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ mails: MailLifecycle; acked: Set<number> }> {
    const store = await StateStore.open<MailKeyState>({ dir: join(dir, 'alerts'), file: MAIL_STATE_FILE, maxKeys: 100 });
    const acked = new Set<number>();
    const settle = (a: { ticket: readonly number[]; job?: { settled(): void } }): void => {
      for (const s of a.ticket) acked.add(s);
      a.job?.settled();
    };
    const delivery = new Delivery({
      sink: noSink,
      deadLetters: { write: () => Promise.resolve() },
      ...{ ratePerSec: 0, concurrency: 4, maxAttempts: 0, maxPending: 100, retryBaseMs: 5, retryMaxMs: 20, authRetryMs: 20 },
      hooks: { delivered: (a) => settle(a), retried: () => undefined, dead: (a) => settle(a), readiness: () => undefined },
    });
    const mails = new MailLifecycle({ store, ops: hive, queue: delivery, target: { url: 'https://thehive.test', organisation: 'SOC' }, ack: (seq) => acked.add(seq) });
    running.push({ mails, delivery, store });
    return { mails, acked };
  }

  it('the second colleague\'s report updates the phish\'s alert: both reporters listed, its .eml added; the first fetched again changes nothing', async () => {
    const r = await start();
    const a = await first();
    const b = await second();
    expect(b.sourceRef).to.equal(a.sourceRef);
    r.mails.add(1, a, T0);
    await until(() => r.acked.has(1), 'the first report delivered');
    r.mails.add(2, b, T1);
    r.mails.add(3, await first(T1 + 60_000), T1 + 60_000);
    await until(() => r.acked.size === 3, 'every report acknowledged');

    expect(hive.alerts.size).to.equal(1);
    const alert = hive.bySourceRef(a.sourceRef);
    expect(alert?.title).to.equal('Urgent: invoice 4412 overdue');
    expect(alert?.description).to.contain('**Reports** (2)');
    expect(alert?.description).to.contain('- 2024-03-18 04:40:12 UTC — reported by Ruslan Ivanov \\<r.ivanov@qazlogistik.kz\\> (alert created)');
    expect(alert?.description).to.contain('- 2024-03-18 05:31:02 UTC — Reported again by Aigerim Serikova \\<a.serikova@qazlogistik.kz\\>; 1 new observable: file');
    // The second report's own .eml (an inline forward has no bytes of its own): the one observable it adds.
    const files = [...(alert?.observables.values() ?? [])].filter((o) => o.dataType === 'file').map((o) => o.attachment?.name);
    expect(files).to.deep.equal(['invoice_4412.html', 'report.eml', 'report.eml']);
    // One update for the second report; none for the first fetched again.
    expect(hive.requests.filter((q) => q.startsWith('update'))).to.have.length(1);
    expect(hive.requests.filter((q) => q.startsWith('create'))).to.have.length(1);
  });

  it('without the lifecycle, TheHive\'s "already exists" for the second report counts as delivered: one alert', async () => {
    const fake = await startFakeTheHive({ apiKey: 'k' });
    const sink = createTheHiveSink({ url: fake.url, apiKey: 'k', organisation: '', api: 'v1', tlsVerify: true, timeoutMs: 5000 });
    try {
      for (const [n, alert] of [await first(), await second()].entries()) {
        const outcome = await sink.send([{ sourceRef: alert.sourceRef, body: sink.encode(alert) }], new AbortController().signal);
        expect(outcome, `report ${n + 1}`).to.deep.equal(n === 0 ? { kind: 'delivered' } : { kind: 'delivered', duplicate: true });
      }
      expect(fake.alerts).to.have.length(1);
    } finally {
      await sink.close();
      await fake.close();
    }
  });
});
