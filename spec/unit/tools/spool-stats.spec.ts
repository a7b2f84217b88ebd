/**
 * `tracehive spool stats` on the spool 0.1.0 left (spec/fixtures/spool-0.1.0): every directory
 * beside the queue with its bytes against its cap, its oldest file and its retention (issue 11
 * item 2), and mails waiting in the drop directory.
 */
import { expect } from 'chai';
import { cp, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, spoolReport } from '../../../src/tools/spool-stats.js';
import { fixturePath } from '../../support/fixtures.js';
import { keyState } from '../../support/key-states.js';
import { StateStore } from '../../../src/lifecycle/state-store.js';
import { Outbox, notifyDir } from '../../../src/notify/outbox.js';
import { createNotifyDeadLetters } from '../../../src/notify/dead-letters.js';
import type { Notification } from '../../../src/notify/render.js';

const BUDGETS = { dead: { maxBytes: 256, retentionDays: 30 }, rejected: { maxBytes: 16_777_216, retentionDays: 7 }, quarantine: { maxBytes: 268_435_456, retentionDays: 0 } };

describe('tools/spool-stats', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tracehive-stats-'));
    await cp(fixturePath('spool-0.1.0'), join(root, 'spool'), { recursive: true });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('reports each kept directory against its budget, the legacy incoming/ and the drop directory', async () => {
    await mkdir(join(root, 'drop'), { recursive: true });
    await writeFile(join(root, 'drop', '001796402432429-6411-e2143a5c7ecc.mail'), 'x');
    const r = await spoolReport(join(root, 'spool'), Date.parse('2026-12-05T00:00:00Z'), { budgets: BUDGETS, dropDir: join(root, 'drop') });
    expect(r.dead).to.deep.include({ total: 1, byCode: { ERR_SINK_REJECTED: 1 }, maxBytes: 256, retentionDays: 30, oldestTime: '2026-11-30T00:00:00.000Z' });
    expect(r.dead.bytes).to.be.above(256);
    expect(r.rejected).to.deep.include({ total: 1, files: 1, maxBytes: 16_777_216, retentionDays: 7, oldestTime: '2026-12-04T00:00:00.000Z' });
    expect(r.quarantine).to.deep.include({ mails: 1, retentionDays: 0, oldestTime: '2026-12-04T16:40:33.012Z' });
    expect(r.incoming).to.deep.equal({ alerts: 1 });
    expect(r.drop).to.deep.equal({ dir: join(root, 'drop'), waiting: 1 });
    const text = formatReport(r);
    expect(text).to.match(/dead: +1 alerts in 1 files \(1 ERR_SINK_REJECTED\)\n +0\.0 MiB of 0\.0 MiB \(spool\.dead\.maxBytes\) — OVER, oldest 2026-11-30T00:00:00\.000Z, kept 30 days/);
    expect(text).to.include('(spool.rejected.maxBytes), oldest 2026-12-04T00:00:00.000Z, kept 7 days');
    expect(text).to.include('(spool.quarantine.maxBytes), oldest 2026-12-04T16:40:33.012Z, kept forever');
    expect(text).to.include('1 mails in');
  });

  it('reports the keys the alert lifecycle remembers and the bytes of its state file', async () => {
    const before = await spoolReport(join(root, 'spool'));
    expect(before.alerts).to.deep.equal({ keys: 0, bytes: 0 });
    const store = await StateStore.open({ dir: join(root, 'spool', 'alerts'), maxKeys: 10 });
    await store.put([keyState('a'.repeat(20), 3), keyState('b'.repeat(20), 1)]);
    const r = await spoolReport(join(root, 'spool'));
    expect(r.alerts.keys).to.equal(2);
    expect(r.alerts.bytes).to.equal(store.fileBytes).and.to.be.above(0);
    expect(formatReport(r)).to.match(/alerts: +2 keys whose alert tracehive updates \(tracehive alerts list\)/);
  });

  it('counts a dead letter of a newer format as such, not as its code', async () => {
    await writeFile(join(root, 'spool', 'dead', 'dead-2026-12-01.ndjson'), `${JSON.stringify({ version: 2, reason: 'ERR_SINK_REJECTED: x', alert: {} })}\n`);
    const r = await spoolReport(join(root, 'spool'));
    expect(r.dead.byCode).to.deep.equal({ ERR_SINK_REJECTED: 1, 'newer-format': 1 });
    expect(r.dead.maxBytes).to.equal(null);
  });

  it('tells dead notifications from dead alerts, counts them in the dead budget, and shows the outbox', async () => {
    const spool = join(root, 'spool');
    const event: Notification = { sourceRef: 'ct-k1', alertId: '~1', title: 't', severity: 4, previousSeverity: null, sightings: 1, firstSeen: 0, lastSeen: 0, organisation: 'soc', iocs: [] };
    const outbox = await Outbox.open({ dir: notifyDir(spool), now: Date.now, report: () => undefined });
    await outbox.record(event, ['mail']);
    await outbox.record({ ...event, sourceRef: 'ct-k2' }, ['mail', 'webhook']);
    await outbox.close();
    const before = await spoolReport(spool, Date.parse('2026-12-05T00:00:00Z'), { budgets: BUDGETS });
    const dead = createNotifyDeadLetters(spool, () => new Date('2026-12-01T10:00:00Z'));
    await dead.write({ key: 'k', channel: 'mail', reason: 'ERR_NOTIFY_REJECTED: 550 relaying denied', status: 550, attempts: 1, event });
    await dead.close();
    const r = await spoolReport(spool, Date.parse('2026-12-05T00:00:00Z'), { budgets: BUDGETS });
    expect(r.dead).to.deep.include({ total: 1, notifications: 1, byCode: { ERR_SINK_REJECTED: 1, ERR_NOTIFY_REJECTED: 1 } });
    expect(r.dead.bytes).to.be.above(before.dead.bytes);
    expect(r.notify).to.deep.equal({ waiting: 2, sent: 0, unreadable: 0 });
    const text = formatReport(r);
    expect(text).to.match(/dead: +1 alerts and 1 notifications in 2 files/);
    expect(text).to.include('notify:     2 notifications waiting to be sent');
  });
});
