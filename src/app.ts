/**
 * Wires the pipeline: sources → parse → map → delivery queue → sink, plus the admin port.
 * `buildApp(config)` → `{start, stop}`; only cli.ts reads argv and signals.
 */
import { readFileSync } from 'node:fs';
import { access, mkdir, constants } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { redactUrl, type Config } from './config.js';
import { BridgeError } from './errors.js';
import { createLogger } from './log.js';
import { Telemetry } from './telemetry.js';
import { TcpSource } from './sources/tcp.js';
import { AdminServer, type ReadyState } from './http/admin.js';
import { LinePipeline } from './pipeline.js';
import { SinkHealth } from './sink-health.js';
import { Delivery } from './queue/delivery.js';
import { createDeadLetterLog } from './queue/dead-letter.js';
import { createTheHiveSink } from './sinks/thehive.js';
import { createFileSink } from './sinks/file.js';
import { createDailyNdjson } from './io/daily-ndjson.js';
import type { Sink } from './types.js';

/**
 * Appends to the file sink in flight at once. Each takes everything waiting (group commit, up to
 * the sink's maxBatch), so one is enough: appends to one file run one after another anyway.
 * queue.concurrency is TheHive's limit.
 */
const FILE_SINK_CONCURRENCY = 1;

/** While the sink is not ready, how often its key and reachability are checked again. */
const PROBE_INTERVAL_MS = 5000;

/**
 * At shutdown, how long peers may take to finish the line they are writing after we
 * half-close. CyberTrace resends what it could not send, so waiting longer only delays the drain.
 */
const SHUTDOWN_GRACE_MS = 1000;

export interface AppDeps {
  readonly logger?: Logger;
  /** Clock for alert dates; tests pin it. */
  readonly now?: () => number;
}

export interface StartedAddresses {
  readonly tcp?: AddressInfo;
  readonly http?: AddressInfo;
}

export interface App {
  readonly config: Config;
  readonly telemetry: Telemetry;
  readonly log: Logger;
  start(): Promise<StartedAddresses>;
  /** Stops accepting, delivers what is queued within shutdown.timeoutMs, dead-letters the rest. */
  stop(): Promise<{ undelivered: number }>;
  readiness(): ReadyState;
}

