/**
 * Issue 15: the listener's lines mapped at accept, in batches (LinePipeline.useMapper). What is
 * spooled, and in what order, must be what one line at a time spooled; the memo the feeder takes
 * must be the very alert the feeder would make from the record read back from disk; a full spool
 * and a slow mapper must pause the sources; and drain() must wait for every line handed on.
 */
import { expect } from 'chai';
import { DEFAULT_POLICY } from '../../src/map/alert.js';
import { inlineMapper, type LineMapper } from '../../src/map-worker/client.js';
import { Encoded, LinePipeline, mapSpooled, premapSpooled, type RejectedEntry } from '../../src/pipeline.js';
import { encodedAlert } from '../../src/queue/feeder.js';
import { alertRecord, lineRecord, peerLineRecord } from '../../src/queue/spool-payload.js';
import { createLogger } from '../../src/log.js';
import { Telemetry } from '../../src/telemetry.js';
import { detectionLines } from '../support/lines.js';
import type { LineOutcome } from '../../src/map/line-batch.js';

const SERVICE = 'Apr 16 09:05:41 alert=KL_ALERT_UpdatedFeed feed=Phishing_URL_Data_Feed.json records=200473';
const FINISHED = 'Oct 12 16:20:33 event=LookupFinished sent_events=2 total=KL_Malicious_Hash_MD5:1;';

interface Spooled {
  readonly line: string;
  readonly time: number;
  readonly memo: unknown;
}

function setup(mapper?: LineMapper, accept?: () => void | Promise<void>, gates: { admit?: () => void | Promise<void>; roomBytes?: () => number; memoUsed?: () => boolean } = {}) {
  const spooled: Spooled[] = [];
  const rejected: RejectedEntry[] = [];
  const telemetry = new Telemetry(createLogger('silent'), () => 0);
  const clock = { now: Date.UTC(2026, 11, 5) };
  const pipeline = new LinePipeline({
    policy: { ...DEFAULT_POLICY, serviceAlerts: 'alert' },
    telemetry,
    now: () => clock.now,
    accept: (line, time, _peer, memo) => {
      spooled.push({ line, time, memo });
      return accept?.();
    },
    keepRejected: (entry) => rejected.push(entry),
    ...gates,
  });
  if (mapper) pipeline.useMapper(mapper);
  return { pipeline, spooled, rejected, telemetry, clock };
}

