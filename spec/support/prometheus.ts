/**
 * Debian's Prometheus for tests: `promtool` run on files, and a private `prometheus` server on a
 * loopback port with its storage in a temp dir, scraping what the test names. Nothing of the
 * system's Prometheus (its config, its data, its port) is used or touched.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './dovecot.js';
import { freePort } from './free-port.js';
import { startForeground } from './foreground-server.js';

/** Why the Prometheus tests cannot run here, or undefined when they can. */
export function prometheusMissing(): string | undefined {
  if (!findBinary('promtool') || !findBinary('prometheus')) return 'promtool or prometheus is not installed (Debian: apt-get install prometheus, or scripts/install-test-deps.sh)';
  return undefined;
}

/** Runs promtool; resolves with its exit code and output (never rejects on a non-zero exit). */
export function promtool(args: readonly string[], cwd?: string): Promise<{ code: number; out: string }> {
  const binary = findBinary('promtool') ?? 'promtool';
  return new Promise((resolve) => {
    execFile(binary, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, out: stdout + stderr });
    });
  });
}

export interface PrometheusServer {
  readonly url: string;
  /** An instant query; the result vector of /api/v1/query. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** GET of an API path, parsed `data`. */
  api(path: string): Promise<unknown>;
  out(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` (host:port) as job `tracehive` every `scrapeInterval`, with `ruleFiles` loaded. */
export async function startPrometheus(opts: { targets: readonly string[]; ruleFiles?: readonly string[]; scrapeInterval?: string }): Promise<PrometheusServer> {
  const binary = findBinary('prometheus');
  if (!binary) throw new Error(prometheusMissing());
  const dir = await mkdtemp(join(tmpdir(), 'tracehive-prometheus-'));
  const interval = opts.scrapeInterval ?? '1s';
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'rule_files:',
    ...(opts.ruleFiles ?? []).map((f) => `  - ${JSON.stringify(f)}`),
    'scrape_configs:',
    '  - job_name: tracehive',
    '    static_configs:',
    `      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startForeground('Prometheus', binary, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], dir, async () => (await fetch(`${url}/-/ready`).then((r) => r.status, () => 0)) === 200, 30_000);
  const api = async (path: string): Promise<unknown> => {
    const body = (await (await fetch(`${url}${path}`)).json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? body.status}`);
    return body.data;
  };
  return {
    url,
    api,
    async query(expr) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as { result: { metric: Record<string, string>; value: [number, string] }[] };
      return data.result;
    },
    out: server.out,
    stop: server.stop,
  };
}
