/**
 * What tracehive says about lines whose context fields arrived glued (parse/glue.ts): a counter
 * of the fields split apart and, at most once a minute, a warning that names the fix. The split
 * is a repair with a guess in it (only known feed fields are found), so the operator must hear of
 * it, but a CyberTrace sending thousands of such lines must not flood the log.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

/** One warning per this interval at most; the counter counts every field. */
export const GLUE_WARN_EVERY_MS = 60_000;

export class GlueTelemetry {
  readonly #log: Logger;
  readonly #fields: Counter;
  readonly #now: () => number;
  #lastWarned = Number.NEGATIVE_INFINITY;
  #sinceWarned = 0;

  constructor(log: Logger, registry: Registry, now: () => number = Date.now) {
    this.#log = log;
    this.#now = now;
    this.#fields = new Counter({ name: 'tracehive_glued_fields_total', help: 'Context fields that arrived glued to the value before them (RecordFieldContextFormat without its leading blank) and were split apart.', registers: [registry] });
  }

  /** Counts a parsed line's glued fields; warns when it is the first such line in a minute. */
  parsed(glued: number): void {
    if (glued === 0) return;
    this.#fields.inc(glued);
    this.#sinceWarned += 1;
    const now = this.#now();
    if (now - this.#lastWarned < GLUE_WARN_EVERY_MS) return;
    this.#log.warn(
      { glued, lines: this.#sinceWarned },
      'Context fields arrive glued together (usrName=jsmithmask=…): RecordFieldContextFormat has lost its leading blank. tracehive split the known feed fields apart; add a leading blank to RecordFieldContextFormat in CyberTrace (` %ParamName%=%ParamValue%`) so that no field is missed.',
    );
    this.#lastWarned = now;
    this.#sinceWarned = 0;
  }
}
