/**
 * `tracehive ingest` inputs: real temp files and directories, stdin as a Readable, and the
 * sysexits code each combination of outcomes gives.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { EX_DATAERR, EX_NOINPUT, EX_OK, EX_TEMPFAIL, formatIngestResult, ingestExitCode, ingestFiles, ingestStdin, stripMboxFromLine, type IngestResult, type IngestTarget } from '../../../src/sources/mail-files.js';
import type { MailOrigin } from '../../../src/sources/mail-intake.js';

/** Keeps what it is handed (or fails as a full disk would, when told), naming each kept mail drop-N. */
class RecordingIntake implements IngestTarget {
  readonly kept: Array<{ raw: Buffer; origin: MailOrigin }> = [];
  readonly calls: MailOrigin[] = [];
  /** What the keep() calls do, in order; the last one repeats. */
  modes: Array<'keep' | 'reject'> = ['keep'];

  async keep(raw: Buffer, origin: MailOrigin): Promise<string> {
    const mode = this.modes[Math.min(this.calls.length, this.modes.length - 1)];
    this.calls.push(origin);
    if (mode === 'reject') throw new Error('ENOSPC: no space left on device (test)');
    this.kept.push({ raw, origin });
    return `drop-${this.kept.length}`;
  }
}

const mail = (subject: string): Buffer => Buffer.from(`From: a@corp.example\r\nSubject: ${subject}\r\n\r\nbody ü\r\n`, 'utf8');

