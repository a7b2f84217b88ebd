import { expect } from 'chai';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { encodeBatch, HEADER_BYTES, MAGIC, MAX_TIME, RECORD_VERSION, recordBytes, scan, type SpoolRecord } from '../../../src/queue/spool-codec.js';

/** Everything a reader makes of `buf`: good records, runs of damage, and whether the end is torn. */
function scanAll(buf: Buffer): { entries: SpoolRecord[]; corrupt: number; torn: boolean } {
  const entries: SpoolRecord[] = [];
  let corrupt = 0;
  let inDamage = false;
  let at = 0;
  while (at < buf.length) {
    const r = scan(buf, at);
    if ('entry' in r) {
      entries.push(r.entry);
      inDamage = false;
      at = r.next;
    } else if ('corrupt' in r) {
      if (!inDamage) corrupt++;
      inDamage = true;
      expect(r.resyncAt).to.be.above(at);
      at = r.resyncAt;
    } else {
      return { entries, corrupt, torn: true };
    }
  }
  return { entries, corrupt, torn: false };
}

/** Any UTF-16 string, lone surrogates included (fast-check's `unit: 'binary'` takes a second to warm up). */
const codeUnitOrPoint = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0x10000, max: 0x10ffff })).map((c) => String.fromCodePoint(c));
const anyString = fc.array(codeUnitOrPoint, { maxLength: 80 }).map((chars) => chars.join(''));

const records = (payloads: readonly string[], firstSeq = 1): SpoolRecord[] => payloads.map((payload, i) => ({ seq: firstSeq + i, time: 1_700_000_000_000 + i, payload }));

