import { expect } from 'chai';
import { AMBER_STRICT_TAG, fromV0, toV0 } from '../../../src/sinks/thehive-v0.js';
import { testAlert } from '../../support/alerts.js';

describe('sinks/thehive-v0: TheHive 4 TLP numbering', () => {
  it('sends TheHive 5.2\'s RED (4) as TheHive 4\'s RED (3), on the alert and its artifacts, and leaves the rest', () => {
    const red = toV0(testAlert('mail-x', { tlp: 4, observables: [{ dataType: 'ip', data: '203.0.113.7', tlp: 4, pap: 2 }, { dataType: 'domain', data: 'evil.example' }] }));
    expect(red.tlp).to.equal(3);
    expect(red.artifacts).to.deep.equal([{ dataType: 'ip', data: '203.0.113.7', tlp: 3, pap: 2 }, { dataType: 'domain', data: 'evil.example' }]);
    expect(toV0(testAlert('mail-y', { tlp: 2 })).tlp).to.equal(2);
  });

  it('sends AMBER+STRICT (3) as AMBER (2) with the tag tlp:amber+strict: TheHive 4 has no number for it, and 3 would read RED', () => {
    const strict = toV0(testAlert('mail-s', { tlp: 3, tags: ['mail'], observables: [{ dataType: 'ip', data: '203.0.113.7', tlp: 3, tags: ['sender'] }] }));
    expect([strict.tlp, strict.tags]).to.deep.equal([2, ['mail', AMBER_STRICT_TAG]]);
    expect(strict.artifacts).to.deep.equal([{ dataType: 'ip', data: '203.0.113.7', tlp: 2, tags: ['sender', AMBER_STRICT_TAG] }]);
  });

  it('reads back what it wrote (a queued v0 body decoded for a dead letter or a retry): RED 4 and AMBER+STRICT 3 again', () => {
    for (const tlp of [0, 1, 2, 3, 4]) {
      const alert = testAlert(`mail-${tlp}`, { tlp, tags: ['mail'], observables: [{ dataType: 'ip', data: '203.0.113.7', tlp, tags: ['x'] }] });
      expect(fromV0(toV0(alert)), `TLP ${tlp}`).to.deep.equal(alert);
    }
  });
});
