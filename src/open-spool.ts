/**
 * Opens serve's spool in `spool.dir/queue` with the `spool.*` keys, its hooks reporting to
 * telemetry, and turns what can go wrong into an operator's error: which key to fix, or which
 * other instance holds the spool, or which release wrote it.
 */
import { join } from 'node:path';
import type { Config } from './config.js';
import { BridgeError } from './errors.js';
import { Spool } from './queue/spool.js';
import type { Telemetry } from './telemetry.js';

export async function openSpool(config: Config, telemetry: Telemetry): Promise<Spool> {
  try {
    return await Spool.open({
      dir: join(config.spool.dir, 'queue'),
      maxBytes: config.spool.maxBytes,
      fsyncIntervalMs: config.spool.fsyncIntervalMs,
      segmentBytes: config.spool.segmentBytes,
      commitBatchBytes: config.spool.commitBatchBytes,
      hooks: {
        committed: (records, _bytes, ms) => telemetry.spoolCommitted(records, ms),
        error: (err, during) => telemetry.spoolError(err, during),
        blocked: (reason) => telemetry.spoolBlocked(reason),
        unblocked: () => telemetry.spoolUnblocked(),
      },
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_SPOOL_LOCKED') throw new BridgeError('ERR_SPOOL_LOCKED', `${(err as Error).message} Stop the other instance, or give this one its own spool.dir (TRACEHIVE_SPOOL_DIR).`, { cause: err });
    if (code === 'ERR_SPOOL_FORMAT') throw new BridgeError('ERR_SPOOL_FORMAT', `ERR_SPOOL_FORMAT: ${(err as Error).message}`, { cause: err });
    if (code === 'ERR_SPOOL_DIR' || (err as NodeJS.ErrnoException).syscall !== undefined) {
      throw new BridgeError('ERR_SPOOL_DIR', `spool.dir ${config.spool.dir}: the spool cannot be opened (${(err as Error).message}). Point TRACEHIVE_SPOOL_DIR at a writable directory.`, { cause: err });
    }
    throw err;
  }
}
