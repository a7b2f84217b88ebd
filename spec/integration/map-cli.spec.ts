/**
 * `tracehive map` as an operator runs it (issue 12 point 7): a real child process that says, for
 * each alert, what serve would do with it (create, update of an open alert, unchanged), reading
 * the lifecycle's state file that serve wrote without touching it, and that maps `.eml` files
 * with `--mail` as intake would, naming a file that is no mail.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { detectionSourceRef } from '../../src/lifecycle/key.js';
import { sightingOf } from '../../src/lifecycle/sighting.js';
import { StateStore } from '../../src/lifecycle/state-store.js';
import { applySightings, newGeneration } from '../../src/lifecycle/state.js';
import { DEFAULT_POLICY } from '../../src/map/alert.js';
import { parseLine } from '../../src/parse/kv.js';
import type { DetectionRecord } from '../../src/types.js';
import { fixturePath } from '../support/fixtures.js';

const CLI = resolve('dist/src/cli.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], cwd: string, opts: { env?: Record<string, string>; input?: string } = {}): Promise<Result> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

const line = (indicator: string, src: string): string => `Oct 12 16:14:02 category=KL_Malicious_URL matchedIndicator=${indicator} url=http://${indicator}/x src=${src} usrName=jsmith`;
const A1 = line('bad.example.test', '10.0.0.1');
const A2 = line('bad.example.test', '10.0.0.2');
const B1 = line('worse.example.test', '10.0.0.1');

function record(text: string): DetectionRecord {
  const parsed = parseLine(text);
  if (!parsed.ok || parsed.value.kind !== 'detection') throw new Error(`not a detection: ${text}`);
  return parsed.value;
}

/** The plan lines on stderr (`line N: …` or `FILE: …`), without the summaries. */
const plans = (stderr: string): string[] => stderr.split('\n').filter((l) => /: (create|update of|unchanged)/.test(l));

