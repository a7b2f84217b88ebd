/**
 * The clock of tcp.lineTimeoutMs: how long the line a peer is writing has been unfinished.
 * The idle timeout alone cannot bound a peer that trickles one byte now and then and never a
 * newline (any byte resets it), so such a peer held a slot for good. The clock is cheap on
 * the hot path (the listener reads 40,000+ lines/s): no timer per line, only a stamp per read
 * chunk; one sweep over the open connections compares the stamps ({@link LineClock.overdue}).
 *
 * While tracehive itself stopped reading (backpressure: a full spool), the peer is not at
 * fault, so the clock stands still between {@link LineClock.pause} and {@link LineClock.resume}.
 */

const NEWLINE = 0x0a;

/** The unfinished-line clock of one connection. */
export class LineClock {
  /** When the first byte of the unfinished line was read (ms); 0 while no line is unfinished. */
  #since = 0;
  /** When tracehive stopped reading (ms); 0 while it reads. */
  #pausedAt = 0;

  /** Called with every chunk read from the peer. */
  read(chunk: Buffer, now = Date.now()): void {
    if (chunk.length === 0) return;
    this.advance(chunk[chunk.length - 1] === NEWLINE, chunk.includes(NEWLINE), now);
  }

  /**
   * A chunk was read that ends on a message boundary (`ends`), or crossed one (`crossed`) and
   * ends inside the next message. Newline framing is {@link LineClock.read}; octet counting
   * (RFC 6587) knows its boundaries from the frame lengths.
   */
  advance(ends: boolean, crossed: boolean, now = Date.now()): void {
    if (ends) this.#since = 0;
    // A boundary inside the chunk ended the old line: the unfinished one started in this chunk.
    else if (this.#since === 0 || crossed) this.#since = now;
  }

  /** tracehive stopped reading this connection: the clock stands still. */
  pause(now = Date.now()): void {
    if (this.#pausedAt === 0) this.#pausedAt = now;
  }

  /** tracehive reads again: the clock goes on from where it stood. */
  resume(now = Date.now()): void {
    if (this.#pausedAt === 0) return;
    // A line begun while we did not read gets its whole time from now.
    if (this.#since !== 0) this.#since = this.#since < this.#pausedAt ? this.#since + (now - this.#pausedAt) : now;
    this.#pausedAt = 0;
  }

  /** True once a line has been unfinished for `limitMs` of time the peer was read. */
  overdue(limitMs: number, now = Date.now()): boolean {
    return this.#pausedAt === 0 && this.#since !== 0 && now - this.#since >= limitMs;
  }
}

/**
 * How often the open connections are checked: half the limit, so a line is cut between 1 and
 * 1.5 times tcp.lineTimeoutMs; at most once a second (the default 30 s gets one cheap pass a
 * second) and at least 20 ms apart (a tiny limit must not turn the sweep into a busy loop).
 */
export function sweepIntervalMs(limitMs: number): number {
  return Math.min(1000, Math.max(20, Math.floor(limitMs / 2)));
}
