/**
 * `tracehive serve` as a real child process, for tests that need what only a process has:
 * signals, `kill -9`, its own memory. Ports are picked by the OS and read from its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { waitFor } from './harness.js';
import { cliNodeFlags } from '../../src/tools/node-flags.js';

const CLI = resolve('dist/src/cli.js');

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly tcpPort: number;
  readonly httpPort: number;
  /** Everything it wrote to stdout and stderr so far. */
  out(): string;
  /** Its log lines so far, parsed (pino JSON). */
  logs(): Record<string, unknown>[];
  /** Resolves with the exit code (or signal name) once it exited. */
  readonly exited: Promise<number | string>;
  /** The value of a metric on /metrics (summed over its series), or NaN when absent. */
  metric(name: string): Promise<number>;
  /** Peak resident memory so far (VmHWM), in MiB. */
  peakRssMiB(): number;
}

/**
 * Starts serve with only PATH and `env` (ports 0 unless given; `configuredPorts`: the ports of its
 * config, for the test of the embedded defaults; `uid`/`gid`: run as that user, root only) and
 * resolves once the listener and admin port logged their ports.
 */
export async function startServeProcess(env: Record<string, string>, cwd: string, opts: { configuredPorts?: boolean; uid?: number; gid?: number } = {}): Promise<ServeProcess> {
  const ports = opts.configuredPorts ? {} : { TRACEHIVE_TCP_PORT: '0', TRACEHIVE_HTTP_PORT: '0' };
  const child = spawn(process.execPath, [...cliNodeFlags(CLI), CLI, 'serve'], {
    cwd,
    // One alert per detection unless the test asks for the lifecycle (it counts alerts per line otherwise).
    env: { PATH: process.env['PATH'] ?? '', ...ports, LOG_LEVEL: 'info', TRACEHIVE_ALERT_UPDATE_WINDOW_MS: '0', ...env },
    // Another user than the test's (tests of file ownership, run as root).
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)));
  const logs = (): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  let tcpPort = 0;
  let httpPort = 0;
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor('serve to log its ports', () => {
    if (gone) throw new Error(`tracehive serve exited during start-up:\n${out}`);
    for (const l of logs()) {
      if (String(l['msg']).startsWith('CyberTrace listener ready')) tcpPort = l['port'] as number;
      if (String(l['msg']).startsWith('Admin HTTP listening')) httpPort = l['port'] as number;
    }
    return tcpPort > 0 && httpPort > 0;
  }, 20000);
  return {
    child,
    tcpPort,
    httpPort,
    out: () => out,
    logs,
    exited,
    async metric(name) {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      let sum = Number.NaN;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
        sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    peakRssMiB() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      return kb / 1024;
    },
  };
}
