/** Issue 15, point 3: a batch of lines crosses to the map worker as one string and a transferable buffer of lengths. */
import { expect } from 'chai';
import { packLines, unpackLines, WIDE_LINE } from '../../../src/map-worker/wire.js';
import { stringWidth } from '../../support/string-width.js';

describe('map worker wire: packLines / unpackLines', () => {
  it('gives back every line as it was: empty ones, newlines inside an octet-counted frame, any UTF-8', () => {
    const lines = ['category=KL_Malicious_URL matchedIndicator=a.test', '', 'a frame\nwith a newline', 'usrName=José ☃ 𝔘 \u0000', 'x'.repeat(70_000), 'usrName=José'];
    const packed = packLines(lines);
    expect(packed.lengths.buffer).to.be.instanceOf(ArrayBuffer);
    expect(unpackLines(packed)).to.deep.equal(lines);
    expect(unpackLines(packLines([]))).to.deep.equal([]);
  });

  it('sends lines with a character above U+00FF apart, so the joined text stays one-byte', () => {
    const lines = ['a=1', 'threat=€uro', 'user=José', 'url=http://пример.test/', 'emoji=𝔘', 'b=2'];
    const packed = packLines(lines);
    expect(packed.wide).to.deep.equal(['threat=€uro', 'url=http://пример.test/', 'emoji=𝔘']);
    expect(packed.text).to.equal('a=1user=Joséb=2');
    expect(stringWidth(packed.text)).to.equal(1);
    expect([...packed.lengths]).to.deep.equal([3, WIDE_LINE, 9, WIDE_LINE, WIDE_LINE, 3]);
    expect(unpackLines(packed)).to.deep.equal(lines);
  });

  it('refuses lengths that do not add up to the text or to the wide lines', () => {
    const packed = packLines(['abc', 'def']);
    expect(() => unpackLines({ text: packed.text, lengths: Uint32Array.from([3, 2]), wide: [] })).to.throw(/add up to 6 characters, got 5/);
    expect(() => unpackLines({ text: 'abc', lengths: Uint32Array.from([3, WIDE_LINE]), wide: [] })).to.throw(/Expected more than 0 wide lines/);
    expect(() => unpackLines({ text: 'abc', lengths: Uint32Array.from([3]), wide: ['€'] })).to.throw(/Expected 1 wide lines, got 0 marked/);
  });
});
