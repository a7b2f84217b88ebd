/**
 * `tracehive ingest` inputs: real temp files and directories, stdin as a Readable, and the
 * sysexits code each combination of outcomes gives.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { EX_DATAERR, EX_NOINPUT, EX_OK, EX_TEMPFAIL, formatIngestResult, ingestExitCode, ingestFiles, ingestStdin, stripMboxFromLine, type IngestResult } from '../../../src/sources/mail-files.js';
import { RecordingIntake } from '../../support/recording-intake.js';

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
    it('hands each file on as it is, in argument order, and reports the sourceRefs', async () => {
      const a = mail('a');
      await writeFile(join(dir, 'a.eml'), a);
      await writeFile(join(dir, 'b.eml'), mail('b'));
      const intake = new RecordingIntake();
      const summary = await ingestFiles([join(dir, 'b.eml'), join(dir, 'a.eml')], intake);
      expect(summary.results.map((r) => r.outcome)).to.deep.equal(['accepted', 'accepted']);
      expect(summary.results.map((r) => r.origin)).to.deep.equal([
        { via: 'file', id: join(dir, 'b.eml') },
        { via: 'file', id: join(dir, 'a.eml') },
      ]);
      expect(intake.kept[1]?.raw.equals(a)).to.equal(true);
      expect(summary).to.include({ accepted: 2, quarantined: 0, failed: 0 });
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
      expect(summary.results.map((r) => r.outcome)).to.deep.equal(['unreadable', 'unreadable', 'accepted']);
      expect((summary.results[0] as { reason: string }).reason).to.match(/ENOENT/);
      expect((summary.results[1] as { reason: string }).reason).to.match(/no \.eml/);
      expect(summary).to.include({ accepted: 1, failed: 2 });
      expect(ingestExitCode(summary.results)).to.equal(EX_NOINPUT);
    });

    it('counts a quarantined mail as kept (0)', async () => {
      await writeFile(join(dir, 'q.eml'), mail('q'));
      const intake = new RecordingIntake();
      intake.modes = ['quarantine'];
      const summary = await ingestFiles([join(dir, 'q.eml')], intake);
      expect(summary.results[0]).to.deep.include({ outcome: 'quarantined', reason: 'ERR_MAIL_PARSE: no parser (test)' });
      expect(ingestExitCode(summary.results)).to.equal(EX_OK);
    });

    it('reports a mail the intake could not keep as not-kept (75), which wins over 66', async () => {
      await writeFile(join(dir, '1.eml'), mail('1'));
      await writeFile(join(dir, '2.eml'), mail('2'));
      const intake = new RecordingIntake();
      intake.modes = ['reject', 'accept'];
      const summary = await ingestFiles([dir, join(dir, 'missing.eml')], intake);
      expect(summary.results.map((r) => r.outcome)).to.deep.equal(['not-kept', 'accepted', 'unreadable']);
      expect((summary.results[0] as { reason: string }).reason).to.match(/ENOSPC/);
      expect(ingestExitCode(summary.results)).to.equal(EX_TEMPFAIL);
    });

    it('does not call the intake while it is full: not-kept (75)', async () => {
      await writeFile(join(dir, 'f.eml'), mail('f'));
      const intake = new RecordingIntake();
      intake.full = true;
      const summary = await ingestFiles([join(dir, 'f.eml')], intake);
      expect(summary.results[0]).to.deep.include({ outcome: 'not-kept', reason: 'the spool is full' });
      expect(intake.calls).to.have.length(0);
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
      expect(result).to.deep.equal({ origin: { via: 'stdin', id: 'stdin' }, outcome: 'accepted', sourceRef: 'mail-test-1' });
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
      { origin: { via: 'file', id: '/m/a.eml' }, outcome: 'accepted', sourceRef: 'mail-1' },
      { origin: { via: 'file', id: '/m/b.eml' }, outcome: 'quarantined', reason: 'no body' },
      { origin: { via: 'stdin', id: 'stdin' }, outcome: 'not-kept', reason: 'the spool is full' },
      { origin: { via: 'file', id: '/m/c.eml' }, outcome: 'unreadable', reason: 'ENOENT' },
    ];
    expect(results.map(formatIngestResult)).to.deep.equal([
      'ingest: /m/a.eml: accepted as mail-1',
      'ingest: /m/b.eml: quarantined: no body',
      'ingest: stdin: not kept, try again later: the spool is full',
      'ingest: /m/c.eml: unreadable: ENOENT',
    ]);
    expect(ingestExitCode([])).to.equal(EX_OK);
  });
});
