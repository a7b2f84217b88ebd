/**
 * One line's way through the bridge: count it, parse it, map it, hand the alert on.
 * Shared by the TCP listener and `tracehive map` so both see exactly the same alerts.
 */
import { parseLine } from './parse/kv.js';
import { alertFromRecord } from './map/alert.js';
import type { Telemetry } from './telemetry.js';
import type { ErrorCode } from './errors.js';
import type { Alert, AlertPolicy } from './types.js';

/** Longest excerpt of a rejected line kept in the rejected log (the rest is cut, and said so). */
const REJECTED_KEEP_CHARS = 8192;

/** One entry of the rejected-line log. */
export interface RejectedEntry {
  readonly time: string;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly peer: string;
  readonly line: string;
  readonly truncated: boolean;
}

export interface LinePipelineOptions {
  readonly policy: AlertPolicy;
  readonly telemetry: Telemetry;
  readonly now: () => number;
  /** Takes the alert; returns a promise only when the caller must wait (queue full). */
  readonly deliver: (alert: Alert) => void | Promise<void>;
  readonly keepRejected: (entry: RejectedEntry) => void;
}

export class LinePipeline {
  readonly #o: LinePipelineOptions;

  constructor(options: LinePipelineOptions) {
    this.#o = options;
  }

  /** Handles one line from `peer`; a returned promise means "pause this source until it settles". */
  handle(line: string, peer: string): void | Promise<void> {
    const { telemetry } = this.#o;
    telemetry.lineReceived();
    const alert = this.toAlert(line, peer);
    if (alert === undefined) return undefined;
    telemetry.alertQueued();
    return this.#o.deliver(alert);
  }

  /** Parses and maps one line; undefined when it becomes no alert (rejected, finished, logged service alert). */
  toAlert(line: string, peer: string): Alert | undefined {
    const { telemetry, policy } = this.#o;
    const parsed = parseLine(line);
    if (!parsed.ok) {
      telemetry.lineRejected(parsed.code, parsed.detail, peer, line);
      // A blank line carries nothing worth keeping for inspection.
      if (parsed.code !== 'ERR_LINE_EMPTY') {
        this.#o.keepRejected({
          time: new Date(this.#o.now()).toISOString(),
          code: parsed.code,
          detail: parsed.detail,
          peer,
          line: line.slice(0, REJECTED_KEEP_CHARS),
          truncated: line.length > REJECTED_KEEP_CHARS,
        });
      }
      return undefined;
    }
    const record = parsed.value;
    telemetry.lineParsed(record);
    // Service alerts are only logged and counted unless alert.serviceAlerts says otherwise.
    if (record.kind === 'service' && policy.serviceAlerts !== 'alert') return undefined;
    return alertFromRecord(record, policy, this.#o.now()) ?? undefined;
  }
}
