/**
 * The lifecycle's decisions (issue 12 point 1), with the real delivery queue and state store and an
 * in-memory TheHive: one alert per key updated in place, exact counts, the next alert once one is
 * closed or its window passed, and what a restart at each step makes of it.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lifecycle } from '../../../src/lifecycle/lifecycle.js';
import { StateStore } from '../../../src/lifecycle/state-store.js';
import { Delivery } from '../../../src/queue/delivery.js';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { DetectionRecord, Sink } from '../../../src/types.js';
import { MemoryHive } from '../../support/memory-hive.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-20T10:00:00Z');

function record(line: string): DetectionRecord {
  const parsed = parseLine(line);
  if (!parsed.ok || parsed.value.kind !== 'detection') throw new Error(`not a detection: ${line}`);
  return parsed.value;
}
const line = (indicator: string, src: string, date = 'Oct 12 16:14:02', category = 'KL_Malicious_URL'): string =>
  `${date} category=${category} matchedIndicator=${indicator} url=http://${indicator}/x src=${src} usrName=jsmith threat=HEUR:Trojan.Script.Generic`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out waiting until ${what}`);
    await sleep(5);
  }
}

const noSink: Sink = {
  name: 'none',
  maxBatch: 1,
  encode: (a) => JSON.stringify(a),
  decode: (b) => JSON.parse(b) as never,
  send: () => Promise.resolve({ kind: 'delivered' }),
  close: () => Promise.resolve(),
};

describe('lifecycle: one open alert per key, updated in place', function () {
  this.timeout(15_000);
  let dir: string;
  let hive: MemoryHive;
  let running: { lifecycle: Lifecycle; delivery: Delivery; store: StateStore; acked: Set<number>; dead: number[] }[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-lifecycle-'));
    hive = new MemoryHive();
  });
  afterEach(async () => {
    for (const r of running) {
      r.lifecycle.stop();
      await r.delivery.close();
      await r.store.close();
    }
    running = [];
    await rm(dir, { recursive: true, force: true });
  });

  async function start(opts: { windowMs?: number; flushMs?: number; maxHeld?: number; rules?: readonly unknown[] } = {}): Promise<(typeof running)[number]> {
    const store = await StateStore.open({ dir: join(dir, 'alerts'), maxKeys: 1000 });
    const acked = new Set<number>();
    const dead: number[] = [];
    const delivery: Delivery = new Delivery({
      sink: noSink,
      deadLetters: { write: () => Promise.resolve() },
      ratePerSec: 0,
      concurrency: 4,
      maxAttempts: 0,
      maxPending: 100,
      retryBaseMs: 5,
      retryMaxMs: 20,
      authRetryMs: 20,
      hooks: {
        delivered: (a) => {
          for (const s of a.ticket) acked.add(s);
          a.job?.settled();
        },
        retried: () => undefined,
        dead: (a) => {
          for (const s of a.ticket) {
            acked.add(s);
            dead.push(s);
          }
          a.job?.settled();
        },
        readiness: () => undefined,
      },
    });
    const lifecycle = new Lifecycle({
      store,
      ops: hive,
      queue: delivery,
      policy: opts.rules ? { ...DEFAULT_POLICY, rules: opts.rules } : DEFAULT_POLICY,
      keyFields: ['category', 'matchedIndicator'],
      target: { url: 'https://thehive.test', organisation: 'SOC' },
      windowMs: opts.windowMs ?? 24 * HOUR,
      flushMs: opts.flushMs ?? 50,
      maxHeld: opts.maxHeld ?? 1000,
      ack: (seq) => acked.add(seq),
    });
    const r = { lifecycle, delivery, store, acked, dead };
    running.push(r);
    return r;
  }

  it('makes one alert of a key, counts each sighting once, and sends later ones as one update per interval', async () => {
    const r = await start({ flushMs: 200 });
    r.lifecycle.add(1, record(line('evil.example.nu', '10.0.0.1')), T0);
    await until(() => hive.alerts.size === 1, 'the alert created');
    // Four more within one interval, one of them the same line again (a resend).
    r.lifecycle.add(2, record(line('evil.example.nu', '10.0.0.2', 'Oct 12 16:15:00')), T0 + 1000);
    r.lifecycle.add(3, record(line('evil.example.nu', '10.0.0.3', 'Oct 12 16:16:00')), T0 + 2000);
    r.lifecycle.add(4, record(line('evil.example.nu', '10.0.0.1')), T0 + 3000);
    r.lifecycle.add(5, record(line('evil.example.nu', '10.0.0.4', 'Oct 12 16:17:00')), T0 + 4000);
    await until(() => r.acked.size === 5, 'every record acknowledged');
    expect(hive.alerts.size).to.equal(1);
    const alert = [...hive.alerts.values()][0]!;
    expect(alert.title).to.equal('Malicious URL: evil.example.nu (4 sightings)');
    expect(alert.description).to.match(/^4 sightings of `evil\.example\.nu`/);
    expect(alert.tags).to.include(`key:${r.store.list()[0]!.key}`);
    expect(alert.observables.has('ip\u000010.0.0.4')).to.equal(true);
    // create, then one GET + PATCH + observables for the four that followed: not one update per line.
    expect(hive.requests.filter((q) => q.startsWith('update'))).to.have.length(1);
    expect(hive.requests.filter((q) => q.startsWith('create'))).to.have.length(1);
  });

  it('sends the create, the status check, the update and the observables of a rule’s alert to the rule’s organisation', async () => {
    const r = await start({ flushMs: 50, rules: [{ name: 'tenant-a', match: { fields: { src: '^10\\.1\\.' } }, set: { organisation: 'tenantA' } }] });
    r.lifecycle.add(1, record(line('t.example.nu', '10.1.0.1')), T0);
    r.lifecycle.add(2, record(line('soc.example.nu', '10.9.0.1')), T0);
    await until(() => r.acked.size === 2, 'both created');
    r.lifecycle.add(3, record(line('t.example.nu', '10.1.0.2', 'Oct 12 16:15:00')), T0 + 1000);
    await until(() => r.acked.size === 3, 'the update');
    // The two creates run side by side: their order is not the point.
    expect([...hive.organisations].sort()).to.deep.equal(['create -', 'create tenantA', 'get tenantA', 'observables tenantA', 'update tenantA']);
    expect(r.store.list().map((s) => s.organisation).sort()).to.deep.equal([null, 'tenantA'].sort());
  });

  it('creates the alert with what rules set beyond title and tags: custom fields, case template, link, assignee, procedures, and the rule names', async () => {
    const rules = [
      {
        name: 'c2',
        match: { category: 'KL_Malicious_URL' },
        set: {
          customFields: { indicator: { type: 'string', value: '{{matchedIndicator}}' } },
          caseTemplate: 'C2 triage',
          externalLink: 'https://intel.example/q={{matchedIndicator}}',
          assignee: 'soc-l1',
          procedures: [{ patternId: 'T1071', tactic: 'command-and-control' }],
        },
      },
    ];
    const r = await start({ rules });
    r.lifecycle.add(1, record(line('c2.example.nu', '10.0.0.1')), T0);
    await until(() => r.acked.size === 1, 'the alert created');
    const body = hive.creates[0]!;
    expect(body.customFields).to.deep.equal({ indicator: 'c2.example.nu' });
    expect([body.caseTemplate, body.externalLink, body.assignee]).to.deep.equal(['C2 triage', 'https://intel.example/q=c2.example.nu', 'soc-l1']);
    expect(body.procedures?.map((p) => [p.patternId, p.tactic])).to.deep.equal([['T1071', 'command-and-control']]);
    expect(body.meta?.rules).to.deep.equal(['alert.rules[0] (c2)']);
  });

  it('opens the next alert, linking the previous one, once TheHive closed or imported it', async () => {
    const r = await start();
    r.lifecycle.add(1, record(line('c2.example.nu', '10.0.0.1')), T0);
    await until(() => r.acked.has(1), 'the first alert');
    const first = [...hive.alerts.values()][0]!;
    first.status = 'closed';
    r.lifecycle.add(2, record(line('c2.example.nu', '10.0.0.2', 'Oct 12 17:00:00')), T0 + HOUR);
    await until(() => r.acked.has(2), 'the second sighting handled');
    expect(hive.alerts.size).to.equal(2);
    const second = hive.bySourceRef(`${first.sourceRef}-2`);
    expect(second, 'the key’s second alert').to.not.equal(undefined);
    expect(second!.description).to.include(`Follows alert \`${first.id}\` (\`${first.sourceRef}\`)`);
    expect(first.title, 'the closed alert is left alone').to.equal('Malicious URL: c2.example.nu');
  });

  it('opens the next alert when the window since the last sighting has passed, on the receive-time clock', async () => {
    const r = await start({ windowMs: HOUR });
    r.lifecycle.add(1, record(line('slow.example.nu', '10.0.0.1')), T0);
    await until(() => r.acked.has(1), 'the first alert');
    r.lifecycle.add(2, record(line('slow.example.nu', '10.0.0.2', 'Oct 12 18:00:00')), T0 + 2 * HOUR);
    await until(() => r.acked.has(2), 'the next sighting');
    expect(hive.alerts.size).to.equal(2);
    expect([...hive.alerts.values()][1]!.description).to.include('expired');
  });

  it('a deleted alert (404) opens a new one; a retriable failure loses nothing', async () => {
    const r = await start();
    r.lifecycle.add(1, record(line('gone.example.nu', '10.0.0.1')), T0);
    await until(() => r.acked.has(1), 'the first alert');
    [...hive.alerts.values()][0]!.status = 'gone';
    hive.failures.push({ kind: 'retry', reason: 'HTTP 503' });
    r.lifecycle.add(2, record(line('gone.example.nu', '10.0.0.2', 'Oct 12 17:00:00')), T0 + 1000);
    await until(() => r.acked.has(2), 'the sighting handled after the retry');
    expect(hive.alerts.size).to.equal(2);
    expect([...hive.alerts.values()][1]!.description).to.include('deleted');
    expect(r.dead).to.deep.equal([]);
  });

  it('after a crash before its state was written, sends the same absolute values again: counts stay exact', async () => {
    const a = await start();
    for (let i = 1; i <= 3; i++) a.lifecycle.add(i, record(line('exact.example.nu', `10.0.0.${i}`, `Oct 12 16:1${i}:00`)), T0 + i);
    await until(() => a.acked.size === 3, 'three sightings');
    expect([...hive.alerts.values()][0]!.title).to.match(/\(3 sightings\)$/);
    // "kill -9" before the state of the next flush reached the disk: the store on disk is the one
    // before it, and the spool replays every record not acknowledged (4 and 5), plus 2 again.
    a.lifecycle.stop();
    await a.delivery.close();
    running = running.filter((x) => x !== a);
    const b = await start();
    b.lifecycle.add(2, record(line('exact.example.nu', '10.0.0.2', 'Oct 12 16:12:00')), T0 + 2);
    b.lifecycle.add(4, record(line('exact.example.nu', '10.0.0.4', 'Oct 12 16:14:00')), T0 + 4);
    b.lifecycle.add(5, record(line('exact.example.nu', '10.0.0.5', 'Oct 12 16:15:00')), T0 + 5);
    await until(() => b.acked.size === 3, 'the replay handled');
    expect(hive.alerts.size).to.equal(1);
    expect([...hive.alerts.values()][0]!.title).to.match(/\(5 sightings\)$/);
  });

  it('a state lost entirely finds the key’s alert again through "already exists", and never makes a second', async () => {
    const a = await start();
    a.lifecycle.add(1, record(line('lost.example.nu', '10.0.0.1')), T0);
    await until(() => a.acked.has(1), 'created');
    a.lifecycle.stop();
    await a.delivery.close();
    await a.store.close();
    running = running.filter((x) => x !== a);
    await rm(join(dir, 'alerts'), { recursive: true, force: true });
    const b = await start();
    b.lifecycle.add(2, record(line('lost.example.nu', '10.0.0.9', 'Oct 12 16:30:00')), T0 + 10);
    await until(() => b.acked.has(2), 'the next sighting');
    expect(hive.alerts.size).to.equal(1);
    const alert = [...hive.alerts.values()][0]!;
    expect(alert.observables.has('ip\u000010.0.0.9')).to.equal(true);
    expect(hive.requests.slice(-4), hive.requests.join(', ')).to.deep.equal([`create ${alert.sourceRef}`, `get ${alert.id}`, `update ${alert.id}`, `observables ${alert.id} 4`]); // all of its sighting: the ones TheHive has answer "already exists" (207)
  });

  it('bounds what it holds: the feeder is told to wait, and flushes start early', async () => {
    const r = await start({ flushMs: 60_000, maxHeld: 10 });
    for (let i = 1; i <= 10; i++) r.lifecycle.add(i, record(line('many.example.nu', `10.0.1.${i}`, `Oct 12 16:${String(i).padStart(2, '0')}:00`)), T0 + i);
    expect(r.lifecycle.room).to.equal(0);
    await r.lifecycle.whenRoom();
    await until(() => r.acked.size === 10, 'all flushed without waiting a minute');
  });
});
