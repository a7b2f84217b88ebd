import { expect } from 'chai';
import { refusedRule, wireAlert } from '../../../src/sinks/rule-refusal.js';
import { toV0 } from '../../../src/sinks/thehive-v0.js';
import { decodeRecord, peerLineRecord } from '../../../src/queue/spool-payload.js';
import type { Alert, AlertMeta } from '../../../src/types.js';

const META: AlertMeta = {
  rules: ['alert.rules[0] (tenant)', 'alert.rules[1] (fields)'],
  setBy: [
    { field: 'organisation', rule: 'alert.rules[0] (tenant)' },
    { field: 'customFields.score', rule: 'alert.rules[1] (fields)' },
    { field: 'caseTemplate', rule: 'alert.rules[1] (fields)' },
  ],
  organisation: 'tenantA',
};
const ALERT: Alert = {
  ...{ type: 't', source: 's', sourceRef: 'r', title: 'x', description: '', severity: 2, date: 1, tags: ['a'], tlp: 2, pap: 2 },
  ...{ procedures: [{ patternId: 'T1071', tactic: 'command-and-control', occurDate: 1 }], assignee: 'soc', observables: [], meta: META },
};

describe('sinks/rule-refusal', () => {
  it('names the rule that set what TheHive refused', () => {
    expect(refusedRule(META, 404, { type: 'NotFoundError', message: 'CustomField score not found' })?.rule).to.equal('alert.rules[1] (fields)');
    expect(refusedRule(META, 404, { type: 'NotFoundError', message: 'CaseTemplate Phish not found' })?.reason).to.match(/^alert\.rules\[1\] \(fields\) sets a case template TheHive does not have/);
    expect(refusedRule(META, 403, { type: 'AuthorizationError', message: 'Operation not permitted' })?.reason).to.match(/^alert\.rules\[0\] \(tenant\) sends this alert to organisation "tenantA"/);
  });

  it('is no rule’s problem when no rule set the refused value, or the refusal is something else', () => {
    expect(refusedRule(META, 404, { type: 'NotFoundError', message: 'CustomField other not found' })).to.equal(null);
    expect(refusedRule(META, 404, { type: 'NotFoundError', message: 'ObservableType x not found' })).to.equal(null);
    expect(refusedRule(undefined, 403, { type: 'AuthorizationError', message: '' })).to.equal(null);
    expect(refusedRule({ ...META, organisation: undefined, setBy: [] }, 403, { type: '', message: '' })).to.equal(null);
  });

  it('never puts meta on the wire', () => {
    expect(wireAlert(ALERT)).to.not.have.property('meta');
    expect(toV0(ALERT)).to.not.have.property('meta');
  });

  it('TheHive 4 (v0): procedures become attack:<id> tags, no assignee', () => {
    const v0 = toV0(ALERT);
    expect(v0.tags).to.deep.equal(['a', 'attack:T1071']);
    expect(v0).to.not.have.property('procedures');
    expect(v0).to.not.have.property('assignee');
  });

  it('a peer line record reads back as the line and its peer; a plain line has no peer', () => {
    expect(decodeRecord(peerLineRecord('10.1.2.3', 'category=X a=b c'))).to.deep.equal({ kind: 'line', line: 'category=X a=b c', peer: '10.1.2.3' });
    expect(decodeRecord('Lcategory=X')).to.deep.equal({ kind: 'line', line: 'category=X' });
  });
});
