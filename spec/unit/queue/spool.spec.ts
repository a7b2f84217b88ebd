import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, rmdir, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ERROR_RETRY_MS, inspectSpool, Spool, TAIL_MAX_BYTES, type SpoolEntry, type SpoolOptions } from '../../../src/queue/spool.js';
import { TAIL_BEHIND_BYTES, TAIL_BEHIND_MS, TAIL_STALL_MS } from '../../../src/queue/spool-reader.js';
import { recordBytes } from '../../../src/queue/spool-codec.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds (polling), failing after 3 s. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}.`);
    await sleep(5);
  }
}

/** Reads until read() comes back empty. */
async function readAll(spool: Spool, max = 1000): Promise<SpoolEntry[]> {
  const all: SpoolEntry[] = [];
  for (;;) {
    const batch = await spool.read(max);
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

const segmentFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.startsWith('seg-')).sort();
const ackFile = async (dir: string): Promise<{ version?: number; cursor: number; ranges: [number, number][] }> =>
  JSON.parse(await readFile(join(dir, 'ack.json'), 'utf8')) as { cursor: number; ranges: [number, number][] };
const errCode = async (p: Promise<unknown>): Promise<{ code?: string; message: string }> => {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
};

describe('queue/spool', () => {
  let root: string;
  let dir: string;
  const open: Spool[] = [];
  const openSpool = async (opts: Partial<SpoolOptions> = {}): Promise<Spool> => {
    const spool = await Spool.open({ dir, maxBytes: 1 << 30, fsyncIntervalMs: 0, ...opts });
    open.push(spool);
    return spool;
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tracehive-spool-'));
    dir = join(root, 'queue');
  });

  afterEach(async () => {
    for (const spool of open.splice(0)) await spool.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  it('appends, commits, reads back in order with seq and time, and counts acks', async () => {
    const spool = await openSpool();
    const payloads = ['plain', 'two\nlines\r\n', 'Grüße 日本語 🦀', '', 'tab\tand "quotes"'];
    const seqs = payloads.map((p, i) => spool.append(p, 1_700_000_000_000 + i));
    expect(seqs).to.deep.equal([1, 2, 3, 4, 5]);
    await spool.commit();
    const entries = await spool.read(100);
    expect(entries).to.deep.equal(payloads.map((payload, i) => ({ seq: i + 1, time: 1_700_000_000_000 + i, payload })));
    expect(await spool.read(100)).to.deep.equal([]);
    for (const e of entries) spool.ack(e.seq);
    expect(spool.stats()).to.deep.include({ records: 0, appended: 5, committed: 5, acked: 5, nextSeq: 6, oldestTime: null });
  });

  it('never hands out a record before it is committed', async () => {
    const spool = await openSpool({ fsyncIntervalMs: 300 });
    spool.append('not yet durable');
    let readable = false;
    void spool.whenReadable().then(() => (readable = true));
    expect(await spool.read(10)).to.deep.equal([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(readable).to.equal(false);
    expect(spool.stats()).to.deep.include({ records: 1, committed: 0, bytes: recordBytes(15) });
    await spool.commit();
    expect(spool.stats().committed).to.equal(1);
    expect(readable).to.equal(true);
    expect((await spool.read(10)).map((e) => e.payload)).to.deep.equal(['not yet durable']);
  });

  it('after close and reopen, sends again exactly the records not acked (acks out of order)', async () => {
    const first = await openSpool();
    for (let i = 1; i <= 20; i++) first.append(`r${i}`);
    await first.commit();
    expect((await readAll(first)).length).to.equal(20);
    const acked = [3, 1, 2, 9, 7, 8, 15, 20, 5, 11];
    for (const seq of acked) first.ack(seq);
    first.ack(3); // twice
    first.ack(999); // unknown
    first.ack(0);
    expect(first.stats()).to.deep.include({ records: 10, acked: 10 });
    await first.close();
    expect(await ackFile(dir)).to.deep.equal({ version: 2, cursor: 4, ranges: [[5, 5], [7, 9], [11, 11], [15, 15], [20, 20]] });

    const second = await openSpool();
    const left = Array.from({ length: 20 }, (_, i) => i + 1).filter((s) => !acked.includes(s));
    expect(second.recovery).to.deep.include({ records: 10, segments: 1, corrupt: 0, torn: 0 });
    expect((await readAll(second, 3)).map((e) => [e.seq, e.payload])).to.deep.equal(left.map((s) => [s, `r${s}`]));
    expect(second.stats().nextSeq).to.equal(21);
    expect(second.append('new')).to.equal(21);
  });

  it('never reuses a seq, even once every segment is deleted', async () => {
    const first = await openSpool();
    for (let i = 0; i < 5; i++) first.append(`r${i}`);
    await first.commit();
    for (const e of await readAll(first)) first.ack(e.seq);
    await first.close();
    expect(await segmentFiles(dir)).to.deep.equal([]);
    const second = await openSpool();
    expect(second.recovery.records).to.equal(0);
    expect(second.append('next')).to.equal(6);
  });

  it('rolls segments, deletes fully acked ones at the next tick, keeps partly acked ones', async () => {
    const spool = await openSpool({ segmentBytes: 400 });
    // Each commit of 5 records of recordBytes(10) = 190 bytes: a new segment every 3 commits.
    for (let c = 0; c < 6; c++) {
      for (let i = 0; i < 5; i++) spool.append(`payload-${String(c * 5 + i + 1).padStart(2, '0')}`);
      await spool.commit();
    }
    expect(await segmentFiles(dir)).to.deep.equal(['seg-0000000000000001.log', 'seg-0000000000000016.log']);
    const entries = await readAll(spool);
    expect(entries.map((e) => e.seq)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
    for (let seq = 15; seq >= 1; seq--) spool.ack(seq); // all of the first segment, newest first
    spool.ack(20); // one of the second
    // The file goes first, then the spool's own count: wait for both (a loaded machine sees the gap).
    await until(async () => (await segmentFiles(dir)).length === 1 && spool.stats().segments === 1, 'the first segment is deleted');
    expect(await segmentFiles(dir)).to.deep.equal(['seg-0000000000000016.log']);
    expect(spool.stats()).to.deep.include({ records: 14, segments: 1 });
    await spool.close();
    const again = await openSpool();
    expect((await readAll(again)).map((e) => e.seq)).to.deep.equal([16, 17, 18, 19, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  });

  it('after a crash between deleting a delivered segment and writing ack.json, sends the rest again and never reuses a seq', async () => {
    const spool = await openSpool({ segmentBytes: 400 });
    for (let c = 0; c < 6; c++) {
      for (let i = 0; i < 5; i++) spool.append(`payload-${String(c * 5 + i + 1).padStart(2, '0')}`);
      await spool.commit();
    }
    await readAll(spool);
    const staleAcks = await readFile(join(dir, 'ack.json'), 'utf8').catch(() => null);
    for (let seq = 1; seq <= 15; seq++) spool.ack(seq);
    spool.ack(30);
    await until(async () => (await segmentFiles(dir)).length === 1, 'the first segment is deleted');
    // The state a kill -9 right after the unlink leaves: the segment gone, ack.json from before the acks.
    const crashed = join(root, 'crashed');
    await cp(dir, crashed, { recursive: true });
    if (staleAcks === null) await rm(join(crashed, 'ack.json'), { force: true });
    else await writeFile(join(crashed, 'ack.json'), staleAcks);
    const after = await Spool.open({ dir: crashed, maxBytes: 1 << 30, fsyncIntervalMs: 0 });
    open.push(after);
    // 16–30 come again (30 was acked only in memory: at least once), 1–15 never: their segment is gone.
    expect((await readAll(after)).map((e) => e.seq)).to.deep.equal(Array.from({ length: 15 }, (_, i) => i + 16));
    expect(after.append('new')).to.equal(31);
  });

  it('counts a torn tail and a corrupt record in the middle, and recovers all the others', async () => {
    const first = await openSpool();
    for (let i = 1; i <= 10; i++) first.append(`record number ${i}`.padEnd(20, '.'));
    await first.commit();
    await first.close();
    const [name] = await segmentFiles(dir);
    const path = join(dir, name as string);
    const size = recordBytes(20);
    const bytes = await readFile(path);
    bytes[3 * size + 40] = (bytes[3 * size + 40] as number) ^ 0x20; // inside record 4's payload
    await writeFile(path, bytes);
    await truncate(path, 9 * size + 17); // record 10 cut short, as by a crash mid-write

    const hooksErrors: Error[] = [];
    const second = await openSpool({ hooks: { error: (err) => hooksErrors.push(err) } });
    expect(second.recovery).to.deep.equal({ records: 8, segments: 1, corrupt: 1, torn: 1, bytes: 9 * size + 17, oldestTime: second.recovery.oldestTime });
    const seqs = (await readAll(second)).map((e) => e.seq);
    expect(seqs).to.deep.equal([1, 2, 3, 5, 6, 7, 8, 9]);
    for (const seq of seqs) second.ack(seq);
    await second.close();
    expect(hooksErrors).to.deep.equal([]);
    // The lost seq 4 does not hold the ack cursor back: nothing is left, the segment is gone.
    expect(await ackFile(dir)).to.deep.equal({ version: 2, cursor: 10, ranges: [] });
    expect(await segmentFiles(dir)).to.deep.equal([]);
    expect((await openSpool()).recovery.records).to.equal(0);
  });

  it('sends everything again when ack.json is damaged, says so, and writes a good one', async () => {
    const first = await openSpool();
    for (let i = 1; i <= 4; i++) first.append(`r${i}`);
    await first.commit();
    for (const e of await readAll(first)) if (e.seq !== 4) first.ack(e.seq);
    await first.close();
    await writeFile(join(dir, 'ack.json'), '{"cursor": 4, "ran');
    const errors: string[] = [];
    const second = await openSpool({ hooks: { error: (err, during) => errors.push(`${during}: ${err.message}`) } });
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/^read: Spool ack file .*ack\.json is damaged .*every record on disk is sent again/);
    expect((await readAll(second)).map((e) => e.seq)).to.deep.equal([1, 2, 3, 4]);
    second.ack(1);
    await until(async () => (await ackFile(dir).catch(() => ({ cursor: 0 }))).cursor === 2, 'a good ack.json is written');
  });

  it('is full at maxBytes, counting bytes not yet written, and whenSpace resolves once acks free a segment', async () => {
    const spool = await openSpool({ maxBytes: 1000, segmentBytes: 300, fsyncIntervalMs: 50 });
    const payload = 'x'.repeat(100);
    let n = 0;
    while (!spool.full) {
      spool.append(payload);
      n++;
    }
    expect(n).to.equal(Math.ceil(1000 / recordBytes(100)));
    expect(spool.stats()).to.deep.include({ bytes: n * recordBytes(100), committed: 0 });
    let space = false;
    const waiting = spool.whenSpace().then(() => (space = true));
    await spool.commit();
    expect(spool.full).to.equal(true);
    expect(space).to.equal(false);
    for (const e of await readAll(spool)) spool.ack(e.seq);
    await waiting;
    expect(spool.full).to.equal(false);
    expect(spool.stats()).to.deep.include({ bytes: 0, records: 0, segments: 0 });
    await spool.whenSpace();
  });

  it('is full while commitBatchBytes wait to be written, commits early without waiting for the interval, and has room once written', async () => {
    // One commit a minute: only the batch bound can make this commit within the test.
    const spool = await openSpool({ commitBatchBytes: 1000, fsyncIntervalMs: 60_000 });
    while (!spool.full) spool.append('y'.repeat(100));
    expect(spool.stats()).to.deep.include({ appended: 8, committed: 0 }); // 8 × 128 bytes ≥ 1000
    expect(spool.blocked).to.equal(null);
    await spool.whenSpace();
    expect(spool.full).to.equal(false);
    expect(spool.stats()).to.deep.include({ committed: 8, records: 8 });
  });

  it('is blocked from the first failed write, naming the file and errno, and unblocks itself once a write succeeds', async () => {
    const errors: string[] = [];
    const events: string[] = [];
    const spool = await openSpool({
      hooks: { error: (_err, during) => errors.push(during), blocked: (reason) => events.push(`blocked: ${reason}`), unblocked: () => events.push('unblocked') },
    });
    // A directory where the first segment file goes: creating it fails (EISDIR) as a broken disk would.
    const blocker = join(dir, 'seg-0000000000000001.log');
    await mkdir(blocker);
    spool.append('one small record');
    expect(spool.full).to.equal(false); // far below every bound
    await until(() => spool.blocked !== null, 'the write fails');
    expect(spool.full, 'one failed write pauses input').to.equal(true);
    expect(spool.blocked).to.include(blocker).and.to.include('EISDIR');
    let space = false;
    const waiting = spool.whenSpace().then(() => (space = true));
    await sleep(ERROR_RETRY_MS * 2); // retried meanwhile, still failing: still blocked, reported once
    expect(space).to.equal(false);
    expect(errors.length).to.be.at.least(2);
    expect(events).to.have.length(1);
    await rmdir(blocker);
    await waiting;
    expect(spool.blocked).to.equal(null);
    expect(events[0]).to.match(/^blocked: cannot write .*seg-0000000000000001\.log: EISDIR/);
    expect(events[1]).to.equal('unblocked');
    expect(spool.stats()).to.deep.include({ committed: 1, records: 1 });
  });

  it('drops the memory tail for the disk once its reader stops asking (TheHive down), long before the tail is full, and reads on in order', async () => {
    let clock = 1_000_000;
    const spool = await openSpool({ fsyncIntervalMs: 0, now: () => clock });
    const payload = (seq: number): string => `detection ${seq} category=KL_Malicious_URL url=http://evil.example/${seq}`;
    spool.append(payload(1));
    await spool.commit();
    expect((await spool.read(10)).map((e) => e.seq)).to.deep.equal([1]);
    // A commit that finds nothing unread stays in memory however long ago the reader asked; one
    // that finds unread records too, while the reader asked within TAIL_STALL_MS.
    clock += TAIL_STALL_MS * 5;
    spool.append(payload(2));
    await spool.commit();
    expect(spool.tailing).to.equal(true);
    expect((await spool.read(10)).map((e) => e.seq)).to.deep.equal([2]);
    spool.append(payload(3));
    await spool.commit();
    clock += TAIL_STALL_MS / 2;
    spool.append(payload(4));
    await spool.commit();
    expect(spool.tailing, 'one unread commit, the reader asked recently enough').to.equal(true);
    // Not asked for TAIL_STALL_MS, and unread records wait: the next commit goes to the disk path.
    clock += TAIL_STALL_MS;
    spool.append(payload(5));
    await spool.commit();
    expect(spool.tailing).to.equal(false);
    expect(spool.memoryTailBytes).to.equal(0);
    expect((await readAll(spool)).map((e) => e.payload)).to.deep.equal([3, 4, 5].map(payload));
  });

  /**
   * A spool on a clock the test moves, five records committed one by one, each with a memo that
   * counts a quarter of TAIL_BEHIND_BYTES: the tail is above the mark. `commitOne` commits the next.
   */
  async function spoolAboveTheMark(): Promise<{ spool: Spool; tick: (ms: number) => void; commitOne: () => Promise<void> }> {
    let clock = 1_000_000;
    const spool = await openSpool({ fsyncIntervalMs: 0, now: () => clock });
    let seq = 0;
    const commitOne = async (): Promise<void> => {
      seq++;
      spool.append(`detection ${seq} category=KL_Malicious_URL url=http://evil.example/${seq}`, undefined, { memo: seq }, TAIL_BEHIND_BYTES / 4 + 1);
      await spool.commit();
    };
    for (let i = 0; i < 5; i++) await commitOne();
    expect(spool.memoryTailBytes).to.be.above(TAIL_BEHIND_BYTES);
    return { spool, tick: (ms) => (clock += ms), commitOne };
  }

  it('drops the memory tail for the disk once it stayed above TAIL_BEHIND_BYTES for TAIL_BEHIND_MS while its reader still asks (a slow TheHive), and reads on in order', async () => {
    const { spool, tick, commitOne } = await spoolAboveTheMark();
    // The reader asks, one record at a time, never TAIL_STALL_MS apart, but its tail stays above the mark.
    tick(TAIL_BEHIND_MS / 2);
    expect((await spool.read(1)).map((e) => e.seq)).to.deep.equal([1]);
    await commitOne();
    expect(spool.memoryTailBytes, 'above the mark for less than TAIL_BEHIND_MS: still in memory').to.be.above(TAIL_BEHIND_BYTES);
    tick(TAIL_BEHIND_MS / 2 + 1);
    expect((await spool.read(1)).map((e) => e.seq)).to.deep.equal([2]);
    await commitOne();
    expect(spool.tailing).to.equal(false);
    expect(spool.memoryTailBytes).to.equal(0);
    expect((await readAll(spool)).map((e) => e.seq)).to.deep.equal([3, 4, 5, 6, 7]);
  });

  it('keeps a tail that falls back under TAIL_BEHIND_BYTES in memory, however long it was above before', async () => {
    const { spool, tick, commitOne } = await spoolAboveTheMark();
    tick(TAIL_BEHIND_MS / 2);
    // The reader catches up: the tail is under the mark again.
    expect((await spool.read(10)).map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    tick(TAIL_BEHIND_MS);
    await commitOne();
    expect(spool.tailing).to.equal(true);
    expect(spool.memoryTailBytes).to.be.above(0);
    expect((await spool.read(10)).map((e) => e.seq)).to.deep.equal([6]);
  });

  it('reads a 200,000-record backlog in order with a bounded memory tail, live and after reopening', async function () {
    this.timeout(20_000);
    const spool = await openSpool({ segmentBytes: 2 * 1024 * 1024 });
    const total = 200_000;
    const payload = (seq: number): string => `detection ${seq} category=KL_Malicious_URL url=http://evil.example/${seq}`;
    let maxTail = 0;
    for (let seq = 1; seq <= total; seq++) {
      spool.append(payload(seq));
      if (seq % 5000 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        maxTail = Math.max(maxTail, spool.memoryTailBytes);
      }
    }
    await spool.commit();
    // Nobody read while appending: the in-memory tail stayed bounded and was dropped for the disk.
    expect(maxTail).to.be.at.most(TAIL_MAX_BYTES);
    expect(spool.memoryTailBytes).to.be.at.most(TAIL_MAX_BYTES);
    let next = 1;
    for (;;) {
      const batch = await spool.read(4096);
      if (batch.length === 0) break;
      for (const e of batch) {
        if (e.seq !== next || e.payload !== payload(next)) expect([e.seq, e.payload]).to.deep.equal([next, payload(next)]);
        next++;
        if (e.seq % 2 === 0) spool.ack(e.seq);
      }
    }
    expect(next).to.equal(total + 1);
    await spool.close();

    const again = await openSpool({ segmentBytes: 2 * 1024 * 1024 });
    expect(again.recovery.records).to.equal(total / 2);
    next = 1;
    for (;;) {
      const batch = await again.read(4096);
      if (batch.length === 0) break;
      expect(again.memoryTailBytes).to.equal(0);
      for (const e of batch) {
        if (e.seq !== next || e.payload !== payload(next)) expect([e.seq, e.payload]).to.deep.equal([next, payload(next)]);
        next += 2;
      }
    }
    expect(next).to.equal(total + 1);
  });

  it('serves a reader that keeps up from memory, without touching the disk copy', async () => {
    const spool = await openSpool();
    const got: number[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) spool.append(`r${round}-${i}`);
      await spool.commit();
      expect(spool.memoryTailBytes).to.be.above(0);
      for (const e of await spool.read(1000)) {
        got.push(e.seq);
        spool.ack(e.seq);
      }
      expect(spool.memoryTailBytes).to.equal(0);
    }
    expect(got).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('bounds a read by payload characters (one record at least), from memory and from disk', async () => {
    const spool = await openSpool();
    const payloads = [100, 100, 300, 5000, 50].map((n, i) => `${i}`.padEnd(n, 'x'));
    for (const p of payloads) spool.append(p);
    await spool.commit();
    const sizes = async (s: Spool): Promise<number[][]> => {
      const batches: number[][] = [];
      for (let b = await s.read(100, 250); b.length > 0; b = await s.read(100, 250)) batches.push(b.map((e) => e.payload.length));
      return batches;
    };
    // 100 + 100 < 250 so a third is taken; 300 alone passes the bound; 5000 is over it but alone.
    expect(await sizes(spool)).to.deep.equal([[100, 100, 300], [5000], [50]]);
    await spool.close();
    expect(await sizes(await openSpool())).to.deep.equal([[100, 100, 300], [5000], [50]]);
  });

  it('rewind makes the next read start again at the oldest unacked record', async () => {
    const spool = await openSpool();
    for (let i = 1; i <= 6; i++) spool.append(`r${i}`, 1000 * i);
    await spool.commit();
    expect((await spool.read(4)).map((e) => e.seq)).to.deep.equal([1, 2, 3, 4]);
    spool.ack(1);
    spool.ack(3);
    expect(spool.stats().oldestTime).to.equal(2000);
    spool.rewind();
    await spool.whenReadable();
    expect((await readAll(spool)).map((e) => e.seq)).to.deep.equal([2, 4, 5, 6]);
  });

  it('reports the time of the oldest unacked record', async () => {
    const spool = await openSpool({ fsyncIntervalMs: 20 });
    expect(spool.stats().oldestTime).to.equal(null);
    spool.append('a', 5000);
    spool.append('b', 6000);
    expect(spool.stats().oldestTime).to.equal(5000); // not committed yet: still counts
    await spool.commit();
    expect(spool.stats().oldestTime).to.equal(5000);
    const [a, b] = await spool.read(10);
    spool.ack((b as SpoolEntry).seq);
    expect(spool.stats().oldestTime).to.equal(5000);
    spool.ack((a as SpoolEntry).seq);
    expect(spool.stats().oldestTime).to.equal(null);
    spool.append('c', 7000);
    await spool.close();
    const again = await openSpool();
    expect(again.stats().oldestTime).to.equal(7000);
    expect(again.recovery.oldestTime).to.equal(7000);
  });

  it('stamps records with now() by default and never refuses a record over its time', async () => {
    const spool = await openSpool({ now: () => 42_000 });
    spool.append('default');
    spool.append('fraction', 1234.9);
    spool.append('not a number', Number.NaN);
    spool.append('before 1970', -5);
    await spool.commit();
    expect((await spool.read(10)).map((e) => e.time)).to.deep.equal([42_000, 1234, 42_000, 0]);
  });

  it('keeps a batch whose write failed in memory, reports the error, and writes it at a later tick', async () => {
    const errors: string[] = [];
    const spool = await openSpool({ hooks: { error: (err, during) => errors.push(`${during}: ${(err as NodeJS.ErrnoException).code}`) } });
    // A directory where the first segment file goes: creating it fails (EISDIR) as a full disk would.
    const blocker = join(dir, 'seg-0000000000000001.log');
    await mkdir(blocker);
    spool.append('kept');
    const committed = spool.commit();
    await until(() => errors.length > 0, 'the write error is reported');
    expect(errors[0]).to.equal('write: EISDIR');
    expect(spool.stats()).to.deep.include({ committed: 0, records: 1, bytes: recordBytes(4) });
    expect(await spool.read(10)).to.deep.equal([]);
    await rmdir(blocker);
    await committed;
    expect((await spool.read(10)).map((e) => e.payload)).to.deep.equal(['kept']);
  });

  it('refuses a spool locked by a live process, naming its pid, and takes over a stale lock', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'LOCK'), `${process.ppid}\n`);
    const locked = await errCode(Spool.open({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 0 }));
    expect(locked.code).to.equal('ERR_SPOOL_LOCKED');
    expect(locked.message).to.contain(`pid ${process.ppid}`).and.to.contain('another tracehive serve uses this spool.dir');

    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(dir, 'LOCK'), `${child.stdout}\n`); // its process has exited
    const spool = await openSpool();
    expect((await readFile(join(dir, 'LOCK'), 'utf8')).split('\n')[0]).to.equal(String(process.pid));
    // The same directory twice in one process is refused too.
    expect((await errCode(Spool.open({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 0 }))).code).to.equal('ERR_SPOOL_LOCKED');
    await spool.close();
    expect(await readdir(dir)).not.to.include('LOCK');
  });

  it('takes over a lock left before a reboot, though its pid is alive again', async function () {
    const boot = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '');
    if (boot === '') this.skip(); // no boot id on this system
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'LOCK'), `${process.ppid}\n00000000-0000-0000-0000-000000000000\n`);
    await openSpool();
    expect(await readFile(join(dir, 'LOCK'), 'utf8')).to.equal(`${process.pid}\n${boot}`);
  });

  it('fails with ERR_SPOOL_DIR when the directory cannot be created', async () => {
    await writeFile(join(root, 'file'), 'not a directory');
    const err = await errCode(Spool.open({ dir: join(root, 'file', 'queue'), maxBytes: 1 << 20, fsyncIntervalMs: 0 }));
    expect(err.code).to.equal('ERR_SPOOL_DIR');
    expect(err.message).to.contain(join(root, 'file', 'queue'));
  });

  it('after close: append throws ERR_SPOOL_CLOSED, read is empty, waiters resolve, and pending records were committed', async () => {
    const spool = await openSpool({ fsyncIntervalMs: 10_000 });
    spool.append('committed by close');
    const committed = spool.commit();
    await spool.close();
    await committed;
    expect(() => spool.append('late')).to.throw(Error).with.property('code', 'ERR_SPOOL_CLOSED');
    expect(await spool.read(10)).to.deep.equal([]);
    await spool.whenReadable();
    await spool.whenSpace();
    spool.ack(1); // harmless
    const again = await openSpool();
    expect((await readAll(again)).map((e) => e.payload)).to.deep.equal(['committed by close']);
  });

  it('inspectSpool counts what waits, without a lock and without writing, while the spool is open', async () => {
    const spool = await openSpool();
    for (let i = 1; i <= 10; i++) spool.append(`r${i}`, 1000 * i);
    await spool.commit();
    await readAll(spool);
    for (const seq of [1, 2, 3, 4, 7]) spool.ack(seq);
    await until(async () => (await ackFile(dir).catch(() => ({ cursor: 0 }))).cursor === 5, 'the acks are persisted');
    await writeFile(join(dir, 'notes.txt'), 'an unknown file is ignored');
    const before = await Promise.all((await readdir(dir)).map(async (n) => [n, (await stat(join(dir, n))).mtimeMs]));
    const report = await inspectSpool(dir);
    expect(report).to.deep.equal({ records: 5, acked: 5, segments: 1, corrupt: 0, torn: 0, bytes: 9 * recordBytes(2) + recordBytes(3), oldestTime: 5000 });
    expect(await Promise.all((await readdir(dir)).map(async (n) => [n, (await stat(join(dir, n))).mtimeMs]))).to.deep.equal(before);
    expect(await inspectSpool(join(root, 'missing'))).to.deep.equal({ records: 0, acked: 0, segments: 0, corrupt: 0, torn: 0, bytes: 0, oldestTime: null });
  });

  it('whatever the mix of appends, reads, out-of-order acks, rewinds and restarts, sends each unacked record and no other', async function () {
    this.timeout(20_000);
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    for (const [segmentBytes, fsyncIntervalMs] of [[200, 0], [1000, 1], [5000, 0], [1 << 20, 2]] as const) {
      await rm(dir, { recursive: true, force: true });
      const opts = { segmentBytes, fsyncIntervalMs };
      let spool = await openSpool(opts);
      const unacked = new Map<number, string>();
      let readUnacked: number[] = [];
      let lastRead = 0;
      for (let step = 0; step < 150; step++) {
        const op = random(10);
        if (op < 3) {
          for (let i = random(20); i >= 0; i--) {
            const payload = `p${spool.stats().nextSeq}${'x'.repeat(random(50))}`;
            unacked.set(spool.append(payload), payload);
          }
        } else if (op < 4) {
          await spool.commit();
        } else if (op < 6) {
          for (const e of await spool.read(1 + random(30))) {
            expect(e.seq, 'in seq order').to.be.above(lastRead);
            expect(e.payload).to.equal(unacked.get(e.seq));
            lastRead = e.seq;
            readUnacked.push(e.seq);
          }
        } else if (op < 8) {
          const keep: number[] = [];
          for (const seq of readUnacked) {
            if (random(2) === 0) keep.push(seq);
            else {
              spool.ack(seq);
              unacked.delete(seq);
            }
          }
          readUnacked = keep;
        } else if (op < 9) {
          spool.rewind();
          readUnacked = [];
          lastRead = 0;
        } else {
          await spool.close();
          spool = await openSpool(opts);
          expect(spool.recovery.records).to.equal(unacked.size);
          readUnacked = [];
          lastRead = 0;
        }
        expect(spool.stats().records).to.equal(unacked.size);
      }
      await spool.close();
      spool = await openSpool(opts);
      const all = await readAll(spool, 100);
      expect(all.map((e) => e.seq)).to.deep.equal([...unacked.keys()].sort((a, b) => a - b));
      for (const e of all) spool.ack(e.seq);
      await spool.close();
      expect(await segmentFiles(dir)).to.deep.equal([]);
    }
  });

  it('after kill -9, recovers at least every record it had reported committed, in order', async function () {
    this.timeout(20_000);
    const spoolJs = new URL('../../../src/queue/spool.js', import.meta.url).href;
    const script = `
      const { Spool } = await import(${JSON.stringify(spoolJs)});
      const spool = await Spool.open({ dir: process.env.SPOOL_DIR, maxBytes: 1e9, fsyncIntervalMs: 2, segmentBytes: 64 * 1024 });
      let seq = 0;
      for (let round = 0; round < 30; round++) {
        for (let i = 0; i < 300; i++) spool.append('rec-' + (++seq) + '\\nsecond line ü');
        await spool.commit();
        process.stdout.write('committed ' + seq + '\\n');
      }
      for (let i = 0; i < 300; i++) spool.append('rec-' + (++seq) + '\\nsecond line ü'); // a commit in flight
      setImmediate(() => process.kill(process.pid, 'SIGKILL'));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, SPOOL_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
    expect(signal).to.equal('SIGKILL');
    const reported = Math.max(...out.trim().split('\n').map((l) => Number(/^committed (\d+)$/.exec(l)?.[1] ?? 0)));
    expect(reported).to.equal(9000);

    const spool = await openSpool(); // the dead child's LOCK is stale
    expect(spool.recovery.records).to.be.at.least(reported);
    const entries = await readAll(spool, 5000);
    expect(entries.length).to.equal(spool.recovery.records);
    entries.forEach((e, i) => expect([e.seq, e.payload]).to.deep.equal([i + 1, `rec-${i + 1}\nsecond line ü`]));
  });
});
