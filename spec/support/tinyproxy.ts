/**
 * Debian's tinyproxy for tests: a private instance in the foreground on a loopback port, its config
 * generated in a temp dir, its log read to see which CONNECTs it carried. The system's tinyproxy
 * (its config, its port) is never used.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './dovecot.js';
import { freePort } from './free-port.js';
import { startForeground } from './foreground-server.js';
import { connect } from './harness.js';

/** Why the proxy tests cannot run here, or undefined when they can. */
export function tinyproxyMissing(): string | undefined {
  return findBinary('tinyproxy') ? undefined : 'tinyproxy is not installed (Debian: apt-get install tinyproxy, or scripts/install-test-deps.sh)';
}

export interface Tinyproxy {
  /** http://127.0.0.1:port */
  readonly url: string;
  /** The `host:port` of every CONNECT it was asked for, in order. */
  connects(): string[];
  out(): string;
  stop(): Promise<void>;
}

/** Starts tinyproxy; `connectPorts` limits the ports CONNECT may reach (tinyproxy's ConnectPort; none = any). */
export async function startTinyproxy(opts: { connectPorts?: readonly number[] } = {}): Promise<Tinyproxy> {
  const binary = findBinary('tinyproxy');
  if (!binary) throw new Error(tinyproxyMissing());
  const dir = await mkdtemp(join(tmpdir(), 'tracehive-tinyproxy-'));
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    // Connect: every connection and request line, so a test can see each CONNECT.
    'LogLevel Connect',
    'MaxClients 50',
    'Allow 127.0.0.1',
    'DisableViaHeader Yes',
    ...(opts.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
    '',
  ].join('\n');
  await writeFile(join(dir, 'tinyproxy.conf'), config);
  // -d: stay in the foreground and log to stderr.
  const server = await startForeground('tinyproxy', binary, ['-d', '-c', join(dir, 'tinyproxy.conf')], dir, () =>
    connect(port).then(
      (sock) => (sock.destroy(), true),
      () => false,
    ), 10_000);
  return {
    url: `http://127.0.0.1:${port}`,
    connects: () => [...server.out().matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map((m) => m[1] as string),
    out: server.out,
    stop: server.stop,
  };
}
