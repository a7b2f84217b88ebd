/**
 * The lifecycle as serve runs it: its state store opened in `spool.dir/alerts`, its metrics and log
 * lines, and the poll that carries out `tracehive alerts forget` requests. app.ts builds one when
 * `alert.updateWindowMs` is above 0 and the sink can update alerts.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config.js';
import { Lifecycle, type JobQueue } from './lifecycle.js';
import { StateStore } from './state-store.js';
import { MAIL_STATE_FILE, MailLifecycle, type MailKeyState } from './mail-lifecycle.js';
import type { SightingTarget } from '../queue/feeder.js';
import { FORGET_POLL_MS, doneForget, pendingForgets, readForget } from './forget-requests.js';
import type { AlertOps, AlertStatus, Notifier } from './types.js';
import { AlertStatusCache, WEBHOOK_FRESH_MS } from './status-cache.js';

export interface LifecycleRuntimeOptions {
  readonly config: Config;
  readonly ops: AlertOps;
  readonly queue: JobQueue;
  readonly ack: (seq: number) => void;
  readonly log: Logger;
  readonly registry: Registry;
  readonly notifier?: Notifier;
  readonly now: () => number;
  /**
   * A named target of thehive.targets (issue 14): its state lives in its own directory, its key
   * names its TheHive and organisation, and `tracehive alerts forget` (thehive.url's) is not its.
   */
  readonly namedTarget?: { readonly stateDir: string; readonly url: string; readonly organisation: string };
}

export interface LifecycleRuntime {
  readonly lifecycle: Lifecycle;
  readonly mails: MailLifecycle;
  /** What the feeder hands detections and mail alerts to. */
  readonly target: SightingTarget;
  readonly store: StateStore;
  /** What TheHive's webhook said of an alert (POST /webhooks/thehive). */
  alertEvent(event: { readonly id: string; readonly status: AlertStatus }): void;
  /** Stops the poll and the lifecycle's timers, then waits for state writes in flight. */
  close(): Promise<void>;
}

/** Where the file sink's alerts "go" for the key's target: its path stands for TheHive's URL. */
export function lifecycleTarget(config: Config): { url: string; organisation: string } {
  return { url: config.thehive.url || `file:${config.file.path}`, organisation: config.thehive.organisation };
}

