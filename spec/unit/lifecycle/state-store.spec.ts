/**
 * The lifecycle's state file (issue 12 point 3): durable, versioned, bounded. What a crash, a newer
 * release, eviction and compaction make of it, read back as the next start would.
 */
import { expect } from 'chai';
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../../src/lifecycle/state-store.js';
import { organisationOf, type KeyState } from '../../../src/lifecycle/state.js';
import type { Sighting } from '../../../src/lifecycle/sighting.js';
import { keyState } from '../../support/key-states.js';

const key = (i: number): string => i.toString(16).padStart(20, '0');
const ids = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `ct-${tag}${i}`);

describe('lifecycle state store', () => {
  let dir: string;
  const reports: Error[] = [];
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'tracehive-state-')), 'alerts');
    reports.length = 0;
  });
  afterEach(() => rm(join(dir, '..'), { recursive: true, force: true }));
  const open = (maxKeys = 100, idsMax?: number): Promise<StateStore> => StateStore.open({ dir, maxKeys, ...(idsMax === undefined ? {} : { idsMax }), report: (e) => reports.push(e) });

  it('reads back the last state of each key, 0600 in a 0700 directory', async () => {
    const a = await open();
    await a.put([keyState(key(1), 1), keyState(key(2), 1)]);
    await a.put([keyState(key(1), 5)]);
    await a.close();
    const b = await open();
    expect(b.get(key(1))?.count).to.equal(5);
    expect(b.list().map((s) => s.key)).to.deep.equal([key(2), key(1)]);
    expect((await stat(join(dir, 'state.ndjson'))).mode & 0o777).to.equal(0o600);
    expect((await stat(dir)).mode & 0o777).to.equal(0o700);
  });

  it('finds a key by the sourceRef of its current alert only, once a next generation replaced it', async () => {
    const a = await open();
    await a.put([keyState(key(1), 3)]);
    await a.put([keyState(key(1), 1, null, { generation: 2, sourceRef: `ct-k${key(1)}-2` })]);
    expect(a.keyOfSourceRef(`ct-k${key(1)}-2`)).to.equal(key(1));
    expect(a.keyOfSourceRef(`ct-k${key(1)}`)).to.equal(undefined);
  });

  it('skips a torn last line (a crash mid-write), says so, and keeps the rest', async () => {
    const a = await open();
    await a.put([keyState(key(1), 2)]);
    await appendFile(join(dir, 'state.ndjson'), '{"v":1,"state":{"key":"00');
    const b = await open();
    expect(b.get(key(1))?.count).to.equal(2);
    expect(reports.map((e) => e.message).join()).to.match(/Line 2 of .* is not JSON/);
  });

  it('reads a state file the previous release (format 1, no organisation) wrote; its organisation comes from its next sighting', async () => {
    // Written out by hand as 0.3's lifecycle wrote it: a rule's alert created in tenantA.
    const v1 = { v: 1, state: { v: 1, key: key(7), generation: 1, sourceRef: `ct-k${key(7)}`, alertId: '~4120', count: 2, first: 1_000, last: 2_000, lastReceived: 2_000, severity: 3, tags: [`key:${key(7)}`], observables: ['domain\u0000bad.test'], observablesLeftOut: 0, rows: [], ids: ['ct-a', 'ct-b'], base: { type: 'cybertrace', source: 'cybertrace', title: 'Malicious URL: bad.test', description: 'd', tlp: 2, pap: 2, indicator: 'bad.test', category: 'KL_Malicious_URL' }, previous: null } };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'state.ndjson'), `${JSON.stringify(v1)}\n`, { mode: 0o600 });
    const store = await open();
    const state = store.get(key(7)) as KeyState;
    expect(state.alertId).to.equal('~4120');
    expect(state.count).to.equal(2);
    expect(state.organisation).to.equal(undefined);
    const sighting = (organisation?: string): Sighting => ({ alert: { ...(organisation === undefined ? {} : { meta: { rules: [], setBy: [], organisation } }) } }) as unknown as Sighting;
    expect(organisationOf(state, sighting('tenantA'))).to.equal('tenantA');
    expect(organisationOf(state, sighting())).to.equal(undefined);
    // Format 2 records it: thehive.organisation (null) stays so whatever a later sighting says, and back.
    expect(organisationOf({ ...state, organisation: null }, sighting('tenantA'))).to.equal(undefined);
    expect(organisationOf({ ...state, organisation: 'tenantA' }, sighting())).to.equal('tenantA');
    await store.put([{ ...state, organisation: 'tenantA' }]);
    await store.close();
    const again = await open();
    expect(again.get(key(7))?.organisation).to.equal('tenantA');
    const lines = (await readFile(join(dir, 'state.ndjson'), 'utf8')).trim().split('\n');
    expect((JSON.parse(lines.at(-1) as string) as { v: number }).v).to.equal(2);
    await again.close();
  });

  it('refuses a line of a newer format (ERR_FORMAT_NEWER) rather than misread it', async () => {
    const a = await open();
    await a.put([keyState(key(1), 2)]);
    await appendFile(join(dir, 'state.ndjson'), `${JSON.stringify({ v: 3, state: { key: key(1) } })}\n`);
    const err = await open().then(() => null, (e: unknown) => e as { code?: string; message: string });
    expect(err?.code).to.equal('ERR_FORMAT_NEWER');
    expect(err?.message).to.match(/line 2 .* format 3/);
  });

  it('forgets the least recently seen keys past maxKeys, durably', async () => {
    const a = await open(2);
    await a.put([keyState(key(1), 1)]);
    await a.put([keyState(key(2), 1)]);
    await a.put([keyState(key(1), 2)]); // key 1 seen again: key 2 is now the oldest
    await a.put([keyState(key(3), 1)]);
    expect(a.list().map((s) => s.key)).to.deep.equal([key(1), key(3)]);
    const b = await open(2);
    expect(b.list().map((s) => s.key)).to.deep.equal([key(1), key(3)]);
  });

  it('caps the sighting ids of all keys together: the least recently seen drop theirs first', async () => {
    const a = await open(100, 250);
    await a.put([keyState(key(1), 100, 'x1', { ids: ids(100, 'a') })]);
    await a.put([keyState(key(2), 100, 'x2', { ids: ids(100, 'b') })]);
    expect(a.ids).to.equal(200);
    await a.put([keyState(key(3), 100, 'x3', { ids: ids(100, 'c') })]);
    expect(a.ids).to.equal(200);
    expect(a.get(key(1))?.ids).to.deep.equal([]);
    expect(a.get(key(1))?.count, 'the count stays').to.equal(100);
    expect(a.get(key(3))?.ids).to.have.length(100);
    const b = await open(100, 250);
    expect(b.ids).to.be.at.most(250);
  });

  it('rewrites the log once it outgrows twice what is live, and reads back the same', async function () {
    this.timeout(20_000);
    const a = await open(10);
    const big = ids(2000, 'z'.repeat(20));
    for (let i = 0; i < 120; i++) await a.put([keyState(key(i % 3), i + 1, 'x', { ids: big })]);
    const size = (await stat(join(dir, 'state.ndjson'))).size;
    // 120 lines of ~50 KB would be 6 MB without the rewrite.
    expect(size).to.be.below(5 * 1024 * 1024);
    expect(a.fileBytes).to.equal(size);
    await a.close();
    const b = await open(10);
    expect(b.list().map((s) => [s.key, s.count])).to.deep.equal([[key(0), 118], [key(1), 119], [key(2), 120]]);
    expect((await readFile(join(dir, 'state.ndjson'), 'utf8')).split('\n').filter(Boolean).length).to.be.at.least(3);
  });

  it('rewrites a log whose live states span several write chunks (over 1 MiB), every key read back once', async function () {
    this.timeout(30_000);
    const a = await open(100);
    const big = ids(2000, 'z'.repeat(20));
    for (let round = 1; round <= 3; round++) for (let k = 0; k < 40; k++) await a.put([keyState(key(k), round, 'x', { ids: big })]);
    const size = (await stat(join(dir, 'state.ndjson'))).size;
    // 120 lines of ~50 KB would be 6 MB: the third round's puts set off a rewrite of 2 MB of live states.
    expect(size).to.be.below(5 * 1024 * 1024);
    expect(a.fileBytes).to.equal(size);
    await a.close();
    const b = await open(100);
    expect(b.list().map((s) => [s.key, s.count])).to.have.deep.members(Array.from({ length: 40 }, (_, k) => [key(k), 3]));
    const lines = (await readFile(join(dir, 'state.ndjson'), 'utf8')).split('\n').filter(Boolean);
    expect(lines.every((line) => JSON.parse(line).v !== undefined)).to.equal(true);
  });
});
