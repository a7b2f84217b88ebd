/**
 * What `tracehive map` says serve would do with each alert (issue 12 point 7): create the key's
 * alert, update it, or change nothing, from the lines of one run and what the state files hold.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { detectionKey, detectionSourceRef, mailKey } from '../../../src/lifecycle/key.js';
import { MAIL_STATE_VERSION, type MailKeyState } from '../../../src/lifecycle/mail-lifecycle.js';
import { initialMailState } from '../../../src/lifecycle/mail-update.js';
import { sightingOf } from '../../../src/lifecycle/sighting.js';
import { applySightings, newGeneration, type KeyState } from '../../../src/lifecycle/state.js';
import { DEFAULT_POLICY, alertFromDetection } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import { parseLine } from '../../../src/parse/kv.js';
import { MapPlanner, formatPlan, type KnownStates, type Plan } from '../../../src/tools/map-plan.js';
import type { Alert, DetectionRecord } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

const HOUR = 3_600_000;
const WINDOW = 24 * HOUR;
const NOW = Date.parse('2026-11-20T10:00:00Z');
const TARGET = { url: 'https://thehive.example.test', organisation: 'SOC' };
const FIELDS = ['category', 'matchedIndicator'];

function record(line: string): DetectionRecord {
  const parsed = parseLine(line);
  if (!parsed.ok || parsed.value.kind !== 'detection') throw new Error(`not a detection: ${line}`);
  return parsed.value;
}
const line = (indicator: string, src: string, date = 'Oct 12 16:14:02'): string =>
  `${date} category=KL_Malicious_URL matchedIndicator=${indicator} url=http://${indicator}/x src=${src} usrName=jsmith`;
const refOf = (l: string, generation = 1, target = TARGET): string => detectionSourceRef(detectionKey(record(l), FIELDS, target), generation);

const NONE: KnownStates = { detection: () => undefined, mail: () => undefined };

function planner(known: KnownStates = NONE, windowMs = WINDOW): MapPlanner {
  return new MapPlanner({ windowMs, keyFields: FIELDS, target: TARGET, known });
}
function planLine(p: MapPlanner, l: string, at = NOW): Plan {
  const rec = record(l);
  return p.detection(rec, alertFromDetection(rec, DEFAULT_POLICY, at), at);
}

/** The state serve writes once it created the alert of `lines` (generation `generation`), the last received at `receivedAt`. */
function stateOf(lines: readonly string[], receivedAt: number, generation = 1): KeyState {
  const sightings = lines.map((l) => sightingOf(record(l), DEFAULT_POLICY, receivedAt));
  const key = detectionKey(record(lines[0] as string), FIELDS, TARGET);
  const base = newGeneration(key, generation, detectionSourceRef(key, generation), sightings[0]!, null);
  return { ...applySightings(base, sightings).state, alertId: '~4096' };
}
const knowing = (...states: KeyState[]): KnownStates => ({ detection: (key) => states.find((s) => s.key === key), mail: () => undefined });

async function mailAlert(name: string, at = NOW): Promise<Alert> {
  return alertFromMail(await parseMail(readFileSync(fixturePath('mail', name))), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, at);
}

