/**
 * Issue 15, point 3: with `tcp.mapWorker` on, lines are parsed, mapped and encoded at accept on a
 * worker thread. A real listener, real sockets and the file sink: what comes out must be what
 * the main thread makes with it off (the alerts, the rejected-line log, the counters), whatever
 * the lines: fixtures, hostile lines, a 1 MB line, syslog-framed and octet-counted ones.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendChunked, startApp, waitFor, type Harness } from '../support/harness.js';
import { readLineSamples } from '../support/fixtures.js';
import { detectionLines } from '../support/lines.js';

type FileAlert = Record<string, unknown> & { sourceRef: string; date: number };

function lines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').slice(0, -1);
}

function rejected(h: Harness): { code: string; line: string; peer: string }[] {
  const dir = join(h.app.config.spool.dir, 'rejected');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((f) => lines(join(dir, f)))
    .map((l) => JSON.parse(l) as { code: string; line: string; peer: string });
}

const INPUT = [
  ...readLineSamples('cybertrace', 'samples.txt').map((s) => s.line),
  ...readLineSamples('cybertrace', 'hostile.txt').map((s) => s.line),
  ...readLineSamples('cybertrace', 'formats.txt').map((s) => s.line),
  `category=KL_Malicious_URL matchedIndicator=big.example.test note=${'y'.repeat(1_000_000)}`,
  `category=KL_Malicious_URL matchedIndicator=too-big.example.test note=${'z'.repeat(1_100_000)}`,
  'usrName=José matchedIndicator=☃.example.test category=KL_Phishing_URL',
  // Every 97th detection holds characters above U+00FF (Cyrillic, €, a surrogate pair), so that
  // most reads and batches mix them with ASCII lines: each crosses to the worker and back as a
  // string of its own (worker.ts, line-batch.ts), is decoded apart (line-pieces.ts), and must
  // come out the same.
  ...detectionLines(3000).map((line, i) => (i % 97 === 5 ? `${line.trimEnd()} comment=Троян.€.𝔘` : i % 97 === 50 ? `${line.trimEnd()} usrName=Zoë` : line)),
];

async function run(mapWorker: 'on' | 'off', threads = 1): Promise<{ alerts: Omit<FileAlert, 'date'>[]; rejected: { code: string; line: string }[]; counters: Record<string, number>; worker: boolean; threads: unknown }> {
  const h = await startApp({ 'tcp.mapWorker': mapWorker, 'tcp.mapWorkers': threads, 'tcp.maxLineBytes': 1024 * 1024, 'alert.serviceAlerts': 'alert' });
  try {
    await sendChunked(h.tcpPort, INPUT.map((l) => `${l}\n`).join(''), 4093);
    const counters: Record<string, number> = {};
    const value = (name: string): Promise<number> => h.app.telemetry.value(name);
    // The 1.1 MB line is over tcp.maxLineBytes: dropped by the listener, never received.
    await waitFor('every line received', async () => (await value('tracehive_lines_received_total')) >= INPUT.length - 1, 30000);
    await waitFor('every line parsed or rejected', async () => (await value('tracehive_lines_parsed_total')) + (await value('tracehive_lines_rejected_total')) === (await value('tracehive_lines_received_total')), 30000);
    const queued = (): Promise<number> => h.app.telemetry.value('tracehive_alerts_queued_total');
    await waitFor('every alert in the file', async () => lines(h.app.config.file.path).length === (await queued()), 30000);
    for (const name of ['tracehive_lines_received_total', 'tracehive_lines_parsed_total', 'tracehive_lines_rejected_total', 'tracehive_alerts_queued_total', 'tracehive_glued_fields_total']) counters[name] = await h.app.telemetry.value(name);
    // Lines without a date of their own are dated when received: that alone may differ.
    const alerts = lines(h.app.config.file.path).map((l) => {
      const { date: _date, ...rest } = JSON.parse(l) as FileAlert;
      return rest;
    });
    return { alerts, rejected: rejected(h).map(({ code, line }) => ({ code, line })), counters, worker: h.logs.some((l) => l['mapWorker'] === true), threads: h.logs.find((l) => l['mapWorker'] === true)?.['threads'] };
  } finally {
    await h.stop();
  }
}

describe('tcp.mapWorker: lines mapped at accept on a worker thread (issue 15)', function () {
  this.timeout(90000);

  it('gives the very alerts, rejected lines and counters the main thread gives, in the same order', async () => {
    const on = await run('on');
    const off = await run('off');
    expect(on.worker, 'the worker ran').to.equal(true);
    expect(off.worker).to.equal(false);
    expect(on.alerts.length).to.be.above(3000);
    expect(on.alerts.filter((a) => JSON.stringify(a).includes('Троян.€.𝔘')), 'the wide lines became alerts').to.have.length(31);
    expect(on.alerts).to.deep.equal(off.alerts);
    expect(on.rejected.length).to.be.above(10);
    expect(on.rejected).to.deep.equal(off.rejected);
    expect(on.counters).to.deep.equal(off.counters);
    expect(on.counters['tracehive_glued_fields_total']).to.be.above(0);
  });

  it('gives the same with tcp.mapWorkers 3: batches answered by several threads are spooled in the order they were read', async () => {
    const three = await run('on', 3);
    const off = await run('off');
    expect(three.threads).to.equal(3);
    expect(three.alerts).to.deep.equal(off.alerts);
    expect(three.rejected).to.deep.equal(off.rejected);
    expect(three.counters).to.deep.equal(off.counters);
  });
});
