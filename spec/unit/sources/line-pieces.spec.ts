/** Issue 15: a newline-framed read is cut so that split2 decodes each line as narrow as its own characters. */
import { expect } from 'chai';
import fc from 'fast-check';
import split2 from 'split2';
import { linePieces } from '../../../src/sources/line-pieces.js';
import { frameByFirstBytes } from '../../../src/sources/tcp-framing.js';
import { stringWidth } from '../../support/string-width.js';

const ascii = (n: number): string => Array.from({ length: n }, (_, i) => `category=KL_Malicious_URL matchedIndicator=h${i}.example`).join('\n');
const texts = (pieces: readonly Buffer[]): string[] => pieces.map((p) => p.toString('utf8'));

/** The lines split2 hands on when `chunks` arrive one read after another on a listener connection. */
async function linesOf(chunks: readonly Buffer[]): Promise<string[]> {
  const stream = split2({ maxLength: 1 << 20, skipOverflow: true } as split2.Options);
  frameByFirstBytes(stream, 1 << 20, { progress: () => undefined, tooLong: () => undefined, malformed: () => undefined, truncated: () => undefined });
  const out: string[] = [];
  stream.on('data', (line: string) => out.push(line));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await ended;
  return out;
}

describe('linePieces', () => {
  it('leaves a chunk without a line end, or with one only at its end, whole', () => {
    expect(texts(linePieces(Buffer.from('category=a matchedIndicator=b')))).to.deep.equal(['category=a matchedIndicator=b']);
    expect(texts(linePieces(Buffer.from('a=b\n')))).to.deep.equal(['a=b\n']);
  });

  it('cuts an ASCII chunk once, after the line that completes the previous read’s tail', () => {
    const chunk = Buffer.from(`tail of a line\n${ascii(3)}\npartial`);
    expect(texts(linePieces(chunk))).to.deep.equal(['tail of a line\n', `${ascii(3)}\npartial`]);
  });

  it('gives each line with a non-ASCII byte a piece of its own and groups the ASCII lines between', () => {
    const chunk = Buffer.from('head\na=1\nb=2\nuser=José\nthreat=€uro\nc=3\nd=4\nurl=http://пример.test/');
    expect(texts(linePieces(chunk))).to.deep.equal(['head\n', 'a=1\nb=2\n', 'user=José\n', 'threat=€uro\n', 'c=3\nd=4\n', 'url=http://пример.test/']);
  });

  it('never cuts inside a UTF-8 sequence, and its pieces add up to the chunk', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('\n', 'a=b ', 'é', '€', '𝔘', '\r\n')), { maxLength: 60 }), (parts) => {
        const chunk = Buffer.from(parts.join(''));
        const pieces = linePieces(chunk);
        expect(Buffer.concat(pieces).equals(chunk)).to.equal(true);
        for (const piece of pieces.slice(0, -1)) expect(piece[piece.length - 1]).to.equal(0x0a);
      }),
    );
  });
});

describe('newline framing with linePieces (tcp-framing.ts)', () => {
  it('hands on the same lines however the stream is cut into reads, multibyte characters across reads included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.constantFrom('a', 'z', '=', ' ', '.', 'é', '€', '𝔘'), { maxLength: 30 }).map((cs) => cs.join('')), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
        async (lines, cuts) => {
          const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''));
          const chunks: Buffer[] = [];
          for (let at = 0, i = 0; at < bytes.length; i++) {
            const size = cuts[i % cuts.length] as number;
            chunks.push(bytes.subarray(at, at + size));
            at += size;
          }
          expect(await linesOf(chunks)).to.deep.equal(lines);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps ASCII lines one-byte strings when a wide line shares their read, or ends the read before', async () => {
    const first = Buffer.from(`${ascii(2)}\nthreat=Trojan.€uro\nsrc=10.0.0.1 user=`);
    const second = Buffer.from(`d€v\n${ascii(3)}\n`);
    const lines = await linesOf([first, second]);
    expect(lines).to.have.length(7);
    expect(lines.map(stringWidth)).to.deep.equal([1, 1, 2, 2, 1, 1, 1]);
  });
});
