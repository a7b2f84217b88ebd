import { expect } from 'chai';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requeueDead } from '../../../src/queue/requeue.js';
import { decodeRecord } from '../../../src/queue/spool-payload.js';
import { RecordingSpool } from '../../support/recording-spool.js';
import { testAlert } from '../../support/alerts.js';
import { fixturePath } from '../../support/fixtures.js';

const deadLine = (ref: string): string => JSON.stringify({ time: '2026-11-26T08:00:00.000Z', reason: 'ERR_SINK_REJECTED: HTTP 400', status: 400, attempts: 1, alert: testAlert(ref) });

describe('queue/requeue', () => {
  let spoolDir: string;
  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'tracehive-requeue-'));
    await mkdir(join(spoolDir, 'dead'));
  });
  afterEach(() => rm(spoolDir, { recursive: true, force: true }));

  it('puts every dead letter back in order, commits, keeps unreadable lines aside and removes the file', async () => {
    const lines = [deadLine('ct-a'), '', 'not json {', deadLine('ct-b'), JSON.stringify({ alert: { title: 'no sourceRef' } }), deadLine('ct-c')];
    await writeFile(join(spoolDir, 'dead', 'dead-2026-11-26.ndjson'), `${lines.join('\n')}\n`);
    const writer = new RecordingSpool();
    expect(await requeueDead(spoolDir, writer)).to.deep.equal({
      files: 1,
      alerts: 3,
      unreadable: 2,
      problems: [
        { file: 'dead-2026-11-26.ndjson', line: 3, reason: 'not JSON: a damaged or hand-edited line' },
        { file: 'dead-2026-11-26.ndjson', line: 5, reason: 'no alert with a sourceRef and a title in it' },
      ],
    });
    expect(writer.committed).to.equal(3);
    expect(writer.appended.map((p) => decodeRecord(p)).map((r) => (r.kind === 'alert' ? r.alert.sourceRef : r.kind))).to.deep.equal(['ct-a', 'ct-b', 'ct-c']);
    expect(await readdir(join(spoolDir, 'dead'))).to.deep.equal([]);
    const kept = await readdir(join(spoolDir, 'requeue'));
    expect(kept).to.have.length(1);
    expect(kept[0]).to.match(/^unreadable-\d+-\d+-dead-2026-11-26\.ndjson$/);
    expect(await readFile(join(spoolDir, 'requeue', kept[0] as string), 'utf8')).to.equal(`not json {\n${lines[4]}\n`);
  });

  it('streams a large file (50,000 dead letters, a line split across read chunks) without losing one', async () => {
    const refs = Array.from({ length: 50_000 }, (_, i) => `ct-${i}`);
    await writeFile(join(spoolDir, 'dead', 'dead-2026-11-25.ndjson'), `${refs.map(deadLine).join('\n')}\n`);
    const writer = new RecordingSpool();
    expect(await requeueDead(spoolDir, writer)).to.deep.equal({ files: 1, alerts: 50_000, unreadable: 0, problems: [] });
    expect(writer.appended.map((p) => decodeRecord(p)).map((r) => (r.kind === 'alert' ? r.alert.sourceRef : r.kind))).to.deep.equal(refs);
  });

  it('a work file that cannot be read makes the requeue fail (serve logs and retries), and stays for the next try', async () => {
    const work = join(spoolDir, 'requeue', 'work-1-2-dead-2026-11-24.ndjson');
    await mkdir(work, { recursive: true }); // a directory: no plain file, so it is never read
    let code = '';
    await requeueDead(spoolDir, new RecordingSpool()).catch((err: { code?: string }) => (code = err.code ?? 'error'));
    expect(code).to.equal('ERR_FILE_UNSAFE');
    expect(await readdir(join(spoolDir, 'requeue'))).to.deep.equal(['work-1-2-dead-2026-11-24.ndjson']);
  });

  it('requeues the dead letters 0.1.0 wrote (no format version)', async () => {
    await copyFile(fixturePath('spool-0.1.0', 'dead', 'dead-2026-11-30.ndjson'), join(spoolDir, 'dead', 'dead-2026-11-30.ndjson'));
    const writer = new RecordingSpool();
    expect(await requeueDead(spoolDir, writer)).to.deep.include({ files: 1, alerts: 1, unreadable: 0 });
    expect(writer.appended.map((p) => decodeRecord(p)).map((r) => (r.kind === 'alert' ? r.alert.sourceRef : r.kind))).to.deep.equal(['ct-deadfixture00000001']);
  });

  it('keeps a dead letter of a newer format aside as unreadable, with that reason, and requeues the others', async () => {
    const newer = JSON.stringify({ version: 2, time: '2027-01-01T00:00:00.000Z', reason: 'ERR_SINK_REJECTED: HTTP 400', attempts: 1, alert: testAlert('ct-newer'), route: 'x' });
    const current = JSON.stringify({ version: 1, time: '2026-11-26T08:00:00.000Z', reason: 'ERR_SINK_REJECTED: HTTP 400', status: 400, body: null, attempts: 1, alert: testAlert('ct-now') });
    await writeFile(join(spoolDir, 'dead', 'dead-2026-11-26.ndjson'), `${newer}\n${current}\n`);
    const writer = new RecordingSpool();
    const result = await requeueDead(spoolDir, writer);
    expect(result).to.deep.include({ files: 1, alerts: 1, unreadable: 1 });
    expect(result.problems).to.deep.equal([{ file: 'dead-2026-11-26.ndjson', line: 1, reason: 'ERR_FORMAT_NEWER: a dead letter of format version 2, newer than this tracehive reads (1): upgrade tracehive to requeue it' }]);
    expect(writer.appended.map((p) => decodeRecord(p)).map((r) => (r.kind === 'alert' ? r.alert.sourceRef : r.kind))).to.deep.equal(['ct-now']);
    const [kept] = await readdir(join(spoolDir, 'requeue'));
    expect(await readFile(join(spoolDir, 'requeue', kept as string), 'utf8')).to.equal(`${newer}\n`);
  });
});
