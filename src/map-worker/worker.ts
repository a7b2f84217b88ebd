/**
 * The map worker's thread (issue 15, point 3): parses, maps and encodes batches of listener
 * lines with the one pure function the main thread would run (map/line-batch.ts), so that the
 * main thread keeps sockets, spool and delivery and the second core does the mapping.
 * Messages are answered in the order they came; a batch that throws is answered with the error
 * (the main thread then maps it itself), and the worker goes on.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { mapLineBatch, packOutcomes, type PackedOutcomes } from '../map/line-batch.js';
import type { AlertPolicy } from '../types.js';

/**
 * A batch to map. The lines cross as an array of strings, each cloned on its own: a line with a
 * character above U+00FF stays two-byte alone and widens no other (V8 keeps a string one byte a
 * character while every character is below U+0100, and a string joined from a two-byte one is
 * two-byte: every copy, regex and encode of it costs twice as much); the receive
 * times in a transferred buffer.
 */
export interface MapRequest {
  readonly id: number;
  readonly lines: readonly string[];
  readonly times: Float64Array;
  readonly peers?: readonly string[];
  readonly parseOnly: boolean;
}

/** Its outcomes (map/line-batch.ts packOutcomes: their fields in one flat array), or why it failed. */
export type MapReply = { readonly id: number; readonly outcomes: PackedOutcomes } | { readonly id: number; readonly error: string };

const policy = (workerData as { policy: AlertPolicy }).policy;
const port = parentPort;
if (port === null) throw new Error('map-worker/worker.js runs as a worker thread only.');

port.on('message', (request: MapRequest) => {
  let reply: MapReply;
  try {
    const outcomes = packOutcomes(mapLineBatch({ lines: request.lines, times: request.times, parseOnly: request.parseOnly, ...(request.peers ? { peers: request.peers } : {}) }, policy));
    reply = { id: request.id, outcomes };
    port.postMessage(reply);
  } catch (err) {
    reply = { id: request.id, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
