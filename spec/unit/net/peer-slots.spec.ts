/** One address's share of a listener's connection slots. */
import { expect } from 'chai';
import { PeerSlots } from '../../../src/net/peer-slots.js';

describe('net/peer-slots', () => {
  it('refuses an address over its share without touching the others, and takes it back on give', () => {
    const slots = new PeerSlots(2);
    expect([slots.take('10.0.0.1'), slots.take('10.0.0.1'), slots.take('10.0.0.1')]).to.deep.equal([true, true, false]);
    expect(slots.take('10.0.0.2')).to.equal(true);
    expect(slots.held('10.0.0.1')).to.equal(2);
    slots.give('10.0.0.1');
    expect(slots.take('10.0.0.1')).to.equal(true);
    slots.give('10.0.0.2');
    expect(slots.held('10.0.0.2')).to.equal(0);
  });

  it('says what it expected of a bad share', () => {
    expect(() => new PeerSlots(0)).to.throw(TypeError, 'Expected `max` to be a positive integer, got 0.');
  });
});
