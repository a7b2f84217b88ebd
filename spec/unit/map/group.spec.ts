import { expect } from 'chai';
import { alertFromSightings, groupKey, GROUP_OBSERVABLES_MAX, SIGHTING_ROWS_MAX, type Sighting } from '../../../src/map/group.js';
import { alertFromDetection, DEFAULT_POLICY } from '../../../src/map/alert.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { DetectionRecord } from '../../../src/types.js';

const T0 = Date.UTC(2026, 9, 12, 16, 14, 2);

function record(line: string): DetectionRecord {
  const parsed = parseLine(line);
  if (!parsed.ok || parsed.value.kind !== 'detection') throw new Error(`not a detection: ${line}`);
  return parsed.value;
}

/** A scanning host: the same blocklisted address seen from `src` toward `dst`. */
function scan(i: number, category = 'KL_BotnetCnC_URL', extra = ''): Sighting {
  const line = `Oct 12 16:14:${String(2 + (i % 50)).padStart(2, '0')} category=${category} matchedIndicator=cnc.bad-domain.ru src=10.1.0.${i} dst=203.0.113.9 hostname=ws-${i}.corp usrName=user${i}${extra}`;
  return { record: record(line), receivedAt: T0 + i * 1000 };
}

describe('map/group', () => {
  it('keys on category and matchedIndicator', () => {
    expect(groupKey(scan(1).record)).to.equal(groupKey(scan(2).record));
    expect(groupKey(scan(1).record)).to.not.equal(groupKey(scan(1, 'KL_Malicious_URL').record));
  });

  it('a group of one is exactly the alert it would be without grouping', () => {
    const s = scan(3);
    expect(alertFromSightings([s], DEFAULT_POLICY)).to.deep.equal(alertFromDetection(s.record, DEFAULT_POLICY, s.receivedAt));
  });

  it('counts and lists the sightings, keeps the first sighting\'s sourceRef, and unites the observables', () => {
    const sightings = [scan(1), scan(2), scan(3)];
    const first = alertFromDetection(sightings[0]!.record, DEFAULT_POLICY, sightings[0]!.receivedAt);
    const alert = alertFromSightings(sightings, DEFAULT_POLICY);
    expect(alert.sourceRef).to.equal(first.sourceRef);
    expect(alert.title).to.equal(`${first.title} (3 sightings)`);
    expect(alert.tags).to.include('grouped');
    expect(alert.description).to.match(/^3 sightings of `cnc\.bad-domain\.ru` in feed category `KL_BotnetCnC_URL` between /);
    expect(alert.description).to.include('| 2 | ');
    expect(alert.description).to.include('| 10.1.0.3 | 203.0.113.9 | ws-3.corp | user3 |');
    expect(alert.description).to.include('### First sighting');
    const ips = alert.observables.filter((o) => o.dataType === 'ip').map((o) => o.data);
    expect(ips).to.include.members(['10.1.0.1', '10.1.0.2', '10.1.0.3']);
    // The indicator itself once, not three times.
    expect(alert.observables.filter((o) => o.data === 'cnc.bad-domain.ru')).to.have.length(1);
  });

  it('takes the highest severity of its sightings', () => {
    const low = { record: record('category=KL_IP_Reputation matchedIndicator=185.1.2.3 threat_score=10'), receivedAt: T0 };
    const high = { record: record('category=KL_IP_Reputation matchedIndicator=185.1.2.3 threat_score=95'), receivedAt: T0 + 1 };
    expect(alertFromSightings([low], DEFAULT_POLICY).severity).to.equal(1);
    expect(alertFromSightings([low, high], DEFAULT_POLICY).severity).to.equal(3);
  });

  it('bounds the table and the observables of a huge group, and says so', () => {
    const many = Array.from({ length: 1500 }, (_, i) => ({ record: record(`category=KL_BotnetCnC_URL matchedIndicator=cnc.bad-domain.ru src=10.${i >> 8}.${i & 255}.1 dst=10.200.${i >> 8}.${i & 255}`), receivedAt: T0 + i }));
    const alert = alertFromSightings(many, DEFAULT_POLICY);
    expect(alert.title).to.match(/\(1500 sightings\)$/);
    expect(alert.description).to.include(`_${1500 - SIGHTING_ROWS_MAX} more sightings not listed._`);
    expect(alert.observables.length).to.be.at.most(GROUP_OBSERVABLES_MAX);
    expect(alert.description).to.match(/observables beyond 1000 not added/);
  });
});
