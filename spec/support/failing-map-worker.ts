/**
 * A map worker that fails, for spec/unit/map-worker/client.spec.ts: it exits on the first batch
 * (a crash), or, when the policy's `source` is `reply-error`, answers every batch with an error.
 */
import { parentPort, workerData } from 'node:worker_threads';

const replies = (workerData as { policy: { source: string } }).policy.source === 'reply-error';
parentPort?.on('message', (request: { id: number }) => {
  if (!replies) process.exit(3);
  parentPort?.postMessage({ id: request.id, error: 'this batch threw' });
});
