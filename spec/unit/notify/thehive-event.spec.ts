/**
 * TheHive's own webhooks read (issue 12 point 5): TheHive 5 and 4 alert events become a
 * notification and a status for the lifecycle; other events are ignored.
 */
import { expect } from 'chai';
import { readAlertEvent } from '../../../src/notify/thehive-event.js';

const th5 = (operation: string, object: Record<string, unknown>, details: Record<string, unknown> = {}) => ({
  operation,
  objectType: 'Alert',
  objectId: '~8192',
  object: { _id: '~8192', title: 'Ransomware note', severity: 4, sourceRef: 'siem-77', stage: 'New', status: 'New', tags: [], _createdAt: 1_700_000_000_000, ...object },
  details,
  organisation: 'SOC',
});

describe("TheHive's webhook events", () => {
  it('reads a TheHive 5 alert creation: a notification keyed by its sourceRef, and open', () => {
    const read = readAlertEvent(th5('create', {}));
    expect(read?.status).to.deep.equal({ id: '~8192', sourceRef: 'siem-77', status: 'open' });
    expect(read?.notification).to.deep.include({ sourceRef: 'siem-77', alertId: '~8192', title: 'Ransomware note', severity: 4, previousSeverity: null, organisation: 'SOC', firstSeen: 1_700_000_000_000 });
    expect(read?.notification?.change).to.equal(undefined);
  });

  it('reads an update: the changed fields win, and imported/closed alerts are closed', () => {
    const read = readAlertEvent(th5('update', { severity: 2 }, { severity: 4, stage: 'Imported' }));
    expect(read?.notification?.severity).to.equal(4);
    expect(read?.notification?.change).to.equal('updated in TheHive');
    expect(read?.status?.status).to.equal('closed');
    expect(readAlertEvent(th5('update', { stage: 'InProgress' }))?.status?.status).to.equal('open');
  });

  it('reads a deletion as gone, without a notification', () => {
    const read = readAlertEvent(th5('delete', {}));
    expect(read?.status).to.deep.equal({ id: '~8192', sourceRef: 'siem-77', status: 'gone' });
    expect(read?.notification).to.equal(undefined);
  });

  it('reads TheHive 4: objectType alert, Creation, status Ignored is closed, Updated open', () => {
    const base = { operation: 'Creation', objectType: 'alert', objectId: 'abc', object: { id: 'abc', title: 't', severity: 3, sourceRef: 'r', status: 'Ignored' } };
    expect(readAlertEvent(base)?.status).to.deep.equal({ id: 'abc', sourceRef: 'r', status: 'closed' });
    expect(readAlertEvent({ ...base, object: { ...base.object, status: 'Updated' } })?.status?.status).to.equal('open');
  });

  it('keys an alert without a sourceRef by its id, and ignores cases, tasks and junk', () => {
    expect(readAlertEvent(th5('create', { sourceRef: undefined }))?.notification?.sourceRef).to.equal('thehive:~8192');
    expect(readAlertEvent({ operation: 'create', objectType: 'Case', object: { _id: '~1', severity: 4 } })).to.equal(null);
    expect(readAlertEvent([1, 2])).to.equal(null);
    expect(readAlertEvent({ objectType: 'Alert', operation: 'explode', object: { _id: '~1' } })).to.equal(null);
  });
});
