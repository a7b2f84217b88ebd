/**
 * Per-target gauges (issue 14, routing), read at scrape time from the running targets: whether each
 * delivers, what it holds in memory and in the spool, and whether its backlog is over its share.
 * thehive.url's target is `default`; the totals of tracehive_alerts_* stay as they were.
 */
import { Gauge, type Registry } from 'prom-client';
import type { TargetRuntime } from './target-runtime.js';

export function attachTargetMetrics(registry: Registry, targets: () => readonly TargetRuntime[]): void {
  const registers = [registry];
  new Gauge({
    name: 'tracehive_target_ready',
    help: 'Whether a delivery target takes alerts (1) or not (0): its key check, recent failures, refused rules, a backlog over its share.',
    labelNames: ['target'],
    registers,
    collect() {
      for (const t of targets()) this.set({ target: t.name }, t.readiness().ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tracehive_target_pending',
    help: 'Alerts a delivery target holds in memory for delivery (its window, at most its maxPending).',
    labelNames: ['target'],
    registers,
    collect() {
      for (const t of targets()) this.set({ target: t.name }, t.delivery.pending);
    },
  });
  new Gauge({
    name: 'tracehive_target_spool_held_bytes',
    help: 'Spool bytes a delivery target holds back: from the segment of its oldest undelivered record to the newest.',
    labelNames: ['target'],
    registers,
    collect() {
      for (const t of targets()) this.set({ target: t.name }, t.heldBytes());
    },
  });
  new Gauge({
    name: 'tracehive_target_overflow',
    help: 'Whether a delivery target’s backlog is over its share of the spool (1): what it reads goes to its dead letters (ERR_TARGET_BACKLOG).',
    labelNames: ['target'],
    registers,
    collect() {
      for (const t of targets()) this.set({ target: t.name }, t.overflow === null ? 0 : 1);
    },
  });
}
