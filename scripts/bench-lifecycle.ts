/**
 * What the alert lifecycle costs and saves (issue 12), measured: the same detections through
 * `tracehive serve` to a TheHive-like HTTP endpoint, once with the lifecycle off (one alert per
 * detection, `TRACEHIVE_ALERT_UPDATE_WINDOW_MS=0`) and once on its defaults, in one run.
 *
 *   node dist/scripts/bench-lifecycle.js [--repeats 10000:50] [--distinct 20000] [--json FILE]
 *
 * Workloads: `repeats` = N detections of K indicators (each line distinct: its own second and
 * source), as the Done-when; `distinct` = N detections of N indicators, the lifecycle's worst
 * case (every detection a new key: a create and a state write each). Per row: lines/s accepted,
 * seconds until every line was acknowledged (the last update waits for `alert.updateFlushMs`),
 * requests to TheHive in all and per detection, CPU seconds and peak RSS of serve.
 *
 * The endpoint answers as TheHive 5 does in shape (201 with `_id`, GET with `stage`, PATCH 204,
 * observables 201) without storing anything, so the rows measure tracehive, not the endpoint.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTracehive, sleep } from './bench-tcp.js';
import { numberOption, scriptArgs } from './script-args.js';
import { connect } from '../src/net/connect.js';

interface Row {
  workload: string;
  lifecycle: 'off' | 'on';
  detections: number;
  indicators: number;
  acceptedPerSec: number;
  drainedSeconds: number;
  requests: number;
  requestsPerDetection: number;
  byKind: Record<string, number>;
  cpuSeconds: number;
  peakRssMiB: number;
}

const values = scriptArgs('bench-lifecycle', 'Usage: node dist/scripts/bench-lifecycle.js [--repeats N:K] [--distinct N] [--json FILE]', {
  repeats: { type: 'string', default: '10000:50' },
  distinct: { type: 'string', default: '20000' },
  json: { type: 'string', default: '' },
});
const [repeatText, keysText = ''] = values.repeats.split(':');
const repeatLines = numberOption('bench-lifecycle', 'repeats N', repeatText as string, 1);
const repeatKeys = numberOption('bench-lifecycle', 'repeats :K', keysText, 1);
const distinctLines = numberOption('bench-lifecycle', 'distinct', values.distinct, 1);
const jsonPath = values.json;

/** Detection `n` of indicator `k`: its own second of the hour and its own source, so no two lines are equal. */
function line(k: number, n: number): string {
  const host = `evil${k}.example-bad.test`;
  const s = n % 3600;
  const time = `16:${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return `Oct 12 ${time} category=KL_Malicious_URL matchedIndicator=${host} url=http://${host}/p src=10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255} ip=- md5=- sha1=- sha256=- usrName=user${n % 7} mask=${host} type=1 popularity=5 threat=HEUR:Trojan.Script.Generic\n`;
}

function workload(lines: number, keys: number): string[] {
  return Array.from({ length: lines }, (_, n) => line(n % keys, n));
}

/** TheHive 5's answers in shape, counted by kind. */
async function endpoint(): Promise<{ url: string; counts: Record<string, number>; close(): Promise<void> }> {
  const counts: Record<string, number> = {};
  let ids = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '/';
      const kind = req.method === 'POST' && path === '/api/v1/alert' ? 'create' : req.method === 'PATCH' ? 'update' : path.endsWith('/observable') ? 'observables' : req.method === 'GET' && path.startsWith('/api/v1/alert/') ? 'get' : 'other';
      counts[kind] = (counts[kind] ?? 0) + 1;
      const json = (status: number, body: string): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      if (kind === 'create') return json(201, `{"_id":"~${++ids}","_type":"Alert","status":"New","stage":"New"}`);
      if (kind === 'get') return json(200, `{"_id":"${path.split('/').pop() ?? ''}","_type":"Alert","status":"New","stage":"New","severity":2,"tags":[]}`);
      if (kind === 'update') return void res.writeHead(204).end();
      if (kind === 'observables') return json(201, '[]');
      return json(200, '{"_id":"~0","login":"bench@thehive.local","versions":{"TheHive":"5.5.13-1"}}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => {
      server.closeAllConnections();
      return new Promise((ok) => server.close(() => ok()));
    },
  };
}

