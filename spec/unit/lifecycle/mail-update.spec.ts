/**
 * Issue 12 point 2: a SIEM re-notification updates the incident's alert (severity raised or
 * lowered, status tags replaced, new observables, an "Updates" section); a resend, an older
 * notification and an ordinary mail sent twice change nothing. Table-driven over hand-written
 * .eml fixtures through the real parser and mapper, then properties over synthetic alerts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { DESCRIPTION_MAX } from '../../../src/map/limits.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import {
  MAX_MAIL_UPDATES,
  MAX_OBSERVABLE_KEYS,
  MAX_SEEN_DIGESTS,
  initialMailState,
  mailUpdate,
  type MailAlertState,
  type MailUpdate,
} from '../../../src/lifecycle/mail-update.js';
import type { Alert, Observable, Severity } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

/** Receive times: the first notification, the escalation, the lowering, the resend (each a few minutes after its mail's Date). */
const T0 = Date.UTC(2024, 2, 14, 3, 23, 12);
const T1 = Date.UTC(2024, 2, 14, 3, 42, 5);
const T2 = Date.UTC(2024, 2, 14, 5, 5, 31);
const T3 = Date.UTC(2024, 2, 14, 5, 30, 0);

async function alertOf(name: string, receivedAt: number): Promise<Alert> {
  return alertFromMail(await parseMail(readFileSync(fixturePath('mail', name))), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, receivedAt);
}

const keyOf = (o: Observable): string => `${o.dataType} ${o.data}`;
const FIRST = '- 2024-03-14 03:23:12 UTC — first notification (alert created)';
const ESCALATED = '- 2024-03-14 03:42:05 UTC — Severity raised: HIGH → CRITICAL; Status: New → Escalated; 3 new observables: url http://exfil.sys-telemetry.top/upload, domain exfil.sys-telemetry.top, ip 45.146.165.39';
const LOWERED = '- 2024-03-14 05:05:31 UTC — Severity lowered: CRITICAL → MEDIUM; Status: Escalated → Contained';

/** Applies the mails in order to the alert the first one created; the results of every step after the first. */
async function run(names: readonly string[], times: readonly number[]): Promise<{ steps: MailUpdate[]; alerts: Alert[]; first: MailAlertState }> {
  const alerts = await Promise.all(names.map((n, i) => alertOf(n, times[i] as number)));
  const first = initialMailState(alerts[0] as Alert, times[0] as number);
  let state = first;
  const steps: MailUpdate[] = [];
  for (let i = 1; i < alerts.length; i++) {
    const step = mailUpdate(state, alerts[i] as Alert, times[i] as number);
    steps.push(step);
    state = step.state;
  }
  return { steps, alerts, first };
}

