/**
 * One delivery target as serve runs it (issue 14, routing): thehive.url's (`default`, or the file
 * sink) or a named one of thehive.targets. Each has its own sink and key check, delivery queue
 * (window, rate, retries), dead letters, alert lifecycle, and feeder reading the one spool through
 * its own cursor: it delivers the records routed to it and lets go of the others, so one target's
 * outage holds back only its own records, never another target's input or delivery.
 *
 * A target's share of the spool (`spoolMaxBytes`) bounds what its backlog holds: past it, what the
 * target reads goes to its dead letters (`ERR_TARGET_BACKLOG`, requeued with `tracehive spool
 * requeue-dead` once it is back) instead of filling the spool every target's input shares.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { redactUrl, type Config } from './config.js';
import { DEFAULT_TARGET, type ResolvedTarget } from './config-targets.js';
import type { ReadyState } from './http/admin.js';
import type { FileStore } from './io/file-store.js';
import type { KeptFiles } from './io/kept-files.js';
import { startLifecycle, type LifecycleRuntime } from './lifecycle/runtime.js';
import type { Notifier } from './lifecycle/types.js';
import { mapSpooled, premapSpooled, routeSpooled } from './pipeline.js';
import type { LineMapper } from './map-worker/client.js';
import { createDeadLetterLog, type DeadLetterLog } from './queue/dead-letter.js';
import { Delivery } from './queue/delivery.js';
import { encodedAlert, Feeder, type FeedSource, type Mapped } from './queue/feeder.js';
import type { SpoolEntry } from './queue/spool.js';
import type { RuleTelemetry } from './rule-telemetry.js';
import { SinkHealth } from './sink-health.js';
import { SinkProbe } from './sink-probe.js';
import { createFileSink } from './sinks/file.js';
import { createTheHiveSink, type TheHiveSink } from './sinks/thehive.js';
import { theHiveOptionsOf } from './app-options.js';
import type { Telemetry } from './telemetry.js';
import type { Alert, Sink } from './types.js';

/**
 * Appends to the file sink in flight at once. Each takes everything waiting (group commit, up to
 * the sink's maxBatch), so one is enough: appends to one file run one after another anyway.
 */
const FILE_SINK_CONCURRENCY = 1;
/** How often a target's hold on the spool is measured against its share. */
const SHARE_CHECK_MS = 1000;
/** Back under its share once the backlog holds less than this part of it (no flapping at the edge). */
const SHARE_RESUME = 0.8;

/** What the spool gives a target's feeder: its own cursor (the primary reader for `default`). */
export interface TargetSource extends FeedSource {
  release(seq: number): void;
  heldBytes(): number;
}

export interface TargetRuntimeOptions {
  readonly target: ResolvedTarget;
  /** Every target name configured: a record routed to none of them goes to `default`'s dead letters. */
  readonly names: ReadonlySet<string>;
  readonly config: Config;
  readonly files: FileStore;
  readonly telemetry: Telemetry;
  readonly ruleTelemetry: RuleTelemetry;
  readonly log: Logger;
  readonly now: () => number;
  /** spool.dir/dead and its budget (shared by every target: each writes its own day files there). */
  readonly dead: KeptFiles;
  readonly deadBudgetChecked: (overBudget: string | null) => void;
  /** Its readiness changed (app.ts sums the targets up for /readyz/delivery and tracehive_sink_ready). */
  readonly readinessChanged: (ready: boolean, reason: string) => void;
}

