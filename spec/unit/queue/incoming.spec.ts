/**
 * The ingest drop directory end to end within one process: DropWriter (what `tracehive ingest`
 * does) leaves files, drainDrops (what serve does every 2 s) hands them to the real MailPipeline
 * over a recording spool. Real files, FIFOs, links and modes.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DropWriter } from '../../../src/queue/drop-writer.js';
import { DropLedger } from '../../../src/queue/drop-ledger.js';
import { drainDrops } from '../../../src/queue/incoming.js';
import { MailPipeline } from '../../../src/mail-pipeline.js';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { decodeRecord } from '../../../src/queue/spool-payload.js';
import { createLogger } from '../../../src/log.js';
import { Telemetry } from '../../../src/telemetry.js';
import { RecordingSpool } from '../../support/recording-spool.js';
import { KeptFiles } from '../../../src/io/kept-files.js';
import { fixturePath } from '../../support/fixtures.js';

const MAX = 26_214_400;
const RECEIVED = Date.parse('2026-11-26T08:00:00.000Z');
const mail = (name: string): Buffer => readFileSync(fixturePath('mail', name));

describe('queue/incoming: the ingest drop directory', () => {
  let root: string;
  let drop: string;
  let spool: RecordingSpool;
  let telemetry: Telemetry;
  let pipeline: MailPipeline;
  let ledger: DropLedger;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tracehive-drop-'));
    drop = join(root, 'drop');
    spool = new RecordingSpool();
    telemetry = new Telemetry(createLogger('silent'), () => 0);
    pipeline = new MailPipeline({ policy: DEFAULT_POLICY, mailPolicy: DEFAULT_MAIL_POLICY, spool: () => spool, quarantineDir: join(root, 'spool', 'quarantine'), telemetry, now: () => RECEIVED + 3_600_000 });
    await mkdir(join(root, 'spool'), { mode: 0o700 });
    ledger = await DropLedger.load(join(root, 'spool'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));
  const drain = (): ReturnType<typeof drainDrops> => drainDrops({ dropDir: drop, intake: pipeline, ledger, maxBytes: MAX, telemetry });
  const refs = (): string[] => spool.appended.map((p) => decodeRecord(p)).map((r) => (r.kind === 'alert' ? r.alert.sourceRef : r.kind));

  it('ingest\'s drop files are mapped in order with their receive time, then removed', async () => {
    let clock = RECEIVED;
    const writer = new DropWriter(drop, () => clock++);
    const first = await writer.keep(mail('siem-en.eml'), { via: 'file', id: '/in/siem-en.eml' });
    await writer.keep(mail('fwd-inline.eml'), { via: 'stdin', id: 'stdin' });
    expect((await stat(join(drop, first))).mode & 0o777).to.equal(0o644);
    expect(await drain()).to.deep.equal({ taken: 2, invalid: 0, deferred: 0, stopped: null });
    expect(refs()[0]).to.equal('mail-INC-2024-0042');
    expect(refs()).to.have.length(2);
    expect(spool.times, 'the time ingest received them, not the time serve took them').to.deep.equal([RECEIVED, RECEIVED + 1]);
    expect(spool.committed).to.equal(2);
    expect(await readdir(drop)).to.deep.equal([]);
    expect(await drain()).to.deep.equal({ taken: 0, invalid: 0, deferred: 0, stopped: null });
  });

  it('leaves a drop in place when the intake refuses it for now, and takes it at the next round', async () => {
    await new DropWriter(drop).keep(mail('siem-en.eml'), { via: 'stdin', id: 'stdin' });
    spool.closed = true;
    let code = '';
    await drain().catch((err: { code?: string }) => (code = err.code ?? 'error'));
    expect(code).to.equal('ERR_SPOOL_CLOSED');
    expect(await readdir(drop)).to.have.length(1);
    spool.closed = false;
    expect((await drain()).taken).to.equal(1);
  });

  it('never sends, never reads through, never blocks on, and never keeps in the drop directory what is planted', async () => {
    await mkdir(drop);
    const target = join(root, 'secret.mail');
    await writeFile(target, 'root-only\n');
    await symlink(target, join(drop, '001796402432434-6411-000000000005.mail'));
    execFileSync('mkfifo', [join(drop, '001796402432435-6411-000000000006.mail')]);
    await mkdir(join(drop, '001796402432436-6411-000000000007.mail'));
    await writeFile(join(drop, 'notes.txt'), 'hello');
    await writeFile(join(drop, '.001796402432437-6411-000000000008.mail.tmp'), 'an ingest still writing');
    const result = await drain();
    expect(result).to.deep.equal({ taken: 0, invalid: 4, deferred: 0, stopped: null });
    // The link, the FIFO and the stray file are gone; the planted directory cannot be unlinked: it is in the ledger.
    expect(await readdir(drop)).to.deep.equal(['.001796402432437-6411-000000000008.mail.tmp', '001796402432436-6411-000000000007.mail']);
    expect(await readFile(target, 'utf8')).to.equal('root-only\n');
    // What was planted is kept in serve's quarantine (under its budget), each with its reason; a stray file's bytes too.
    const q = join(root, 'spool', 'quarantine');
    const records = await Promise.all((await readdir(q)).filter((n) => n.endsWith('.json')).map(async (n) => ({ n, r: JSON.parse(await readFile(join(q, n), 'utf8')) as { via: string; origin: string; reason: string } })));
    const byOrigin = new Map(records.map(({ n, r }) => [r.origin.slice(drop.length + 1), { ...r, eml: join(q, n.replace(/\.json$/, '.eml')) }]));
    expect(byOrigin.get('001796402432434-6411-000000000005.mail')?.reason).to.match(/^ERR_FILE_UNSAFE: .*symbolic link/);
    expect(byOrigin.get('001796402432435-6411-000000000006.mail')?.reason).to.match(/^ERR_FILE_UNSAFE: .*not a regular file/);
    expect(byOrigin.get('001796402432436-6411-000000000007.mail')?.reason).to.match(/^ERR_FILE_UNSAFE: .*not a regular file/);
    expect(byOrigin.get('notes.txt')?.reason).to.match(/^ERR_DROP_INVALID: "notes.txt" is not the name of a drop file/);
    expect(await readFile(byOrigin.get('notes.txt')?.eml as string, 'utf8')).to.equal('hello');
    expect(records.every(({ r }) => r.via === 'drop')).to.equal(true);
    expect(spool.appended).to.deep.equal([]);
    expect(await telemetry.value('tracehive_drops_total', { outcome: 'invalid' })).to.equal(4);
    // Next round: nothing is taken twice.
    expect(await drain()).to.deep.equal({ taken: 0, invalid: 0, deferred: 0, stopped: null });
  });

  it('refuses a drop larger than the size limit allows without reading it', async () => {
    await mkdir(drop);
    await writeFile(join(drop, '001796402432438-6411-000000000009.mail'), Buffer.alloc(70_000, 'x'));
    const result = await drainDrops({ dropDir: drop, intake: pipeline, ledger, maxBytes: 1024, telemetry });
    expect(result.invalid).to.equal(1);
    const q = join(root, 'spool', 'quarantine');
    const names = await readdir(q);
    const record = JSON.parse(await readFile(join(q, names.find((n) => n.endsWith('.json')) as string), 'utf8')) as { reason: string };
    expect(record.reason).to.match(/^ERR_DROP_INVALID: 70000 bytes, more than a drop of a mail within the size limit \(1024\)/);
    expect((await stat(join(q, names.find((n) => n.endsWith('.eml')) as string))).size, 'not read').to.equal(0);
    expect(await readdir(drop)).to.deep.equal([]);
  });

  it('with the quarantine full, leaves an invalid drop for later and still takes the good mails behind it', async () => {
    const quarantine = new KeptFiles(join(root, 'spool', 'quarantine'), { kind: 'quarantine' }, { maxBytes: 0, retentionDays: 0 });
    pipeline = new MailPipeline({ policy: DEFAULT_POLICY, mailPolicy: DEFAULT_MAIL_POLICY, spool: () => spool, quarantineDir: quarantine.dir, quarantine, telemetry, now: () => RECEIVED });
    await mkdir(drop);
    await writeFile(join(drop, '000000000000001-1-000000000001.mail'), 'planted, sorted first');
    const writer = new DropWriter(drop, () => RECEIVED);
    await writer.keep(mail('siem-en.eml'), { via: 'stdin', id: 'stdin' });
    const result = await drain();
    expect(result).to.include({ taken: 1, invalid: 0, deferred: 1 });
    expect(result.stopped).to.match(/1 files wait for room in the quarantine/);
    expect(refs()).to.deep.equal(['mail-INC-2024-0042']);
    expect(await readdir(drop)).to.deep.equal(['000000000000001-1-000000000001.mail']);
  });

  it('quarantines a drop whose mail is no mail (serve decides, not ingest), with where it came from', async () => {
    await new DropWriter(drop).keep(Buffer.from('not a mail at all\n'), { via: 'stdin', id: 'stdin' });
    expect((await drain()).taken).to.equal(1);
    const kept = await readdir(join(root, 'spool', 'quarantine'));
    const record = JSON.parse(await readFile(join(root, 'spool', 'quarantine', kept.find((n) => n.endsWith('.json')) as string), 'utf8')) as Record<string, unknown>;
    expect(record).to.include({ version: 1, via: 'stdin', origin: 'stdin' });
    expect(await readdir(drop)).to.deep.equal([]);
  });

  it('the ledger of taken files survives a reload; a damaged or newer one stops the drain instead of guessing', async () => {
    const spoolDir = join(root, 'spool');
    await writeFile(join(spoolDir, 'drops-taken.json'), JSON.stringify({ version: 2, taken: {} }));
    let message = '';
    await DropLedger.load(spoolDir).catch((err: Error) => (message = err.message));
    expect(message).to.match(/drops-taken\.json is a ledger of format version 2, newer than this tracehive reads \(1\): drop files are not taken until it is fixed/);
    await writeFile(join(spoolDir, 'drops-taken.json'), '{"vers');
    message = '';
    await DropLedger.load(spoolDir).catch((err: Error) => (message = err.message));
    expect(message).to.match(/is not JSON/);
  });
});
