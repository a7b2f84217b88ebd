import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Spool, type SpoolCursor, type SpoolEntry } from '../../../src/queue/spool.js';

/** Reads until read() comes back empty. */
async function readAll(reader: { read(max: number): Promise<SpoolEntry[]> }): Promise<SpoolEntry[]> {
  const all: SpoolEntry[] = [];
  for (;;) {
    const batch = await reader.read(1000);
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

const segments = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.startsWith('seg-')).sort();

describe('queue/spool cursors (one reader per delivery target)', () => {
  let dir: string;
  const open: Spool[] = [];
  const openSpool = async (segmentBytes = 1 << 20): Promise<Spool> => {
    const spool = await Spool.open({ dir, maxBytes: 1 << 30, fsyncIntervalMs: 0, segmentBytes });
    open.push(spool);
    return spool;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-cursor-'));
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('gives every cursor every committed record, each at its own pace', async () => {
    const spool = await openSpool();
    const b = spool.cursor();
    for (let i = 0; i < 5; i++) spool.append(`r${i}`);
    await spool.commit();
    expect((await spool.read(2)).map((e) => e.payload)).to.deep.equal(['r0', 'r1']);
    expect((await readAll(b)).map((e) => e.payload)).to.deep.equal(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect((await readAll(spool)).map((e) => e.payload)).to.deep.equal(['r2', 'r3', 'r4']);
  });

  it('skips what another cursor acked, and frees a segment once every record in it is acked, whoever acked it', async () => {
    const spool = await openSpool(64);
    const b = spool.cursor();
    // Records alternate between two targets: the primary owns the even ones, the cursor the odd ones.
    for (let i = 0; i < 8; i++) spool.append(`r${i}-${'x'.repeat(40)}`);
    await spool.commit();
    const primary = await readAll(spool);
    for (const e of primary) if (e.seq % 2 === 0) spool.ack(e.seq);
    const fromB = await readAll(b);
    expect(fromB.map((e) => e.seq)).to.deep.equal(primary.filter((e) => e.seq % 2 === 1).map((e) => e.seq));
    for (const e of fromB) b.ack(e.seq);
    // Acks are persisted and segments deleted on the next tick.
    await spool.close();
    expect(await segments(dir)).to.deep.equal([]);
  });

  it('reads a backlog from disk after a restart, each cursor from the oldest unacked record', async () => {
    const first = await openSpool();
    for (let i = 0; i < 4; i++) first.append(`r${i}`);
    await first.commit();
    for (const e of await readAll(first)) if (e.payload === 'r0' || e.payload === 'r2') first.ack(e.seq);
    await first.close();
    open.splice(0);
    const spool = await openSpool();
    const b = spool.cursor();
    expect((await readAll(b)).map((e) => e.payload)).to.deep.equal(['r1', 'r3']);
    expect((await readAll(spool)).map((e) => e.payload)).to.deep.equal(['r1', 'r3']);
  });

  it('holds no bytes once it released what it read and is caught up; holds the span from its oldest own record otherwise', async () => {
    const spool = await openSpool(64);
    const b: SpoolCursor = spool.cursor();
    // One commit per record: a segment fills per commit, so these land in several segments.
    for (let i = 0; i < 6; i++) {
      spool.append(`r${i}-${'x'.repeat(40)}`);
      await spool.commit();
    }
    expect(b.heldBytes(), 'nothing read yet: it holds the whole spool').to.equal(spool.stats().bytes);
    const read = await readAll(b);
    expect(b.heldBytes(), 'read, not released: still held').to.equal(spool.stats().bytes);
    for (const e of read.slice(0, 3)) b.release(e.seq);
    const held = b.heldBytes();
    expect(held).to.be.above(0).and.below(spool.stats().bytes);
    for (const e of read.slice(3)) b.release(e.seq);
    expect(b.heldBytes()).to.equal(0);
  });

  it('wakes a cursor waiting for records when the next commit lands', async () => {
    const spool = await openSpool();
    const b = spool.cursor();
    expect(await b.read(10)).to.deep.equal([]);
    const woken = b.whenReadable().then(() => 'woken');
    spool.append('late');
    await spool.commit();
    expect(await woken).to.equal('woken');
    expect((await b.read(10)).map((e) => e.payload)).to.deep.equal(['late']);
  });

  it('starts again from the oldest unacked record after rewind()', async () => {
    const spool = await openSpool();
    const b = spool.cursor();
    for (let i = 0; i < 3; i++) spool.append(`r${i}`);
    await spool.commit();
    const read = await readAll(b);
    b.ack((read[0] as SpoolEntry).seq);
    b.rewind();
    expect((await readAll(b)).map((e) => e.payload)).to.deep.equal(['r1', 'r2']);
  });

  it('hands a record’s memo (the line as parsed at accept) to readers that take it from memory, never to disk (issue 15)', async () => {
    const spool = await openSpool();
    const memo = { kind: 'detection', category: 'KL_Malicious_URL' };
    spool.append('Lline', undefined, memo);
    await spool.commit();
    const [fromMemory] = await spool.read(10);
    expect(fromMemory?.memo).to.equal(memo);
    await spool.close();
    open.splice(0);
    const again = await openSpool();
    const [fromDisk] = await again.read(10);
    expect(fromDisk?.payload).to.equal('Lline');
    expect(fromDisk).to.not.have.property('memo');
  });
});
