/**
 * The CyberTrace listener over real sockets, delivering to the default file sink:
 * framing across reads, bounds, hostile peers, allowlist, and `nc` as users run it.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { admin, connect, endSocket, sendChunked, sleep, startApp, waitFor, type Harness } from '../support/harness.js';
import { detectionLine, detectionLines } from '../support/lines.js';
import { sourceRefFor } from '../../src/map/source-ref.js';
import { startFakeTheHive } from '../support/fake-thehive.js';
import { pino } from 'pino';
import { TcpSource } from '../../src/sources/tcp.js';
import { Telemetry } from '../../src/telemetry.js';

function fileAlerts(h: Harness): { sourceRef: string; title: string }[] {
  const path = h.app.config.file.path;
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  // Only whole lines: a batch bigger than one write() may be caught half-appended.
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as { sourceRef: string; title: string });
}

async function waitAlerts(h: Harness, n: number, timeoutMs = 10000): Promise<{ sourceRef: string; title: string }[]> {
  await waitFor(`${n} alerts in the file sink`, () => fileAlerts(h).length >= n, timeoutMs);
  return fileAlerts(h);
}

async function metric(h: Harness, name: string): Promise<number> {
  return h.app.telemetry.value(name);
}

describe('CyberTrace listener (real sockets, file sink)', function () {
  let h: Harness;
  afterEach(async () => {
    await h?.stop();
  });

  it('reassembles lines written one byte at a time', async () => {
    h = await startApp();
    const lines = detectionLines(3);
    await sendChunked(h.tcpPort, lines.join(''), 1);
    const alerts = await waitAlerts(h, 3);
    expect(alerts.map((a) => a.sourceRef)).to.have.members(lines.map((l) => sourceRefFor(l.trimEnd())));
    expect(alerts[0]?.title).to.equal('Malicious URL: host0.example-bad.test');
  });

  it('reassembles lines split at random chunk boundaries and keeps a final line without newline', async () => {
    h = await startApp();
    const lines = detectionLines(50);
    const payload = lines.join('') + detectionLine(50); // last line: no \n before close
    const socket = await connect(h.tcpPort);
    let i = 0;
    while (i < payload.length) {
      const size = 1 + Math.floor(Math.random() * 700);
      socket.write(payload.slice(i, i + size));
      i += size;
      if (Math.random() < 0.3) await sleep(1);
    }
    await endSocket(socket);
    const alerts = await waitAlerts(h, 51);
    expect(new Set(alerts.map((a) => a.sourceRef)).size).to.equal(51);
  });

  it('accepts CRLF line endings as the same alert as LF', async () => {
    h = await startApp();
    const line = detectionLine(7);
    await sendChunked(h.tcpPort, `${line}\r\n`, 64);
    const [alert] = await waitAlerts(h, 1);
    expect(alert?.sourceRef).to.equal(sourceRefFor(line));
  });

  it('serves 200 concurrent connections without losing a line', async () => {
    // All 200 come from 127.0.0.1: the per-address share must let them in (it is 32 by default).
    h = await startApp({ 'tcp.maxConnections': 256, 'tcp.maxConnectionsPerPeer': 256 });
    const sockets = await Promise.all(Array.from({ length: 200 }, () => connect(h.tcpPort)));
    await waitFor('200 open connections', async () => (await metric(h, 'tracehive_tcp_connections')) === 200);
    sockets.forEach((s, i) => s.write(detectionLines(5, i * 5).join('')));
    await Promise.all(sockets.map((s) => endSocket(s)));
    const alerts = await waitAlerts(h, 1000, 20000);
    expect(new Set(alerts.map((a) => a.sourceRef)).size).to.equal(1000);
  });

  it('drops a 1 MB line, counts it, and still delivers the next line on the same connection', async () => {
    h = await startApp();
    const huge = `category=KL_Malicious_URL matchedIndicator=${'x'.repeat(1024 * 1024)}\n`;
    const good = detectionLine(1);
    await sendChunked(h.tcpPort, huge + good + '\n', 65536);
    const alerts = await waitAlerts(h, 1);
    expect(alerts).to.have.length(1);
    expect(alerts[0]?.sourceRef).to.equal(sourceRefFor(good));
    expect(await metric(h, 'tracehive_lines_too_long_total')).to.equal(1);
    expect(h.logs.some((l) => l['code'] === 'ERR_LINE_TOO_LONG')).to.equal(true);
  });

  it('drops a long line that arrives whole inside one read (the case split2 does not bound)', async () => {
    h = await startApp({ 'tcp.maxLineBytes': 1024 });
    const long = `category=KL_Malicious_URL matchedIndicator=${'y'.repeat(2000)}\n`;
    await sendChunked(h.tcpPort, long + detectionLine(2) + '\n', 65536);
    await waitAlerts(h, 1);
    expect(await metric(h, 'tracehive_lines_too_long_total')).to.equal(1);
  });

  it('survives binary garbage and invalid UTF-8, keeps them in the rejected log, and goes on', async () => {
    h = await startApp();
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    const invalidUtf8 = Buffer.concat([Buffer.from('category=KL_Malicious_URL matchedIndicator=bad\xff\xfe.test'), Buffer.from([0xc3, 0x28, 0x0a])]);
    const good = Buffer.from(`${detectionLine(3)}\n`);
    await sendChunked(h.tcpPort, Buffer.concat([garbage, Buffer.from('\n'), invalidUtf8, good]), 1000);
    await waitAlerts(h, 2);
    const alerts = fileAlerts(h);
    expect(alerts.map((a) => a.sourceRef)).to.include(sourceRefFor(detectionLine(3)));
    expect(alerts.some((a) => a.title.includes('\uFFFD'))).to.equal(true);
    expect(await metric(h, 'tracehive_lines_rejected_total')).to.be.greaterThan(0);
    const rejectedDir = join(h.app.config.spool.dir, 'rejected');
    await waitFor('a rejected-log file', () => existsSync(rejectedDir) && readdirSync(rejectedDir).length > 0);
    const entries = readFileSync(join(rejectedDir, readdirSync(rejectedDir)[0] as string), 'utf8').trim().split('\n');
    expect(JSON.parse(entries[0] as string)).to.include.keys('time', 'code', 'detail', 'peer', 'line');
  });

  it('refuses peers outside tcp.allow at accept and counts them', async () => {
    h = await startApp({ 'tcp.allow': ['10.0.0.0/8'] });
    const socket = await connect(h.tcpPort);
    await new Promise((resolve) => socket.once('close', resolve));
    expect(await metric(h, 'tracehive_tcp_connections_total')).to.equal(1);
    const text = (await admin(h.httpPort, '/metrics')).body;
    expect(text).to.match(/tracehive_tcp_connections_total\{result="refused_allowlist"\} 1/);
  });

  it('admits peers inside tcp.allow, including IPv4 loopback', async () => {
    h = await startApp({ 'tcp.allow': ['127.0.0.0/8'] });
    await sendChunked(h.tcpPort, `${detectionLine(4)}\n`, 4096);
    await waitAlerts(h, 1);
  });

  it('refuses connections beyond tcp.maxConnections and keeps serving the others', async () => {
    h = await startApp({ 'tcp.maxConnections': 2 });
    const a = await connect(h.tcpPort);
    const b = await connect(h.tcpPort);
    await waitFor('2 open connections', async () => (await metric(h, 'tracehive_tcp_connections')) === 2);
    const c = await connect(h.tcpPort);
    await new Promise((resolve) => c.once('close', resolve));
    a.write(`${detectionLine(5)}\n`);
    await endSocket(a);
    await endSocket(b);
    await waitAlerts(h, 1);
    expect((await admin(h.httpPort, '/metrics')).body).to.match(/result="refused_limit"\} 1/);
  });

  it('does not count as idle a connection we paused ourselves while the spool was full', async function () {
    this.timeout(40000);
    const hive = await startFakeTheHive({ apiKey: 'k-idle' });
    try {
      await hive.down();
      h = await startApp({ 'thehive.url': hive.url, 'thehive.apiKey': 'k-idle', 'thehive.timeoutMs': 500, 'spool.maxBytes': 1048576, 'spool.segmentBytes': 65536, 'tcp.idleTimeoutMs': 400 });
      const lines = detectionLines(4000); // about 1.4 MB: more than the spool takes
      const socket = await connect(h.tcpPort);
      socket.write(lines.join(''));
      await waitFor('the spool full', async () => (await h!.app.telemetry.value('tracehive_spool_full')) === 1);
      await sleep(1500); // paused far longer than the idle timeout, connection left open
      await hive.up();
      const idleClosed = (): boolean => h!.logs.some((l) => String(l['msg']).includes('idleTimeoutMs'));
      // Once every line is read the connection may well be closed as idle (the test leaves it open).
      await waitFor('all 4000 lines read, with no idle close before', async () => {
        const read = await h!.app.telemetry.value('tracehive_lines_received_total');
        expect(idleClosed() && read < 4000, `closed as idle after ${read} lines`).to.equal(false);
        return read === 4000;
      }, 25000);
      await waitFor('4000 alerts', () => hive.alerts.length === 4000, 25000);
      socket.destroy();
    } finally {
      await h.stop();
      await hive.close();
    }
  });

  it('closes connections idle for tcp.idleTimeoutMs', async () => {
    h = await startApp({ 'tcp.idleTimeoutMs': 150 });
    const socket = await connect(h.tcpPort);
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).to.be.at.least(100);
  });

  it('takes a capture replayed with nc, as the README shows', async function () {
    h = await startApp();
    const capture = detectionLines(20).join('');
    await new Promise<void>((resolve, reject) => {
      const nc = spawn('nc', ['-N', '127.0.0.1', String(h.tcpPort)], { stdio: ['pipe', 'ignore', 'pipe'] });
      nc.on('error', reject);
      nc.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nc exited ${code}`))));
      nc.stdin.end(capture);
    });
    const alerts = await waitAlerts(h, 20);
    expect(alerts).to.have.length(20);
  });

  it('counts service alerts and LookupFinished lines without making alerts of them (default alert.serviceAlerts=log)', async () => {
    h = await startApp();
    const lines = ['Oct 12 07:30:12 alert=KL_ALERT_UpdatedFeed feed=Malicious_Hash_Data_Feed.json records=1743220', 'LookupFinished', detectionLine(9)];
    await sendChunked(h.tcpPort, lines.join('\n') + '\n', 4096);
    await waitAlerts(h, 1);
    await sleep(50);
    expect(fileAlerts(h)).to.have.length(1);
    const text = (await admin(h.httpPort, '/metrics')).body;
    expect(text).to.match(/tracehive_lines_parsed_total\{kind="service"\} 1/);
    expect(text).to.match(/tracehive_lines_parsed_total\{kind="finished"\} 1/);
  });

  it('writes alerts to the file sink as one exact TheHive request body per line', async () => {
    h = await startApp();
    await sendChunked(h.tcpPort, `${detectionLine(0)}\n`, 4096);
    await waitAlerts(h, 1);
    const body = JSON.parse(readFileSync(h.app.config.file.path, 'utf8').split('\n')[0] as string) as Record<string, unknown>;
    expect(body).to.include.keys('type', 'source', 'sourceRef', 'title', 'description', 'severity', 'date', 'tags', 'tlp', 'pap', 'observables');
    expect(body['type']).to.equal('cybertrace');
    expect(body['source']).to.equal('CyberTrace');
  });

  it('answers /healthz, /readyz, /readyz/delivery and /metrics', async () => {
    h = await startApp();
    expect((await admin(h.httpPort, '/healthz')).status).to.equal(200);
    const ready = await admin(h.httpPort, '/readyz');
    expect(ready.status).to.equal(200);
    expect((await admin(h.httpPort, '/readyz/delivery')).status).to.equal(200);
    const metrics = await admin(h.httpPort, '/metrics');
    expect(metrics.status).to.equal(200);
    for (const name of ['tracehive_input_ready', 'tracehive_sink_ready', 'tracehive_lines_received_total', 'tracehive_lines_rejected_total', 'tracehive_lines_too_long_total', 'tracehive_alerts_delivered_total', 'tracehive_alerts_retried_total', 'tracehive_alerts_dead_total', 'tracehive_queue_depth', 'tracehive_tcp_connections']) {
      expect(metrics.body, name).to.include(name);
    }
    expect((await admin(h.httpPort, '/nope')).status).to.equal(404);
  });

  it('lets the event loop turn every 64 lines of a flood, so deliveries and the admin port go on', async () => {
    const seen: string[] = [];
    let turnedAfter = -1;
    const source = new TcpSource(
      { host: '127.0.0.1', port: 0, maxLineBytes: 65536, maxConnections: 4, idleTimeoutMs: 0, allow: [] },
      new Telemetry(pino({ level: 'silent' }), () => 0),
      (line) => {
        if (seen.push(line) === 1) setImmediate(() => (turnedAfter = seen.length));
      },
    );
    const { port } = await source.start();
    try {
      const lines = detectionLines(1000);
      await sendChunked(port, lines.join(''), 1 << 20); // one write: the whole flood is readable at once
      await waitFor('1000 lines', () => seen.length === 1000);
      expect(turnedAfter).to.be.within(1, 64);
      expect(seen).to.deep.equal(lines.map((l) => l.trimEnd()));
    } finally {
      await source.stop(100);
    }
  });

  it('keeps serving after a peer resets the connection in the middle of a line', async () => {
    h = await startApp();
    const s = await connect(h.tcpPort);
    s.write('category=KL_Malicious_URL matchedIndic');
    s.resetAndDestroy();
    await sendChunked(h.tcpPort, `${detectionLine(11)}\n`, 4096);
    await waitFor('the good line', () => fileAlerts(h).some((a) => a.sourceRef === sourceRefFor(detectionLine(11))));
    // Linux may hand over the bytes before the reset as a clean end of stream, so the torn
    // tail can be kept like any final line without a newline; it never costs the next line.
    expect((await admin(h.httpPort, '/healthz')).status).to.equal(200);
  });
});
