/**
 * The key check while TheHive is not ready: `GET …/user/current` at start and then every
 * {@link PROBE_INTERVAL_MS} until the sink is ready, each bounded by `thehive.timeoutMs`, its
 * outcome fed to {@link SinkHealth} (what `/readyz/delivery` reports). A slow TheHive never
 * delays start-up: the first check is not awaited.
 */
import type { SinkHealth } from './sink-health.js';
import type { TheHiveSink } from './sinks/thehive.js';

/** While the sink is not ready, how often its key and reachability are checked again. */
export const PROBE_INTERVAL_MS = 5000;

export class SinkProbe {
  readonly #sink: TheHiveSink;
  readonly #health: SinkHealth;
  readonly #timeoutMs: number;
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | undefined;

  constructor(sink: TheHiveSink, health: SinkHealth, timeoutMs: number) {
    this.#sink = sink;
    this.#health = health;
    this.#timeoutMs = timeoutMs;
  }

  /** Checks now, then again every few seconds while the sink is not ready. */
  start(): void {
    void this.#probe();
    this.#timer = setInterval(() => {
      if (!this.#health.state.ready) void this.#probe();
    }, PROBE_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Checks now (the key was replaced), whatever the sink's state. */
  recheck(): void {
    void this.#probe();
  }

  /** No more checks; one in flight is aborted. */
  stop(): void {
    this.#stop.abort();
    if (this.#timer) clearInterval(this.#timer);
  }

  async #probe(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    // Not AbortSignal.any: on Node 20 it leaves an entry on the long-lived stop signal per call.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), this.#timeoutMs);
    const onStop = (): void => controller.abort();
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    try {
      const outcome = await this.#sink.checkAuth(controller.signal);
      if (!this.#stop.signal.aborted) this.#health.checked(outcome);
    } finally {
      clearTimeout(timer);
      this.#stop.signal.removeEventListener('abort', onStop);
    }
  }
}