export class TargetRuntime {
  readonly name: string;
  readonly target: ResolvedTarget;
  readonly sink: Sink;
  readonly theHive: TheHiveSink | undefined;
  readonly health: SinkHealth;
  readonly delivery: Delivery;
  readonly deadLetters: DeadLetterLog;
  readonly probe: SinkProbe | undefined;
  lifecycle: LifecycleRuntime | undefined;
  feeder: Feeder | undefined;
  readonly #o: TargetRuntimeOptions;
  readonly #log: Logger;
  #source: TargetSource | undefined;
  #overflow: string | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: TargetRuntimeOptions) {
    this.#o = o;
    const { target, config, telemetry } = o;
    this.name = target.name;
    this.target = target;
    this.#log = target.name === DEFAULT_TARGET ? o.log : o.log.child({ target: target.name });
    const usesTheHive = target.url !== '';
    this.theHive = usesTheHive ? createTheHiveSink({ ...theHiveOptionsOf(target), files: o.files, warn: (m) => this.#log.warn({ component: 'thehive', target: target.name }, m), observe: (result, seconds) => telemetry.theHiveExchange(result, seconds) }) : undefined;
    this.sink = this.theHive ?? createFileSink(config.file.path, o.files);
    this.deadLetters = createDeadLetterLog(o.dead.dir, undefined, o.dead, o.deadBudgetChecked, target.name === DEFAULT_TARGET ? 'dead' : `dead.${target.name}`);
    this.health = new SinkHealth(usesTheHive ? { ready: false, reason: 'checking the API key with TheHive' } : { ready: true, reason: '' }, (ready, reason) => o.readinessChanged(ready, reason));
    this.probe = this.theHive ? new SinkProbe(this.theHive, this.health, target.timeoutMs) : undefined;
    const ack = (ticket: readonly number[]): void => {
      for (const seq of ticket) this.#source?.ack(seq);
    };
    this.delivery = new Delivery({
      sink: this.sink,
      deadLetters: this.deadLetters,
      // The TheHive sink's client applies the target's ratePerSec to every request; a file takes alerts as fast as the disk does.
      ratePerSec: 0,
      concurrency: usesTheHive ? target.concurrency : FILE_SINK_CONCURRENCY,
      maxAttempts: config.queue.maxAttempts,
      maxPending: target.maxPending,
      retryBaseMs: config.queue.retryBaseMs,
      retryMaxMs: config.queue.retryMaxMs,
      authRetryMs: config.queue.authRetryMs,
      hooks: {
        delivered: (alert, duplicate, attempts) => {
          ack(alert.ticket);
          alert.job?.settled();
          telemetry.alertDelivered(alert, duplicate, attempts);
          this.health.delivered(alert.meta?.rules);
        },
        retried: (alert, reason, delayMs, attempt) => {
          telemetry.alertRetried(alert, reason, delayMs, attempt);
          this.health.retried(reason);
        },
        dead: (alert, reason, status, rule) => {
          ack(alert.ticket);
          alert.job?.settled();
          telemetry.alertDead(alert, reason, status);
          if (rule !== undefined) this.health.ruleRefused(rule, reason.replace(/^ERR_RULE_REFUSED: /, ''));
        },
        // Delivery reports readiness changes on 401/403 (false) and on the next success (true).
        readiness: (ready, reason) => (ready ? this.health.delivered() : this.health.authFailed(reason)),
      },
    });
  }

  /** True when the alert lifecycle runs for this target (alert.updateWindowMs, and a sink that updates alerts). */
  get lifecycleOn(): boolean {
    return this.#o.config.alert.updateWindowMs > 0 && this.sink.ops !== undefined;
  }

  /** Why its backlog goes to the dead letters now (over its share of the spool), or null. */
  get overflow(): string | null {
    return this.#overflow;
  }

  /** Spool bytes its backlog holds (0 before start). */
  heldBytes(): number {
    return this.#source?.heldBytes() ?? 0;
  }

  /** Opens its lifecycle state and starts its feeder on `source`, and its key check. */
  /** `mapper`: the map worker, which maps the lines this target reads back from disk (issue 15). */
  async start(source: TargetSource, notifier: Notifier | undefined, registry: Registry, mapper?: LineMapper): Promise<void> {
    const { config, target, now } = this.#o;
    this.#source = source;
    const ops = this.sink.ops;
    if (this.lifecycleOn && ops !== undefined) {
      const named = target.name === DEFAULT_TARGET ? {} : { namedTarget: { stateDir: join(config.spool.dir, 'targets', target.name, 'alerts'), url: target.url, organisation: target.organisation } };
      // A named target's lifecycle metrics would repeat thehive.url's names: they stay off /metrics.
      this.lifecycle = await startLifecycle({ config, ops, queue: this.delivery, ack: (seq) => source.ack(seq), log: this.#log.child({ component: 'lifecycle' }), registry: target.name === DEFAULT_TARGET ? registry : new Registry(), now, ...(notifier ? { notifier } : {}), ...named });
    }
    const lifecycle = this.lifecycle;
    this.feeder = new Feeder({
      spool: source,
      delivery: this.delivery,
      map: (entry) => this.#map(entry, lifecycle !== undefined),
      // The lifecycle groups parsed records, and a v0 sink encodes its own bodies: those map here.
      ...(mapper !== undefined && lifecycle === undefined && this.sink.wire === true ? { premap: (entries: readonly SpoolEntry[]) => premapSpooled(entries, mapper, config.alert) } : {}),
      ...(lifecycle ? { lifecycle: lifecycle.target } : {}),
      skipped: (entry, reason, invalid) => this.#o.telemetry.spoolSkipped(reason, invalid, entry.seq),
      failed: (err) => this.#o.telemetry.spoolError(err, 'read'),
      overflowing: () => this.#overflow,
      dead: (batch) => this.#bury(batch),
    });
    this.feeder.start();
    if (Number.isFinite(target.spoolMaxBytes)) {
      this.#timer = setInterval(() => this.#checkShare(), SHARE_CHECK_MS);
      this.#timer.unref();
    }
    if (this.theHive) {
      this.#log.info({ url: redactUrl(target.url), organisation: target.organisation || undefined, target: target.name }, 'Delivering alerts to TheHive; checking the API key.');
      // Not awaited: a slow TheHive must not delay accepting CyberTrace's connections.
      this.probe?.start();
    }
  }

  /** What one spool record is for this target: its own (mapped), another target's (pass), or a dead letter. */
  #map(entry: SpoolEntry, grouping: boolean): Mapped {
    const { config, names } = this.#o;
    // One target owns every record: no need to route it first (a mail alert would be decoded twice);
    // its mapped alert still says which target it was spooled for.
    const routing = names.size > 1;
    let routed = routing ? routeSpooled(entry, config.alert) : undefined;
    const owner = routed === undefined || routed === DEFAULT_TARGET ? DEFAULT_TARGET : names.has(routed) ? routed : DEFAULT_TARGET;
    if (owner !== this.name) return { kind: 'pass' };
    // In overflow, sightings become alerts too: they go to the dead letters, not to the lifecycle.
    const mapped = mapSpooled(entry, config.alert, grouping && this.#overflow === null);
    if (mapped.kind !== 'alert' && mapped.kind !== 'mail' && mapped.kind !== 'encoded') return mapped;
    const meta = mapped.kind === 'encoded' ? mapped.meta : mapped.alert.meta;
    this.#o.ruleTelemetry.mapped(mapped.kind === 'encoded' ? mapped : mapped.alert);
    if (!routing) routed = meta?.target;
    const whole = (): Alert => (mapped.kind === 'encoded' ? encodedAlert(mapped) : mapped.alert);
    if (routed !== undefined && routed !== DEFAULT_TARGET && !names.has(routed)) {
      return { kind: 'dead', alert: whole(), reason: `ERR_TARGET_UNKNOWN: the alert is for target ${JSON.stringify(routed)}, which thehive.targets no longer has; add it back and run tracehive spool requeue-dead` };
    }
    if (this.#overflow !== null) return { kind: 'dead', alert: whole(), reason: this.#overflow };
    return mapped;
  }

  async #bury(batch: readonly { readonly alert: Alert; readonly reason: string; readonly seq: number }[]): Promise<void> {
    await this.deadLetters.writeMany(batch.map((b) => ({ alert: b.alert, reason: b.reason, attempts: 0 })));
    const counts = new Map<string, number>();
    for (const b of batch) {
      const code = /^(ERR_[A-Z_]+):/.exec(b.reason)?.[1] ?? 'ERR_TARGET_BACKLOG';
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    for (const [code, n] of counts) this.#o.telemetry.alertsDeadBatch(code, n);
    this.#log.warn({ target: this.name, alerts: batch.length, reason: batch[0]?.reason }, 'Alerts written to the dead letters without a delivery attempt.');
  }

  /** Turns overflow on past the target's share of the spool, off again well below it. */
  #checkShare(): void {
    const share = this.target.spoolMaxBytes;
    const held = this.heldBytes();
    if (this.#overflow === null && held > share) {
      this.#overflow = `ERR_TARGET_BACKLOG: target ${this.name}'s backlog held ${held} bytes of the spool, over its share (thehive.targets.${this.name}.spoolMaxBytes or an equal share of spool.maxBytes: ${share}); once it delivers again, run tracehive spool requeue-dead`;
      this.#log.error({ target: this.name, heldBytes: held, shareBytes: share }, 'A target’s backlog is over its share of the spool: what it reads now goes to its dead letters, so the other targets keep their input. Check that TheHive; requeue its dead letters once it delivers again.');
      this.feeder?.poke();
      this.#o.readinessChanged(false, `target ${this.name}: backlog over its share of the spool`);
    } else if (this.#overflow !== null && held < share * SHARE_RESUME) {
      this.#overflow = null;
      this.#log.warn({ target: this.name, heldBytes: held, shareBytes: share }, 'A target’s backlog is back under its share of the spool: its alerts are delivered again.');
      this.#o.readinessChanged(this.readiness().ready, `target ${this.name}: backlog back under its share of the spool`);
    }
  }

  /** Its delivery readiness, with the overflow as a reason. */
  readiness(): ReadyState {
    const state = this.health.state;
    if (this.#overflow === null) return state;
    return { ready: false, reasons: [...state.reasons, `backlog over its share of the spool: its alerts go to the dead letters`] };
  }

  /** Stops the key check and the share check (shutdown begins). */
  stopChecks(): void {
    this.probe?.stop();
    if (this.#timer) clearInterval(this.#timer);
  }
}
