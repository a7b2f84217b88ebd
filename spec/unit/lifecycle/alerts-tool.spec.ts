/**
 * `tracehive alerts list|show|forget` (issue 12 point 3): what an operator sees of the state file
 * and how forgetting a key works with and without a running serve (the spool's lock).
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../../src/lifecycle/state-store.js';
import type { KeyState } from '../../../src/lifecycle/state.js';
import { keyState } from '../../support/key-states.js';
import { forgetRequestDir, pendingForgets, readForget, requestForget } from '../../../src/lifecycle/forget-requests.js';
import { findMailState, findState, forgetKey, formatList, formatMailList, formatMailShow, formatShow, loadMailStates, loadStates, mailSummary, summary } from '../../../src/tools/alerts.js';
import { MAIL_STATE_FILE, MAIL_STATE_VERSION, type MailKeyState } from '../../../src/lifecycle/mail-lifecycle.js';
import { initialMailState } from '../../../src/lifecycle/mail-update.js';
import { testAlert } from '../../support/alerts.js';
import { releaseLock, takeLock } from '../../../src/queue/spool-lock.js';

const state = keyState;
const K1 = 'a'.repeat(20);
const K2 = 'b'.repeat(20);

describe('tracehive alerts: the lifecycle state as an operator sees it', () => {
  let spoolDir: string;
  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'tracehive-alerts-'));
    const store = await StateStore.open({ dir: join(spoolDir, 'alerts'), maxKeys: 100 });
    await store.put([state(K1, 7), state(K2, 1, null)]);
    await store.close();
  });
  afterEach(() => rm(spoolDir, { recursive: true, force: true }));

  it('lists nothing, and creates nothing, on a spool the lifecycle never used', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'tracehive-alerts-empty-'));
    try {
      expect(await loadStates(empty)).to.deep.equal([]);
      expect(await readdir(empty)).to.deep.equal([]);
      expect(formatList([])).to.match(/^No alert is known yet/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('lists each key with its sightings, severity, sourceRef and alert id', async () => {
    const states = await loadStates(spoolDir);
    expect(states.map((s) => s.key)).to.deep.equal([K1, K2]);
    const text = formatList(states);
    expect(text).to.contain('2 keys');
    expect(text).to.match(new RegExp(`${K1} +7 +3 2026-11-20T10:00:07.000Z +ct-k${K1} ~aaaaaa`));
    expect(text).to.contain('(not created)');
    expect(summary(states[0] as KeyState)).to.include({ key: K1, sightings: 7, alertId: '~aaaaaa', firstSeen: '2026-11-20T10:00:00.000Z' });
  });

  it('finds a key by itself, its sourceRef, its alert id or its tag', async () => {
    const states = await loadStates(spoolDir);
    for (const wanted of [K1, `ct-k${K1}`, '~aaaaaa', `key:${K1}`, ` ${K1}\n`]) expect(findState(states, wanted)?.key, wanted).to.equal(K1);
    expect(findState(states, 'ct-knothing')).to.equal(undefined);
    expect(formatShow(findState(states, K1) as KeyState)).to.contain('sightings  7, first seen 2026-11-20T10:00:00.000Z');
  });

  it('forgets a key at once when no serve runs, durably', async () => {
    const done = await forgetKey(spoolDir, `ct-k${K1}`);
    expect(done.how).to.equal('now');
    expect((await loadStates(spoolDir)).map((s) => s.key)).to.deep.equal([K2]);
    expect(await pendingForgets(spoolDir)).to.deep.equal([]);
  });

  it('leaves a request for a running serve (the spool is locked) and changes nothing itself', async () => {
    const queueDir = join(spoolDir, 'queue');
    await mkdir(queueDir);
    // Another process holds the lock: our own pid is treated as held only when this process took it.
    await takeLock(queueDir);
    try {
      // takeLock in forgetKey sees our own lock as held: the request path.
      const done = await forgetKey(spoolDir, K1);
      expect(done.how).to.equal('requested');
      expect((await loadStates(spoolDir)).map((s) => s.key)).to.deep.equal([K1, K2]);
      const requests = await pendingForgets(spoolDir);
      expect(requests).to.have.length(1);
      expect(await readForget(requests[0] as string)).to.deep.equal([K1]);
    } finally {
      await releaseLock(queueDir);
    }
  });

  it('lists, shows and forgets mail alerts (SIEM incidents) beside the detection keys', async () => {
    const M = 'c'.repeat(20);
    const alert = testAlert('mail-INC-7', { title: 'Brute force against VPN', severity: 3, tags: ['mail', 'siem-notification'] });
    const mail: MailKeyState = { v: MAIL_STATE_VERSION, key: M, baseSourceRef: 'mail-INC-7', generation: 1, sourceRef: 'mail-INC-7', alertId: '~cccccc', lastReceived: Date.UTC(2026, 10, 21), mail: initialMailState(alert, Date.UTC(2026, 10, 21)), previous: null };
    const store = await StateStore.open<MailKeyState>({ dir: join(spoolDir, 'alerts'), file: MAIL_STATE_FILE, maxKeys: 100 });
    await store.put([mail]);
    await store.close();
    const mails = await loadMailStates(spoolDir);
    expect(formatMailList(mails)).to.match(new RegExp(`1 mail alerts[^]*${M} +0 +3 2026-11-21T00:00:00.000Z +mail-INC-7 ~cccccc +Brute force against VPN`));
    expect(mailSummary(mails[0] as MailKeyState)).to.include({ kind: 'mail', sourceRef: 'mail-INC-7', alertId: '~cccccc', severity: 3 });
    expect(findMailState(mails, '~cccccc')?.key).to.equal(M);
    expect(formatMailShow(mails[0] as MailKeyState)).to.contain('a SIEM notification, updated by its re-notifications');
    const done = await forgetKey(spoolDir, 'mail-INC-7');
    expect(done).to.deep.include({ how: 'now' });
    expect(await loadMailStates(spoolDir)).to.deep.equal([]);
    expect((await loadStates(spoolDir)).map((s) => s.key)).to.deep.equal([K1, K2]);
  });

  it('refuses an unknown key with what to give instead (ERR_USAGE)', async () => {
    const err = await forgetKey(spoolDir, 'nope').then(() => null, (e: unknown) => e as { code?: string; message: string });
    expect(err?.code).to.equal('ERR_USAGE');
    expect(err?.message).to.contain('tracehive alerts list');
  });

  it('leaves a request of a newer format in place (ERR_FORMAT_NEWER), reads none from a damaged one', async () => {
    await requestForget(spoolDir, [K1]);
    const dir = forgetRequestDir(spoolDir);
    await writeFile(join(dir, 'forget-1-1.json'), JSON.stringify({ v: 99, forget: [K2] }), { mode: 0o600 });
    await writeFile(join(dir, 'forget-2-1.json'), '{"v":1,"forg', { mode: 0o600 });
    const pending = await pendingForgets(spoolDir);
    const newer = pending.find((p) => p.endsWith('forget-1-1.json'));
    const damaged = pending.find((p) => p.endsWith('forget-2-1.json'));
    const ours = pending.find((p) => p !== newer && p !== damaged);
    const err = await readForget(newer as string).then(() => null, (e: unknown) => e as { code?: string });
    expect(err?.code).to.equal('ERR_FORMAT_NEWER');
    expect(await readForget(damaged as string)).to.deep.equal([]);
    expect(await readForget(ours as string)).to.deep.equal([K1]);
  });
});
