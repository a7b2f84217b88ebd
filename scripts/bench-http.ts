/**
 * The HTTP transport of the TheHive client, measured alone: axios over today's node:http adapter
 * (src/sinks/http-adapter.ts) against axios over an undici `Pool` (src/sinks/undici-adapter.ts),
 * alternating rounds A/B/A/B in one process (plus a third row: the undici adapter with each batch of
 * requests started in one event-loop turn), each round N POSTs of a real alert body with 4 in
 * flight to a local counting endpoint (a child process, so its CPU is not counted). Prints
 * requests/s and CPU µs per request (process.cpuUsage, user + system) of each round, the medians
 * and the ratios. On a shared 2-core machine single rounds move a lot: compare medians.
 *
 * Usage: node dist/scripts/bench-http.js [--requests N] [--rounds R] [--inflight K] [--json FILE]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scriptArgs } from './script-args.js';
import axios, { type AxiosAdapter, type AxiosInstance } from 'axios';
import { Pool } from 'undici';
import { nodeHttpAdapter } from '../src/sinks/http-adapter.js';
import { undiciAdapter } from '../src/sinks/undici-adapter.js';
import { leanDefaults } from '../src/sinks/thehive-client.js';
import { parseLine } from '../src/parse/kv.js';
import { alertFromDetection, DEFAULT_POLICY } from '../src/map/alert.js';
import { detectionLine } from '../spec/support/lines.js';

/** TheHive's answer to a create, shortened (thehive-api.md §4). */
const CREATED = '{"_id":"~4120","_type":"Alert","_createdAt":1700000000123,"type":"cybertrace","source":"CyberTrace","status":"New","stage":"New"}';

const values = scriptArgs('bench-http', 'Usage: node dist/scripts/bench-http.js [--requests N] [--rounds R] [--inflight K] [--json FILE]', {
  requests: { type: 'string', default: '20000' },
  rounds: { type: 'string', default: '5' },
  inflight: { type: 'string', default: '4' },
  json: { type: 'string' },
  endpoint: { type: 'boolean', default: false },
});

if (values.endpoint) {
  // The child: answers every POST 201 and counts, nothing else.
  let count = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(CREATED);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('message', () => process.send?.({ count }));
} else {
  await main();
}

interface Round {
  readonly transport: string;
  readonly perSec: number;
  readonly cpuUsPerRequest: number;
}

