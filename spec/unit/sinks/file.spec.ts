import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FileStore } from '../../../src/io/file-store.js';
import { createFileSink } from '../../../src/sinks/file.js';
import type { Alert, Observable, QueuedAlert, Sink } from '../../../src/types.js';
import { testAlert } from '../../support/alerts.js';

const alert = (ref: string, description = 'd'): Alert =>
  testAlert(ref, { title: `Malicious URL: ${ref}`, description, tags: ['cybertrace', 'category:KL_Malicious_URL'] });

const live = (): AbortSignal => new AbortController().signal;

/** `alerts` as the delivery queue hands them to `sink`: encoded once. */
const queued = (sink: Sink, ...alerts: Alert[]): QueuedAlert[] => alerts.map((a) => ({ sourceRef: a.sourceRef, body: sink.encode(a) }));

describe('sinks/file', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-file-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the parent directories and writes each alert as its exact JSON body on one line', async () => {
    const path = join(dir, 'a', 'b', 'alerts.ndjson');
    const sink = createFileSink(path);
    expect(sink.name).to.equal('file');
    const alerts = [alert('ct-1'), alert('ct-2', 'line one\nline two | with "quotes"')];
    for (const a of alerts) expect(await sink.send(queued(sink, a), live())).to.deep.equal({ kind: 'delivered' });
    await sink.close();
    expect(await readFile(path, 'utf8')).to.equal(alerts.map((a) => `${JSON.stringify(a)}\n`).join(''));
  });

  it('writes a batch in one send, each alert on its own line in batch order; decode gives each alert back', async () => {
    const path = join(dir, 'alerts.ndjson');
    const sink = createFileSink(path);
    expect(sink.maxBatch).to.be.greaterThan(1);
    const alerts = [alert('ct-1'), alert('ct-2', 'ünïcödé ✓ 𝄞 and a lone \ud800'), alert('ct-3', 'x'.repeat(100_000))];
    const batch = queued(sink, ...alerts);
    expect(await sink.send(batch, live())).to.deep.equal({ kind: 'delivered' });
    await sink.close();
    expect(await readFile(path, 'utf8')).to.equal(alerts.map((a) => `${JSON.stringify(a)}\n`).join(''));
    expect(batch.map((q) => sink.decode(q.body))).to.deep.equal(alerts);
  });

  it('appends to an existing file', async () => {
    const path = join(dir, 'alerts.ndjson');
    const first = createFileSink(path);
    await first.send(queued(first, alert('ct-1')), live());
    await first.close();
    const second = createFileSink(path);
    await second.send(queued(second, alert('ct-2')), live());
    await second.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as Alert).sourceRef)).to.deep.equal(['ct-1', 'ct-2']);
  });

  it('gives whole lines for concurrent sends of large alerts', async () => {
    const path = join(dir, 'alerts.ndjson');
    const sink = createFileSink(path);
    const refs = Array.from({ length: 200 }, (_, i) => `ct-${i}`);
    const outcomes = await Promise.all(refs.map((r, i) => sink.send(queued(sink, alert(r, `${i}`.repeat(20_000))), live())));
    await sink.close();
    expect(outcomes.every((o) => o.kind === 'delivered')).to.equal(true);
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).to.have.length(200);
    expect(lines.map((l) => (JSON.parse(l) as Alert).sourceRef)).to.have.members(refs);
  });

  it('a write error is a retry naming the errno', async () => {
    const sink = createFileSink(dir); // a directory: open(…, 'a') fails with EISDIR
    const outcome = await sink.send(queued(sink, alert('ct-1')), live());
    expect(outcome.kind).to.equal('retry');
    expect(outcome.kind === 'retry' && outcome.reason).to.match(/EISDIR/);
    await sink.close();
  });

  it('a full disk is a retry with ENOSPC', async function () {
    if (!existsSync('/dev/full')) this.skip();
    const sink = createFileSink('/dev/full');
    const outcome = await sink.send(queued(sink, alert('ct-1')), live());
    expect(outcome.kind === 'retry' && outcome.reason).to.match(/ENOSPC/);
    await sink.close();
  });

  it('after close, sends are retries and nothing is written', async () => {
    const path = join(dir, 'alerts.ndjson');
    const sink = createFileSink(path);
    await sink.close();
    expect((await sink.send(queued(sink, alert('ct-1')), live())).kind).to.equal('retry');
    expect(existsSync(path)).to.equal(false);
  });

  it('shows the lifecycle: the alert, then one line per update and per batch of observables added, in order', async () => {
    const path = join(dir, 'alerts.ndjson');
    const sink = createFileSink(path);
    const ops = sink.ops;
    if (!ops) throw new Error('the file sink has no lifecycle requests');
    const created = await ops.create(alert('ct-k1-1'), live());
    expect(created).to.deep.equal({ kind: 'ok', value: { id: 'ct-k1-1', duplicate: false } });
    expect(await ops.get('ct-k1-1', live())).to.deep.include({ kind: 'ok' });
    await ops.update('ct-k1-1', { title: 'Malicious URL: ct-k1 (2 sightings)', description: 'table', severity: 3, addTags: ['x'] }, live());
    await ops.addObservables('ct-k1-1', [{ dataType: 'ip', data: '203.0.113.7', ioc: true }], live());
    await sink.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines).to.deep.equal([
      alert('ct-k1-1'),
      { update: { sourceRef: 'ct-k1-1', set: { title: 'Malicious URL: ct-k1 (2 sightings)', description: 'table', severity: 3, addTags: ['x'] } } },
      { observables: { sourceRef: 'ct-k1-1', add: [{ dataType: 'ip', data: '203.0.113.7', ioc: true }] } },
    ]);
    expect(await ops.find({ sourceRef: 'ct-k1-1' }, live())).to.deep.equal({ kind: 'ok', value: null });
  });
});