describe('LinePipeline in batches (issue 15: map at accept)', () => {
  const policy = { ...DEFAULT_POLICY, serviceAlerts: 'alert' as const };
  const input = [...detectionLines(700).slice(0, 300), 'garbage line', SERVICE, FINISHED, ...detectionLines(700).slice(300)];

  it('spools what one line at a time spooled, in the same order, with the same receive times', async () => {
    const one = setup();
    const batched = setup(inlineMapper(policy));
    input.forEach((line, i) => {
      // Each line read a millisecond after the one before.
      one.clock.now = batched.clock.now = Date.UTC(2026, 11, 5) + i;
      one.pipeline.handle(line, `10.0.0.${i % 3}:5000`);
      batched.pipeline.handle(line, `10.0.0.${i % 3}:5000`);
    });
    expect(batched.spooled.length, 'nothing before the batch is mapped').to.be.below(input.length);
    await batched.pipeline.drain();
    expect(batched.spooled.map((s) => [s.line, s.time])).to.deep.equal(one.spooled.map((s) => [s.line, s.time]));
    expect(batched.rejected.map((r) => [r.code, r.peer, r.line])).to.deep.equal([['ERR_KV_MALFORMED', '10.0.0.0:5000', 'garbage line']]);
    expect(one.rejected.map((r) => r.line)).to.deep.equal(['garbage line']);
    for (const name of ['tracehive_lines_received_total', 'tracehive_alerts_queued_total', 'tracehive_lines_rejected_total', 'tracehive_lines_parsed_total']) {
      expect(await batched.telemetry.value(name), name).to.equal(await one.telemetry.value(name));
    }
  });

  it('hands the feeder the alert it would map from the record read back from disk, byte for byte', async () => {
    const { pipeline, spooled } = setup(inlineMapper(policy));
    for (const line of input) pipeline.handle(line, '10.0.0.1:5000');
    await pipeline.drain();
    let encoded = 0;
    for (const s of spooled) {
      const entry = { seq: 1, time: s.time, payload: lineRecord(s.line) };
      const fromDisk = mapSpooled(entry, policy, false);
      const fromMemo = mapSpooled({ ...entry, memo: s.memo }, policy, false);
      if (!(s.memo instanceof Encoded)) {
        // The service alert went the main thread's way: its memo is the parsed record.
        expect(s.line).to.equal(SERVICE);
        expect(fromMemo).to.deep.equal(fromDisk);
        continue;
      }
      encoded++;
      if (fromDisk.kind !== 'alert' || fromMemo.kind !== 'encoded') throw new Error(`unexpected ${fromDisk.kind} / ${fromMemo.kind}`);
      expect(fromMemo.body).to.equal(JSON.stringify(fromDisk.alert));
      expect(encodedAlert(fromMemo)).to.deep.equal(fromDisk.alert);
    }
    expect(encoded).to.equal(700);
  });

  it('pauses the sources while the spool asks to, and lets them go on once it has room', async () => {
    let room: () => void = () => {};
    const full = new Promise<void>((resolve) => (room = resolve));
    let fullNow = true;
    const { pipeline, spooled } = setup(inlineMapper(policy), () => (fullNow ? full : undefined));
    const lines = detectionLines(10);
    for (const line of lines.slice(0, 5)) expect(pipeline.handle(line, 'p:1')).to.equal(undefined);
    await pipeline.drain();
    expect(spooled).to.have.length(5);
    const wait = pipeline.handle(lines[5] as string, 'p:1');
    expect(wait, 'a promise: pause this source').to.be.instanceOf(Promise);
    fullNow = false;
    room();
    await wait;
    await pipeline.drain();
    expect(pipeline.handle(lines[6] as string, 'p:1')).to.equal(undefined);
    await pipeline.drain();
    expect(spooled.map((s) => s.line)).to.deep.equal(lines.slice(0, 7));
  });

  it('pauses the sources while ~1 MiB of lines wait for a slow mapper, and drain() waits for them', async () => {
    const waiting: (() => void)[] = [];
    const inline = inlineMapper(policy);
    const slow: LineMapper = {
      map: (batch) => new Promise<LineOutcome[]>((resolve) => waiting.push(() => void inline.map(batch).then(resolve))),
      close: () => Promise.resolve(),
    };
    const { pipeline, spooled } = setup(slow);
    const big = `${detectionLines(1)[0] as string} pad=${'x'.repeat(60_000)}`;
    let paused: void | Promise<void>;
    let handed = 0;
    do {
      paused = pipeline.handle(big, 'p:1');
      handed++;
    } while (paused === undefined && handed < 1000);
    expect(handed, 'paused after about 1 MiB in flight').to.be.within(15, 20);
    let drained = false;
    const draining = pipeline.drain().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(drained).to.equal(false);
    while (waiting.length > 0) (waiting.shift() as () => void)();
    await paused;
    await draining;
    expect(spooled).to.have.length(handed);
  });

  it('while the spool’s readers are behind, spools parsed lines without a memo (they are mapped once, when read back)', async () => {
    let behind = true;
    const { pipeline, spooled } = setup(inlineMapper(policy), undefined, { memoUsed: () => !behind });
    const lines = detectionLines(4);
    pipeline.handle(lines[0] as string, 'p:1');
    pipeline.handle('garbage', 'p:1');
    await pipeline.drain();
    behind = false;
    pipeline.handle(lines[1] as string, 'p:1');
    await pipeline.drain();
    expect(spooled.map((s) => [s.line, s.memo instanceof Encoded])).to.deep.equal([
      [lines[0], false],
      [lines[1], true],
    ]);
    expect(spooled[0]?.memo).to.equal(undefined);
  });

  it('pauses a source at once while the spool says so (a budget, a failing disk), before any line of it is mapped', async () => {
    let open: () => void = () => {};
    let paused: Promise<void> | undefined = new Promise<void>((resolve) => (open = resolve));
    const { pipeline, spooled } = setup(inlineMapper(policy), undefined, { admit: () => paused });
    const lines = detectionLines(2);
    const wait = pipeline.handle(lines[0] as string, 'p:1');
    expect(wait, 'the first line is taken, the next waits').to.equal(paused);
    paused = undefined;
    open();
    expect(pipeline.handle(lines[1] as string, 'p:1')).to.equal(undefined);
    await pipeline.drain();
    expect(spooled.map((s) => s.line)).to.deep.equal(lines);
  });

  it('does not overrun the spool: while the lines in flight would fill its room, sources wait for them to be spooled', async () => {
    let room = 20_000;
    const { pipeline, spooled } = setup(inlineMapper(policy), () => {
      room -= 400;
    }, { roomBytes: () => room });
    const lines = detectionLines(200);
    let handed = 0;
    let wait: void | Promise<void>;
    do wait = pipeline.handle(lines[handed++] as string, 'p:1');
    while (wait === undefined && handed < lines.length);
    // What the lines take in the spool: their bytes, plus each record's 28-byte header and tag.
    const taken = lines.slice(0, handed).reduce((n, l) => n + l.length + 29, 0);
    expect(taken, 'about the room in spool bytes, then a pause').to.be.within(20_000, 20_000 + 400);
    await wait;
    expect(spooled).to.have.length(handed);
  });
});

