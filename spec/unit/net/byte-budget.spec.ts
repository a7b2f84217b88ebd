/** The shared byte budget of mails in flight, and peer text clipped for logs. */
import { expect } from 'chai';
import { ByteBudget } from '../../../src/net/byte-budget.js';
import { clipPeerText, PEER_TEXT_CHARS } from '../../../src/net/peer-text.js';

describe('net/byte-budget', () => {
  it('takes what fits, refuses what would go over without taking it, and takes back what is given', () => {
    const b = new ByteBudget(100);
    expect(b.take(60)).to.equal(true);
    expect(b.fits(40)).to.equal(true);
    expect(b.take(41)).to.equal(false);
    expect(b.used).to.equal(60);
    b.give(60);
    expect(b.take(100)).to.equal(true);
  });

  it('says what it expected of a bad maximum', () => {
    expect(() => new ByteBudget(0)).to.throw(TypeError, 'Expected `max` to be a positive integer, got 0.');
  });
});

describe('net/peer-text', () => {
  it('leaves short text alone and cuts long text, marking the cut', () => {
    expect(clipPeerText('mta.corp.example')).to.equal('mta.corp.example');
    const long = 'x'.repeat(PEER_TEXT_CHARS + 1);
    expect(clipPeerText(long)).to.equal(`${'x'.repeat(PEER_TEXT_CHARS)}…`);
    expect(clipPeerText('x'.repeat(PEER_TEXT_CHARS))).to.have.length(PEER_TEXT_CHARS);
  });
});
