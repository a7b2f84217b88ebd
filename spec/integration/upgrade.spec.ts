/**
 * A release reads what the previous one wrote (issue 11 item 7). spec/fixtures/spool-0.1.0/ is a
 * spool.dir written by tracehive 0.1.0 itself (its README says how): this release, started on a
 * copy of it, delivers every record 0.1.0 had accepted, takes 0.1.0's drop file, requeues its dead
 * letter, and leaves its IMAP state as it was. A spool written by a newer release is refused.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { appendFile, chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from '../support/harness.js';
import { encodeBatch, RECORD_VERSION } from '../../src/queue/spool-codec.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const CLI = resolve('dist/src/cli.js');
const FIXTURE = resolve('spec/fixtures/spool-0.1.0');
const KEY = 'k-upgrade';
/** What 0.1.0 left in its queue (see the fixture's README). */
const SPOOLED = [
  'ct-c7eb05b69e17d27cfaf6',
  'ct-73d411fdbc58e31e9d3b',
  'ct-618200f98326f72e1700',
  'ct-176d6ae99e333c578a1c',
  'ct-2377f4fa0f08a3c48c80',
  'ct-7ae5fd9c803c6fadff42',
  'mail-INC-2024-0042',
];
const LEGACY_DROP = 'mail-83852f31e3d13e2f7cf3';
const DEAD = 'ct-deadfixture00000001';

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => done({ code, out }));
  });
}

describe('upgrade from a spool written by tracehive 0.1.0', function () {
  this.timeout(60_000);
  let dir: string;
  let spool: string;
  let hive: FakeTheHive;
  let serve: ServeProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-upgrade-'));
    spool = join(dir, 'spool');
    await cp(FIXTURE, spool, { recursive: true });
    await rm(join(spool, 'README.md'));
    await rm(join(spool, 'LINES.txt'));
    await chmod(spool, 0o700);
    hive = await startFakeTheHive({ apiKey: KEY });
  });

  afterEach(async () => {
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
    await serve?.exited;
    serve = undefined;
    await hive.close();
    await rm(dir, { recursive: true, force: true });
  });

  const env = (): Record<string, string> => ({
    THEHIVE_URL: hive.url,
    THEHIVE_API_KEY: KEY,
    TRACEHIVE_SPOOL_DIR: spool,
    TRACEHIVE_INGEST_DROP_DIR: join(dir, 'incoming'),
    TRACEHIVE_RATE_PER_SEC: '0',
    // The fixture's files are dated 2026: no retention may remove them, whenever this test runs.
    TRACEHIVE_SPOOL_DEAD_RETENTION_DAYS: '0',
    TRACEHIVE_SPOOL_REJECTED_RETENTION_DAYS: '0',
    TRACEHIVE_SPOOL_QUARANTINE_RETENTION_DAYS: '0',
  });

  it('delivers what 0.1.0 accepted once each, takes its drop file, requeues its dead letter, keeps its IMAP state', async () => {
    const imapState = await readFile(join(spool, 'imap-state.json'), 'utf8');
    serve = await startServeProcess(env(), dir);
    await waitFor('the spooled records and the legacy drop delivered', () => hive.alerts.length === SPOOLED.length + 1, 20_000);
    expect(hive.alerts.map((a) => a.sourceRef).sort()).to.deep.equal([...SPOOLED, LEGACY_DROP].sort());
    expect(hive.alerts.find((a) => a.sourceRef === 'ct-c7eb05b69e17d27cfaf6')?.title).to.equal('Malicious URL: fakess123.nu');
    expect(hive.alerts.find((a) => a.sourceRef === 'mail-INC-2024-0042')?.type).to.equal('siem-mail');
    expect(serve.logs().some((l) => String(l['msg']).startsWith('Spool recovered') && l['records'] === SPOOLED.length)).to.equal(true);

    const requeue = await run(['spool', 'requeue-dead'], env());
    expect(requeue.code, requeue.out).to.equal(0);
    await waitFor('the dead letter requeued and delivered', () => hive.alerts.some((a) => a.sourceRef === DEAD), 20_000);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).to.equal(0);
    serve = undefined;
    // Everything sent once (create requests, not stored alerts: the stand-in refuses a second create
    // with 400, so its store alone could not show a duplicate); the spool carries this release's marks.
    const creates = (): string[] => hive.requests.filter((r) => r.method === 'POST' && r.sourceRef !== undefined).map((r) => r.sourceRef as string);
    expect(creates().sort()).to.deep.equal([...SPOOLED, LEGACY_DROP, DEAD].sort());
    expect(JSON.parse(await readFile(join(spool, 'queue', 'FORMAT'), 'utf8'))).to.deep.equal({ format: 'tracehive-spool', version: 2 });
    expect(JSON.parse(await readFile(join(spool, 'queue', 'ack.json'), 'utf8'))).to.have.property('version', 2);
    expect(await readFile(join(spool, 'imap-state.json'), 'utf8')).to.equal(imapState);
    // A second start sends nothing again: not one more create request.
    serve = await startServeProcess(env(), dir);
    await new Promise((r) => setTimeout(r, 2500));
    expect(creates()).to.have.length(SPOOLED.length + 2);
  });

  it('refuses, with exit code 2 and what to do, a spool written by a newer release', async () => {
    await writeFile(join(spool, 'queue', 'FORMAT'), JSON.stringify({ format: 'tracehive-spool', version: 99 }));
    const result = await run(['serve'], { ...env(), TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0' });
    expect(result.code).to.equal(2);
    expect(result.out).to.include('ERR_SPOOL_FORMAT').and.to.include('newer');
    expect(hive.alerts).to.have.length(0);
  });

  it('refuses a newer ack file or a newer record the same way, without touching them', async () => {
    await writeFile(join(spool, 'queue', 'ack.json'), JSON.stringify({ version: 3, cursor: 4, ranges: [] }));
    const result = await run(['serve'], { ...env(), TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0' });
    expect(result.code).to.equal(2);
    expect(result.out).to.include('ERR_SPOOL_FORMAT');
    expect(JSON.parse(await readFile(join(spool, 'queue', 'ack.json'), 'utf8'))).to.deep.equal({ version: 3, cursor: 4, ranges: [] });

    // A good record (checksum and all) with a newer version, after 0.1.0's.
    await writeFile(join(spool, 'queue', 'ack.json'), JSON.stringify({ cursor: 4, ranges: [] }));
    const record = encodeBatch([{ seq: 11, time: Date.now(), payload: 'Lcategory=KL_Malicious_URL matchedIndicator=x.example' }]);
    record.writeUInt16LE(RECORD_VERSION + 1, 26);
    record.writeUInt32LE(crc32(record.subarray(8)), 4);
    await appendFile(join(spool, 'queue', 'seg-0000000000000004.log'), record);
    const again = await run(['serve'], { ...env(), TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0' });
    expect(again.code).to.equal(2);
    expect(again.out).to.include('ERR_SPOOL_FORMAT').and.to.include('record 11');
  });
});
