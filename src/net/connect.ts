/**
 * Outgoing TCP connections of the sending tools (`tracehive replay`, loadgen): connect with a
 * deadline (a listener that never answers SYN would keep us waiting for the OS, minutes), no
 * Nagle (they batch their own writes), an optional abort, and an all-or-nothing group. What
 * each tool tells the operator about a failure stays its own: it passes `explain`.
 */
import { createConnection, type Socket } from 'node:net';

/** How long a connect may take before it fails with ETIMEDOUT. */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Aborting rejects with the signal's reason, unexplained. */
  readonly signal?: AbortSignal;
  /** Turns a connect failure into the error the caller reports. */
  readonly explain: (err: unknown) => Error;
}

/** One connection, ready to write. */
export function connect(o: ConnectOptions): Promise<Socket> {
  const { signal } = o;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const socket = createConnection({ host: o.host, port: o.port, noDelay: true, timeout: CONNECT_TIMEOUT_MS });
    const done = (err?: unknown): void => {
      socket.off('connect', done).off('error', done).off('timeout', onTimeout);
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) {
        socket.setTimeout(0);
        resolve(socket);
      } else {
        socket.destroy();
        reject(signal !== undefined && err === signal.reason ? err : o.explain(err));
      }
    };
    const onTimeout = (): void => done(Object.assign(new Error(`connect ETIMEDOUT ${o.host}:${o.port}`), { code: 'ETIMEDOUT' }));
    const onAbort = (): void => done(signal?.reason);
    socket.once('connect', () => done()).once('error', done).once('timeout', onTimeout);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `count` connections; if one fails, closes the others and rejects with its (explained) error. */
export async function connectAll(count: number, o: ConnectOptions): Promise<Socket[]> {
  const results = await Promise.allSettled(Array.from({ length: count }, () => connect(o)));
  const sockets = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed === undefined) return sockets;
  for (const s of sockets) s.destroy();
  throw failed.reason;
}
