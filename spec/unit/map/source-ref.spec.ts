import { expect } from 'chai';
import { sourceRefFor } from '../../../src/map/source-ref.js';

const LINE =
  'Oct 12 16:14:02 category=KL_Malicious_URL matchedIndicator=fakess123.nu url=http://fakess123.nu/ src=10.20.1.44';

describe('map/source-ref', () => {
  it('is ct- and 20 lower-case hex chars', () => {
    expect(sourceRefFor(LINE)).to.match(/^ct-[0-9a-f]{20}$/);
  });

  it('hashes the line with SHA-256 (known digest of "abc")', () => {
    // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(sourceRefFor('abc')).to.equal('ct-ba7816bf8f01cfea4141');
  });

  it('gives the same ref for the same line, in every process (digest pinned with sha256sum)', () => {
    expect(sourceRefFor(LINE)).to.equal('ct-871da7aeadaeb0d165d0');
  });

  it('gives different refs for different lines', () => {
    expect(sourceRefFor(LINE)).to.not.equal(sourceRefFor(LINE.replace('10.20.1.44', '10.20.1.45')));
    expect(sourceRefFor(LINE)).to.not.equal(sourceRefFor(` ${LINE}`)); // leading blanks are part of the line
  });

  const variants: Array<[string, string]> = [
    ['trailing space', `${LINE} `],
    ['trailing tab and spaces', `${LINE}\t  `],
    ['CRLF', `${LINE}\r\n`],
    ['lone CR', `${LINE}\r`],
    ['CR before trailing blanks', `${LINE}\r  \r`],
    ['stray CR inside', LINE.replace(' src=', '\r src=')],
  ];
  for (const [name, variant] of variants) {
    it(`ignores ${name}`, () => {
      expect(sourceRefFor(variant)).to.equal(sourceRefFor(LINE));
    });
  }

  it('keeps a trailing no-break space (part of a value, as in the parser)', () => {
    expect(sourceRefFor(`${LINE}\u00a0`)).to.not.equal(sourceRefFor(LINE));
  });
});
