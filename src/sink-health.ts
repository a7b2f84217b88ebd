/**
 * Whether alerts can reach the sink right now: what `/readyz` and `tracehive_sink_ready`
 * report. Fed by delivery outcomes and by the key check against TheHive.
 */
import type { ReadyState } from './http/admin.js';
import type { Outcome } from './types.js';

/**
 * Consecutive retriable failures before the sink counts as not ready. One reset keep-alive
 * socket or one 500 is routine; three in a row with nothing delivered is an outage.
 */
const NOT_READY_AFTER_FAILURES = 3;

export class SinkHealth {
  readonly #onChange: (ready: boolean, reason: string) => void;
  #ready: boolean;
  #reason: string;
  #failures = 0;
  /**
   * TheHive refused a send with 401/403. The key check may still pass (a valid key without
   * the manageAlert/create permission), so only a delivered alert proves it fixed.
   */
  #authFailedOnSend = false;
  /**
   * Rules of `alert.rules` whose values TheHive refused (ERR_RULE_REFUSED), with the reason: each
   * keeps delivery not ready, naming the rule, until an alert that rule shaped is accepted.
   */
  readonly #rules = new Map<string, string>();

  constructor(initial: { ready: boolean; reason: string }, onChange: (ready: boolean, reason: string) => void) {
    this.#ready = initial.ready;
    this.#reason = initial.reason;
    this.#onChange = onChange;
  }

  get state(): ReadyState {
    const reasons = [...(this.#ready ? [] : [this.#reason]), ...this.#rules.values()];
    return { ready: this.#ready && this.#rules.size === 0, reasons };
  }

  /** `rules`: the rules that shaped the delivered alert (its meta), whose refusals it clears. */
  delivered(rules: readonly string[] = []): void {
    this.#failures = 0;
    this.#authFailedOnSend = false;
    for (const rule of rules) if (this.#rules.delete(rule)) this.#onChange(this.#ready && this.#rules.size === 0, `TheHive accepted an alert shaped by ${rule}`);
    this.#set(true, 'the sink confirmed an alert');
  }

  /** TheHive refused a value `rule` set: delivery is not ready for alerts that rule shapes. */
  ruleRefused(rule: string, reason: string): void {
    const had = this.#rules.get(rule);
    this.#rules.set(rule, `ERR_RULE_REFUSED: ${reason}`);
    if (had === undefined) this.#onChange(false, reason);
  }

  retried(reason: string): void {
    this.#failures++;
    if (this.#failures >= NOT_READY_AFTER_FAILURES) this.#set(false, reason);
  }

  authFailed(reason: string): void {
    this.#authFailedOnSend = true;
    this.#set(false, reason);
  }

  /** The result of the key check (`GET /api/v1/user/current`). */
  checked(outcome: Outcome): void {
    if (outcome.kind !== 'delivered') this.#set(false, outcome.reason);
    else if (!this.#authFailedOnSend) this.#set(true, 'TheHive accepted the API key');
  }

  #set(ready: boolean, reason: string): void {
    if (ready === this.#ready && (ready || reason === this.#reason)) return;
    this.#ready = ready;
    this.#reason = reason;
    this.#onChange(ready, reason);
  }
}