async function run(name: string, lines: readonly string[], indicators: number, lifecycle: 'off' | 'on'): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'tracehive-bench-lifecycle-'));
  const hive = await endpoint();
  const th = await startTracehive({
    THEHIVE_URL: hive.url,
    THEHIVE_API_KEY: 'bench',
    TRACEHIVE_RATE_PER_SEC: '0',
    TRACEHIVE_CONCURRENCY: '4',
    TRACEHIVE_SPOOL_DIR: join(dir, 'spool'),
    TRACEHIVE_ALERT_UPDATE_WINDOW_MS: lifecycle === 'on' ? '86400000' : '0',
  });
  try {
    const started = Date.now();
    const socket = await connect({ host: '127.0.0.1', port: th.tcpPort, explain: (err) => new Error(`bench: cannot connect to serve: ${String(err)}`) });
    for (let i = 0; i < lines.length; i += 1000) {
      if (!socket.write(lines.slice(i, i + 1000).join(''))) await new Promise((ok) => socket.once('drain', ok));
    }
    await new Promise<void>((ok) => socket.end(ok));
    let acceptedAt = 0;
    for (;;) {
      const committed = await th.metric('tracehive_spool_committed_records_total');
      if (acceptedAt === 0 && committed >= lines.length) acceptedAt = Date.now();
      if (acceptedAt > 0 && (await th.metric('tracehive_spool_records')) === 0) break;
      if (Date.now() - started > 600_000) throw new Error(`bench: ${name}/${lifecycle} did not drain in 10 minutes`);
      await sleep(50);
    }
    const drained = Date.now();
    const stats = th.stats();
    const requests = (hive.counts['create'] ?? 0) + (hive.counts['get'] ?? 0) + (hive.counts['update'] ?? 0) + (hive.counts['observables'] ?? 0);
    const row: Row = {
      workload: name,
      lifecycle,
      detections: lines.length,
      indicators,
      acceptedPerSec: Math.round(lines.length / ((acceptedAt - started) / 1000)),
      drainedSeconds: Math.round((drained - started) / 100) / 10,
      requests,
      requestsPerDetection: Math.round((requests / lines.length) * 10000) / 10000,
      byKind: { ...hive.counts },
      cpuSeconds: Math.round(stats.cpuSeconds * 10) / 10,
      peakRssMiB: stats.peakRssMiB,
    };
    process.stderr.write(`bench-lifecycle: ${name}, lifecycle ${lifecycle}: ${row.requests} requests, drained in ${row.drainedSeconds} s\n`);
    return row;
  } finally {
    await th.stop();
    await hive.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
const repeats = workload(repeatLines, repeatKeys);
const distinct = workload(distinctLines, distinctLines);
for (const lifecycle of ['off', 'on'] as const) rows.push(await run(`${repeatLines} of ${repeatKeys} indicators`, repeats, repeatKeys, lifecycle));
for (const lifecycle of ['off', 'on'] as const) rows.push(await run(`${distinctLines} distinct indicators`, distinct, distinctLines, lifecycle));

const table = [
  '| detections | lifecycle | accepted lines/s | all acknowledged after | requests to TheHive (per detection) | creates / GETs / PATCHes / observable POSTs | serve CPU s | peak RSS |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const k = r.byKind;
    return `| ${r.workload} | ${r.lifecycle} | ${r.acceptedPerSec.toLocaleString('en-US')} | ${r.drainedSeconds} s | ${r.requests.toLocaleString('en-US')} (${r.requestsPerDetection}) | ${k['create'] ?? 0} / ${k['get'] ?? 0} / ${k['update'] ?? 0} / ${k['observables'] ?? 0} | ${r.cpuSeconds} | ${r.peakRssMiB} MiB |`;
  }),
];
process.stdout.write(`${table.join('\n')}\n`);
if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`);
