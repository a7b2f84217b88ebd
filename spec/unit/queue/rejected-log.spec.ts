/**
 * The rejected-line log within spool.rejected.maxBytes: old days go first, then lines are only
 * counted (issue 11: 2,000 garbage lines left 16 MB in rejected/ with a 1 MiB spool).
 */
import { expect } from 'chai';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeptFiles } from '../../../src/io/kept-files.js';
import { createRejectedLog } from '../../../src/queue/rejected-log.js';
import { createLogger } from '../../../src/log.js';
import { Telemetry } from '../../../src/telemetry.js';
import type { RejectedEntry } from '../../../src/pipeline.js';

const NOW = new Date('2026-11-26T08:00:00.000Z');
const entry = (i: number, size = 500): RejectedEntry => ({ time: NOW.toISOString(), code: 'ERR_KV_MALFORMED', detail: 'no pair', peer: '127.0.0.1:5000', line: `garbage ${i} ${'x'.repeat(size)}`, truncated: false });

describe('queue/rejected-log', () => {
  let dir: string;
  let telemetry: Telemetry;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-rejected-'));
    telemetry = new Telemetry(createLogger('silent'), () => 0);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes versioned lines: {version, time, code, detail, peer, line, truncated}', async () => {
    const kept = new KeptFiles(dir, { kind: 'day', prefix: 'rejected' }, { maxBytes: 1_000_000, retentionDays: 7 });
    const log = createRejectedLog(kept, telemetry, () => NOW);
    await log.write(entry(1, 10));
    await log.close();
    const [line] = (await readFile(join(dir, 'rejected-2026-11-26.ndjson'), 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(line as string)).to.deep.equal({ version: 1, ...entry(1, 10) });
  });

  it('over maxBytes deletes the oldest day files first, then only counts the lines that do not fit', async () => {
    await writeFile(join(dir, 'rejected-2026-11-20.ndjson'), 'o'.repeat(3000));
    const kept = new KeptFiles(dir, { kind: 'day', prefix: 'rejected' }, { maxBytes: 4096, retentionDays: 0 }, () => NOW.getTime());
    await kept.scan();
    const log = createRejectedLog(kept, telemetry, () => NOW);
    for (let i = 0; i < 100; i++) await log.write(entry(i));
    await log.close();
    expect(await readdir(dir), 'the old day went first').to.deep.equal(['rejected-2026-11-26.ndjson']);
    const size = (await stat(join(dir, 'rejected-2026-11-26.ndjson'))).size;
    expect(size).to.be.at.most(4096).and.above(4096 - 700);
    const lines = (await readFile(join(dir, 'rejected-2026-11-26.ndjson'), 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { line: string }).line.split(' ')[1])).to.deep.equal(lines.map((_, i) => String(i)));
    expect(await telemetry.value('tracehive_rejected_lines_not_kept_total')).to.equal(100 - lines.length);
    expect(kept.usage().bytes).to.equal(size);
  });

  it('with maxBytes 0 keeps no line and counts every one', async () => {
    const kept = new KeptFiles(dir, { kind: 'day', prefix: 'rejected' }, { maxBytes: 0, retentionDays: 7 });
    const log = createRejectedLog(kept, telemetry, () => NOW);
    for (let i = 0; i < 3; i++) await log.write(entry(i));
    await log.close();
    expect(await readdir(dir)).to.deep.equal([]);
    expect(await telemetry.value('tracehive_rejected_lines_not_kept_total')).to.equal(3);
  });
});
