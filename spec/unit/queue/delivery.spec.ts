import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createDeadLetterLog, type DeadLetterEntry } from '../../../src/queue/dead-letter.js';
import { Delivery, type DeliveryOptions } from '../../../src/queue/delivery.js';
import type { Alert, Outcome, QueuedAlert, Sink } from '../../../src/types.js';
import { testAlert } from '../../support/alerts.js';

const alert = (ref: string): Alert => testAlert(ref, { title: `t ${ref}`, tags: [], observables: [{ dataType: 'domain', data: 'evil.example' }] });

const refs = (n: number): string[] => Array.from({ length: n }, (_, i) => `ct-${i}`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `nth` counts the calls for this alert, from 1. */
type Script = (alert: QueuedAlert, nth: number, signal: AbortSignal) => Outcome | Promise<Outcome>;

/** An in-memory sink that follows a script and records every call. */
class ScriptedSink implements Sink {
  readonly name = 'scripted';
  readonly maxBatch = 1;
  readonly calls: { ref: string; at: number }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly #script: Script;
  readonly #perRef = new Map<string, number>();

  constructor(script: Script = () => ({ kind: 'delivered' })) {
    this.#script = script;
  }

  encode(a: Alert): string {
    return JSON.stringify(a);
  }

  decode(body: string): Alert {
    return JSON.parse(body) as Alert;
  }

  async send([a]: readonly QueuedAlert[], signal: AbortSignal): Promise<Outcome> {
    if (a === undefined) throw new Error('empty batch');
    this.calls.push({ ref: a.sourceRef, at: Date.now() });
    const nth = (this.#perRef.get(a.sourceRef) ?? 0) + 1;
    this.#perRef.set(a.sourceRef, nth);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.#script(a, nth, signal);
    } finally {
      this.inFlight--;
    }
  }

  callsOf(ref: string): number {
    return this.calls.filter((c) => c.ref === ref).length;
  }

  async close(): Promise<void> {}
}

/** `nth` counts the sends, from 1. */
type BatchScript = (refs: string[], nth: number, signal: AbortSignal) => Outcome | Promise<Outcome>;

/** A sink that takes up to `maxBatch` alerts a send (as the file sink does), follows a script per batch and records each batch. */
class BatchSink implements Sink {
  readonly name = 'batching';
  readonly batches: string[][] = [];
  readonly maxBatch: number;
  readonly #script: BatchScript;

  constructor(maxBatch: number, script: BatchScript = () => ({ kind: 'delivered' })) {
    this.maxBatch = maxBatch;
    this.#script = script;
  }

  encode(a: Alert): string {
    return JSON.stringify(a);
  }

  decode(body: string): Alert {
    return JSON.parse(body) as Alert;
  }

  async send(batch: readonly QueuedAlert[], signal: AbortSignal): Promise<Outcome> {
    const refs = batch.map((a) => a.sourceRef);
    this.batches.push(refs);
    return this.#script(refs, this.batches.length, signal);
  }

  async close(): Promise<void> {}
}

/** Hooks that record what they are told. */
function recorder() {
  const seen = {
    delivered: [] as { ref: string; duplicate: boolean; attempts: number }[],
    retried: [] as { ref: string; reason: string; delayMs: number; attempt: number }[],
    dead: [] as { ref: string; reason: string; status: number | undefined }[],
    readiness: [] as { ready: boolean; reason: string }[],
  };
  const hooks: DeliveryOptions['hooks'] = {
    delivered: (a, duplicate, attempts) => seen.delivered.push({ ref: a.sourceRef, duplicate, attempts }),
    retried: (a, reason, delayMs, attempt) => seen.retried.push({ ref: a.sourceRef, reason, delayMs, attempt }),
    dead: (a, reason, status) => seen.dead.push({ ref: a.sourceRef, reason, status }),
    readiness: (ready, reason) => seen.readiness.push({ ready, reason }),
  };
  return { seen, hooks };
}

describe('queue/delivery', function () {
  this.timeout(8000);
  const open: Delivery[] = [];
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tracehive-delivery-'));
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
    await rm(root, { recursive: true, force: true });
  });

  function delivery(sink: Sink, over: Partial<DeliveryOptions> = {}) {
    const { seen, hooks } = recorder();
    const deadLetters: DeadLetterEntry[] = [];
    const d = new Delivery({
      sink,
      deadLetters: { write: async (e) => void deadLetters.push(e) },
      ratePerSec: 0,
      concurrency: 4,
      maxAttempts: 0,
      maxPending: 1000,
      retryBaseMs: 10,
      retryMaxMs: 50,
      authRetryMs: 50,
      hooks,
      ...over,
    });
    open.push(d);
    return { d, seen, deadLetters };
  }

  async function pushAll(d: Delivery, names: string[]): Promise<void> {
    for (const name of names) await d.push(alert(name));
  }

  it('starts at most ratePerSec sends in any 1-second window', async () => {
    const sink = new ScriptedSink();
    const { d, seen } = delivery(sink, { ratePerSec: 20, concurrency: 25 });
    await pushAll(d, refs(25));
    expect(await d.drain(5000)).to.deep.equal({ delivered: true, left: 0 });
    expect(seen.delivered).to.have.length(25);
    const starts = sink.calls.map((c) => c.at);
    // The sink reads the clock just after p-queue does, so a start may be stamped 1 ms late: windows of 998 ms.
    for (const t of starts) expect(starts.filter((s) => s >= t && s < t + 998).length).to.be.at.most(20);
    expect((starts[20] ?? 0) - (starts[0] ?? 0)).to.be.at.least(990); // the limit really held the 21st back
  });

  it('never has more than `concurrency` sends in flight', async () => {
    const sink = new ScriptedSink(async () => {
      await sleep(10);
      return { kind: 'delivered' };
    });
    const { d } = delivery(sink, { concurrency: 3 });
    await pushAll(d, refs(30));
    expect((await d.drain(5000)).delivered).to.equal(true);
    expect(sink.maxInFlight).to.equal(3);
  });

  it('a retry then a success delivers once, reporting both attempts', async () => {
    const sink = new ScriptedSink((a, nth) => (a.sourceRef === 'ct-0' && nth === 1 ? { kind: 'retry', reason: 'HTTP 503' } : { kind: 'delivered' }));
    const { d, seen } = delivery(sink);
    await pushAll(d, refs(5));
    expect((await d.drain(5000)).delivered).to.equal(true);
    expect(seen.delivered.filter((x) => x.ref === 'ct-0')).to.deep.equal([{ ref: 'ct-0', duplicate: false, attempts: 2 }]);
    expect(seen.delivered).to.have.length(5);
    expect(seen.retried).to.have.length(1);
    expect(seen.retried[0]).to.deep.include({ ref: 'ct-0', reason: 'HTTP 503', attempt: 1 });
    expect(seen.retried[0]?.delayMs).to.be.within(0, 10);
    expect(sink.callsOf('ct-0')).to.equal(2);
  });

  it('passes duplicates on to the delivered hook', async () => {
    const { d, seen } = delivery(new ScriptedSink(() => ({ kind: 'delivered', duplicate: true })));
    await d.push(alert('ct-0'));
    await d.drain(1000);
    expect(seen.delivered).to.deep.equal([{ ref: 'ct-0', duplicate: true, attempts: 1 }]);
  });

  it('puts a retried alert back in front of the waiting ones', async () => {
    const sink = new ScriptedSink((a, nth) => (a.sourceRef === 'ct-0' && nth === 1 ? { kind: 'retry', reason: 'HTTP 502' } : { kind: 'delivered' }));
    const { d } = delivery(sink, { concurrency: 1 });
    await pushAll(d, refs(5));
    await d.drain(5000);
    expect(sink.calls.map((c) => c.ref)).to.deep.equal(['ct-0', 'ct-0', 'ct-1', 'ct-2', 'ct-3', 'ct-4']);
  });

  it('a sink that throws is retried, never losing the alert', async () => {
    const sink = new ScriptedSink((_a, nth) => {
      if (nth === 1) throw new Error('boom');
      return { kind: 'delivered' };
    });
    const { d, seen } = delivery(sink);
    await d.push(alert('ct-0'));
    expect((await d.drain(2000)).delivered).to.equal(true);
    expect(seen.retried[0]?.reason).to.equal('sink scripted threw: boom');
    expect(seen.delivered).to.have.length(1);
  });

  it('honours Retry-After, capped at 4 × retryMaxMs', async () => {
    const sink = new ScriptedSink((a, nth) => {
      if (nth > 1) return { kind: 'delivered' };
      return { kind: 'retry', reason: 'HTTP 429', afterMs: a.sourceRef === 'ct-0' ? 120 : 10_000_000 };
    });
    const { d, seen } = delivery(sink, { concurrency: 1 });
    await pushAll(d, ['ct-0', 'ct-1']);
    expect((await d.drain(3000)).delivered).to.equal(true);
    expect(seen.retried.map((r) => [r.ref, r.delayMs])).to.deep.equal([
      ['ct-0', 120],
      ['ct-1', 200],
    ]);
  });

  it('dead-letters an alert after maxAttempts failures, in the dead-letter file', async () => {
    const sink = new ScriptedSink(() => ({ kind: 'retry', reason: 'HTTP 503' }));
    const log = createDeadLetterLog(join(root, 'dead'));
    const { d, seen } = delivery(sink, { maxAttempts: 3, deadLetters: log });
    await d.push(alert('ct-0'));
    expect(await d.drain(3000)).to.deep.equal({ delivered: true, left: 0 });
    await log.close();
    expect(sink.callsOf('ct-0')).to.equal(3);
    expect(seen.retried).to.have.length(2);
    const reason = 'ERR_SINK_ATTEMPTS: gave up after 3 failed attempts; last: HTTP 503';
    expect(seen.dead).to.deep.equal([{ ref: 'ct-0', reason, status: undefined }]);
    const [file] = await readdir(join(root, 'dead'));
    expect(file).to.match(/^dead-\d{4}-\d{2}-\d{2}\.ndjson$/);
    const lines = (await readFile(join(root, 'dead', file ?? ''), 'utf8')).trimEnd().split('\n');
    expect(lines).to.have.length(1);
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(entry).to.deep.include({ reason, status: null, body: null, attempts: 3, alert: alert('ct-0') });
    expect(Date.parse(String(entry['time']))).to.be.closeTo(Date.now(), 5000);
  });

  it('dead-letters a dropped alert at once, with the status and body', async () => {
    const body = '{"type":"AttributeCheckingError","message":"[Attribute title is missing]","errors":[{"name":"title","type":"MissingAttributeError"}]}';
    const sink = new ScriptedSink((a) =>
      a.sourceRef === 'ct-1' ? { kind: 'drop', reason: 'HTTP 400 AttributeCheckingError: [Attribute title is missing]', status: 400, body } : { kind: 'delivered' },
    );
    const log = createDeadLetterLog(root);
    const { d, seen } = delivery(sink, { deadLetters: log });
    await pushAll(d, refs(3));
    expect((await d.drain(2000)).delivered).to.equal(true);
    await log.close();
    const reason = 'ERR_SINK_REJECTED: HTTP 400 AttributeCheckingError: [Attribute title is missing]';
    expect(seen.dead).to.deep.equal([{ ref: 'ct-1', reason, status: 400 }]);
    expect(seen.delivered.map((x) => x.ref).sort()).to.deep.equal(['ct-0', 'ct-2']);
    expect(sink.callsOf('ct-1')).to.equal(1);
    const [file] = await readdir(root);
    const entry = JSON.parse((await readFile(join(root, file ?? ''), 'utf8')).trim()) as Record<string, unknown>;
    expect(entry).to.deep.include({ reason, status: 400, body, attempts: 1, alert: alert('ct-1') });
  });

  it('keeps an alert whose dead letter cannot be written, and retries the write', async () => {
    let failWrites = 1;
    const written: DeadLetterEntry[] = [];
    const sink = new ScriptedSink(() => ({ kind: 'drop', reason: 'HTTP 404 NotFoundError: ObservableType x not found', status: 404, body: '{}' }));
    const { d, seen } = delivery(sink, {
      deadLetters: {
        write: async (e) => {
          if (failWrites-- > 0) throw new Error('ENOSPC: no space left on device, write');
          written.push(e);
        },
      },
    });
    await d.push(alert('ct-0'));
    expect((await d.drain(2000)).delivered).to.equal(true);
    expect(seen.retried[0]?.reason).to.match(/^dead-letter write failed \(ENOSPC/);
    expect(written).to.have.length(1);
    expect(written[0]).to.deep.include({ reason: 'ERR_SINK_REJECTED: HTTP 404 NotFoundError: ObservableType x not found', status: 404, body: '{}' });
    expect(seen.dead).to.have.length(1);
    expect(sink.calls).to.have.length(1); // only the write was retried, not the send
  });

  it('an auth failure marks not-ready, retries after authRetryMs without counting toward maxAttempts, and a success marks ready', async () => {
    const sink = new ScriptedSink((_a, nth) =>
      nth <= 2 ? { kind: 'retry', auth: true, reason: 'HTTP 401 AuthenticationError: Authentication failure: check THEHIVE_API_KEY' } : { kind: 'delivered' },
    );
    const { d, seen } = delivery(sink, { authRetryMs: 100, maxAttempts: 1 });
    expect(d.ready).to.equal(true);
    await d.push(alert('ct-0'));
    await sleep(30);
    expect(d.ready).to.equal(false);
    expect((await d.drain(2000)).delivered).to.equal(true);
    expect(d.ready).to.equal(true);
    expect(seen.readiness).to.have.length(2);
    expect(seen.readiness[0]).to.deep.equal({ ready: false, reason: 'HTTP 401 AuthenticationError: Authentication failure: check THEHIVE_API_KEY' });
    expect(seen.readiness[1]?.ready).to.equal(true);
    expect(seen.retried.map((r) => r.delayMs)).to.deep.equal([100, 100]);
    const [first, second, third] = sink.calls.map((c) => c.at);
    expect((second ?? 0) - (first ?? 0)).to.be.at.least(95);
    expect((third ?? 0) - (second ?? 0)).to.be.at.least(95);
    expect(seen.dead).to.have.length(0);
  });

  it('a 403 (a permission missing) marks not-ready and counts toward maxAttempts: retried, then dead-lettered', async () => {
    const sink = new ScriptedSink(() => ({ kind: 'retry', auth: true, forbidden: true, reason: 'HTTP 403 AuthorizationError: Operation not permitted' }));
    const { d, seen } = delivery(sink, { authRetryMs: 20, maxAttempts: 2 });
    await d.push(alert('ct-0'));
    expect((await d.drain(2000)).delivered).to.equal(true);
    expect(sink.callsOf('ct-0')).to.equal(2);
    expect(seen.readiness[0]).to.deep.include({ ready: false });
    expect(seen.dead).to.deep.equal([{ ref: 'ct-0', reason: 'ERR_SINK_ATTEMPTS: gave up after 2 failed attempts; last: HTTP 403 AuthorizationError: Operation not permitted', status: undefined }]);
  });

  it('push() waits at maxPending and resumes when an alert leaves', async () => {
    const gates: (() => void)[] = [];
    const sink = new ScriptedSink(() => new Promise<Outcome>((resolve) => gates.push(() => resolve({ kind: 'delivered' }))));
    const { d } = delivery(sink, { concurrency: 1, maxPending: 2 });
    await d.push(alert('ct-0'));
    await d.push(alert('ct-1'));
    let third = false;
    const pushed = d.push(alert('ct-2')).then(() => (third = true));
    await sleep(50);
    expect(third).to.equal(false);
    expect(d.pending).to.equal(2);
    gates.shift()?.();
    await pushed;
    expect(d.pending).to.equal(2);
    for (let i = 0; i < 2; i++) {
      await sleep(10);
      gates.shift()?.();
    }
    expect((await d.drain(1000)).delivered).to.equal(true);
    expect(d.pending).to.equal(0);
  });

  it('holds at most maxPendingChars of encoded alerts, but always one, however big', async () => {
    const gates: (() => void)[] = [];
    const sink = new ScriptedSink(() => new Promise<Outcome>((resolve) => gates.push(() => resolve({ kind: 'delivered' }))));
    const big = (ref: string): Alert => testAlert(ref, { title: `t ${ref}`, tags: [], observables: [], description: 'x'.repeat(3000) });
    const size = sink.encode(big('ct-0')).length;
    const { d } = delivery(sink, { concurrency: 1, maxPending: 100, maxPendingChars: size * 2 + 10 });
    // Alone, an alert larger than the whole budget is still taken: a big mail must not wedge the spool.
    const { d: tiny } = delivery(new ScriptedSink(), { maxPending: 100, maxPendingChars: 10 });
    expect(tiny.offer(big('ct-big'), [1])).to.equal(true);
    expect(d.offer(big('ct-0'), [1])).to.equal(true);
    expect(d.offer(big('ct-1'), [2])).to.equal(true);
    expect(d.offer(big('ct-2'), [3])).to.equal(true); // 2 × size + 10 not reached before this one
    expect(d.offer(big('ct-3'), [4])).to.equal(false);
    expect(d.room).to.equal(0);
    let roomy = false;
    const room = d.whenRoom().then(() => (roomy = true));
    await sleep(30);
    expect(roomy).to.equal(false);
    gates.shift()?.();
    await room;
    expect(d.room).to.equal(98);
    expect(d.offer(big('ct-3'), [4])).to.equal(true);
    for (let i = 0; i < 3; i++) {
      await sleep(10);
      gates.shift()?.();
    }
    expect((await d.drain(1000)).delivered).to.equal(true);
    expect(d.room).to.equal(0); // drained: accepts no more
  });

  it('drain() stops at the deadline with what is left; later pushes are refused, left for the spool', async () => {
    const { d, deadLetters, seen } = delivery(new ScriptedSink(() => ({ kind: 'retry', reason: 'ECONNREFUSED' })));
    await pushAll(d, refs(2));
    const started = Date.now();
    expect(await d.drain(200)).to.deep.equal({ delivered: false, left: 2 });
    expect(Date.now() - started).to.be.within(190, 1000);
    expect(d.accepting).to.equal(false);
    expect(d.room).to.equal(0);
    expect(await d.push(alert('ct-9'), [9])).to.equal(false);
    expect(d.offer(alert('ct-10'), [10])).to.equal(false);
    await sleep(10);
    expect(deadLetters).to.have.length(0);
    expect(seen.dead).to.have.length(0);
    expect(d.pending).to.equal(2);
  });

  it('drain() releases pushes waiting for room without taking their alerts', async () => {
    const sink = new ScriptedSink(
      (_a, _nth, signal) => new Promise<Outcome>((resolve) => signal.addEventListener('abort', () => resolve({ kind: 'retry', reason: 'aborted' }))),
    );
    const { d, deadLetters } = delivery(sink, { maxPending: 1 });
    await d.push(alert('ct-0'));
    const waiting = d.push(alert('ct-1'));
    void d.drain(10);
    expect(await waiting).to.equal(false);
    expect(await d.close()).to.equal(1);
    expect(deadLetters).to.have.length(0);
  });

  it('an outage pauses the whole queue: sends during it are bounded by the backoff, not by the pending count', async () => {
    const outageEnd = Date.now() + 700;
    const sink = new ScriptedSink(async () => {
      if (Date.now() < outageEnd) return { kind: 'retry', reason: 'ECONNREFUSED' };
      await sleep(5);
      return { kind: 'delivered' };
    });
    const { d, seen } = delivery(sink, { concurrency: 4, retryBaseMs: 100, retryMaxMs: 400, random: () => 0.5 });
    await pushAll(d, refs(40));
    expect(await d.drain(5000)).to.deep.equal({ delivered: true, left: 0 });
    const during = sink.calls.filter((c) => c.at < outageEnd).length;
    expect(during).to.be.within(4, 12); // the 4 in flight, then one probe per backoff delay
    expect(new Set(seen.delivered.map((x) => x.ref)).size).to.equal(40);
    expect(seen.delivered).to.have.length(40);
    expect(sink.maxInFlight).to.equal(4); // the first success restored the full concurrency
  });

  it('a poison alert does not hold up the others', async () => {
    const sink = new ScriptedSink((a) => (a.sourceRef === 'ct-0' ? { kind: 'retry', reason: 'HTTP 500' } : { kind: 'delivered' }));
    const { d, seen } = delivery(sink, { concurrency: 1, maxAttempts: 4 });
    await pushAll(d, refs(10));
    expect((await d.drain(3000)).delivered).to.equal(true);
    expect(seen.delivered).to.have.length(9);
    expect(seen.dead.map((x) => x.ref)).to.deep.equal(['ct-0']);
  });

  it('close() aborts sends in flight, returns promptly and forgets every alert still held (the spool has them)', async () => {
    let aborted = false;
    const sink = new ScriptedSink((a, _nth, signal) =>
      a.sourceRef === 'ct-0'
        ? { kind: 'retry', reason: 'HTTP 502', afterMs: 60_000 } // waits on its retry timer at close
        : new Promise<Outcome>((resolve) =>
            signal.addEventListener('abort', () => {
              aborted = true;
              resolve({ kind: 'retry', reason: 'aborted' });
            }),
          ),
    );
    const { d, seen, deadLetters } = delivery(sink, { concurrency: 3, retryMaxMs: 60_000 });
    await pushAll(d, ['ct-1', 'ct-2', 'ct-0', 'ct-3']); // ct-0's failure opens the circuit: ct-3 waits
    await sleep(20);
    const started = Date.now();
    expect(await d.close()).to.equal(4);
    expect(Date.now() - started).to.be.below(200);
    expect(aborted).to.equal(true);
    expect(d.pending).to.equal(0);
    expect(deadLetters).to.have.length(0);
    expect(seen.dead).to.have.length(0);
    expect(seen.delivered).to.have.length(0);
  });

  it('hands each alert\'s ticket (its spool records) back to the hooks', async () => {
    const sink = new ScriptedSink((a) => (a.sourceRef === 'ct-1' ? { kind: 'drop', reason: 'HTTP 400', status: 400 } : { kind: 'delivered' }));
    const tickets: { ref: string; ticket: readonly number[]; how: string }[] = [];
    const { d } = delivery(sink, {
      hooks: {
        delivered: (a) => tickets.push({ ref: a.sourceRef, ticket: a.ticket, how: 'delivered' }),
        retried: () => undefined,
        dead: (a) => tickets.push({ ref: a.sourceRef, ticket: a.ticket, how: 'dead' }),
        readiness: () => undefined,
      },
    });
    expect(d.offer(alert('ct-0'), [7])).to.equal(true);
    await d.push(alert('ct-1'), [8, 9, 12]);
    expect((await d.drain(2000)).delivered).to.equal(true);
    expect(tickets).to.have.deep.members([
      { ref: 'ct-0', ticket: [7], how: 'delivered' },
      { ref: 'ct-1', ticket: [8, 9, 12], how: 'dead' },
    ]);
  });

  describe('with a batching sink (maxBatch > 1)', () => {
    it('hands it everything waiting, up to maxBatch, in one send, oldest first', async () => {
      let open: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const sink = new BatchSink(10, async (_refs, nth) => {
        if (nth === 1) await gate;
        return { kind: 'delivered' };
      });
      const { d, seen } = delivery(sink, { concurrency: 1 });
      await pushAll(d, refs(25)); // ct-0 goes out at once and holds the only slot until the gate opens
      open();
      expect(await d.drain(2000)).to.deep.equal({ delivered: true, left: 0 });
      expect(sink.batches.map((b) => b.length)).to.deep.equal([1, 10, 10, 4]);
      expect(sink.batches.flat()).to.deep.equal(refs(25));
      expect(seen.delivered).to.have.length(25);
      expect(seen.delivered.every((x) => x.attempts === 1 && !x.duplicate)).to.equal(true);
    });

    it('retries a failed batch whole, before newer alerts, and backs off once per failed send', async () => {
      let open: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const sink = new BatchSink(10, async (_refs, nth) => {
        if (nth === 1) await gate;
        return nth === 2 ? { kind: 'retry', reason: 'cannot write alerts.ndjson: ENOSPC' } : { kind: 'delivered' };
      });
      // random ≈ 1: each delay is its whole window, so a window widened per alert (5 failures) would show.
      const { d, seen } = delivery(sink, { concurrency: 1, retryBaseMs: 10, retryMaxMs: 1000, random: () => 0.999 });
      await pushAll(d, refs(6)); // ct-0 alone, then ct-1…ct-5 together
      open();
      await sleep(2); // the second batch has failed; ct-6 and ct-7 arrive while it waits to be retried
      await pushAll(d, ['ct-6', 'ct-7']);
      expect(await d.drain(2000)).to.deep.equal({ delivered: true, left: 0 });
      expect(sink.batches).to.deep.equal([['ct-0'], ['ct-1', 'ct-2', 'ct-3', 'ct-4', 'ct-5'], ['ct-1', 'ct-2', 'ct-3', 'ct-4', 'ct-5'], ['ct-6', 'ct-7']]);
      expect(seen.retried.map((r) => [r.ref, r.reason, r.attempt])).to.deep.equal(
        ['ct-1', 'ct-2', 'ct-3', 'ct-4', 'ct-5'].map((ref) => [ref, 'cannot write alerts.ndjson: ENOSPC', 1]),
      );
      expect(seen.retried.every((r) => r.delayMs === 10)).to.equal(true);
      expect(seen.delivered.filter((x) => x.attempts === 2).map((x) => x.ref)).to.deep.equal(['ct-1', 'ct-2', 'ct-3', 'ct-4', 'ct-5']);
      expect(seen.delivered).to.have.length(8);
    });

    it('dead-letters each alert of a dropped batch, with the status and body', async () => {
      const sink = new BatchSink(10, () => ({ kind: 'drop', reason: 'HTTP 400 BadRequest', status: 400, body: '{}' }));
      const { d, seen, deadLetters } = delivery(sink, { concurrency: 1 });
      await pushAll(d, refs(3));
      expect(await d.drain(2000)).to.deep.equal({ delivered: true, left: 0 });
      expect(deadLetters.map((e) => [e.alert, e.reason, e.status, e.body, e.attempts])).to.deep.equal(
        refs(3).map((ref) => [alert(ref), 'ERR_SINK_REJECTED: HTTP 400 BadRequest', 400, '{}', 1]),
      );
      expect(seen.dead.map((x) => x.ref)).to.deep.equal(refs(3));
    });

    it('gets one alert a send under a rate limit, which counts alerts', async () => {
      const sink = new BatchSink(10);
      const { d } = delivery(sink, { ratePerSec: 100, concurrency: 1 });
      await pushAll(d, refs(5));
      expect((await d.drain(2000)).delivered).to.equal(true);
      expect(sink.batches).to.deep.equal(refs(5).map((ref) => [ref]));
    });

    it('close() aborts a batch in flight and dead-letters nothing', async () => {
      const sink = new BatchSink(2, (_refs, _nth, signal) => new Promise<Outcome>((resolve) => signal.addEventListener('abort', () => resolve({ kind: 'retry', reason: 'aborted' }))));
      const { d, deadLetters, seen } = delivery(sink, { concurrency: 1 });
      await pushAll(d, refs(5)); // ct-0 in flight, ct-1…ct-4 waiting
      expect(await d.close()).to.equal(5);
      expect(sink.batches).to.deep.equal([['ct-0']]);
      expect(deadLetters).to.have.length(0);
      expect(seen.dead).to.have.length(0);
      expect(d.pending).to.equal(0);
    });
  });

  it('rejects invalid options', () => {
    const base = { sink: new ScriptedSink(), deadLetters: { write: async () => undefined }, hooks: recorder().hooks };
    const ok = { ratePerSec: 0, concurrency: 1, maxAttempts: 0, maxPending: 1, retryBaseMs: 0, retryMaxMs: 0, authRetryMs: 0 };
    expect(() => new Delivery({ ...base, ...ok, concurrency: 0 })).to.throw(TypeError, /`concurrency` to be an integer ≥ 1, got 0/);
    expect(() => new Delivery({ ...base, ...ok, ratePerSec: -1 })).to.throw(TypeError, /ratePerSec/);
    expect(() => new Delivery({ ...base, ...ok, maxPending: 0.5 })).to.throw(TypeError, /maxPending/);
  });
});
