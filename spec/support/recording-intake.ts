/**
 * A {@link MailIntake} for the mail source tests: records every mail it is handed and answers as
 * the test says (accept, quarantine, or reject as a full disk would), optionally full or held.
 */
import type { MailIntake, MailOrigin, MailVerdict } from '../../src/sources/mail-intake.js';

export type IntakeMode = 'accept' | 'reject' | 'quarantine';

export class RecordingIntake implements MailIntake {
  /** Mails kept (accepted or quarantined), in order. */
  readonly kept: Array<{ raw: Buffer; origin: MailOrigin }> = [];
  /** Every accept() call, kept or not. */
  readonly calls: MailOrigin[] = [];
  /** What the accept() calls do, in order; the last one repeats. */
  modes: IntakeMode[] = ['accept'];
  /** While set, accept() waits for it before answering. */
  gate: Promise<void> | undefined;
  /** The sourceRef of the n-th kept mail (from 1). */
  readonly #sourceRef: (n: number) => string;
  #full = false;
  #waiters: Array<() => void> = [];

  constructor(sourceRef: (n: number) => string = (n) => `mail-test-${n}`) {
    this.#sourceRef = sourceRef;
  }

  /** Every call does this. */
  set mode(mode: IntakeMode) {
    this.modes = [mode];
  }

  get full(): boolean {
    return this.#full;
  }

  /** Full: whenSpace() waits until it is set back to false. */
  set full(full: boolean) {
    this.#full = full;
    if (!full) for (const wake of this.#waiters.splice(0)) wake();
  }

  whenSpace(): Promise<void> {
    return this.#full ? new Promise((resolve) => this.#waiters.push(resolve)) : Promise.resolve();
  }

  async accept(raw: Buffer, origin: MailOrigin): Promise<MailVerdict> {
    const mode = this.modes[Math.min(this.calls.length, this.modes.length - 1)];
    this.calls.push(origin);
    if (this.gate) await this.gate;
    if (mode === 'reject') throw new Error('ENOSPC: no space left on device (test)');
    this.kept.push({ raw, origin });
    if (mode === 'quarantine') return { kind: 'quarantined', reason: 'ERR_MAIL_PARSE: no parser (test)' };
    return { kind: 'accepted', sourceRef: this.#sourceRef(this.kept.length) };
  }

  /** The Subject of each kept mail, in order. */
  subjects(): string[] {
    return this.kept.map((k) => /^Subject: (.*)$/m.exec(k.raw.toString('utf8'))?.[1]?.trim() ?? '?');
  }
}
