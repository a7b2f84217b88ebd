/**
 * The facts of `alert.rules` at run time: values a rule could not convert (ERR_RULE_VALUE),
 * counted per rule and logged at most once a minute per rule: a rule that fails on every event
 * must not fill the log, nor go unnoticed.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Alert } from './types.js';

/** A rule's conversion failures are logged at warn once per this interval, else at debug. */
const REPEAT_LOG_MS = 60_000;

export class RuleTelemetry {
  readonly #log: Logger;
  readonly #dropped: Counter<'rule'>;
  readonly #lastLogged = new Map<string, number>();
  readonly #now: () => number;

  constructor(registry: Registry, log: Logger, now: () => number = Date.now) {
    this.#log = log;
    this.#now = now;
    this.#dropped = new Counter({ name: 'tracehive_rule_values_dropped_total', help: 'Values of alert.rules (custom fields, external links) that did not convert and were left out of their alert (ERR_RULE_VALUE), by rule.', labelNames: ['rule'], registers: [registry] });
  }

  /** Counts and logs what `alert`'s rules left out, if anything. */
  mapped(alert: Pick<Alert, 'sourceRef' | 'meta'>): void {
    for (const problem of alert.meta?.dropped ?? []) {
      // `alert.rules[1] (name) set.customFields.x (integer): …`: the rule is what precedes ` set.`.
      const rule = problem.slice(0, Math.max(0, problem.indexOf(' set.'))) || 'alert.rules';
      this.#dropped.inc({ rule });
      const now = this.#now();
      const last = this.#lastLogged.get(rule);
      const level = last === undefined || now - last >= REPEAT_LOG_MS ? 'warn' : 'debug';
      if (level === 'warn') this.#lastLogged.set(rule, now);
      this.#log[level]({ sourceRef: alert.sourceRef, rule, problem }, 'ERR_RULE_VALUE: a rule’s value did not convert and was left out of the alert; fix the rule or its field (counted in tracehive_rule_values_dropped_total).');
    }
  }
}