describe('premapSpooled (issue 15: records read back from disk, mapped on the map worker)', () => {
  const peerPolicy = { ...DEFAULT_POLICY, rules: [{ match: { peer: ['192.0.2.0/24'] }, set: { organisation: 'soc-b' } }] };

  it('gives each line the memo a line mapped at accept has: the feeder hands on what it mapped from disk before, byte for byte', async () => {
    const lines = detectionLines(50);
    const entries = [
      ...lines.map((line, i) => ({ seq: i, time: Date.UTC(2026, 11, 5) + i, payload: i % 2 === 0 ? peerLineRecord('192.0.2.9', line) : peerLineRecord('198.51.100.9', line) })),
      { seq: 60, time: 0, payload: lineRecord('garbage') },
      { seq: 61, time: 0, payload: 'Znot a record' },
      { seq: 62, time: 0, payload: alertRecord({ sourceRef: 'mail-1', title: 't', observables: [], tags: [] } as never) },
    ];
    const premapped = await premapSpooled(entries, inlineMapper(peerPolicy), peerPolicy);
    expect(premapped).to.have.length(entries.length);
    premapped.forEach((entry, i) => {
      const before = mapSpooled(entries[i] as (typeof entries)[number], peerPolicy, false);
      const after = mapSpooled(entry, peerPolicy, false);
      if (i < 50) {
        if (before.kind !== 'alert' || after.kind !== 'encoded') throw new Error(`${i}: ${before.kind} / ${after.kind}`);
        expect(after.body).to.equal(JSON.stringify({ ...before.alert, meta: undefined }));
        expect(after.meta).to.deep.equal(before.alert.meta);
      } else {
        expect(entry, 'left as it was').to.equal(entries[i]);
        expect(after).to.deep.equal(before);
      }
    });
    const orgs = premapped.slice(0, 4).map((e) => (e.memo instanceof Encoded ? JSON.parse(e.memo.meta || '{}').organisation : 'none'));
    expect(orgs).to.deep.equal(['soc-b', undefined, 'soc-b', undefined]);
  });

  it('leaves to the main thread a line spooled without its peer while a rule matches on peers', async () => {
    const [line] = detectionLines(1);
    const entries = [{ seq: 1, time: 0, payload: lineRecord(line as string) }];
    expect((await premapSpooled(entries, inlineMapper(peerPolicy), peerPolicy))[0]).to.equal(entries[0]);
    expect((await premapSpooled(entries, inlineMapper(DEFAULT_POLICY), DEFAULT_POLICY))[0]?.memo).to.be.instanceOf(Encoded);
  });
});
