/**
 * Wires the pipeline: sources → parse → map → delivery queue → sink, plus the admin port.
 * `buildApp(config)` → `{start, stop}`; only cli.ts reads argv and signals.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createLogger } from './log.js';
import { Telemetry } from './telemetry.js';
import { TcpSource } from './sources/tcp.js';
import { AdminServer, type ReadyState } from './http/admin.js';
import { LinePipeline } from './pipeline.js';
import { Delivery } from './queue/delivery.js';
import { createDeadLetterLog } from './queue/dead-letter.js';
import { createTheHiveSink } from './sinks/thehive.js';
import { createFileSink } from './sinks/file.js';
import { createDailyNdjson } from './io/daily-ndjson.js';
import type { Sink } from './types.js';

/**
 * Alerts handed to the file sink at once. It writes whatever is waiting in one append (group
 * commit), so more in flight means fewer, larger writes; queue.concurrency is TheHive's limit.
 */
const FILE_SINK_CONCURRENCY = 512;

/** While the sink is not ready, how often its key and reachability are checked again. */
const PROBE_INTERVAL_MS = 5000;

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
  let sinkState: ReadyState = { ready: true, reasons: [] };
  const setSinkState = (ready: boolean, reason: string): void => {
    if (ready === sinkState.ready && (ready || sinkState.reasons[0] === reason)) return;
    sinkState = { ready, reasons: ready ? [] : [reason] };
    telemetry.readiness(ready, reason);
  };
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
        setSinkState(true, 'delivered');
      },
      retried: (alert, reason, delayMs, attempt) => {
        telemetry.alertRetried(alert, reason, delayMs, attempt);
        setSinkState(false, reason);
      },
      dead: (alert, reason, status) => telemetry.alertDead(alert, reason, status),
      readiness: (ready, reason) => setSinkState(ready, reason),
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

  const tcp = config.tcp.enabled
    ? new TcpSource(config.tcp, telemetry, (line, peer) => pipeline.handle(line, peer))
    : undefined;
  let tcpListening = false;
  let draining = false;
  const readiness = (): ReadyState => {
    const reasons = [...sinkState.reasons];
    if (tcp && !tcpListening) reasons.push('the CyberTrace listener is not listening');
    if (draining) reasons.push('shutting down');
    return { ready: reasons.length === 0, reasons };
  };
  const admin = config.http.enabled
    ? new AdminServer({ host: config.http.host, port: config.http.port, registry: telemetry.registry, readiness })
    : undefined;

  let probeTimer: NodeJS.Timeout | undefined;
  const probe = async (): Promise<void> => {
    if (!theHive || draining) return;
    const outcome = await theHive.checkAuth(AbortSignal.timeout(config.thehive.timeoutMs));
    if (outcome.kind === 'delivered') setSinkState(true, 'TheHive accepted the API key');
    else if (outcome.kind === 'retry') setSinkState(false, outcome.reason);
    else setSinkState(false, outcome.reason);
  };
  const scheduleProbe = (): void => {
    probeTimer = setInterval(() => {
      if (!sinkState.ready) void probe();
    }, PROBE_INTERVAL_MS);
    probeTimer.unref();
  };

  return {
    config,
    telemetry,
    log,
    readiness,
    async start() {
      const addresses: { tcp?: AddressInfo; http?: AddressInfo } = {};
      if (admin) {
        addresses.http = await admin.start();
        log.info({ host: addresses.http.address, port: addresses.http.port }, 'Admin HTTP listening: /healthz /readyz /metrics.');
      }
      if (theHive) {
        log.info({ url: config.thehive.url, api: config.thehive.api }, 'Delivering alerts to TheHive.');
        await probe();
        scheduleProbe();
      } else {
        log.info({ path: config.file.path }, 'No thehive.url configured: alerts go to the file sink.');
      }
      if (tcp) {
        addresses.tcp = await tcp.start();
        tcpListening = true;
        log.info({ host: addresses.tcp.address, port: addresses.tcp.port }, 'CyberTrace listener ready: point OutputSettings > ConnectionString here.');
      }
      return addresses;
    },
    async stop() {
      const deadline = Date.now() + config.shutdown.timeoutMs;
      draining = true;
      if (probeTimer) clearInterval(probeTimer);
      log.info({ timeoutMs: config.shutdown.timeoutMs, pending: queue.pending }, 'Shutting down: no new connections, delivering queued alerts.');
      if (tcp) {
        await tcp.stop(Math.max(0, deadline - Date.now()));
        tcpListening = false;
      }
      const { left } = await queue.drain(Math.max(0, deadline - Date.now()));
      if (left > 0) log.error({ undelivered: left, dir: join(config.spool.dir, 'dead') }, 'Shutdown deadline reached: undelivered alerts were written to the dead-letter log; requeue them after restart.');
      else log.info('All queued alerts delivered.');
      await queue.close();
      await sink.close();
      await deadLetters.close();
      await rejectedLog.close();
      await admin?.stop();
      return { undelivered: left };
    },
  };
}
