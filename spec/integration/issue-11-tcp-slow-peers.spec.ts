/**
 * Issue 11, greedy clients on the CyberTrace listener, over real sockets: a peer that trickles
 * bytes and never ends a line must not hold a slot for good (`tcp.lineTimeoutMs`), and one
 * address must not take every slot (`tcp.maxConnectionsPerPeer`). Several peers are played by
 * binding loopback aliases (127.0.0.2, 127.0.0.3…) as the local address, as Linux allows.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { admin, endSocket, sleep, startApp, waitFor, type Harness } from '../support/harness.js';
import { detectionLine, detectionLines } from '../support/lines.js';
import { startFakeTheHive } from '../support/fake-thehive.js';
import { sourceRefFor } from '../../src/map/source-ref.js';

function fileAlerts(h: Harness): { sourceRef: string }[] {
  const path = h.app.config.file.path;
  if (!existsSync(path)) return [];
  // The sink may be in the middle of appending: only lines ended by a newline are whole.
  return readFileSync(path, 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as { sourceRef: string });
}

/** A client socket from `localAddress`, with a `closed` flag set once the listener closed it. */
interface Peer {
  readonly socket: net.Socket;
  closed: boolean;
}

async function connectFrom(port: number, localAddress: string): Promise<Peer> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
  });
  const peer: Peer = { socket, closed: false };
  // A refused connection may end in a reset: that is the listener's answer, not a test error.
  socket.on('error', () => undefined);
  socket.once('close', () => (peer.closed = true));
  return peer;
}

/** Writes one byte every `gapMs` (never a newline) until the socket closes; returns a stopper. */
function trickle(peer: Peer, gapMs: number): () => void {
  peer.socket.write('category=KL_Malicious_URL matchedIndicator=');
  const timer = setInterval(() => {
    if (!peer.closed && peer.socket.writable) peer.socket.write('x');
  }, gapMs);
  peer.socket.once('close', () => clearInterval(timer));
  return () => clearInterval(timer);
}

async function sendLineFrom(port: number, localAddress: string, line: string): Promise<void> {
  const peer = await connectFrom(port, localAddress);
  peer.socket.write(`${line}\n`);
  await endSocket(peer.socket);
}

