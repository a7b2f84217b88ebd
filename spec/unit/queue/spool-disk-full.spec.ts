/**
 * The spool on a disk that is really full (a tmpfs the test mounts): ENOSPC from the kernel, not a
 * simulated error. Issue 11: the first failed write pauses input, partly freed space is used at
 * once, and a delivered segment is reclaimed even when ack.json cannot be written.
 */
import { expect } from 'chai';
import { mkdir, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Spool, type SpoolEntry } from '../../../src/queue/spool.js';
import { mountTmpfs, tmpfsUnavailable, type Tmpfs } from '../../support/tmpfs.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}.`);
    await sleep(10);
  }
}
async function readAll(spool: Spool): Promise<SpoolEntry[]> {
  const all: SpoolEntry[] = [];
  for (;;) {
    const batch = await spool.read(1000);
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}
const record = (i: number): string => `${String(i).padStart(6, '0')} ${'x'.repeat(8 * 1024 - 7)}`;

describe('queue/spool on a full disk (tmpfs)', function () {
  this.timeout(20_000);
  let fs: Tmpfs | undefined;
  const open: Spool[] = [];

  before(function () {
    const why = tmpfsUnavailable();
    if (why !== null) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
  });

  afterEach(async () => {
    for (const spool of open.splice(0)) await spool.close().catch(() => undefined);
    await fs?.unmount();
    fs = undefined;
  });

  it('blocks at the first ENOSPC, commits chunk by chunk as space comes back, and loses nothing', async () => {
    fs = await mountTmpfs(2 * 1024 * 1024);
    const dir = join(fs.dir, 'queue');
    const spool = await Spool.open({ dir, maxBytes: 1 << 30, fsyncIntervalMs: 0 });
    open.push(spool);
    await fs.fill();
    for (let i = 1; i <= 40; i++) spool.append(record(i)); // 320 KiB: under the 1 MiB batch bound
    await until(() => spool.blocked !== null, 'the write fails');
    expect(spool.blocked).to.include('ENOSPC').and.to.include(dir);
    expect(spool.full).to.equal(true);
    expect(spool.stats().committed).to.equal(0);

    await fs.free(100 * 1024); // room for one 64 KiB retry chunk, not for the 320 KiB batch
    await until(() => spool.stats().committed > 0, 'a chunk is committed in the freed space');
    const partly = spool.stats().committed;
    expect(partly, 'only what fits').to.be.below(40);

    await fs.free();
    await until(() => spool.stats().committed === 40 && spool.blocked === null, 'the rest is committed');
    expect(spool.full).to.equal(false);
    const seen = (await readAll(spool)).map((e) => Number(e.payload.slice(0, 6)));
    expect(seen).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('deletes a delivered segment on a full disk although ack.json cannot be written, and the space lets input go on', async () => {
    fs = await mountTmpfs(1024 * 1024);
    const dir = join(fs.dir, 'queue');
    const errors: string[] = [];
    const spool = await Spool.open({
      dir,
      maxBytes: 1 << 30,
      fsyncIntervalMs: 0,
      segmentBytes: 64 * 1024,
      hooks: { error: (err, during) => errors.push(`${during}: ${(err as NodeJS.ErrnoException).code}`) },
    });
    open.push(spool);
    // Fill the disk with records, each committed before the next (so how many fit does not depend
    // on how many a loaded machine gathers into one commit), until a commit fails.
    let n = 0;
    while (spool.blocked === null) {
      spool.append(record(++n));
      await until(() => spool.stats().committed === n || spool.blocked !== null, `record ${n} committed or the disk full`);
    }
    const written = spool.stats().committed;
    expect(written).to.be.above(40);
    // ack.json cannot be written at all (its temp name is taken by a directory): reclaiming must not need it.
    await mkdir(join(dir, 'ack.json.tmp'));
    // Deliver everything that made it: the segments are dead.
    for (const e of await readAll(spool)) spool.ack(e.seq);
    await until(() => spool.blocked === null, 'the pending records are written in the reclaimed space');
    await until(() => spool.stats().committed === n, 'every record appended is durable');
    // The ack state is written on a commit tick of its own: under load it may come after the records'.
    await until(() => errors.some((e) => e.startsWith('ack: EISDIR')), `ack.json failed to be written (errors so far: ${errors.join(', ')})`);
    await rmdir(join(dir, 'ack.json.tmp'));
    const segments = (await readdir(dir)).filter((f) => f.startsWith('seg-'));
    expect(segments.length).to.be.below(Math.ceil((written * 8 * 1024) / (64 * 1024)));
    // After a restart, exactly the records that were not acked come back.
    await spool.close();
    open.pop();
    const again = await Spool.open({ dir, maxBytes: 1 << 30, fsyncIntervalMs: 0 });
    open.push(again);
    const left = (await readAll(again)).map((e) => Number(e.payload.slice(0, 6)));
    expect(left).to.deep.equal(Array.from({ length: n - written }, (_, i) => written + i + 1));
  });
});
