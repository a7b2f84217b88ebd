/**
 * The janitor's pass over dead/, rejected/ and quarantine/: retention by the dates in the names,
 * rejected/ trimmed to its cap, everything counted in the metrics. Real files, a pinned clock.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeptFiles } from '../../../src/io/kept-files.js';
import { Janitor } from '../../../src/queue/janitor.js';
import { createLogger } from '../../../src/log.js';
import { Telemetry } from '../../../src/telemetry.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-26T08:00:00.000Z');
const day = (offset: number): string => new Date(NOW + offset * DAY).toISOString().slice(0, 10);
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[:.]/g, '-');

describe('queue/janitor', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tracehive-janitor-'));
    for (const d of ['dead', 'rejected', 'quarantine']) await mkdir(join(root, d));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('deletes what is past retention, trims rejected/ to its cap (never today\'s file), and counts it all', async () => {
    await writeFile(join(root, 'dead', `dead-${day(-31)}.ndjson`), 'd'.repeat(100));
    await writeFile(join(root, 'dead', `dead-${day(-2)}.ndjson`), 'd'.repeat(5000));
    await writeFile(join(root, 'rejected', `rejected-${day(-3)}.ndjson`), 'r'.repeat(600));
    await writeFile(join(root, 'rejected', `rejected-${day(-2)}.ndjson`), 'r'.repeat(600));
    await writeFile(join(root, 'rejected', `rejected-${day(0)}.ndjson`), 'r'.repeat(1500));
    for (const s of [stamp(NOW - 31 * DAY), stamp(NOW - 3 * DAY)]) {
      await writeFile(join(root, 'quarantine', `${s}-0123456789ab.eml`), 'q'.repeat(200));
      await writeFile(join(root, 'quarantine', `${s}-0123456789ab.json`), '{}\n');
    }
    const now = (): number => NOW;
    const kept = {
      dead: new KeptFiles(join(root, 'dead'), { kind: 'day', prefix: 'dead' }, { maxBytes: 4096, retentionDays: 30 }, now),
      rejected: new KeptFiles(join(root, 'rejected'), { kind: 'day', prefix: 'rejected' }, { maxBytes: 1000, retentionDays: 7 }, now),
      quarantine: new KeptFiles(join(root, 'quarantine'), { kind: 'quarantine' }, { maxBytes: 1 << 20, retentionDays: 30 }, now),
    };
    const telemetry = new Telemetry(createLogger('silent'), () => 0);
    const failures: unknown[] = [];
    const janitor = new Janitor({ ...kept, telemetry, now, deadOverBudget: () => (kept.dead.overBy() > 0 ? 'over' : null), failed: (err) => failures.push(err) });
    await janitor.start();
    await janitor.stop();
    expect(failures).to.deep.equal([]);
    expect(await readdir(join(root, 'dead'))).to.deep.equal([`dead-${day(-2)}.ndjson`]);
    expect(await readdir(join(root, 'rejected')), 'older days go first; today stays though it alone is over').to.deep.equal([`rejected-${day(0)}.ndjson`]);
    expect(await readdir(join(root, 'quarantine'))).to.have.length(2);
    expect(await telemetry.value('tracehive_kept_deleted_total', { dir: 'dead', why: 'retention' })).to.equal(1);
    expect(await telemetry.value('tracehive_kept_deleted_total', { dir: 'rejected', why: 'budget' })).to.equal(2);
    expect(await telemetry.value('tracehive_kept_deleted_total', { dir: 'quarantine', why: 'retention' })).to.equal(2);
    expect(await telemetry.value('tracehive_kept_bytes', { dir: 'dead' })).to.equal(5000);
    expect(await telemetry.value('tracehive_kept_max_bytes', { dir: 'rejected' })).to.equal(1000);
    expect(await telemetry.value('tracehive_kept_files', { dir: 'quarantine' })).to.equal(1);
  });
});
