/**
 * Whether tracehive takes input now, for every source at once (fluent-bit's pause/resume): the
 * spool must take writes (not `blocked` by a failing disk), have room (`spool.maxBytes`), and no
 * other budget may be exhausted (the dead-letter files' cap). The TCP listener stops reading, SMTP
 * answers 452, IMAP stops fetching, all from the same answer, and `/readyz` gives its reasons.
 *
 * The spool's transient "a batch waits for its fsync" state is not a reason here: it pauses the
 * TCP listener for a few milliseconds (append's own backpressure), never a mail or a balancer.
 */
import type { Spool } from './queue/spool.js';

/** How often a wait re-checks budgets that have no event of their own (a janitor frees them). */
const RECHECK_MS = 1000;

/** A budget besides the spool: null while fine, else why input must wait and what to do. */
export type Budget = () => string | null;

export class InputGate {
  readonly #spool: () => Spool | undefined;
  readonly #budgets: Budget[] = [];

  constructor(spool: () => Spool | undefined) {
    this.#spool = spool;
  }

  /** Adds a budget that pauses input while it returns a reason. */
  addBudget(budget: Budget): void {
    this.#budgets.push(budget);
  }

  /** Why input is paused now (empty: it is not). */
  reasons(): string[] {
    const out: string[] = [];
    for (const budget of this.#budgets) {
      const why = budget();
      if (why !== null) out.push(why);
    }
    return out;
  }

  /** True while the spool cannot be written, is at spool.maxBytes, or a budget is exhausted. */
  get paused(): boolean {
    const spool = this.#spool();
    if (spool === undefined || spool.closed) return false;
    return spool.blocked !== null || spool.atMaxBytes || this.#budgets.some((b) => b() !== null);
  }

  /** Resolves once input may go on (at once when it may), or when the spool closes. */
  async whenOpen(): Promise<void> {
    for (;;) {
      const spool = this.#spool();
      if (spool === undefined || spool.closed) return;
      if (spool.full) await spool.whenSpace();
      else if (this.paused) await new Promise((resolve) => setTimeout(resolve, RECHECK_MS).unref());
      else return;
    }
  }
}
