/**
 * Issue 14, routing: which target a spooled record goes to. Each target's feeder asks this of every
 * record it reads, so the answer must be the same whichever feeder asks, and the same as the
 * target the mapped alert says.
 */
import { expect } from 'chai';
import { DEFAULT_POLICY } from '../../src/map/alert.js';
import { mapSpooled, routeSpooled } from '../../src/pipeline.js';
import { alertRecord, lineRecord, peerLineRecord } from '../../src/queue/spool-payload.js';
import type { Alert, AlertPolicy } from '../../src/types.js';

const PHISH = 'Oct 12 16:15:10 category=KL_Phishing_URL matchedIndicator=p.example.test src=10.20.3.17';
const CNC = 'Oct 12 16:16:45 category=KL_BotnetCnC_URL matchedIndicator=c2.example.test src=10.1.5.9';
const entry = (payload: string) => ({ seq: 1, time: Date.UTC(2026, 11, 5), payload });
const policy: AlertPolicy = {
  ...DEFAULT_POLICY,
  rules: [
    { match: { category: '*_Phishing_*' }, set: { target: 'tenant-b' } },
    { match: { peer: ['192.0.2.0/24'] }, set: { target: 'tenant-c' } },
  ],
};

describe('routeSpooled (issue 14)', () => {
  it('routes a line by the rules, as the alert mapped from it says', () => {
    expect(routeSpooled(entry(lineRecord(PHISH)), policy)).to.equal('tenant-b');
    expect(routeSpooled(entry(lineRecord(CNC)), policy)).to.equal(undefined);
    const mapped = mapSpooled(entry(lineRecord(PHISH)), policy, false);
    expect(mapped.kind === 'alert' ? mapped.alert.meta?.target : 'none').to.equal('tenant-b');
  });

  it('routes by the peer spooled with the line', () => {
    expect(routeSpooled(entry(peerLineRecord('192.0.2.7', CNC)), policy)).to.equal('tenant-c');
    expect(routeSpooled(entry(peerLineRecord('198.51.100.7', CNC)), policy)).to.equal(undefined);
  });

  it('routes a mail alert by the target it was spooled with (a mailbox’s or a rule’s), whatever the rules say now', () => {
    const alert = { sourceRef: 'mail-1', title: 't', observables: [], tags: [], meta: { rules: [], setBy: [], target: 'tenant-x' } } as unknown as Alert;
    expect(routeSpooled(entry(alertRecord(alert)), policy)).to.equal('tenant-x');
    expect(routeSpooled(entry(alertRecord({ ...alert, meta: undefined } as unknown as Alert)), policy)).to.equal(undefined);
  });

  it('leaves an unreadable record to thehive.url’s target, which skips it with its reason', () => {
    expect(routeSpooled(entry('Zgarbage'), policy)).to.equal(undefined);
    expect(routeSpooled(entry(lineRecord('no key=value here')), policy)).to.equal(undefined);
  });

  it('maps a line from its memo (parsed at accept) to exactly the alert it maps to when parsed again from disk (issue 15)', async () => {
    const { parseLine } = await import('../../src/parse/kv.js');
    for (const line of [PHISH, CNC]) {
      const parsed = parseLine(line);
      if (!parsed.ok) throw new Error(parsed.detail);
      const fromMemo = mapSpooled({ ...entry(lineRecord(line)), memo: parsed.value }, policy, false);
      const fromDisk = mapSpooled(entry(lineRecord(line)), policy, false);
      expect(fromMemo).to.deep.equal(fromDisk);
      expect(routeSpooled({ ...entry(lineRecord(line)), memo: parsed.value }, policy)).to.equal(routeSpooled(entry(lineRecord(line)), policy));
    }
  });
});

