/** Issue 15, point 3: a batch of lines crosses to the map worker as one string and a transferable buffer of lengths. */
import { expect } from 'chai';
import { packLines, unpackLines } from '../../../src/map-worker/wire.js';

describe('map worker wire: packLines / unpackLines', () => {
  it('gives back every line as it was: empty ones, newlines inside an octet-counted frame, any UTF-8', () => {
    const lines = ['category=KL_Malicious_URL matchedIndicator=a.test', '', 'a frame\nwith a newline', 'usrName=José ☃ 𝔘 \u0000', 'x'.repeat(70_000)];
    const packed = packLines(lines);
    expect(packed.text).to.equal(lines.join(''));
    expect(packed.lengths.buffer).to.be.instanceOf(ArrayBuffer);
    expect(unpackLines(packed)).to.deep.equal(lines);
    expect(unpackLines(packLines([]))).to.deep.equal([]);
  });

  it('refuses lengths that do not add up to the text', () => {
    const packed = packLines(['abc', 'def']);
    expect(() => unpackLines({ text: packed.text, lengths: Uint32Array.from([3, 2]) })).to.throw(/add up to 6 characters, got 5/);
  });
});
