/**
 * The rejected-line log: CyberTrace lines that match no known shape, kept for an operator in
 * `spool.dir/rejected/rejected-YYYY-MM-DD.ndjson`, one `{version, time, code, detail, peer, line,
 * truncated}` object per line (0.1.0 wrote the same without `version`; a line keeps at most 8 KiB
 * of the input, see pipeline.ts). Any allowed peer can send garbage, so the log has a byte cap
 * (`spool.rejected.maxBytes`): over it the oldest day files are deleted first, and a line that
 * still does not fit is only counted (`tracehive_rejected_lines_not_kept_total`).
 */
import { createDailyNdjson } from '../io/daily-ndjson.js';
import type { KeptFiles } from '../io/kept-files.js';
import type { RejectedEntry } from '../pipeline.js';
import type { Telemetry } from '../telemetry.js';

/** The format of a rejected line. */
export const REJECTED_LINE_VERSION = 1;

export interface RejectedLog {
  /** Keeps one entry, or only counts it when the cap is reached; rejects on I/O errors. */
  write(entry: RejectedEntry): Promise<void>;
  close(): Promise<void>;
}

/** Opens (lazily) the rejected-line log in `kept.dir`, within `kept`'s budget. */
export function createRejectedLog(kept: KeptFiles, telemetry: Telemetry, now: () => Date = () => new Date()): RejectedLog {
  const log = createDailyNdjson(kept.dir, 'rejected', now, false, kept);
  return {
    async write(entry) {
      if (await log.append({ version: REJECTED_LINE_VERSION, ...entry })) telemetry.rejectedLineKept();
      else telemetry.rejectedLineNotKept(kept.usage());
    },
    close: () => log.close(),
  };
}