describe('mail-files: tracehive ingest', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-ingest-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('ingestFiles', () => {
    it('hands each file on as it is, in argument order, and reports where each is kept', async () => {
      const a = mail('a');
      await writeFile(join(dir, 'a.eml'), a);
      await writeFile(join(dir, 'b.eml'), mail('b'));
      const intake = new RecordingIntake();
      const summary = await ingestFiles([join(dir, 'b.eml'), join(dir, 'a.eml')], intake);
      expect(summary.results.map((r) => r.outcome)).to.deep.equal(['kept', 'kept']);
      expect(summary.results.map((r) => (r.outcome === 'kept' ? r.file : ''))).to.deep.equal(['drop-1', 'drop-2']);
      expect(summary.results.map((r) => r.origin)).to.deep.equal([
        { via: 'file', id: join(dir, 'b.eml') },
        { via: 'file', id: join(dir, 'a.eml') },
      ]);
      expect(intake.kept[1]?.raw.equals(a)).to.equal(true);
      expect(summary).to.include({ kept: 2, failed: 0 });
      expect(ingestExitCode(summary.results)).to.equal(EX_OK);
    });

    it('reads the *.eml files directly in a directory, sorted by name, and nothing else', async () => {
      await writeFile(join(dir, 'b.EML'), mail('b'));
      await writeFile(join(dir, 'a.eml'), mail('a'));
      await writeFile(join(dir, 'notes.txt'), 'not a mail');
      await mkdir(join(dir, 'sub.eml'));
      await writeFile(join(dir, 'sub.eml', 'c.eml'), mail('c'));
      const intake = new RecordingIntake();
      const summary = await ingestFiles([dir], intake);
      expect(summary.results.map((r) => r.origin.id)).to.deep.equal([join(dir, 'a.eml'), join(dir, 'b.EML')]);
      expect(intake.calls).to.have.length(2);
    });

    it('reports a missing file and a directory without .eml as unreadable (66), and goes on', async () => {
      await writeFile(join(dir, 'ok.eml'), mail('ok'));
      await mkdir(join(dir, 'empty'));
      const intake = new RecordingIntake();
      const summary = await ingestFiles([join(dir, 'missing.eml'), join(dir, 'empty'), join(dir, 'ok.eml')], intake);
      expect(summary.results.map((r) => r.outcome)).to.deep.equal(['unreadable', 'unreadable', 'kept']);
      expect((summary.results[0] as { reason: string }).reason).to.match(/ENOENT/);
      expect((summary.results[1] as { reason: string }).reason).to.match(/no \.eml/);
      expect(summary).to.include({ kept: 1, failed: 2 });
      expect(ingestExitCode(summary.results)).to.equal(EX_NOINPUT);
    });

    it('reports a mail the intake could not keep as not-kept (75), which wins over 66', async () => {
      await writeFile(join(dir, '1.eml'), mail('1'));
      await writeFile(join(dir, '2.eml'), mail('2'));
      const intake = new RecordingIntake();
      intake.modes = ['reject', 'keep'];
      const summary = await ingestFiles([dir, join(dir, 'missing.eml')], intake);
      expect(summary.results.map((r) => r.outcome)).to.deep.equal(['not-kept', 'kept', 'unreadable']);
      expect((summary.results[0] as { reason: string }).reason).to.match(/ENOSPC/);
      expect(ingestExitCode(summary.results)).to.equal(EX_TEMPFAIL);
    });

    it('refuses a file larger than maxBytes without reading it (65)', async () => {
      await writeFile(join(dir, 'big.eml'), Buffer.alloc(2048, 'x'));
      const intake = new RecordingIntake();
      const summary = await ingestFiles([join(dir, 'big.eml')], intake, { maxBytes: 1024 });
      expect(summary.results[0]?.outcome).to.equal('too-large');
      expect(intake.calls).to.have.length(0);
      expect(ingestExitCode(summary.results)).to.equal(EX_DATAERR);
    });
  });

  describe('ingestStdin (MTA pipe)', () => {
    it('hands on the whole stream, however it is chunked', async () => {
      const raw = mail('piped');
      const intake = new RecordingIntake();
      const result = await ingestStdin(Readable.from([raw.subarray(0, 7), raw.subarray(7, 30), raw.subarray(30)]), intake);
      expect(result).to.deep.equal({ origin: { via: 'stdin', id: 'stdin' }, outcome: 'kept', file: 'drop-1' });
      expect(intake.kept[0]?.raw.equals(raw)).to.equal(true);
    });

    it('drops a leading mbox "From " line, and only that', async () => {
      const raw = mail('mbox');
      const intake = new RecordingIntake();
      await ingestStdin(Readable.from([Buffer.from('From MAILER-DAEMON Thu Oct 12 16:14:02 2025\n'), raw]), intake);
      expect(intake.kept[0]?.raw.equals(raw)).to.equal(true);
      expect(stripMboxFromLine(raw)).to.equal(raw);
    });

    it('reports empty stdin as unreadable (66)', async () => {
      const intake = new RecordingIntake();
      const result = await ingestStdin(Readable.from([]), intake);
      expect(result.outcome).to.equal('unreadable');
      expect(ingestExitCode([result])).to.equal(EX_NOINPUT);
    });

    it('reads an oversized mail to its end but does not hand it on (65)', async () => {
      const intake = new RecordingIntake();
      const chunks = Array.from({ length: 10 }, () => Buffer.alloc(1000, 'y'));
      const stream = Readable.from(chunks);
      const result = await ingestStdin(stream, intake, { maxBytes: 4096 });
      expect(result.outcome).to.equal('too-large');
      expect(stream.readableEnded).to.equal(true);
      expect(intake.calls).to.have.length(0);
      expect(ingestExitCode([result])).to.equal(EX_DATAERR);
    });

    it('answers 75 when the intake could not keep it or stdin broke', async () => {
      const intake = new RecordingIntake();
      intake.modes = ['reject'];
      expect(ingestExitCode([await ingestStdin(Readable.from([mail('x')]), intake)])).to.equal(EX_TEMPFAIL);
      const broken = new Readable({
        read() {
          this.destroy(new Error('EPIPE (test)'));
        },
      });
      const result = await ingestStdin(broken, new RecordingIntake());
      expect(result.outcome).to.equal('not-kept');
      expect(ingestExitCode([result])).to.equal(EX_TEMPFAIL);
    });
  });

  it('formats one line per result for the operator', () => {
    const results: IngestResult[] = [
      { origin: { via: 'file', id: '/m/a.eml' }, outcome: 'kept', file: '001764144000000-42-0123456789ab.mail' },
      { origin: { via: 'stdin', id: 'stdin' }, outcome: 'not-kept', reason: 'ENOSPC: no space left on device' },
      { origin: { via: 'file', id: '/m/c.eml' }, outcome: 'unreadable', reason: 'ENOENT' },
    ];
    expect(results.map(formatIngestResult)).to.deep.equal([
      'ingest: /m/a.eml: kept for tracehive serve as 001764144000000-42-0123456789ab.mail',
      'ingest: stdin: not kept, try again later: ENOSPC: no space left on device',
      'ingest: /m/c.eml: unreadable: ENOENT',
    ]);
    expect(ingestExitCode([])).to.equal(EX_OK);
  });
});
