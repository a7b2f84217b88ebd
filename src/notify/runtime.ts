/**
 * Notifications as serve runs them (issue 12 point 5): the outbox in `spool.dir/notify/`, the
 * channels `notify.smtp.*` and `notify.webhook.*` configure, the sender's loop, the dead letters
 * and the metrics. app.ts builds it before the lifecycle and hands `notifier` to it; undefined
 * when no channel is configured.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Notifier } from '../lifecycle/types.js';
import { createNotifyDeadLetters } from './dead-letters.js';
import { createMailChannel } from './mail-channel.js';
import { notifyDir, Outbox } from './outbox.js';
import { notificationKey, type Channel, type ChannelName } from './record.js';
import type { Notification } from './render.js';
import { Sender } from './sender.js';
import { createWebhookChannel } from './webhook-channel.js';

export interface NotifierRuntimeOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly registry: Registry;
  readonly now: () => number;
  /** The channels, for tests; built from the config by default. */
  readonly channels?: readonly Channel[];
}

export interface NotifierRuntime {
  readonly notifier: Notifier;
  readonly outbox: Outbox;
  /** Puts a dead-lettered channel of a notification back (`tracehive spool requeue-dead`). */
  requeue(event: Notification, channel: ChannelName): Promise<void>;
  /** Stops the loop after the attempt in flight and closes the files. */
  close(): Promise<void>;
}

/** How often markers past their age or count are removed. */
const PRUNE_MS = 3600_000;

/** The channels the configuration sets up. */
export function channelsOf(config: Config, now: () => number): Channel[] {
  const n = config.notify;
  const linkBaseUrl = n.linkBaseUrl || config.thehive.url;
  const out: Channel[] = [];
  if (n.smtp.host !== '') {
    const { caFile, ...smtp } = n.smtp;
    out.push(createMailChannel({ ...smtp, ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}), from: n.from, to: n.to, linkBaseUrl }));
  }
  if (n.webhook.url !== '') {
    out.push(createWebhookChannel({ url: n.webhook.url, token: n.webhook.token, linkBaseUrl, now }));
  }
  return out;
}

export async function startNotifier(o: NotifierRuntimeOptions): Promise<NotifierRuntime | undefined> {
  const { config, log } = o;
  const channels = o.channels ?? channelsOf(config, o.now);
  if (channels.length === 0) return undefined;
  const names = channels.map((c) => c.name);
  const registers = [o.registry];
  const total = new Counter({ name: 'tracehive_notifications_total', help: 'Notification attempts per channel (mail, webhook) by outcome: sent, retried, dead.', labelNames: ['channel', 'outcome'], registers });
  const outbox = await Outbox.open({ dir: notifyDir(config.spool.dir), now: o.now, report: (err) => log.warn({ err }, 'A notification record cannot be read: kept as it is, not sent.') });
  new Gauge({ name: 'tracehive_notifications_pending', help: 'Notifications recorded and not yet sent or dead-lettered on every channel.', registers, collect() { this.set(outbox.pending); } });
  const dead = createNotifyDeadLetters(config.spool.dir, () => new Date(o.now()));
  const sender = new Sender({
    outbox,
    channels,
    dead,
    now: o.now,
    hooks: {
      sent: (channel, key, attempts) => {
        total.inc({ channel, outcome: 'sent' });
        log.info({ channel, key, attempts }, 'Notification sent.');
      },
      retried: (channel, key, reason, nextAt) => {
        total.inc({ channel, outcome: 'retried' });
        log.warn({ channel, key, reason, retryAt: new Date(nextAt).toISOString() }, 'Notification not sent; retried later.');
      },
      dead: (channel, key, reason) => {
        total.inc({ channel, outcome: 'dead' });
        log.error({ channel, key, reason }, 'Notification given up: in spool.dir/dead/notify-*.ndjson (tracehive spool requeue-dead puts it back).');
      },
      failed: (err) => log.error({ err }, 'A notification record or dead letter cannot be written; retried shortly.'),
    },
  });
  const notifier: Notifier = {
    async notify(event) {
      const result = await outbox.record(event, names);
      if (result === 'recorded') sender.wake();
      if (result !== 'backlog') return;
      const key = notificationKey(event.sourceRef, event.severity);
      const reason = `ERR_NOTIFY_BACKLOG: ${outbox.pending} notifications are waiting (the relay or webhook has been failing): this one was not queued`;
      for (const channel of names) {
        await dead.write({ key, channel, reason, attempts: 0, event });
        total.inc({ channel, outcome: 'dead' });
      }
      const now = o.now();
      await outbox.write({ version: 1, key, recordedAt: now, doneAt: now, channels: Object.fromEntries(names.map((c) => [c, { state: 'dead', attempts: 0, nextAt: now, lastError: reason }])) });
      log.error({ key, pending: outbox.pending }, reason);
    },
  };
  const pruner = setInterval(() => void outbox.prune().catch((err: unknown) => log.warn({ err }, 'Old notification markers could not be removed; tried again in an hour.')), PRUNE_MS);
  pruner.unref();
  sender.wake();
  return {
    notifier,
    outbox,
    async requeue(event, channel) {
      await outbox.reopen(event, channel);
      sender.wake();
    },
    async close() {
      clearInterval(pruner);
      await sender.stop();
      await outbox.close();
      await dead.close();
      await Promise.allSettled(channels.map((c) => c.close()));
    },
  };
}
