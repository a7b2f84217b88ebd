/**
 * A one-line progress display for long-running tools (`tracehive replay`, later the load
 * generator). On a TTY it redraws a single line with `\r` a few times a second; anywhere else
 * it writes nothing, so logs and pipes get only the caller's final summary.
 *
 * The display pulls the counters on a timer instead of being pushed on every line, so the hot
 * loop of the tool pays nothing for it.
 */
import { performance } from 'node:perf_hooks';

/** What the tool has done so far. Read on every redraw; a live object may be passed. */
export interface ProgressCounters {
  /** Lines handled. */
  readonly lines: number;
  /** Bytes written out. */
  readonly bytes: number;
  /** Bytes of input consumed; with `totalBytes` it gives the percentage. */
  readonly inputBytes?: number;
}

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  /** Where to draw. Nothing is written unless `stream.isTTY` is true. */
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Returns the current counters. */
  readonly read: () => ProgressCounters;
  /**
   * Start of the line.
   * @default 'progress'
   */
  readonly label?: string;
  /** Size of the whole input in bytes; omit (or 0) when unknown, e.g. stdin from a pipe. */
  readonly totalBytes?: number | undefined;
  /**
   * Milliseconds between redraws.
   * @default 100
   */
  readonly intervalMs?: number;
}

/** A running display. */
export interface Progress {
  /** Stops redrawing and clears the line, so whatever is printed next starts on a clean line. */
  stop(): void;
}

/** ANSI "erase to end of line": a shorter redraw must not leave the tail of a longer one. */
const CLEAR_TO_EOL = '\x1b[K';

/** 10 redraws a second: smooth to the eye, and too few to cost anything. */
const DEFAULT_INTERVAL_MS = 100;

/** Starts redrawing `opts.stream` on a TTY; on anything else returns a display that does nothing. */
export function startProgress(opts: ProgressOptions): Progress {
  if (opts.stream.isTTY !== true) return { stop: () => undefined };
  const started = performance.now();
  let drawn = false;
  const draw = (): void => {
    const line = formatProgress(opts.read(), performance.now() - started, opts.label, opts.totalBytes);
    opts.stream.write(`\r${line}${CLEAR_TO_EOL}`);
    drawn = true;
  };
  const timer = setInterval(draw, opts.intervalMs ?? DEFAULT_INTERVAL_MS);
  // The display alone must never keep the process alive.
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      if (drawn) opts.stream.write(`\r${CLEAR_TO_EOL}`);
    },
  };
}

/**
 * The text of one redraw, e.g. `replay: 120000 lines  40000 lines/s  36.6 MiB  3.0 s  42%`.
 * The rate is the average since the start: steadier to read than an instantaneous one.
 */
export function formatProgress(c: ProgressCounters, elapsedMs: number, label = 'progress', totalBytes?: number): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(c.lines / seconds) : 0;
  const parts = [`${label}: ${c.lines} lines`, `${rate} lines/s`, formatBytes(c.bytes), `${seconds.toFixed(1)} s`];
  if (totalBytes !== undefined && totalBytes > 0 && c.inputBytes !== undefined) {
    parts.push(`${Math.min(100, Math.floor((c.inputBytes * 100) / totalBytes))}%`);
  }
  return parts.join('  ');
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** Binary units with one decimal: `512 B`, `1.5 KiB`, `32.1 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${UNITS[unit] ?? 'TiB'}`;
}
