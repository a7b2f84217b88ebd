/**
 * 0.3.0 reads what 0.2.0 wrote, and what 0.2.0 accepted goes through the alert lifecycle:
 * spec/fixtures/spool-0.2.0/ is a spool written by tracehive 0.2.0 itself (its README says how),
 * with repeated detections and a SIEM incident notified twice. Started on a copy of it, serve makes
 * one alert per key with exact sighting counts and one alert for the incident, updated.
 */
import { expect } from 'chai';
import { chmod, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from '../support/harness.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const FIXTURE = resolve('spec/fixtures/spool-0.2.0');
const KEY = 'k-upgrade-020';

describe('upgrade from a spool written by tracehive 0.2.0', function () {
  this.timeout(60_000);
  let dir: string;
  let hive: FakeTheHive;
  let serve: ServeProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-upgrade-020-'));
    await cp(join(FIXTURE, 'queue'), join(dir, 'spool', 'queue'), { recursive: true });
    await chmod(join(dir, 'spool'), 0o700);
    hive = await startFakeTheHive({ apiKey: KEY });
  });

  afterEach(async () => {
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
    await serve?.exited;
    serve = undefined;
    await hive.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers every record 0.2.0 accepted through the lifecycle: one alert per key, counts exact, the incident updated', async () => {
    serve = await startServeProcess(
      { THEHIVE_URL: hive.url, THEHIVE_API_KEY: KEY, TRACEHIVE_SPOOL_DIR: join(dir, 'spool'), TRACEHIVE_INGEST_DROP_DIR: join(dir, 'incoming'), TRACEHIVE_ALERT_UPDATE_WINDOW_MS: '86400000', TRACEHIVE_ALERT_UPDATE_FLUSH_MS: '200' },
      dir,
    );
    const s = serve;
    await waitFor('the spool drained', async () => (await s.metric('tracehive_spool_records')) === 0 && hive.alerts.length === 3, 30_000);
    const titles = hive.alerts.map((a) => a.title).sort();
    expect(titles.filter((t) => t.startsWith('Malicious URL: fakess123.nu'))).to.deep.equal(['Malicious URL: fakess123.nu (3 sightings)']);
    expect(titles.filter((t) => t.includes('192.0.2.77'))).to.have.length(1);
    expect(titles.find((t) => t.includes('192.0.2.77'))).to.match(/\(2 sightings\)$/);
    const incident = hive.alert('mail-INC-2024-0042');
    expect(incident?.severity).to.equal(4);
    expect(incident?.description).to.contain('Updates');
    for (const a of hive.alerts.filter((x) => x.type === 'cybertrace')) expect(a.sourceRef).to.match(/^ct-k[0-9a-f]+$/);
  });
});
