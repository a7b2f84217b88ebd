import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requeueDead } from '../../../src/queue/requeue.js';
import { decodeRecord } from '../../../src/queue/spool-payload.js';
import { RecordingSpool } from '../../support/recording-spool.js';
import { testAlert } from '../../support/alerts.js';

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
    expect(await requeueDead(spoolDir, writer)).to.deep.equal({ files: 1, alerts: 3, unreadable: 2 });
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
    expect(await requeueDead(spoolDir, writer)).to.deep.equal({ files: 1, alerts: 50_000, unreadable: 0 });
    expect(writer.appended.map((p) => decodeRecord(p)).map((r) => (r.kind === 'alert' ? r.alert.sourceRef : r.kind))).to.deep.equal(refs);
  });

  it('a work file that cannot be read makes the requeue fail (serve logs and retries), and stays for the next try', async () => {
    const work = join(spoolDir, 'requeue', 'work-1-2-dead-2026-11-24.ndjson');
    await mkdir(work, { recursive: true }); // a directory: reading it fails with EISDIR
    let code = '';
    await requeueDead(spoolDir, new RecordingSpool()).catch((err: { code?: string }) => (code = err.code ?? 'error'));
    expect(code).to.equal('EISDIR');
    expect(await readdir(join(spoolDir, 'requeue'))).to.deep.equal(['work-1-2-dead-2026-11-24.ndjson']);
  });
});