describe('tracehive map: what serve would do (issue 12 point 7)', function () {
  this.timeout(30000);
  let dir: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-map-'));
    env = { TRACEHIVE_SPOOL_DIR: join(dir, 'spool') };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lines of two keys: the first of each key creates its alert, the next of a key updates it, the same line again changes nothing; stdout stays bare alerts', async () => {
    const r = await runCli(['map'], dir, { env, input: [A1, B1, A2, A1, ''].join('\n') });
    expect(r.code, r.stderr).to.equal(0);
    const [a, b, a2, again] = plans(r.stderr);
    const refA = /^line 1: create (ct-k[0-9a-f]{20})$/.exec(a ?? '')?.[1];
    const refB = /^line 2: create (ct-k[0-9a-f]{20})$/.exec(b ?? '')?.[1];
    expect(refA, r.stderr).to.be.a('string').and.not.equal(refB);
    expect(refB, r.stderr).to.be.a('string');
    expect(a2).to.equal(`line 3: update of ${refA}`);
    expect(again).to.equal(`line 4: unchanged: same as ${refA} (the same line again: one sighting)`);
    expect(r.stderr).to.include('serve would: 2 create, 1 update (of an alert still open in TheHive), 1 unchanged.');
    // `tracehive map | jq .title` keeps working: each stdout line is the alert itself.
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { title: string; sourceRef: string });
    expect(alerts).to.have.length(4);
    expect(alerts[0]?.title).to.include('bad.example.test');
    expect(alerts[0]?.sourceRef).to.match(/^ct-[0-9a-f]{20}$/);
  });

  it('--plan puts the plan and the alert in one JSON line per alert', async () => {
    const r = await runCli(['map', '--plan'], dir, { env, input: [A1, A2, ''].join('\n') });
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; sourceRef: string; alert: { title: string } });
    expect(lines.map((l) => l.action)).to.deep.equal(['create', 'update']);
    expect(lines[1]?.sourceRef).to.equal(lines[0]?.sourceRef);
    expect(lines[0]?.alert.title).to.include('bad.example.test');
    expect(plans(r.stderr)).to.deep.equal([]);
  });

  it('a key whose alert the state file in spool.dir/alerts holds, open and within the window: its first line is already an update of that alert; the file is left as it was', async () => {
    // The key's sourceRef as map computes it for this configuration, then the state serve writes for its 2nd alert.
    const first = await runCli(['map'], dir, { env, input: `${A1}\n` });
    const ref1 = /create (ct-k([0-9a-f]{20}))/.exec(first.stderr);
    expect(ref1, first.stderr).to.not.equal(null);
    const key = ref1?.[2] as string;
    const sighting = sightingOf(record(A2), DEFAULT_POLICY, Date.now() - 60_000);
    const state = { ...applySightings(newGeneration(key, 2, detectionSourceRef(key, 2), sighting, null), [sighting]).state, alertId: '~40964096' };
    const alertsDir = join(dir, 'spool', 'alerts');
    const store = await StateStore.open({ dir: alertsDir, maxKeys: 100 });
    await store.put([state]);
    await store.close();
    const file = join(alertsDir, 'state.ndjson');
    const before = await readFile(file);
    const mtime = (await stat(file)).mtimeMs;

    const r = await runCli(['map'], dir, { env, input: [A1, A2, B1, ''].join('\n') });
    expect(r.code, r.stderr).to.equal(0);
    const [a, counted, b] = plans(r.stderr);
    expect(a).to.equal(`line 1: update of ${detectionSourceRef(key, 2)}`);
    expect(counted).to.equal(`line 2: unchanged: same as ${detectionSourceRef(key, 2)} (this line is counted already)`);
    expect(b).to.match(/^line 3: create ct-k[0-9a-f]{20}$/);
    expect(await readFile(file)).to.deep.equal(before);
    expect((await stat(file)).mtimeMs).to.equal(mtime);
  });

  it('with alert.updateWindowMs 0 (lifecycle off) stderr has no plan lines, as before', async () => {
    const r = await runCli(['map'], dir, { env: { ...env, TRACEHIVE_ALERT_UPDATE_WINDOW_MS: '0' }, input: [A1, A2, ''].join('\n') });
    expect(r.code, r.stderr).to.equal(0);
    expect(plans(r.stderr)).to.deep.equal([]);
    expect(r.stdout.trim().split('\n')).to.have.length(2);
  });

  describe('--mail', () => {
    it('maps a SIEM notification as intake does: the incident\'s alert, created; its escalation after it is an update', async () => {
      const first = fixturePath('mail', 'siem-en.eml');
      const escalated = fixturePath('mail', 'siem-en-escalated.eml');
      const r = await runCli(['map', '--mail', first, escalated], dir, { env });
      expect(r.code, r.stderr).to.equal(0);
      const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { sourceRef: string; severity: number; tags: string[] });
      expect(alerts.map((a) => a.sourceRef)).to.deep.equal(['mail-INC-2024-0042', 'mail-INC-2024-0042']);
      expect(alerts[1]?.severity).to.equal(4);
      expect(alerts[1]?.tags).to.include('siem-notification');
      const [created, updated] = plans(r.stderr);
      expect(created).to.equal(`${first}: create mail-INC-2024-0042`);
      expect(updated).to.match(new RegExp(`^${escalated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: update of mail-INC-2024-0042 \\(Severity raised: HIGH → CRITICAL; Status: New → Escalated`));
    });

    it('reads a mail from stdin with -', async () => {
      const r = await runCli(['map', '--mail', '-'], dir, { env, input: await readFile(fixturePath('mail', 'siem-en-escalated.eml'), 'utf8') });
      expect(r.code, r.stderr).to.equal(0);
      expect((JSON.parse(r.stdout) as { sourceRef: string }).sourceRef).to.equal('mail-INC-2024-0042');
      expect(plans(r.stderr)).to.deep.equal(['stdin: create mail-INC-2024-0042']);
    });

    it('a file that is no mail and a missing one: each named with why, the good mail still printed, exit 1; nothing is quarantined', async () => {
      const notMail = join(dir, 'capture.eml');
      await writeFile(notMail, `${A1}\n`);
      const good = join(dir, 'good.eml');
      await copyFile(fixturePath('mail', 'siem-en.eml'), good);
      const missing = join(dir, 'missing.eml');
      const r = await runCli(['map', '--mail', notMail, good, missing], dir, { env });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include(`${notMail}: no alert: serve would quarantine this mail`).and.include('ERR_MAIL_PARSE');
      expect(r.stderr).to.include(`${missing}: cannot read it (ENOENT)`);
      expect(r.stderr).to.include('3 mails: 1 made an alert, 2 did not.');
      expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { sourceRef: string }).sourceRef)).to.deep.equal(['mail-INC-2024-0042']);
      const spoolMade = await stat(join(dir, 'spool')).then(() => true, () => false);
      expect(spoolMade, 'map must not create spool.dir nor quarantine anything').to.equal(false);
    });
  });
});
