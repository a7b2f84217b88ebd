/**
 * Keeps the directories beside the queue within their budgets (kept-files.ts): at start and then
 * every {@link JANITOR_INTERVAL_MS} it recounts dead/, rejected/ and quarantine/ from the disk
 * (an operator may have moved files), deletes what is past its retention, trims rejected/ to its
 * cap (oldest day files first, never the one being written), and reports whether dead letters are
 * over theirs. One small pass over three directory listings: cheap enough to run often, rare
 * enough that retention by the day needs nothing finer.
 */
import type { KeptDir, Telemetry } from '../telemetry.js';
import { dayFileName } from '../io/daily-ndjson.js';
import type { KeptFiles } from '../io/kept-files.js';

/** Retention counts in days and budgets are checked on every write: ten minutes is fine-grained enough. */
export const JANITOR_INTERVAL_MS = 10 * 60_000;

export interface JanitorOptions {
  readonly dead: KeptFiles;
  readonly rejected: KeptFiles;
  readonly quarantine: KeptFiles;
  readonly telemetry: Telemetry;
  /** Why dead letters are over budget, or null (the dead-letter log's overBudget). */
  readonly deadOverBudget: () => string | null;
  readonly now?: () => number;
  /** Where a failed pass is reported (it is retried at the next one). */
  readonly failed: (err: unknown) => void;
}

export class Janitor {
  readonly #o: JanitorOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(options: JanitorOptions) {
    this.#o = options;
    for (const dir of ['dead', 'rejected', 'quarantine'] as const) options.telemetry.attachKept(dir, () => options[dir].usage());
  }

  /** One pass; passes never overlap. */
  run(): Promise<void> {
    this.#running = this.#running.then(() => this.#pass()).catch((err: unknown) => this.#o.failed(err));
    return this.#running;
  }

  /** Runs a pass now and then periodically (the timer does not keep the process alive). */
  start(): Promise<void> {
    this.#timer ??= setInterval(() => void this.run(), JANITOR_INTERVAL_MS);
    this.#timer.unref();
    return this.run();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #pass(): Promise<void> {
    const { telemetry } = this.#o;
    const now = (this.#o.now ?? Date.now)();
    for (const dir of ['dead', 'rejected', 'quarantine'] as const satisfies readonly KeptDir[]) {
      const kept = this.#o[dir];
      await kept.scan();
      telemetry.keptDeleted(dir, 'retention', await kept.expire());
    }
    const today = dayFileName('rejected', new Date(now));
    telemetry.keptDeleted('rejected', 'budget', await this.#o.rejected.dropOldest(0, today));
    telemetry.deadOverBudget(this.#o.deadOverBudget());
  }
}
