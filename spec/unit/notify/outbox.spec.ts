/**
 * The notification outbox (issue 12 point 5): once per alert and severity, also across a restart;
 * durable private files, never through a link; a bounded backlog and bounded markers.
 */
import { expect } from 'chai';
import { mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox } from '../../../src/notify/outbox.js';
import { notificationKey, withChannel } from '../../../src/notify/record.js';
import type { Notification } from '../../../src/notify/render.js';

const event = (sourceRef: string, severity: 1 | 2 | 3 | 4 = 4): Notification => ({ sourceRef, title: `t ${sourceRef}`, severity, previousSeverity: null, sightings: 1, firstSeen: 0, lastSeen: 0, organisation: '', iocs: [] });

describe('notification outbox', () => {
  let root: string;
  let dir: string;
  let clock: number;
  const reports: Error[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tracehive-notify-'));
    dir = join(root, 'notify');
    clock = Date.UTC(2026, 0, 1);
    reports.length = 0;
  });
  afterEach(() => rm(root, { recursive: true, force: true }));
  const open = (over: { maxPending?: number; maxMarkers?: number } = {}): Promise<Outbox> => Outbox.open({ dir, now: () => clock, report: (e) => reports.push(e), ...over });

  it('records once per sourceRef and severity, also after a restart; a higher severity is a new one', async () => {
    const a = await open();
    expect(await a.record(event('ct-1'), ['mail'])).to.equal('recorded');
    expect(await a.record(event('ct-1'), ['mail'])).to.equal('known');
    await a.close();
    const b = await open();
    expect(await b.record(event('ct-1'), ['mail'])).to.equal('known');
    expect(await b.record(event('ct-1', 3), ['mail'])).to.equal('recorded');
    expect(b.waiting().map((r) => r.event?.severity).sort()).to.deep.equal([3, 4]);
    expect(await readdir(dir)).to.have.members([`${notificationKey('ct-1', 4)}.json`, `${notificationKey('ct-1', 3)}.json`]);
  });

  it('keeps a sent one as a marker, so a restart does not send it again', async () => {
    const a = await open();
    await a.record(event('ct-2'), ['mail']);
    const [r] = a.waiting();
    await a.write(withChannel(r!, 'mail', { state: 'sent', attempts: 1, nextAt: clock }, clock));
    const b = await open();
    expect(b.waiting()).to.deep.equal([]);
    expect(b.pending).to.equal(0);
    expect(await b.record(event('ct-2'), ['mail'])).to.equal('known');
    expect(b.get(notificationKey('ct-2', 4))?.event).to.equal(undefined);
  });

  it('writes 0600 files in a 0700 directory and refuses a link planted at a record name', async () => {
    const a = await open();
    await a.record(event('ct-3'), ['webhook']);
    expect((await stat(join(dir, `${notificationKey('ct-3', 4)}.json`))).mode & 0o777).to.equal(0o600);
    expect((await stat(dir)).mode & 0o777).to.equal(0o700);
    await writeFile(join(root, 'victim'), 'keep me');
    await symlink(join(root, 'victim'), join(dir, `${notificationKey('ct-4', 4)}.json`));
    await open();
    expect(reports.map((e) => e.message).join()).to.match(/symbolic link/);
  });

  it('says backlog at the limit of waiting notifications', async () => {
    const a = await open({ maxPending: 2 });
    await a.record(event('a'), ['mail']);
    await a.record(event('b'), ['mail']);
    expect(await a.record(event('c'), ['mail'])).to.equal('backlog');
    expect(a.pending).to.equal(2);
  });

  it('removes markers after 7 days, and the oldest beyond the count', async () => {
    const a = await open({ maxMarkers: 2 });
    for (const ref of ['m1', 'm2', 'm3']) {
      await a.record(event(ref), ['mail']);
      const r = a.get(notificationKey(ref, 4));
      await a.write(withChannel(r!, 'mail', { state: 'sent', attempts: 1, nextAt: clock }, clock));
      clock += 1000;
    }
    expect(await a.prune()).to.equal(1);
    expect(a.get(notificationKey('m1', 4))).to.equal(undefined);
    clock += 8 * 86_400_000;
    expect(await a.prune()).to.equal(2);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('reopens a dead-lettered channel only (requeue-dead), leaving a sent one alone', async () => {
    const a = await open();
    await a.record(event('ct-5'), ['mail', 'webhook']);
    let r = a.get(notificationKey('ct-5', 4))!;
    r = withChannel(r, 'mail', { state: 'sent', attempts: 1, nextAt: clock }, clock);
    r = withChannel(r, 'webhook', { state: 'dead', attempts: 16, nextAt: clock }, clock);
    await a.write(r);
    expect(a.pending).to.equal(0);
    await a.reopen(event('ct-5'), 'webhook');
    const again = (await open()).get(notificationKey('ct-5', 4))!;
    expect(again.channels.mail?.state).to.equal('sent');
    expect(again.channels.webhook).to.deep.include({ state: 'pending', attempts: 0 });
    expect(again.event?.sourceRef).to.equal('ct-5');
  });
});
