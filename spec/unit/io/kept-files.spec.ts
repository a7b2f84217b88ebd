/**
 * Budgets and retention of the directories beside the queue (issue 11 item 2): real files in a
 * temp directory, dated by their names relative to a pinned clock.
 */
import { expect } from 'chai';
import { DEAD_FILES } from '../../../src/queue/dead-letter.js';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeptFiles, expired, keptKeyOf } from '../../../src/io/kept-files.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-26T08:00:00.000Z');
const day = (offset: number): string => new Date(NOW + offset * DAY).toISOString().slice(0, 10);
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[:.]/g, '-');

describe('io/kept-files', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'tracehive-kept-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('knows its own names only, and dates them by name', () => {
    expect(keptKeyOf({ kind: 'day', prefix: 'dead' }, 'dead-2026-11-26.ndjson')).to.deep.equal({ key: 'dead-2026-11-26.ndjson', time: Date.parse('2026-11-26T00:00:00Z') });
    expect(keptKeyOf({ kind: 'day', prefix: 'dead' }, 'rejected-2026-11-26.ndjson')).to.equal(null);
    expect(keptKeyOf({ kind: 'day', prefix: 'dead' }, 'dead-2026-11-26.ndjson.bak')).to.equal(null);
    // dead/ holds dead alerts and dead notifications: both count against spool.dead (DEAD_FILES).
    expect(keptKeyOf(DEAD_FILES, 'notify-2026-11-26.ndjson')).to.deep.equal({ key: 'notify-2026-11-26.ndjson', time: Date.parse('2026-11-26T00:00:00Z') });
    expect(keptKeyOf(DEAD_FILES, 'dead-2026-11-26.ndjson')?.key).to.equal('dead-2026-11-26.ndjson');
    expect(keptKeyOf(DEAD_FILES, 'rejected-2026-11-26.ndjson')).to.equal(null);
    expect(keptKeyOf({ kind: 'quarantine' }, '2026-12-04T16-40-33-012Z-6b5cb3924cb1.json')).to.deep.equal({ key: '2026-12-04T16-40-33-012Z-6b5cb3924cb1', time: Date.parse('2026-12-04T16:40:33.012Z') });
    expect(keptKeyOf({ kind: 'quarantine' }, 'notes.txt')).to.equal(null);
  });

  it('a day file expires once its whole day is older than retentionDays; 0 keeps everything', () => {
    const naming = { kind: 'day', prefix: 'rejected' } as const;
    const start = (d: string): number => Date.parse(`${d}T00:00:00Z`);
    expect(expired(naming, start(day(-7)), 7, NOW)).to.equal(false); // its last entry may be 6 days and 8 h old
    expect(expired(naming, start(day(-8)), 7, NOW)).to.equal(true);
    expect(expired(naming, start(day(-800)), 0, NOW)).to.equal(false);
    expect(expired({ kind: 'quarantine' }, NOW - 30 * DAY + 1, 30, NOW)).to.equal(false);
    expect(expired({ kind: 'quarantine' }, NOW - 30 * DAY, 30, NOW)).to.equal(true);
  });

  it('counts day files and quarantine pairs, deletes what is past retention, leaves other files and links alone', async () => {
    await writeFile(join(dir, `rejected-${day(-10)}.ndjson`), 'a'.repeat(100));
    await writeFile(join(dir, `rejected-${day(-1)}.ndjson`), 'b'.repeat(50));
    await writeFile(join(dir, `rejected-${day(0)}.ndjson`), 'c'.repeat(25));
    await writeFile(join(dir, 'README.txt'), 'operator notes');
    await writeFile(join(dir, 'outside'), 'x'.repeat(1000));
    await symlink(join(dir, 'outside'), join(dir, `rejected-${day(-20)}.ndjson`));
    const kept = new KeptFiles(dir, { kind: 'day', prefix: 'rejected' }, { maxBytes: 1000, retentionDays: 7 }, () => NOW);
    await kept.scan();
    expect(kept.usage()).to.deep.equal({ bytes: 175, files: 3, oldest: Date.parse(`${day(-10)}T00:00:00Z`), maxBytes: 1000, retentionDays: 7 });
    expect(await kept.expire()).to.deep.equal({ files: 1, bytes: 100 });
    expect((await readdir(dir)).sort()).to.deep.equal(['README.txt', 'outside', `rejected-${day(-1)}.ndjson`, `rejected-${day(-20)}.ndjson`, `rejected-${day(0)}.ndjson`].sort());
    expect(kept.usage()).to.include({ bytes: 75, files: 2 });
  });

  it('over maxBytes drops the oldest day files first, never the one being written, and says whether a line fits', async () => {
    for (const [offset, size] of [[-3, 400], [-2, 300], [-1, 200], [0, 100]] as const) await writeFile(join(dir, `rejected-${day(offset)}.ndjson`), 'x'.repeat(size));
    const kept = new KeptFiles(dir, { kind: 'day', prefix: 'rejected' }, { maxBytes: 700, retentionDays: 0 }, () => NOW);
    await kept.scan();
    const today = `rejected-${day(0)}.ndjson`;
    expect(await kept.admit(today, 50)).to.equal(true); // 1000 + 50 > 700: the 400-byte file goes, 650 fits
    expect((await readdir(dir)).sort()).to.deep.equal([`rejected-${day(-2)}.ndjson`, `rejected-${day(-1)}.ndjson`, today]);
    kept.added(today, 50);
    expect(await kept.admit(today, 600)).to.equal(false); // even alone today's 150 + 600 > 700
    expect(await readdir(dir)).to.deep.equal([today]);
    expect(kept.usage()).to.include({ bytes: 150, files: 1 });
  });

  it('quarantine pairs go together', async () => {
    const old = stamp(NOW - 40 * DAY);
    const fresh = stamp(NOW - DAY);
    for (const s of [old, fresh]) {
      await writeFile(join(dir, `${s}-0123456789ab.eml`), 'm'.repeat(300));
      await writeFile(join(dir, `${s}-0123456789ab.json`), '{}\n');
    }
    const kept = new KeptFiles(dir, { kind: 'quarantine' }, { maxBytes: 10_000, retentionDays: 30 }, () => NOW);
    await kept.scan();
    expect(kept.usage()).to.include({ bytes: 606, files: 2 });
    expect(await kept.expire()).to.deep.equal({ files: 2, bytes: 303 });
    expect((await readdir(dir)).sort()).to.deep.equal([`${fresh}-0123456789ab.eml`, `${fresh}-0123456789ab.json`]);
  });

  it('a missing directory is empty, not an error', async () => {
    const kept = new KeptFiles(join(dir, 'nope'), { kind: 'day', prefix: 'dead' }, { maxBytes: 1, retentionDays: 1 });
    await kept.scan();
    expect(kept.usage()).to.include({ bytes: 0, files: 0, oldest: null });
  });
});