export async function startLifecycle(o: LifecycleRuntimeOptions): Promise<LifecycleRuntime> {
  const { config, log } = o;
  const registers = [o.registry];
  const stateDir = o.namedTarget?.stateDir ?? join(config.spool.dir, 'alerts');
  const keyTarget = o.namedTarget ? { url: o.namedTarget.url, organisation: o.namedTarget.organisation } : lifecycleTarget(config);
  const store = await StateStore.open({ dir: stateDir, maxKeys: config.alert.updateMaxKeys, report: (err) => log.warn({ err }, 'Alert state file damaged: the line is skipped.') });
  const mailStore = await StateStore.open<MailKeyState>({ dir: stateDir, file: MAIL_STATE_FILE, maxKeys: config.alert.updateMaxKeys, report: (err) => log.warn({ err }, 'Mail alert state file damaged: the line is skipped.') });
  const flushes = new Counter({ name: 'tracehive_alert_flushes_total', help: 'Alerts created or updated by the lifecycle (how="created" or "updated"): one per key per alert.updateFlushMs at most.', labelNames: ['how'], registers });
  const sightings = new Counter({ name: 'tracehive_sightings_total', help: 'Detections counted as sightings of an open alert (a line seen again is not counted twice).', registers });
  const generations = new Counter({ name: 'tracehive_alert_generations_total', help: 'Keys whose alert ended and whose next sighting opens a new alert, by why: closed, deleted, expired.', labelNames: ['why'], registers });
  new Gauge({ name: 'tracehive_alert_states', help: 'Keys whose alert tracehive remembers, by kind: detection, mail (each bounded by alert.updateMaxKeys).', labelNames: ['kind'], registers, collect() { this.set({ kind: 'detection' }, store.size); this.set({ kind: 'mail' }, mailStore.size); } });
  const mailUpdates = new Counter({ name: 'tracehive_mail_alert_updates_total', help: 'Mail alerts by what a mail did: created, updated (a SIEM re-notification), unchanged (a resend, an older notification, an ordinary mail again).', labelNames: ['how'], registers });
  // With TheHive's webhooks configured, an alert's status comes from its events: no GET per flush.
  const statuses = new AlertStatusCache(config.http.thehiveWebhookToken ? WEBHOOK_FRESH_MS : 0, o.now);
  const mails = new MailLifecycle({
    statuses,
    store: mailStore,
    ops: o.ops,
    queue: o.queue,
    target: keyTarget,
    ack: o.ack,
    ...(o.notifier ? { notifier: o.notifier } : {}),
    notifyMinSeverity: config.notify.minSeverity,
    flushed: (state, how, changes) => {
      mailUpdates.inc({ how });
      if (how === 'updated') log.info({ sourceRef: state.sourceRef, alertId: state.alertId, changes }, 'Mail alert updated.');
      else log.debug({ sourceRef: state.sourceRef, alertId: state.alertId, how, changes }, how === 'created' ? 'Mail alert created.' : 'Mail changes nothing: alert left as it is.');
    },
  });
  const lifecycle = new Lifecycle({
    statuses,
    store,
    ops: o.ops,
    queue: o.queue,
    policy: config.alert,
    keyFields: config.alert.updateKey,
    target: keyTarget,
    windowMs: config.alert.updateWindowMs,
    flushMs: config.alert.updateFlushMs,
    maxHeld: config.queue.maxPending,
    ack: o.ack,
    ...(o.notifier ? { notifier: o.notifier } : {}),
    notifyMinSeverity: config.notify.minSeverity,
    now: o.now,
    hooks: {
      flushed: (state, how, counted) => {
        flushes.inc({ how });
        sightings.inc(counted);
        log.debug({ key: state.key, sourceRef: state.sourceRef, alertId: state.alertId, how, counted, sightings: state.count }, how === 'created' ? 'Alert created.' : 'Alert updated.');
      },
      nextGeneration: (previous, key) => {
        generations.inc({ why: previous.why.split(' ')[0] ?? 'closed' });
        log.info({ key, previous: previous.sourceRef, alertId: previous.id, why: previous.why }, 'Alert no longer takes sightings: the next one opens a new alert that links it.');
      },
    },
  });
  let polling = Promise.resolve();
  const poll = async (): Promise<void> => {
    if (o.namedTarget) return;
    for (const path of await pendingForgets(config.spool.dir)) {
      for (const key of await readForget(path)) {
        const known = (await lifecycle.forget(key)) || (await mails.forget(key));
        log.info({ key, known }, 'Alert state forgotten.');
      }
      await doneForget(path);
    }
  };
  const timer = setInterval(() => {
    polling = polling.then(poll).catch((err: unknown) => log.error({ err }, 'A tracehive alerts forget request could not be carried out; it stays and is retried.'));
  }, FORGET_POLL_MS);
  timer.unref();
  const target: SightingTarget = {
    get room() {
      return Math.min(lifecycle.room, mails.room);
    },
    whenRoom: () => Promise.all([lifecycle.whenRoom(), mails.whenRoom()]).then(() => undefined),
    add: (seq, record, receivedAt, peer) => lifecycle.add(seq, record, receivedAt, peer),
    addMail: (seq, alert, receivedAt) => mails.add(seq, alert, receivedAt),
  };
  return {
    lifecycle,
    mails,
    target,
    store,
    alertEvent: (event) => statuses.learn(event.id, event.status, true),
    close: async () => {
      clearInterval(timer);
      lifecycle.stop();
      mails.stop();
      await polling;
      await Promise.all([store.close(), mailStore.close()]);
    },
  };
}