describe('map plan (issue 12 point 7)', () => {
  describe('detections', () => {
    it('the first line of a key creates its alert, later lines of the key update it, another key gets its own', () => {
      const p = planner();
      const a1 = line('bad.example.test', '10.0.0.1');
      const a2 = line('bad.example.test', '10.0.0.2');
      const b1 = line('worse.example.test', '10.0.0.1');
      expect(planLine(p, a1)).to.deep.equal({ action: 'create', sourceRef: refOf(a1) });
      expect(planLine(p, b1)).to.deep.equal({ action: 'create', sourceRef: refOf(b1) });
      expect(planLine(p, a2)).to.deep.equal({ action: 'update', sourceRef: refOf(a1) });
      expect(refOf(a1)).to.match(/^ct-k[0-9a-f]{20}$/).and.not.equal(refOf(b1));
    });

    it('the same line again is one sighting: nothing to send', () => {
      const p = planner();
      const a = line('bad.example.test', '10.0.0.1');
      planLine(p, a);
      expect(planLine(p, a)).to.deep.equal({ action: 'unchanged', sourceRef: refOf(a), reason: 'the same line again: one sighting' });
    });

    it('a key whose state file holds an alert within the window: the first line already updates that alert (its generation)', () => {
      const old = line('bad.example.test', '10.0.0.9');
      const p = planner(knowing(stateOf([old], NOW - HOUR, 3)));
      const next = line('bad.example.test', '10.0.0.1');
      expect(planLine(p, next)).to.deep.equal({ action: 'update', sourceRef: refOf(old, 3) });
      expect(planLine(p, line('bad.example.test', '10.0.0.2'))).to.deep.equal({ action: 'update', sourceRef: refOf(old, 3) });
    });

    it('a line the state holds already is counted already', () => {
      const old = line('bad.example.test', '10.0.0.9');
      const p = planner(knowing(stateOf([old], NOW - HOUR)));
      expect(planLine(p, old)).to.deep.equal({ action: 'unchanged', sourceRef: refOf(old), reason: 'this line is counted already' });
      const next = line('bad.example.test', '10.0.0.1');
      expect(planLine(p, next)).to.deep.equal({ action: 'update', sourceRef: refOf(old) });
      expect(planLine(p, old).action).to.equal('unchanged');
      expect(planLine(p, next)).to.include({ action: 'unchanged', reason: 'the same line again: one sighting' });
    });

    it('past alert.updateWindowMs since the key\'s last sighting: the key\'s next alert, following the previous one', () => {
      const old = line('bad.example.test', '10.0.0.9');
      const p = planner(knowing(stateOf([old], NOW - WINDOW - 1)));
      const plan = planLine(p, line('bad.example.test', '10.0.0.1'));
      expect(plan).to.deep.equal({ action: 'create', sourceRef: refOf(old, 2), follows: refOf(old) });
      expect(formatPlan(plan)).to.equal(`create ${refOf(old, 2)} (the window of ${refOf(old)} passed)`);
    });

    it('a state of another TheHive or organisation is another key', () => {
      const old = line('bad.example.test', '10.0.0.9');
      const elsewhere = { ...stateOf([old], NOW - HOUR), key: detectionKey(record(old), FIELDS, { ...TARGET, organisation: 'Other' }) };
      const p = planner(knowing(elsewhere));
      expect(planLine(p, line('bad.example.test', '10.0.0.1')).action).to.equal('create');
    });

    it('with the lifecycle off (window 0) every line is its own alert; the same line again meets "already exists"', () => {
      const p = planner(NONE, 0);
      const a1 = line('bad.example.test', '10.0.0.1');
      const rec = record(a1);
      const alert = alertFromDetection(rec, DEFAULT_POLICY, NOW);
      expect(p.lifecycle).to.equal(false);
      expect(p.detection(rec, alert, NOW)).to.deep.equal({ action: 'create', sourceRef: alert.sourceRef });
      expect(p.detection(rec, alert, NOW).action).to.equal('unchanged');
      expect(planLine(p, line('bad.example.test', '10.0.0.2')).action).to.equal('create');
    });
  });

  describe('mails', () => {
    it('a SIEM notification creates the incident\'s alert; its escalation updates it (saying what changes); a resend changes nothing', async () => {
      const p = planner();
      const first = await mailAlert('siem-en.eml');
      expect(p.mail(first, NOW)).to.deep.equal({ action: 'create', sourceRef: first.sourceRef });
      const escalated = p.mail(await mailAlert('siem-en-escalated.eml'), NOW);
      expect(escalated).to.include({ action: 'update', sourceRef: first.sourceRef });
      expect(formatPlan(escalated)).to.match(new RegExp(`^update of ${first.sourceRef} \\(Severity raised: HIGH → CRITICAL; Status: New → Escalated;`));
      const resend = p.mail(await mailAlert('siem-en-escalated-resend.eml'), NOW);
      expect(resend).to.deep.equal({ action: 'unchanged', sourceRef: first.sourceRef, reason: 'the same notification again (a resend)' });
      expect(formatPlan(resend)).to.equal(`unchanged: same as ${first.sourceRef} (the same notification again (a resend))`);
    });

    it('an incident the mail state file knows: its notification updates that alert (its current sourceRef)', async () => {
      const first = await mailAlert('siem-en.eml', NOW - HOUR);
      const key = mailKey(first.sourceRef, TARGET);
      const state: MailKeyState = { v: MAIL_STATE_VERSION, key, baseSourceRef: first.sourceRef, generation: 2, sourceRef: `${first.sourceRef}-2`, alertId: '~8192', lastReceived: NOW - HOUR, mail: initialMailState(first, NOW - HOUR), previous: null };
      const p = planner({ detection: () => undefined, mail: (k) => (k === key ? state : undefined) });
      expect(p.mail(await mailAlert('siem-en-escalated.eml'), NOW)).to.include({ action: 'update', sourceRef: `${first.sourceRef}-2` });
      expect(p.mail(first, NOW).action).to.equal('unchanged');
    });

    it('an ordinary mail sent twice stays one alert', async () => {
      const p = planner();
      const mail = await mailAlert('attachments.eml');
      expect(p.mail(mail, NOW)).to.deep.equal({ action: 'create', sourceRef: mail.sourceRef });
      expect(p.mail(mail, NOW)).to.deep.equal({ action: 'unchanged', sourceRef: mail.sourceRef, reason: 'the same mail again (an ordinary mail is never updated)' });
    });
  });
});
