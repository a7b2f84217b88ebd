import { expect } from 'chai';
import { toV0 } from '../../../src/sinks/thehive-v0.js';
import { testAlert } from '../../support/alerts.js';

describe('sinks/thehive-v0: TheHive 4 TLP numbering', () => {
  it('sends TheHive 5.2\'s RED (4) as TheHive 4\'s RED (3), on the alert and its artifacts, and leaves the rest', () => {
    const red = toV0(testAlert('mail-x', { tlp: 4, observables: [{ dataType: 'ip', data: '203.0.113.7', tlp: 4, pap: 2 }, { dataType: 'domain', data: 'evil.example' }] }));
    expect(red.tlp).to.equal(3);
    expect(red.artifacts).to.deep.equal([{ dataType: 'ip', data: '203.0.113.7', tlp: 3, pap: 2 }, { dataType: 'domain', data: 'evil.example' }]);
    expect(toV0(testAlert('mail-y', { tlp: 2 })).tlp).to.equal(2);
  });
});