async function main(): Promise<void> {
  const total = Number(values.requests);
  const rounds = Number(values.rounds);
  const inflight = Number(values.inflight);
  const bodies = Array.from({ length: 100 }, (_, i) => {
    const r = parseLine(detectionLine(i));
    if (!r.ok || r.value.kind !== 'detection') throw new Error('detectionLine gave no detection');
    return JSON.stringify(alertFromDetection(r.value, DEFAULT_POLICY, 1_700_000_000_000));
  });
  const avgBytes = Math.round(bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / bodies.length);

  const child = fork(fileURLToPath(import.meta.url), ['--endpoint'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  const origin = `http://127.0.0.1:${port}`;

  const agent = new http.Agent({ keepAlive: true });
  const pool = new Pool(origin, { connections: inflight, maxResponseSize: 16 * 1024 * 1024 });
  const undici = client(origin, undiciAdapter(pool, origin), agent);
  const transports: Array<[string, AxiosInstance, boolean]> = [
    ['node:http adapter', client(origin, nodeHttpAdapter, agent), false],
    ['undici Pool adapter', undici, false],
    // Issue 15 point 5: "requests of a batch share one event-loop turn". The delivery queue starts a
    // send as soon as a slot frees (p-queue starts tasks synchronously), so each answer starts the
    // next request in its own turn; this row starts `inflight` requests together and waits for all.
    [`undici, ${inflight} started in one turn`, undici, true],
  ];

  const results: Round[] = [];
  for (const [, ax, lockstep] of transports) await run(ax, bodies, 2000, inflight, lockstep); // warm-up: JIT, connections
  for (let r = 0; r < rounds; r++) {
    for (const [transport, ax, lockstep] of transports) {
      const before = await served(child);
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await run(ax, bodies, total, inflight, lockstep);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const seen = (await served(child)) - before;
      if (seen !== total) throw new Error(`${transport}: the endpoint counted ${seen} requests, not ${total}`);
      results.push({ transport, perSec: Math.round(total / seconds), cpuUsPerRequest: Math.round((cpu.user + cpu.system) / total) });
      console.log(`round ${r + 1} ${transport}: ${Math.round(total / seconds).toLocaleString('en')} requests/s, ${Math.round((cpu.user + cpu.system) / total)} µs CPU a request`);
    }
  }
  agent.destroy();
  await pool.destroy();
  child.kill();

  const summary = transports.map(([transport]) => {
    const mine = results.filter((x) => x.transport === transport);
    return { transport, perSec: median(mine.map((x) => x.perSec)), cpuUsPerRequest: median(mine.map((x) => x.cpuUsPerRequest)) };
  });
  const [a, b, c] = summary as [(typeof summary)[0], (typeof summary)[0], (typeof summary)[0]];
  console.log(`\nPOST per alert, ${total} requests of ${avgBytes} bytes × ${rounds} rounds per transport, ${inflight} in flight, node ${process.version}; medians:`);
  console.log('| transport | requests/s | CPU µs / request |');
  console.log('|---|---:|---:|');
  for (const s of summary) console.log(`| ${s.transport} | ${s.perSec.toLocaleString('en')} | ${s.cpuUsPerRequest} |`);
  console.log(`undici / node:http: ${(b.perSec / a.perSec).toFixed(2)}× requests/s, ${(b.cpuUsPerRequest / a.cpuUsPerRequest).toFixed(2)}× CPU a request`);
  console.log(`undici, started together / one by one: ${(c.perSec / b.perSec).toFixed(2)}× requests/s, ${(c.cpuUsPerRequest / b.cpuUsPerRequest).toFixed(2)}× CPU a request`);
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, JSON.stringify({ at: new Date().toISOString(), node: process.version, requests: total, rounds, inflight, avgBytes, summary, results }, null, 2));
  }
}

/** axios set up as the TheHive client sets it up (thehive-client.ts), on the given transport. */
function client(origin: string, adapter: AxiosAdapter, agent: http.Agent): AxiosInstance {
  const instance = axios.create({
    baseURL: origin,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: 'Bearer bench-key', 'User-Agent': 'tracehive' },
    httpAgent: agent,
    adapter,
    validateStatus: () => true,
    maxRedirects: 0,
    proxy: false,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    transformRequest: [(data: unknown) => data],
    maxContentLength: 16 * 1024 * 1024,
  });
  leanDefaults(instance);
  return instance;
}

/**
 * `total` POSTs, `inflight` at a time, each with its own AbortSignal as the client gives one. Free:
 * each answer starts the next request. Lockstep: `inflight` requests start in one turn, then all are awaited.
 */
async function run(ax: AxiosInstance, bodies: readonly string[], total: number, inflight: number, lockstep: boolean): Promise<void> {
  const one = async (i: number): Promise<void> => {
    const res = await ax.request({ method: 'POST', url: '/api/v1/alert', data: bodies[i % bodies.length], signal: new AbortController().signal });
    if (res.status !== 201) throw new Error(`answer ${res.status}`);
  };
  if (lockstep) {
    for (let i = 0; i < total; i += inflight) await Promise.all(Array.from({ length: Math.min(inflight, total - i) }, (_, k) => one(i + k)));
    return;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) await one(next++);
  };
  await Promise.all(Array.from({ length: inflight }, worker));
}

async function served(child: ChildProcess): Promise<number> {
  child.send('count');
  const [{ count }] = (await once(child, 'message')) as [{ count: number }];
  return count;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : Math.round(((s[mid - 1] as number) + (s[mid] as number)) / 2);
}
