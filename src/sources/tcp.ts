/**
 * The CyberTrace listener: a `net.Server` that reassembles newline-terminated lines across
 * reads with split2 (or RFC 6587 octet-counted frames, when a connection starts with one:
 * tcp-framing.ts) and hands each to `onLine`. Everything a peer controls is bounded: line
 * length, connection count and one address's share of it, idle time, and the time one line may
 * take (a peer trickling bytes without a newline cannot hold a slot for good). When `onLine`
 * returns a promise (the queue is full) the connection is paused until it settles, so memory
 * stays bounded and TCP flow control pushes back on CyberTrace instead. A flooding connection
 * also pauses for one event-loop turn every {@link LINES_PER_TURN} lines, so that deliveries
 * keep pace with it.
 */
import net from 'node:net';
import split2 from 'split2';
import type { Telemetry } from '../telemetry.js';
import { cidrMatcher } from '../net/cidr.js';
import { listen } from '../net/listen.js';
import { PeerSlots } from '../net/peer-slots.js';
import { LineClock, sweepIntervalMs } from './line-clock.js';
import { frameByFirstBytes } from './tcp-framing.js';

export interface TcpSourceOptions {
  readonly host: string;
  readonly port: number;
  /** Longer lines are dropped and counted; the next line on the connection still arrives. */
  readonly maxLineBytes: number;
  readonly maxConnections: number;
  /** 0 = never time out. */
  readonly idleTimeoutMs: number;
  /** CIDR allowlist; empty allows everyone. */
  readonly allow: readonly string[];
  /**
   * A line must end within this after its first byte was read, else the connection is closed
   * and its unfinished line dropped; time tracehive spent not reading does not count. 0 = no limit.
   * @default 30000
   */
  readonly lineTimeoutMs?: number;
  /** Connections one peer address may hold at once; more are refused at accept. @default 32 */
  readonly maxConnectionsPerPeer?: number;
}

/** An open connection, as the line-timeout sweep sees it. */
interface Open {
  readonly peer: string;
  readonly clock: LineClock;
  /** Closes the connection and drops its unfinished line. */
  readonly cut: () => void;
}

/**
 * Lines one connection hands on before it lets the event loop turn. Under a flood libuv reads up to
 * 32 chunks per socket in one turn (thousands of lines), and nothing else runs meanwhile: not the
 * sink's write completions, not the admin port. The queue then filled to `queue.maxPending` and
 * every alert waiting in it outlived several garbage collections: peak RSS 235 MiB in bench-tcp,
 * 150 MiB with 64 lines a turn (the queue stays near 1,000), at the same CPU. 64 lines are ~2 ms.
 */
const LINES_PER_TURN = 64;

/** Defaults of the bounds on slow and greedy peers, as in config/default.json (tcp.lineTimeoutMs, tcp.maxConnectionsPerPeer). */
const DEFAULT_LINE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_CONNECTIONS_PER_PEER = 32;

/** Called once per line; returns a promise only when the caller must wait (backpressure). */
export type LineHandler = (line: string, peer: string) => void | Promise<void>;

export class TcpSource {
  readonly name = 'source.tcp';
  readonly #opts: TcpSourceOptions;
  readonly #telemetry: Telemetry;
  readonly #onLine: LineHandler;
  readonly #allowed: (address: string | undefined) => boolean;
  /** Open connections, each with the promise that its read lines were all handed on. */
  readonly #connections = new Map<net.Socket, Promise<void>>();
  /** Connections whose socket is open, for the line-timeout sweep. */
  readonly #open = new Set<Open>();
  readonly #slots: PeerSlots;
  readonly #lineTimeoutMs: number;
  #server: net.Server | undefined;
  #sweep: NodeJS.Timeout | undefined;