describe('mail updates (issue 12 point 2)', () => {
  describe('a SIEM re-notification of incident INC-2024-0042', () => {
    it('escalated to CRITICAL and "Escalated": severity raised, status tag replaced, the 3 new observables, an Updates section', async () => {
      const { steps, alerts } = await run(['siem-en.eml', 'siem-en-escalated.eml'], [T0, T1]);
      const [step] = steps as [MailUpdate];
      const escalated = alerts[1] as Alert;
      expect(step.skipped).to.equal(null);
      expect(step.patch).to.deep.equal({
        severity: 4,
        addTags: ['status:Escalated'],
        removeTags: ['status:New'],
        description: `${escalated.description}\n\n**Updates**\n\n${FIRST}\n${ESCALATED}`,
      });
      expect(step.observables.map(keyOf)).to.deep.equal(['url http://exfil.sys-telemetry.top/upload', 'domain exfil.sys-telemetry.top', 'ip 45.146.165.39']);
      // Sent as the mapper made them (tags and all), not rebuilt.
      expect(step.observables).to.deep.equal(escalated.observables.filter((o) => step.observables.some((n) => keyOf(n) === keyOf(o))));
      expect(step.changes).to.deep.equal([
        'Severity raised: HIGH → CRITICAL',
        'Status: New → Escalated',
        '3 new observables: url http://exfil.sys-telemetry.top/upload, domain exfil.sys-telemetry.top, ip 45.146.165.39',
      ]);
      expect(step.state.severity).to.equal(4);
      expect(step.state.tags).to.deep.equal(['mail', 'siem-notification', 'type:Authentication', 'source:91.243.85.17', 'status:Escalated']);
    });

    it('then lowered to MEDIUM and "Contained": severity lowered and the change stated, both updates listed in order', async () => {
      const { steps, alerts } = await run(['siem-en.eml', 'siem-en-escalated.eml', 'siem-en-lowered.eml'], [T0, T1, T2]);
      const lowered = steps[1] as MailUpdate;
      expect(lowered.skipped).to.equal(null);
      expect(lowered.patch).to.deep.equal({
        severity: 2,
        addTags: ['status:Contained'],
        removeTags: ['status:Escalated'],
        description: `${(alerts[2] as Alert).description}\n\n**Updates**\n\n${FIRST}\n${ESCALATED}\n${LOWERED}`,
      });
      expect(lowered.observables, 'every observable was sent before').to.deep.equal([]);
      expect(lowered.changes).to.deep.equal(['Severity lowered: CRITICAL → MEDIUM', 'Status: Escalated → Contained']);
    });

    it('an identical resend (other Message-ID and Received chain) changes nothing', async () => {
      const { steps } = await run(['siem-en.eml', 'siem-en-escalated.eml', 'siem-en-escalated-resend.eml'], [T0, T1, T3]);
      const [escalated, resend] = steps as [MailUpdate, MailUpdate];
      expect(resend).to.deep.equal({ patch: null, observables: [], state: escalated.state, changes: [], skipped: 'resend' });
    });

    it('the first notification fetched again changes nothing', async () => {
      const { steps, first } = await run(['siem-en.eml', 'siem-en.eml'], [T0, T3]);
      expect(steps[0]).to.deep.equal({ patch: null, observables: [], state: first, changes: [], skipped: 'resend' });
    });

    it('an earlier notification already applied, arriving again after a later one, changes nothing', async () => {
      const { steps } = await run(['siem-en.eml', 'siem-en-escalated.eml', 'siem-en-lowered.eml', 'siem-en-escalated-resend.eml'], [T0, T1, T2, T3]);
      expect((steps[2] as MailUpdate).skipped).to.equal('resend');
      expect((steps[2] as MailUpdate).patch).to.equal(null);
    });

    it('an older notification never seen (its date before the last applied one) changes nothing', async () => {
      // The escalation's Date (09:41:30 +06:00) is before the lowering's (11:05:00 +06:00): it arrived late.
      const { steps } = await run(['siem-en.eml', 'siem-en-lowered.eml', 'siem-en-escalated.eml'], [T0, T2, T3]);
      const [lowered, late] = steps as [MailUpdate, MailUpdate];
      expect(lowered.patch?.severity).to.equal(2);
      expect(late).to.deep.equal({ patch: null, observables: [], state: lowered.state, changes: [], skipped: 'older' });
    });
  });

  describe('an ordinary mail', () => {
    for (const name of ['attachments.eml', 'no-id-check.eml']) {
      it(`${name} sent twice stays one alert: nothing to update`, async () => {
        const first = await alertOf(name, T0);
        const again = await alertOf(name, T3);
        expect(again.sourceRef, 'the same alert in TheHive').to.equal(first.sourceRef);
        const state = initialMailState(first, T0);
        expect(state.kind).to.equal('mail');
        expect(mailUpdate(state, again, T3)).to.deep.equal({ patch: null, observables: [], state, changes: [], skipped: 'mail' });
      });
    }
  });

  describe('a reported phish (issue 13: each new reporter updates it)', () => {
    it('fwd-rfc822.eml sent twice stays one alert: the same report again, nothing to update', async () => {
      const first = await alertOf('fwd-rfc822.eml', T0);
      const again = await alertOf('fwd-rfc822.eml', T3);
      expect(again.sourceRef, 'the same alert in TheHive').to.equal(first.sourceRef);
      const state = initialMailState(first, T0);
      expect([state.kind, state.reporter]).to.deep.equal(['report', (first.description.match(/^\| Reported by \| (.+) \|$/m)?.[1] ?? '').replace(/\\(.)/g, '$1')]);
      expect(mailUpdate(state, again, T3)).to.deep.equal({ patch: null, observables: [], state, changes: [], skipped: 'resend' });
    });
  });

  describe('what tracehive owns', () => {
    const base = notification({ severity: 3, status: 'New', type: 'Authentication', source: '91.243.85.17' });

    it('a field the re-notification does not state keeps its tag (silence is no change)', () => {
      const next = notification({ severity: 3, status: 'Escalated', description: 'no Type or Source line this time' });
      const step = mailUpdate(initialMailState(base, T0), next, T1);
      expect(step.patch?.removeTags).to.deep.equal(['status:New']);
      expect(step.patch?.addTags).to.deep.equal(['status:Escalated']);
      expect(step.state.tags).to.include.members(['type:Authentication', 'source:91.243.85.17']);
    });

    it('a changed title is set and stated; new policy tags are added, never a tag tracehive did not set removed', () => {
      const next = { ...notification({ severity: 3, status: 'New', type: 'Authentication', source: '91.243.85.17', title: 'Brute force, then a login' }) };
      next.tags = [...next.tags, 'team:blue'];
      const step = mailUpdate(initialMailState(base, T0), next, T1);
      expect(step.patch?.title).to.equal('Brute force, then a login');
      expect(step.patch?.addTags).to.deep.equal(['team:blue']);
      expect(step.patch?.removeTags).to.equal(undefined);
      expect(step.changes).to.deep.equal(['Title: Brute force → Brute force, then a login']);
    });

    it('a notification whose only news is in its text (a new raw event) is an update saying so', () => {
      const next = notification({ severity: 3, status: 'New', type: 'Authentication', source: '91.243.85.17', description: 'one more raw event' });
      const step = mailUpdate(initialMailState(base, T0), next, T1);
      expect(step.patch).to.deep.equal({ description: `one more raw event\n\n**Updates**\n\n${FIRST}\n- 2024-03-14 03:42:05 UTC — details changed (fields, description or raw events)` });
    });

    it('values a SIEM chose cannot inject markdown into the Updates section', () => {
      const next = notification({ severity: 3, status: '**[owned](http://evil.example)** <img src=x>', type: 'Authentication', source: '91.243.85.17' });
      const step = mailUpdate(initialMailState(base, T0), next, T1);
      const section = step.patch?.description?.split('**Updates**')[1] ?? '';
      expect(section).to.include('Status: New → \\*\\*\\[owned\\](http://evil.example)\\*\\* \\<img src=x\\>');
      expect(section).to.not.include('**[owned]');
    });

    it('a description at TheHive’s 1 MiB limit is cut to leave room for the Updates section', () => {
      const next = notification({ severity: 4, status: 'New', type: 'Authentication', source: '91.243.85.17', description: 'x'.repeat(DESCRIPTION_MAX) });
      const description = mailUpdate(initialMailState(base, T0), next, T1).patch?.description ?? '';
      expect(description.length).to.be.at.most(DESCRIPTION_MAX);
      expect(description).to.include('**Updates**').and.include('Severity raised: HIGH → CRITICAL');
    });
  });

  describe('the state', () => {
    it('is JSON: what is read back from disk gives the same update', async () => {
      const { steps, alerts } = await run(['siem-en.eml', 'siem-en-escalated.eml'], [T0, T1]);
      const state = (steps[0] as MailUpdate).state;
      const read = JSON.parse(JSON.stringify(state)) as MailAlertState;
      expect(read).to.deep.equal(state);
      const lowered = await alertOf('siem-en-lowered.eml', T2);
      expect(mailUpdate(read, lowered, T2)).to.deep.equal(mailUpdate(state, lowered, T2));
      expect(alerts).to.have.length(2);
    });

    it(`stays small: the newest ${MAX_MAIL_UPDATES} updates, ${MAX_SEEN_DIGESTS} digests and ${MAX_OBSERVABLE_KEYS} observable keys at most`, () => {
      let state = initialMailState(notification({ severity: 1, status: 's0' }), T0);
      let last: MailUpdate | undefined;
      for (let i = 1; i <= 60; i++) {
        const observables = Array.from({ length: 50 }, (_, k) => ({ dataType: 'ip' as const, data: `198.18.${i}.${k}`, ioc: false, tags: [] }));
        last = mailUpdate(state, notification({ severity: ((i % 4) + 1) as Severity, status: `s${i}`, observables }), T0 + i * 60_000);
        expect(last.patch, `update ${i}`).to.not.equal(null);
        state = last.state;
      }
      expect(state.updates).to.have.length(MAX_MAIL_UPDATES);
      expect(state.updateCount).to.equal(60);
      expect(state.digests).to.have.length(MAX_SEEN_DIGESTS);
      expect(state.observableKeys).to.have.length(MAX_OBSERVABLE_KEYS);
      const description = last?.patch?.description ?? '';
      expect(description).to.include(`_${60 - MAX_MAIL_UPDATES} earlier updates not shown._`);
      expect(description).to.include('Status: s59 → s60').and.include('Status: s35 → s36');
      expect(description).to.not.include('Status: s34 → s35');
      // Bounded whatever the history: well under what one alert's observables weigh.
      expect(JSON.stringify(state).length).to.be.below(64 * 1024);
    });
  });

  describe('properties', () => {
    const statuses = fc.constantFrom('New', 'Escalated', 'Contained', 'Closed', 'In progress: triage', 'Статус_1');
    const pool = Array.from({ length: 12 }, (_, k) => ({ dataType: k % 2 === 0 ? ('ip' as const) : ('domain' as const), data: k % 2 === 0 ? `203.0.113.${k}` : `h${k}.example.top`, ioc: false, tags: [] as string[] }));
    const arbNotification = fc
      .record({
        severity: fc.constantFrom<Severity>(1, 2, 3, 4),
        status: fc.option(statuses, { nil: undefined }),
        type: fc.option(fc.constantFrom('Authentication', 'Malware'), { nil: undefined }),
        source: fc.option(fc.constantFrom('91.243.85.17', '10.0.0.1'), { nil: undefined }),
        title: fc.constantFrom('Brute force', 'Brute force, then a login'),
        description: fc.string({ maxLength: 40 }),
        picks: fc.subarray(pool),
        date: fc.integer({ min: 0, max: 10 }),
      })
      .map((r) => notification({ ...r, observables: r.picks, date: T0 + r.date * 60_000 }));

    it('applying the same notification twice changes nothing the second time', () => {
      fc.assert(
        fc.property(fc.array(arbNotification, { minLength: 1, maxLength: 6 }), arbNotification, (history, next) => {
          let state = initialMailState(history[0] as Alert, T0);
          for (const [i, n] of history.slice(1).entries()) state = mailUpdate(state, n, T0 + (i + 1) * 1000).state;
          const once = mailUpdate(state, next, T1);
          const twice = mailUpdate(once.state, next, T2);
          expect(twice).to.deep.equal({ patch: null, observables: [], state: once.state, changes: [], skipped: once.skipped ?? 'resend' });
        }),
      );
    });

    it('a later notification that differs always updates, and the patch only touches what tracehive set', () => {
      fc.assert(
        fc.property(arbNotification, arbNotification, (first, second) => {
          const next = { ...second, date: first.date + 1 };
          const state = initialMailState(first, T0);
          const same = JSON.stringify({ ...first, date: 0 }) === JSON.stringify({ ...next, date: 0 });
          const step = mailUpdate(state, next, T1);
          if (same) return void expect(step.patch).to.equal(null);
          expect(step.patch, 'a patch').to.not.equal(null);
          for (const tag of step.patch?.removeTags ?? []) expect(state.tags, 'only its own tags are removed').to.include(tag);
          for (const tag of step.patch?.addTags ?? []) expect(state.tags).to.not.include(tag);
          for (const o of step.observables) expect(first.observables.map(keyOf)).to.not.include(keyOf(o));
          expect(step.patch?.severity ?? state.severity).to.equal(next.severity);
          expect(step.patch?.description?.startsWith(next.description)).to.equal(true);
          expect(step.changes.length).to.be.above(0);
        }),
      );
    });
  });
});

/** A SIEM notification alert shaped as src/map/mail-alert.ts makes one. */
function notification(f: { severity: Severity; status?: string; type?: string; source?: string; title?: string; description?: string; observables?: Observable[]; date?: number }): Alert {
  const tags = ['mail', 'siem-notification'];
  if (f.status !== undefined) tags.push(`status:${f.status}`);
  if (f.type !== undefined) tags.push(`type:${f.type}`);
  if (f.source !== undefined) tags.push(`source:${f.source}`);
  return {
    type: 'siem-mail',
    source: 'mail',
    sourceRef: 'mail-INC-7',
    title: f.title ?? 'Brute force',
    description: f.description ?? 'SIEM incident `INC-7`.',
    severity: f.severity,
    date: f.date ?? T0,
    tags,
    tlp: 2,
    pap: 2,
    observables: f.observables ?? [],
  };
}
