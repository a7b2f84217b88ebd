/**
 * The main thread's side of the map worker (issue 15, point 3): `map` sends a batch of lines to
 * the worker thread (the lines as an array of strings, their times in a transferred buffer:
 * worker.ts) and resolves with their outcomes, in order. When the thread fails (it exits, or a
 * batch throws there), the batch is mapped here instead, with the same pure function, and the
 * failure is reported once: no line is lost to a worker's bug.
 */
import { Worker } from 'node:worker_threads';
import { mapLineBatch, unpackOutcomes, type LineBatch, type LineOutcome } from '../map/line-batch.js';
import type { MapReply, MapRequest } from './worker.js';
import type { AlertPolicy } from '../types.js';

/** Maps batches of lines: on a worker thread, or here. */
export interface LineMapper {
  map(batch: LineBatch): Promise<LineOutcome[]>;
  close(): Promise<void>;
}

/** Maps on the calling thread (one core, or `tcp.mapWorker: off`). */
export function inlineMapper(policy: AlertPolicy): LineMapper {
  return {
    map: (batch) => Promise.resolve(mapLineBatch(batch, policy)),
    close: () => Promise.resolve(),
  };
}

interface Waiting {
  readonly batch: LineBatch;
  readonly resolve: (outcomes: LineOutcome[]) => void;
}

/** The worker thread's script. */
const WORKER_SCRIPT = new URL('./worker.js', import.meta.url);

/**
 * Starts the worker thread; `failed` is called if it fails (its batches are then mapped here).
 * Must not throw. `script`: another worker script (tests: one that fails).
 */
export function workerMapper(policy: AlertPolicy, failed: (err: Error) => void, script: URL = WORKER_SCRIPT): LineMapper {
  const waiting = new Map<number, Waiting>();
  let nextId = 0;
  let broken = false;
  const worker = new Worker(script, { workerData: { policy } });
  // A server never waits for this thread to exit: close() ends it.
  worker.unref();

  const here = (w: Waiting): void => w.resolve(mapLineBatch(w.batch, policy));
  const fail = (err: Error): void => {
    if (broken) return;
    broken = true;
    failed(err);
    for (const w of waiting.values()) here(w);
    waiting.clear();
  };
  worker.on('message', (reply: MapReply) => {
    const w = waiting.get(reply.id);
    if (w === undefined) return;
    waiting.delete(reply.id);
    if ('error' in reply) {
      // One batch threw there: this batch is mapped here; the thread goes on.
      failed(new Error(`map worker: ${reply.error}`));
      here(w);
      return;
    }
    try {
      w.resolve(unpackOutcomes(reply.outcomes, w.batch.lines.length));
    } catch (err) {
      failed(err instanceof Error ? err : new Error(String(err)));
      here(w);
    }
  });
  worker.on('error', (err) => fail(err));
  worker.on('exit', (code) => fail(new Error(`map worker exited with code ${code}`)));

  return {
    map(batch) {
      return new Promise<LineOutcome[]>((resolve) => {
        const w = { batch, resolve };
        if (broken) return here(w);
        const id = nextId++;
        waiting.set(id, w);
        const times = Float64Array.from(batch.times);
        const request: MapRequest = { id, lines: batch.lines, times, parseOnly: batch.parseOnly === true, ...(batch.peers ? { peers: batch.peers } : {}) };
        worker.postMessage(request, [times.buffer as ArrayBuffer]);
      });
    },
    async close() {
      broken = true; // an exit from here on is ours
      for (const w of waiting.values()) here(w);
      waiting.clear();
      await worker.terminate();
    },
  };
}

/**
 * `count` mappers (tcp.mapWorkers) taking batches in turn. The pipeline spools each batch's
 * outcomes in the order the batches were sent, whichever thread answers first.
 */
export function mapperPool(count: number, start: () => LineMapper): LineMapper {
  if (count === 1) return start();
  const mappers = Array.from({ length: count }, start);
  let next = 0;
  return {
    map: (batch) => (mappers[next++ % count] as LineMapper).map(batch),
    async close() {
      await Promise.all(mappers.map((m) => m.close()));
    },
  };
}