  constructor(opts: TcpSourceOptions, telemetry: Telemetry, onLine: LineHandler) {
    this.#opts = opts;
    this.#telemetry = telemetry;
    this.#onLine = onLine;
    this.#allowed = cidrMatcher(opts.allow);
    this.#lineTimeoutMs = opts.lineTimeoutMs ?? DEFAULT_LINE_TIMEOUT_MS;
    if (!Number.isSafeInteger(this.#lineTimeoutMs) || this.#lineTimeoutMs < 0) {
      throw new TypeError(`Expected \`lineTimeoutMs\` to be a non-negative integer, got ${JSON.stringify(opts.lineTimeoutMs)}.`);
    }
    this.#slots = new PeerSlots(opts.maxConnectionsPerPeer ?? DEFAULT_MAX_CONNECTIONS_PER_PEER);
  }

  /** Listens; resolves with the bound address (port 0 picks a free one). */
  async start(): Promise<net.AddressInfo> {
    const server = net.createServer({ pauseOnConnect: false, noDelay: true }, (socket) => this.#accept(socket));
    server.maxConnections = this.#opts.maxConnections;
    // Node refuses connections above maxConnections itself and reports them here.
    server.on('drop', (data) => this.#telemetry.connectionRefused(`${data?.remoteAddress}:${data?.remotePort}`, 'limit'));
    this.#server = server;
    const address = await listen(server, this.#opts.port, this.#opts.host);
    const limit = this.#lineTimeoutMs;
    if (limit > 0) {
      this.#sweep = setInterval(() => this.#cutOverdue(limit), sweepIntervalMs(limit));
      this.#sweep.unref();
    }
    return address;
  }

  /** Closes the connections whose unfinished line is older than `limitMs`. */
  #cutOverdue(limitMs: number): void {
    const now = Date.now();
    for (const open of this.#open) {
      if (!open.clock.overdue(limitMs, now)) continue;
      this.#telemetry.lineTimedOut(open.peer, limitMs);
      open.cut();
    }
  }

  /**
   * Stops accepting and half-closes every connection so peers can finish the line they are
   * writing; after `graceMs` still-open connections are cut. Resolves once every line already
   * read has been handed to `onLine` (which may wait for queue room: the caller keeps the
   * queue moving, or closes it, meanwhile). A final unterminated line is handed on too.
   */
  async stop(graceMs: number): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#connections.keys()) socket.end();
    const timer = setTimeout(() => {
      for (const socket of this.#connections.keys()) socket.destroy();
    }, graceMs);
    timer.unref();
    await Promise.all([closed, ...this.#connections.values()]);
    clearTimeout(timer);
  }

  #accept(socket: net.Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (!this.#allowed(socket.remoteAddress)) {
      this.#telemetry.connectionRefused(peer, 'allowlist');
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? '';
    if (!this.#slots.take(address)) {
      this.#telemetry.connectionRefused(peer, 'peer_limit');
      socket.destroy();
      return;
    }
    this.#telemetry.connectionOpened(peer);
    let lines = 0;

    const idleMs = this.#opts.idleTimeoutMs;
    const clock = new LineClock();
    const max = this.#opts.maxLineBytes;
    const lineStream = split2(
      (line: string) => {
        // split2 only bounds the unterminated tail; a long line that arrives complete in
        // one read, or whose UTF-8 is longer than its characters, is caught here.
        if (line.length > max / 3 && Buffer.byteLength(line) > max) {
          if (!overflowing) this.#telemetry.lineTooLong(peer, max);
          return undefined;
        }
        return line;
      },
      // skipOverflow is split2's, missing from @types/split2.
      { maxLength: max, skipOverflow: true } as split2.Options,
    );
    // split2 skips an overflowing line silently; watching its flag lets us count each one.
    let overflowing = false;
    Object.defineProperty(lineStream, 'overflow', {
      get: () => overflowing,
      set: (value: boolean) => {
        if (value && !overflowing) this.#telemetry.lineTooLong(peer, max);
        overflowing = value;
      },
    });
    // RFC 6587 octet counting, when the connection's first bytes say so (a relay's TCP_Framing).
    const framing = frameByFirstBytes(lineStream, max, {
      progress: (ends, crossed) => clock.advance(ends, crossed),
      tooLong: (length) => this.#telemetry.frameTooLong(peer, max, length),
      malformed: (detail) => {
        // Nothing after a bad length can be framed: the frames before it are handed on (they are
        // in the line stream), the rest is not read; the relay reconnects and starts a new frame.
        this.#telemetry.frameBroken(peer, 'ERR_FRAME_MALFORMED', detail);
        socket.destroy();
      },
      truncated: (detail) => this.#telemetry.frameBroken(peer, 'ERR_FRAME_TRUNCATED', detail),
    });
    // After a line timeout the unfinished tail is no line: the complete lines before it were
    // handed on by transform() (flush runs after every buffered write), only the tail is dropped.
    let cut = false;
    const flush = lineStream._flush.bind(lineStream);
    lineStream._flush = (done) => (cut ? done() : flush(done));
    // Settles once every line read from this connection was handed on.
    const handedOver = new Promise<void>((resolve) => {
      lineStream.once('end', resolve);
      lineStream.once('close', resolve);
    });
    this.#connections.set(socket, handedOver);
    // Kept until its lines are handed on, even after the socket closed, so stop() waits for them.
    void handedOver.then(() => this.#connections.delete(socket));

    const open: Open = {
      peer,
      clock,
      cut: () => {
        cut = true;
        socket.destroy();
      },
    };
    this.#open.add(open);
    // Reasons the line stream is paused (a full queue, a yielded turn): it resumes when none is left.
    // We stopped reading, not the peer: the line clock stands still meanwhile.
    let holds = 0;
    const hold = (): void => {
      if (holds++ !== 0) return;
      lineStream.pause();
      clock.pause();
    };
    const release = (): void => {
      if (--holds !== 0) return;
      clock.resume();
      lineStream.resume();
    };
    let sinceTurn = 0;
    lineStream.on('data', (line: string) => {
      lines++;
      const wait = this.#onLine(line, peer);
      if (wait) {
        sinceTurn = 0;
        // We stopped reading, not the peer: its silence meanwhile is not idleness.
        hold();
        if (idleMs > 0) socket.setTimeout(0);
        void wait.then(
          () => {
            if (idleMs > 0 && !socket.destroyed) socket.setTimeout(idleMs);
            release();
          },
          (err: unknown) => {
            // The spool closed at shutdown: nothing more can be accepted; stop reading this peer
            // (what it sent and we did not take was never accepted: TCP gave it no promise).
            if ((err as { code?: string }).code === 'ERR_SPOOL_CLOSED') {
              lineStream.destroy();
              socket.destroy();
              return;
            }
            this.#telemetry.connectionError(peer, err instanceof Error ? err : new Error(String(err)));
            release();
          },
        );
      } else if (++sinceTurn >= LINES_PER_TURN) {
        sinceTurn = 0;
        hold();
        setImmediate(release);
      }
    });
    lineStream.on('error', (err: Error) => this.#telemetry.connectionError(peer, err));

    if (idleMs > 0) {
      socket.setTimeout(idleMs, () => {
        this.#telemetry.connectionIdle(peer, idleMs);
        socket.end();
        socket.destroySoon();
      });
    }
    socket.on('error', (err) => this.#telemetry.connectionError(peer, err));
    // An octet-counted connection's boundaries are its frames': the framing moves its clock.
    if (this.#lineTimeoutMs > 0) socket.on('data', (chunk: Buffer) => framing() !== 'octet' && clock.read(chunk));
    socket.on('close', () => {
      this.#open.delete(open);
      this.#slots.give(address);
      // A reset or a cut at shutdown does not end the pipe: end it so the buffered lines,
      // and the last unterminated one, are still handed on.
      if (!lineStream.writableEnded) lineStream.end();
      this.#telemetry.connectionClosed(peer, lines);
    });
    socket.pipe(lineStream);
  }
}