describe('issue 11: slow and greedy CyberTrace peers (real sockets)', function () {
  this.timeout(30_000);
  let h: Harness | undefined;
  const stoppers: Array<() => void> = [];
  afterEach(async () => {
    for (const stop of stoppers.splice(0)) stop();
    await h?.stop();
    h = undefined;
  });

  it('closes connections whose line does not end within tcp.lineTimeoutMs, though bytes keep coming, and frees their slots', async () => {
    h = await startApp({ 'tcp.maxConnections': 4, 'tcp.maxConnectionsPerPeer': 4, 'tcp.lineTimeoutMs': 500 });
    const port = h.tcpPort;
    // A byte every 100 ms: far inside tcp.idleTimeoutMs (300 s), so only the line clock can end them.
    const tricklers = await Promise.all([1, 2, 3, 4].map(() => connectFrom(port, '127.0.0.1')));
    for (const t of tricklers) stoppers.push(trickle(t, 100));
    await waitFor('every trickling connection closed by the listener', () => tricklers.every((t) => t.closed), 8000);

    // Their slots are free again: a real sender gets in and its line is delivered.
    const good = detectionLine(1);
    await sendLineFrom(port, '127.0.0.1', good);
    await waitFor('the good line delivered', () => fileAlerts(h!).length >= 1);
    await sleep(100);
    // The partial lines of the closed connections became nothing.
    expect(fileAlerts(h).map((a) => a.sourceRef)).to.deep.equal([sourceRefFor(good)]);
    expect(await h.app.telemetry.value('tracehive_tcp_line_timeouts_total')).to.equal(4);
    const logged = h.logs.filter((l) => String(l['msg']).includes('tcp.lineTimeoutMs'));
    expect(logged).to.have.length(4);
    expect(String(logged[0]?.['peer'])).to.match(/^127\.0\.0\.1:\d+$/);
    expect(logged[0]?.['lineTimeoutMs']).to.equal(500);
  });

  it('runs the line clock only while a line is unfinished: a slow but complete line, then silence, is fine', async () => {
    h = await startApp({ 'tcp.lineTimeoutMs': 600 });
    const peer = await connectFrom(h.tcpPort, '127.0.0.1');
    const first = detectionLine(2);
    // One line in three pieces over ~300 ms: inside the limit.
    peer.socket.write(first.slice(0, 20));
    await sleep(150);
    peer.socket.write(first.slice(20, 40));
    await sleep(150);
    peer.socket.write(`${first.slice(40)}\n`);
    // Silence between lines is idleness (tcp.idleTimeoutMs), not an unfinished line.
    await sleep(1500);
    expect(peer.closed).to.equal(false);
    const second = detectionLine(3);
    peer.socket.write(`${second}\n`);
    await endSocket(peer.socket);
    await waitFor('both lines delivered', () => fileAlerts(h!).length === 2);
    expect(fileAlerts(h).map((a) => a.sourceRef)).to.have.members([sourceRefFor(first), sourceRefFor(second)]);
    expect(await h.app.telemetry.value('tracehive_tcp_line_timeouts_total')).to.equal(0);
  });

  it('does not run the line clock while tracehive itself stopped reading (a full spool)', async () => {
    const hive = await startFakeTheHive({ apiKey: 'k-line' });
    try {
      await hive.down();
      h = await startApp({ 'thehive.url': hive.url, 'thehive.apiKey': 'k-line', 'thehive.timeoutMs': 500, 'spool.maxBytes': 1048576, 'spool.segmentBytes': 65536, 'tcp.lineTimeoutMs': 300 });
      const peer = await connectFrom(h.tcpPort, '127.0.0.1');
      peer.socket.write(detectionLines(4000).join('')); // about 1.4 MB: more than the spool takes
      await waitFor('the spool full', async () => (await h!.app.telemetry.value('tracehive_spool_full')) === 1);
      await sleep(1500); // paused five times longer than tcp.lineTimeoutMs, in the middle of a line
      expect(peer.closed).to.equal(false);
      await hive.up();
      await waitFor('4000 alerts', () => hive.alerts.length === 4000, 25000);
      expect(await h.app.telemetry.value('tracehive_tcp_line_timeouts_total')).to.equal(0);
      peer.socket.destroy();
    } finally {
      await hive.up(); // else a failed assertion leaves stop() waiting for TheHive
      await h?.stop();
      h = undefined;
      await hive.close();
    }
  });

  it('caps one address at tcp.maxConnectionsPerPeer, so it cannot lock out another', async () => {
    h = await startApp({ 'tcp.maxConnections': 6, 'tcp.maxConnectionsPerPeer': 2, 'tcp.lineTimeoutMs': 0 });
    const port = h.tcpPort;
    const greedy: Peer[] = [];
    for (let i = 0; i < 6; i++) greedy.push(await connectFrom(port, '127.0.0.2'));
    await waitFor('four of the six refused', () => greedy.filter((p) => p.closed).length === 4, 5000);
    await sleep(200);
    expect(greedy.map((p) => p.closed)).to.deep.equal([false, false, true, true, true, true]);
    expect((await admin(h.httpPort, '/metrics')).body).to.match(/tracehive_tcp_connections_total\{result="refused_peer_limit"\} 4/);
    expect(h.logs.some((l) => String(l['msg']).includes('tcp.maxConnectionsPerPeer') && String(l['peer']).startsWith('127.0.0.2:'))).to.equal(true);

    // Another address still gets in, and so do the greedy peer's own two connections.
    await sendLineFrom(port, '127.0.0.3', detectionLine(3));
    greedy[0]?.socket.write(`${detectionLine(4)}\n`);
    await waitFor('both lines delivered', () => fileAlerts(h!).length === 2);

    // A closed connection gives its share back.
    await endSocket(greedy[0]!.socket);
    await waitFor('one connection of 127.0.0.2 left', async () => (await h!.app.telemetry.value('tracehive_tcp_connections')) === 1);
    await sendLineFrom(port, '127.0.0.2', detectionLine(5));
    await waitFor('the third line delivered', () => fileAlerts(h!).length === 3);
    greedy[1]?.socket.destroy();
  });
});
