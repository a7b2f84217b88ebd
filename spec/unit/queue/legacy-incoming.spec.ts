/**
 * 0.1.0's `spool.dir/incoming/*.rec` (finished alerts): the record 0.1.0 really wrote (the
 * spool-0.1.0 fixture) is taken; anything beyond the shape tracehive's mapper writes is refused
 * (issue 11: a hand-written record was sent verbatim with severity 4, a caseTemplate, customFields).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drainLegacyIncoming, readLegacyRecord } from '../../../src/queue/legacy-incoming.js';
import { decodeRecord } from '../../../src/queue/spool-payload.js';
import { RecordingSpool } from '../../support/recording-spool.js';
import { fixturePath } from '../../support/fixtures.js';

const NAME = '001796402432429-6411-e2143a5c7ecc.rec';
const FIXTURE = readFileSync(fixturePath('spool-0.1.0', 'incoming', NAME), 'utf8');
const ALERT = JSON.parse(FIXTURE.slice(FIXTURE.indexOf('\n') + 2)) as Record<string, unknown>;
const record = (alert: unknown): string => `1796402432429\nA${JSON.stringify(alert)}`;

describe('queue/legacy-incoming (0.1.0 drop files)', () => {
  it('reads the record 0.1.0 wrote: its receive time and the alert, unchanged', () => {
    const read = readLegacyRecord(FIXTURE);
    expect(read.ok).to.equal(true);
    if (!read.ok) return;
    expect(read.time).to.equal(1_796_402_432_429);
    const item = decodeRecord(read.payload);
    expect(item.kind === 'alert' && item.alert).to.deep.equal(ALERT);
  });

  const forged: [string, unknown, RegExp][] = [
    ['a caseTemplate and customFields', { ...ALERT, caseTemplate: 'Exfil', customFields: { x: { string: 'y' } } }, /fields tracehive never writes: caseTemplate, customFields/],
    ['a severity outside 1–4', { ...ALERT, severity: 5 }, /Expected `severity` to be an integer from 1 to 4/],
    ['a sourceRef that is no mail reference', { ...ALERT, sourceRef: 'ct-0000' }, /Expected `sourceRef` to be a mail reference/],
    ['a title of 513 characters', { ...ALERT, title: 't'.repeat(513) }, /Expected `title` to be a string of 1 to 512 characters/],
    ['a title with an ANSI escape', { ...ALERT, title: 'ok\u001b[2J' }, /Expected `title` to hold no control characters/],
    ['a tlp of 9', { ...ALERT, tlp: 9 }, /Expected `tlp` to be an integer from 0 to 4/],
    ['a missing description', { ...ALERT, description: undefined }, /Expected `description`/],
    ['a custom dataType', { ...ALERT, observables: [{ dataType: 'exfil-target', data: 'x' }] }, /Expected `observables\[0\]\.dataType` to be a built-in dataType/],
    ['an observable with extra fields', { ...ALERT, observables: [{ dataType: 'ip', data: '192.0.2.1', sighted: true }] }, /`observables\[0\]` has fields tracehive never writes: sighted/],
    ['an observable of 4097 characters', { ...ALERT, observables: [{ dataType: 'other', data: 'x'.repeat(4097) }] }, /Expected `observables\[0\]\.data`/],
    ['1,001 observables', { ...ALERT, observables: Array.from({ length: 1001 }, (_, i) => ({ dataType: 'ip', data: `192.0.2.${i % 250}` })) }, /a list of at most 1000/],
    ['tags that are no strings', { ...ALERT, tags: ['mail', 7] }, /Expected each of `tags` to be a tag/],
    ['an array', [ALERT], /not "<time>\\nA<alert JSON>"/],
  ];
  for (const [what, alert, reason] of forged) {
    it(`refuses an alert with ${what}`, () => {
      const read = readLegacyRecord(record(alert));
      expect(read.ok).to.equal(false);
      if (!read.ok) expect(read.reason).to.match(/^ERR_DROP_INVALID: /).and.match(reason);
    });
  }

  it('refuses a line record, garbage and a time that is no number', () => {
    for (const text of ['1796402432429\nLcategory=KL_Malicious_URL matchedIndicator=x', 'hello', `x\nA${JSON.stringify(ALERT)}`]) {
      expect(readLegacyRecord(text).ok, text.slice(0, 20)).to.equal(false);
    }
  });

  describe('drainLegacyIncoming', () => {
    let spoolDir: string;
    beforeEach(async () => {
      spoolDir = await mkdtemp(join(tmpdir(), 'tracehive-legacy-'));
      await mkdir(join(spoolDir, 'incoming'));
    });
    afterEach(() => rm(spoolDir, { recursive: true, force: true }));

    it('takes the valid records into the spool, renames the others .invalid, and removes the directory once empty', async () => {
      await writeFile(join(spoolDir, 'incoming', NAME), FIXTURE);
      await writeFile(join(spoolDir, 'incoming', '001796402432430-6411-000000000001.rec'), record({ ...ALERT, severity: 4, caseTemplate: 'Exfil' }));
      await symlink(join(spoolDir, 'incoming', NAME), join(spoolDir, 'incoming', '001796402432431-6411-000000000002.rec'));
      const spool = new RecordingSpool();
      const result = await drainLegacyIncoming(spoolDir, spool);
      expect(result?.taken).to.equal(1);
      expect(result?.refused.map((r) => r.file)).to.deep.equal(['001796402432430-6411-000000000001.rec', '001796402432431-6411-000000000002.rec']);
      expect(result?.refused[1]?.reason).to.match(/^ERR_FILE_UNSAFE: .*symbolic link/);
      expect(spool.committed).to.equal(1);
      expect((await readdir(join(spoolDir, 'incoming'))).sort()).to.deep.equal(['001796402432430-6411-000000000001.rec.invalid', '001796402432431-6411-000000000002.rec.invalid']);

      const clean = await mkdtemp(join(tmpdir(), 'tracehive-legacy-'));
      try {
        await mkdir(join(clean, 'incoming'));
        await writeFile(join(clean, 'incoming', NAME), FIXTURE);
        expect((await drainLegacyIncoming(clean, new RecordingSpool()))?.taken).to.equal(1);
        expect(await readdir(clean), 'the emptied legacy directory is gone').to.deep.equal([]);
        expect(await drainLegacyIncoming(clean, new RecordingSpool())).to.equal(null);
      } finally {
        await rm(clean, { recursive: true, force: true });
      }
    });
  });
});
