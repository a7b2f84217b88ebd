import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createDeadLetterLog } from '../../../src/queue/dead-letter.js';
import { KeptFiles } from '../../../src/io/kept-files.js';
import type { Alert } from '../../../src/types.js';
import { testAlert } from '../../support/alerts.js';

const alert = (ref: string): Alert => testAlert(ref, { title: 't', tags: [], observables: [{ dataType: 'ip', data: '203.0.113.7' }] });

describe('queue/dead-letter', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tracehive-dead-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the directory and appends {version, time, reason, status, body, attempts, alert} lines to dead-<date>.ndjson', async () => {
    const dir = join(root, 'spool', 'dead');
    const log = createDeadLetterLog(dir, () => new Date('2024-03-05T23:59:58.000Z'));
    const body = '{"type":"NotFoundError","message":"ObservableType x not found"}';
    await log.write({ alert: alert('ct-1'), reason: 'ERR_SINK_REJECTED: HTTP 404', status: 404, body, attempts: 1 });
    await log.write({ alert: alert('ct-2'), reason: 'ERR_SINK_ATTEMPTS: gave up', attempts: 5 });
    await log.close();
    const text = await readFile(join(dir, 'dead-2024-03-05.ndjson'), 'utf8');
    expect(text.split('\n')).to.have.length(3);
    expect(text.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).to.deep.equal([
      { version: 1, time: '2024-03-05T23:59:58.000Z', reason: 'ERR_SINK_REJECTED: HTTP 404', status: 404, body, attempts: 1, alert: alert('ct-1') },
      { version: 1, time: '2024-03-05T23:59:58.000Z', reason: 'ERR_SINK_ATTEMPTS: gave up', status: null, body: null, attempts: 5, alert: alert('ct-2') },
    ]);
  });

  it('starts a new file when the UTC day changes', async () => {
    let now = new Date('2024-03-05T23:59:59.999Z');
    const log = createDeadLetterLog(root, () => now);
    await log.write({ alert: alert('ct-1'), reason: 'r', attempts: 1 });
    now = new Date('2024-03-06T00:00:00.000Z');
    await log.write({ alert: alert('ct-2'), reason: 'r', attempts: 1 });
    await log.close();
    expect((await readdir(root)).sort()).to.deep.equal(['dead-2024-03-05.ndjson', 'dead-2024-03-06.ndjson']);
  });

  it('keeps concurrent writes on whole lines', async () => {
    const log = createDeadLetterLog(root);
    await Promise.all(Array.from({ length: 100 }, (_, i) => log.write({ alert: alert(`ct-${i}`), reason: 'x'.repeat(10_000), attempts: i })));
    await log.close();
    const [file] = await readdir(root);
    const lines = (await readFile(join(root, file ?? ''), 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { attempts: number }).attempts).sort((a, b) => a - b)).to.deep.equal(
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('rejects when the directory cannot be created', async () => {
    const log = createDeadLetterLog(join(root, 'x', '\0bad'));
    let error: unknown;
    await log.write({ alert: alert('ct-1'), reason: 'r', attempts: 1 }).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(Error);
    await log.close();
  });

  it('over spool.dead.maxBytes still writes every dead letter, and says why input must pause until they are requeued', async () => {
    const kept = new KeptFiles(root, { kind: 'day', prefix: 'dead' }, { maxBytes: 1000, retentionDays: 30 });
    await kept.scan();
    const seen: (string | null)[] = [];
    const log = createDeadLetterLog(root, () => new Date('2026-11-26T08:00:00.000Z'), kept, (reason) => seen.push(reason));
    expect(log.overBudget()).to.equal(null);
    for (let i = 0; i < 5; i++) await log.write({ alert: alert(`ct-${i}`), reason: 'ERR_SINK_REJECTED: HTTP 400', attempts: 1 });
    await log.close();
    const lines = (await readFile(join(root, 'dead-2026-11-26.ndjson'), 'utf8')).trimEnd().split('\n');
    expect(lines, 'nothing is dropped').to.have.length(5);
    expect(seen[0]).to.equal(null);
    expect(log.overBudget()).to.match(/over spool\.dead\.maxBytes \(1000\): requeue them \(tracehive spool requeue-dead\)/);
    expect(seen.at(-1)).to.equal(log.overBudget());
  });
});