describe('queue/spool-codec', () => {
  it('round-trips payloads with newlines, NULs, non-ASCII and emoji, an empty one and a large one', () => {
    const payloads = ['plain', 'two\nlines\r\nand a tab\t', 'nul\u0000inside', 'Grüße, привет, 日本語', '🦀 emoji 👩‍💻', '', 'x'.repeat(300_000)];
    const batch = records(payloads);
    const { entries, corrupt, torn } = scanAll(encodeBatch(batch));
    expect(entries).to.deep.equal(batch);
    expect(corrupt).to.equal(0);
    expect(torn).to.equal(false);
  });

  it('keeps seqs above 2^32 and times up to 2^48 - 1', () => {
    const batch = [
      { seq: 2 ** 32 + 5, time: 0, payload: 'a' },
      { seq: Number.MAX_SAFE_INTEGER, time: MAX_TIME, payload: 'b' },
    ];
    expect(scanAll(encodeBatch(batch)).entries).to.deep.equal(batch);
  });

  it('encodes a batch as the records back to back, each header + UTF-8 payload', () => {
    const batch = records(['é', 'abc']);
    const buf = encodeBatch(batch);
    expect(buf.length).to.equal(recordBytes(2) + recordBytes(3));
    expect(Buffer.concat(batch.map((r) => encodeBatch([r])))).to.deep.equal(buf);
    expect(buf.subarray(0, 4)).to.deep.equal(MAGIC);
    expect(buf.toString('utf8', HEADER_BYTES, HEADER_BYTES + 2)).to.equal('é');
  });

  it('reports a record cut anywhere as torn, and says how many bytes would hold it', () => {
    const first = encodeBatch(records(['first']));
    const last = encodeBatch(records(['the last record, cut short'], 2));
    for (let cut = 1; cut < last.length; cut++) {
      const buf = Buffer.concat([first, last.subarray(0, cut)]);
      const whole = scanAll(buf);
      expect(whole.entries.map((e) => e.seq), `cut at ${cut}`).to.deep.equal([1]);
      expect(whole.torn, `cut at ${cut}`).to.equal(true);
      expect(whole.corrupt, `cut at ${cut}`).to.equal(0);
      const more = scan(buf, first.length, { final: false });
      expect(more).to.deep.equal({ torn: true, need: cut < HEADER_BYTES ? HEADER_BYTES : last.length });
    }
  });

  it('never returns a damaged record: any flipped byte is one corrupt run and the records after it are found', () => {
    const batch = records(['before', 'the one that gets damaged: ünïcödé', 'after 1', 'after 2']);
    const buf = encodeBatch(batch);
    const start = recordBytes(Buffer.byteLength('before'));
    const end = start + recordBytes(Buffer.byteLength('the one that gets damaged: ünïcödé'));
    for (let at = start; at < end; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const damaged = Buffer.from(buf);
        damaged[at] = (damaged[at] as number) ^ mask;
        const { entries, corrupt, torn } = scanAll(damaged);
        expect(entries.map((e) => e.seq), `byte ${at - start} ^ ${mask}`).to.deep.equal([1, 3, 4]);
        expect(entries).to.deep.include(batch[3]);
        expect(corrupt, `byte ${at - start} ^ ${mask}`).to.equal(1);
        expect(torn).to.equal(false);
      }
    }
  });

  it('treats a length running past the end as damage when a good record follows, as torn when none does', () => {
    const batch = records(['one', 'two', 'three']);
    const buf = encodeBatch(batch);
    const second = recordBytes(3);
    const damaged = Buffer.from(buf);
    damaged.writeUInt32LE(1_000_000, second + 8);
    expect(scan(damaged, second)).to.deep.equal({ corrupt: true, resyncAt: second + recordBytes(3) });
    expect(scanAll(damaged).entries.map((e) => e.seq)).to.deep.equal([1, 3]);
    const last = Buffer.from(buf);
    last.writeUInt32LE(1_000_000, 2 * second + 8);
    expect(scanAll(last)).to.deep.include({ corrupt: 0, torn: true });
  });

  it('skips garbage before a record and finds nothing in garbage alone', () => {
    const buf = Buffer.concat([Buffer.from('garbage\n\u0000\u00ff junk'), encodeBatch(records(['kept']))]);
    expect(scanAll(buf)).to.deep.include({ corrupt: 1, torn: false });
    expect(scanAll(buf).entries.map((e) => e.payload)).to.deep.equal(['kept']);
    expect(scanAll(Buffer.from('no record here at all'))).to.deep.equal({ entries: [], corrupt: 1, torn: false });
  });

  it('in a buffer that is not the end of the data, resumes where a magic cut by the end could start', () => {
    const junk = Buffer.from('0123456789');
    expect(scan(junk, 0, { final: false })).to.deep.equal({ corrupt: true, resyncAt: 7 });
    expect(scan(Buffer.concat([junk, MAGIC.subarray(0, 2)]), 10, { final: false })).to.deep.equal({ torn: true, need: HEADER_BYTES });
  });

  it('decodes nothing when asked not to', () => {
    const r = scan(encodeBatch(records(['payload'])), 0, { decode: false });
    expect(r).to.deep.equal({ entry: { seq: 1, time: 1_700_000_000_000, payload: '' }, next: recordBytes(7), version: RECORD_VERSION });
  });

  it('writes its format version in each record, and reads the records of tracehive 0.1.0 (version field 0)', () => {
    const buf = encodeBatch(records(['now']));
    expect(buf.readUInt16LE(26)).to.equal(RECORD_VERSION);
    // A 0.1.0 record: the same framing with 0 in the (then reserved) field, checksum over it.
    const old = Buffer.from(buf);
    old.writeUInt16LE(0, 26);
    old.writeUInt32LE(crc32(old.subarray(8)), 4);
    expect(scan(old, 0)).to.deep.include({ version: 0, entry: { seq: 1, time: 1_700_000_000_000, payload: 'now' } });
    // A newer release's record is still a good record: the caller sees its version and refuses it.
    const newer = Buffer.from(buf);
    newer.writeUInt16LE(RECORD_VERSION + 1, 26);
    newer.writeUInt32LE(crc32(newer.subarray(8)), 4);
    expect(scan(newer, 0)).to.deep.include({ version: RECORD_VERSION + 1 });
    // A version no release will reach is damage.
    const damaged = Buffer.from(buf);
    damaged.writeUInt16LE(0xbeef, 26);
    damaged.writeUInt32LE(crc32(damaged.subarray(8)), 4);
    expect(scan(damaged, 0)).to.have.property('corrupt', true);
  });

  it('round-trips any strings (lone surrogates become U+FFFD, as UTF-8 requires)', () => {
    fc.assert(
      fc.property(fc.array(anyString, { maxLength: 10 }), (payloads) => {
        const batch = records(payloads);
        const expected = batch.map((r) => ({ ...r, payload: Buffer.from(r.payload, 'utf8').toString('utf8') }));
        const { entries, corrupt, torn } = scanAll(encodeBatch(batch));
        return corrupt === 0 && !torn && JSON.stringify(entries) === JSON.stringify(expected);
      }),
    );
  });
});