export function buildApp(config: Config, deps: AppDeps = {}): App {
  const log = deps.logger ?? createLogger(config.log.level);
  const usesTheHive = config.thehive.url !== '';
  const theHive = usesTheHive
    ? createTheHiveSink({
        url: config.thehive.url,
        apiKey: config.thehive.apiKey,
        organisation: config.thehive.organisation,
        api: config.thehive.api,
        tlsVerify: config.thehive.tlsVerify,
        ...(config.thehive.caFile ? { ca: readFileSync(config.thehive.caFile, 'utf8') } : {}),
        timeoutMs: config.thehive.timeoutMs,
      })
    : undefined;
  const sink: Sink = theHive ?? createFileSink(config.file.path);
  const deadLetters = createDeadLetterLog(join(config.spool.dir, 'dead'));
  const rejectedLog = createDailyNdjson(join(config.spool.dir, 'rejected'), 'rejected');

  let delivery: Delivery | undefined;
  const telemetry = new Telemetry(log.child({ component: 'telemetry' }), () => delivery?.pending ?? 0);
  const health = new SinkHealth(
    theHive ? { ready: false, reason: 'checking the API key with TheHive' } : { ready: true, reason: '' },
    (ready, reason) => telemetry.readiness(ready, reason),
  );
  telemetry.readiness(health.state.ready, health.state.reasons[0] ?? '', { quiet: true });
  delivery = new Delivery({
    sink,
    deadLetters,
    // The rate protects TheHive; a local file takes alerts as fast as the disk does.
    ratePerSec: usesTheHive ? config.queue.ratePerSec : 0,
    concurrency: usesTheHive ? config.queue.concurrency : FILE_SINK_CONCURRENCY,
    maxAttempts: config.queue.maxAttempts,
    maxPending: config.queue.maxPending,
    retryBaseMs: config.queue.retryBaseMs,
    retryMaxMs: config.queue.retryMaxMs,
    authRetryMs: config.queue.authRetryMs,
    hooks: {
      delivered: (alert, duplicate, attempts) => {
        telemetry.alertDelivered(alert, duplicate, attempts);
        health.delivered();
      },
      retried: (alert, reason, delayMs, attempt) => {
        telemetry.alertRetried(alert, reason, delayMs, attempt);
        health.retried(reason);
      },
      dead: (alert, reason, status) => telemetry.alertDead(alert, reason, status),
      // Delivery reports readiness changes on 401/403 (false) and on the next success (true).
      readiness: (ready, reason) => (ready ? health.delivered() : health.authFailed(reason)),
    },
  });
  const queue = delivery;
  const pipeline = new LinePipeline({
    policy: config.alert,
    telemetry,
    now: deps.now ?? Date.now,
    deliver: (alert) => queue.offer(alert),
    keepRejected: (entry) => {
      rejectedLog.append(entry).catch((err: unknown) => log.warn({ err }, 'Cannot write the rejected-line log; the line is only counted.'));
    },
  });

  const tcp = config.tcp.enabled ? new TcpSource(config.tcp, telemetry, (line, peer) => pipeline.handle(line, peer)) : undefined;
  let tcpListening = false;
  let stopping = false;
  const readiness = (): ReadyState => {
    const reasons = [...health.state.reasons];
    if (tcp && !tcpListening) reasons.push('the CyberTrace listener is not listening');
    if (stopping) reasons.push('shutting down');
    return { ready: reasons.length === 0, reasons };
  };
  const admin = config.http.enabled
    ? new AdminServer({ host: config.http.host, port: config.http.port, registry: telemetry.registry, readiness })
    : undefined;

  const stopProbes = new AbortController();
  let probeTimer: NodeJS.Timeout | undefined;
  const probe = async (): Promise<void> => {
    if (!theHive || stopping) return;
    // Not AbortSignal.any: on Node 20 it leaves an entry on the long-lived stop signal per call.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), config.thehive.timeoutMs);
    const onStop = (): void => controller.abort();
    stopProbes.signal.addEventListener('abort', onStop, { once: true });
    try {
      const outcome = await theHive.checkAuth(controller.signal);
      if (!stopping) health.checked(outcome);
    } finally {
      clearTimeout(timer);
      stopProbes.signal.removeEventListener('abort', onStop);
    }
  };

  let starting: Promise<StartedAddresses> | undefined;
  const start = async (): Promise<StartedAddresses> => {
    const addresses: { tcp?: AddressInfo; http?: AddressInfo } = {};
    await ensureWritableDir(config.spool.dir);
    if (admin && !stopping) {
      addresses.http = await admin.start();
      log.info({ host: addresses.http.address, port: addresses.http.port }, 'Admin HTTP listening: /healthz /readyz /metrics.');
    }
    if (tcp && !stopping) {
      addresses.tcp = await tcp.start();
      tcpListening = true;
      log.info({ host: addresses.tcp.address, port: addresses.tcp.port }, 'CyberTrace listener ready: point OutputSettings > ConnectionString here.');
    }
    if (theHive) {
      log.info({ url: redactUrl(config.thehive.url), api: config.thehive.api }, 'Delivering alerts to TheHive; checking the API key.');
      // Not awaited: a slow TheHive must not delay accepting CyberTrace's connections.
      void probe();
      probeTimer = setInterval(() => {
        if (!health.state.ready) void probe();
      }, PROBE_INTERVAL_MS);
      probeTimer.unref();
    } else {
      log.info({ path: config.file.path }, 'No thehive.url configured: alerts go to the file sink.');
    }
    return addresses;
  };

  return {
    config,
    telemetry,
    log,
    readiness,
    start() {
      starting ??= start();
      return starting;
    },
    async stop() {
      const deadline = Date.now() + config.shutdown.timeoutMs;
      const remaining = (): number => Math.max(0, deadline - Date.now());
      stopping = true;
      await starting?.catch(() => undefined); // a signal during start-up: stop what it started
      stopProbes.abort();
      if (probeTimer) clearInterval(probeTimer);
      log.info({ timeoutMs: config.shutdown.timeoutMs, pending: queue.pending }, 'Shutting down: no new connections, delivering queued alerts.');
      // Sources hand over what they already read while the queue keeps delivering.
      const sourcesDone = tcp ? tcp.stop(Math.min(SHUTDOWN_GRACE_MS, remaining())) : Promise.resolve();
      await Promise.race([sourcesDone, sleep(remaining())]);
      tcpListening = false;
      const { left } = await queue.drain(remaining());
      // From here on, alerts still arriving from sources go to the dead-letter log.
      await queue.close();
      await sourcesDone;
      const undelivered = await telemetry.value('tracehive_alerts_dead_total', { code: 'ERR_QUEUE_CLOSED' });
      if (undelivered > 0) {
        log.error({ undelivered, queuedAtDeadline: left, dir: join(config.spool.dir, 'dead') }, 'Shutdown deadline reached: undelivered alerts were written to the dead-letter log (reason ERR_QUEUE_CLOSED); send them again after restart.');
      } else {
        log.info('All queued alerts delivered.');
      }
      await sink.close();
      await deadLetters.close();
      await rejectedLog.close();
      await admin?.stop();
      const count = (name: string): Promise<number> => telemetry.value(name);
      log.info(
        {
          linesReceived: await count('tracehive_lines_received_total'),
          alertsQueued: await count('tracehive_alerts_queued_total'),
          alertsDelivered: await count('tracehive_alerts_delivered_total'),
          alertsDead: await count('tracehive_alerts_dead_total'),
        },
        'Stopped: every queued alert is delivered or in the dead-letter log.',
      );
      return { undelivered };
    },
  };
}

async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new BridgeError('ERR_SPOOL_DIR', `spool.dir ${dir} cannot be used (${code}): dead letters and rejected lines are kept there. Point TRACEHIVE_SPOOL_DIR at a writable directory.`, { cause: err });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