describe('sinks/file: mail files (issue 13)', () => {
  const content = Buffer.from('%PDF-1.4 a small file\n');
  const sha = createHash('sha256').update(content).digest('hex');
  const REF = 'cd'.repeat(16);
  const fileObs: Observable = { dataType: 'file', data: sha, ioc: false, attachment: { name: 'scan.pdf', contentType: 'application/pdf', size: content.length, sha256: sha, ref: REF }, tags: ['attachment:scan.pdf'] };
  let dir: string;
  let store: FileStore;
  const signal = new AbortController().signal;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-sink-files-'));
    store = new FileStore(join(dir, 'spool', 'files'));
    await store.put(REF, [{ sha256: sha, content }]);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('an alert line: the bytes copied to files/<sha256> beside the output, then given back to the store', async () => {
    const sink = createFileSink(join(dir, 'out', 'alerts.ndjson'), store);
    const alert: Alert = { ...testAlert('mail-f1'), observables: [fileObs] };
    expect(await sink.send([{ sourceRef: 'mail-f1', body: sink.encode(alert) }], signal)).to.deep.equal({ kind: 'delivered' });
    await sink.close();
    expect(await readFile(join(dir, 'out', 'files', sha))).to.deep.equal(content);
    expect(await store.size(sha)).to.equal(null);
  });

  it('an observables line (a file added to an open alert): the same, not a retry', async () => {
    const sink = createFileSink(join(dir, 'out', 'alerts.ndjson'), store);
    const added = await sink.ops?.addObservables('mail-f2', [fileObs], signal);
    expect(added).to.deep.equal({ kind: 'ok', value: { added: 1, existed: 0 } });
    await sink.close();
    expect(await readFile(join(dir, 'out', 'files', sha))).to.deep.equal(content);
    expect(await store.size(sha)).to.equal(null);
    expect(await readFile(join(dir, 'out', 'alerts.ndjson'), 'utf8')).to.contain('"add":[{"dataType":"file"');
  });
});
