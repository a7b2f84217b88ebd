/**
 * serve's pickup of mails left for it (Postfix's pickup daemon): once per start 0.1.0's legacy
 * `spool.dir/incoming/`, then every few seconds `ingest.dropDir` (incoming.ts). It owns the ledger
 * of drops it could not remove, and says a problem of the drop directory (unreadable, spool full,
 * ledger full) once, not at every poll, and when it is over.
 */
import type { Logger } from 'pino';
import type { Telemetry } from '../telemetry.js';
import { DropLedger } from './drop-ledger.js';
import { drainDrops, type DropIntake } from './incoming.js';
import { drainLegacyIncoming } from './legacy-incoming.js';
import type { SpoolWriter } from './spool-payload.js';

export interface DropPickupOptions {
  readonly spoolDir: string;
  readonly dropDir: string;
  /** The mail size limit (email.smtp.maxBytes, what ingest enforces). */
  readonly maxBytes: number;
  readonly intake: DropIntake;
  readonly telemetry: Telemetry;
  readonly log: Logger;
  /** True once serve is stopping. */
  readonly stopping: () => boolean;
}

export class DropPickup {
  readonly #o: DropPickupOptions;
  #ledger: DropLedger | undefined;
  #trouble = '';

  constructor(options: DropPickupOptions) {
    this.#o = options;
  }

  /** 0.1.0's spool.dir/incoming/ into `spool` (call once per start). */
  async legacy(spool: SpoolWriter): Promise<void> {
    const result = await drainLegacyIncoming(this.#o.spoolDir, spool);
    if (result === null) return;
    this.#o.telemetry.legacyIncoming(result.dir, result.taken, result.refused.length);
    for (const r of result.refused) this.#o.log.error({ file: r.file, reason: r.reason }, 'Legacy drop file refused: never sent, renamed .invalid.');
  }

  /** One round over ingest.dropDir; never rejects (a problem is logged and the round retried). */
  async take(): Promise<void> {
    const o = this.#o;
    try {
      this.#ledger ??= await DropLedger.load(o.spoolDir);
      const r = await drainDrops({ dropDir: o.dropDir, intake: o.intake, ledger: this.#ledger, maxBytes: o.maxBytes, telemetry: o.telemetry, stopping: o.stopping });
      if (r.taken + r.invalid > 0) o.log.info({ taken: r.taken, invalid: r.invalid }, 'Mails from tracehive ingest taken from ingest.dropDir.');
      if (!o.stopping()) this.#say(r.stopped ?? '');
    } catch (err) {
      this.#say(err instanceof Error ? err.message : String(err), err);
    }
  }

  #say(trouble: string, err?: unknown): void {
    if (trouble === this.#trouble) return;
    this.#trouble = trouble;
    if (trouble) this.#o.log.warn({ dropDir: this.#o.dropDir, ...(err ? { err } : {}) }, `Mails in ingest.dropDir are not taken for now: ${trouble}`);
    else this.#o.log.info({ dropDir: this.#o.dropDir }, 'Mails in ingest.dropDir are taken again.');
  }
}
