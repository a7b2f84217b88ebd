import { expect } from 'chai';
import { keptPerKey } from '../../../src/map/kept-per-key.js';

describe('map/kept-per-key', () => {
  it('works a key out once, an undefined answer included, and starts over past its bound', () => {
    const asked: string[] = [];
    const kept = keptPerKey((key) => {
      asked.push(key);
      return key.startsWith('KL_') ? key.slice(3) : undefined;
    }, 3);
    expect([kept('KL_A'), kept('B'), kept('KL_A'), kept('B')]).to.deep.equal(['A', undefined, 'A', undefined]);
    expect(asked).to.deep.equal(['KL_A', 'B']);
    kept('KL_C');
    kept('KL_D'); // a fourth key: the three kept are let go
    expect([kept('KL_D'), kept('KL_A')]).to.deep.equal(['D', 'A']);
    expect(asked).to.deep.equal(['KL_A', 'B', 'KL_C', 'KL_D', 'KL_A']);
  });
});
