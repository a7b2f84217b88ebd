/**
 * RFC 6587 octet counting (§3.4.1): `MSG-LEN SP SYSLOG-MSG`, no newline between messages, as
 * rsyslog (`TCP_Framing="octet-counted"`) and syslog-ng (`syslog()` driver) send. A connection's
 * first bytes say which framing it uses, as rsyslog's imptcp tells them: digits, a blank, then
 * `<` (a PRI) is octet counting; anything else stays newline framed for the whole connection.
 *
 * Pure: bytes in, frames and refusals out; the listener (tcp.ts) does the I/O and the logging.
 * Memory is bounded by the frame limit: a longer frame is skipped byte for byte (its length
 * says where the next one starts, so the stream stays in step) and never buffered.
 */

/** The framing of one connection. */
export type Framing = 'octet' | 'newline';

/** MSG-LEN digits at most: 10 say up to 9,999,999,999 bytes; a longer run is no length. */
const MAX_LENGTH_DIGITS = 10;
const SP = 0x20;
const LT = 0x3c;
const CR = 0x0d;
const LF = 0x0a;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * The framing the first bytes of a connection show, or undefined while they do not tell yet
 * (at most {@link MAX_LENGTH_DIGITS} + 2 bytes are needed).
 */
export function sniffFraming(head: Uint8Array): Framing | undefined {
  let i = 0;
  while (i < head.length && i <= MAX_LENGTH_DIGITS && isDigit(head[i] as number)) i++;
  if (i === head.length) return i > MAX_LENGTH_DIGITS ? 'newline' : undefined;
  if (i === 0 || i > MAX_LENGTH_DIGITS || head[i] !== SP) return 'newline';
  if (i + 1 === head.length) return undefined;
  return head[i + 1] === LT ? 'octet' : 'newline';
}

/** What the decoder found in a chunk, in stream order. */
export type FrameEvent =
  /** A whole frame: its SYSLOG-MSG as UTF-8 text, without a trailing newline a relay may add. */
  | { readonly kind: 'frame'; readonly text: string }
  /** A frame longer than the limit: its bytes are skipped, the next frame is read. */
  | { readonly kind: 'too_long'; readonly length: number }
  /** No valid MSG-LEN where one must start: nothing after it can be framed. The decoder stops. */
  | { readonly kind: 'malformed'; readonly detail: string }
  /** The stream ended inside a frame (or its length): the partial frame is dropped. */
  | { readonly kind: 'truncated'; readonly have: number; readonly length: number | null };

/** Decodes octet-counted frames from a byte stream split anywhere. */
export class OctetFrameDecoder {
  readonly #maxFrameBytes: number;
  /** The MSG-LEN being read (digits so far), or null inside a frame's body. */
  #digits: string | null = '';
  /** Body bytes still to read (or skip) in the current frame. */
  #remaining = 0;
  #length = 0;
  #skipping = false;
  #parts: Buffer[] = [];
  #dead = false;

  /** @param maxFrameBytes longer frames are skipped (`tcp.maxLineBytes`). */
  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** True between frames: no length or body is half read (the line clock stops then). */
  get atBoundary(): boolean {
    return this.#digits === '';
  }

  /** True once a malformed length was met: every later byte is ignored. */
  get stopped(): boolean {
    return this.#dead;
  }

  /** Decodes one chunk; the events of frames it completes, in order. */
  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let i = 0;
    while (i < chunk.length && !this.#dead) {
      if (this.#digits !== null) {
        i = this.#readLength(chunk, i, events);
        continue;
      }
      const take = Math.min(this.#remaining, chunk.length - i);
      if (!this.#skipping) this.#parts.push(chunk.subarray(i, i + take));
      this.#remaining -= take;
      i += take;
      if (this.#remaining === 0) this.#finish(events);
    }
    return events;
  }

  /** The stream ended: a `truncated` event when it ended inside a frame. */
  end(): FrameEvent[] {
    if (this.#dead || this.atBoundary) return [];
    this.#dead = true;
    if (this.#digits !== null) return [{ kind: 'truncated', have: this.#digits.length, length: null }];
    return [{ kind: 'truncated', have: this.#length - this.#remaining, length: this.#length }];
  }

  /** Reads MSG-LEN and its SP from `i`; the index after what it consumed. */
  #readLength(chunk: Buffer, i: number, events: FrameEvent[]): number {
    const c = chunk[i] as number;
    const digits = this.#digits as string;
    // Some relays end a counted frame with a newline anyway: between frames it is no data.
    if (digits === '' && (c === LF || c === CR)) return i + 1;
    if (isDigit(c)) {
      if (digits.length === MAX_LENGTH_DIGITS) return this.#stop(events, `MSG-LEN has more than ${MAX_LENGTH_DIGITS} digits`);
      this.#digits = digits + String.fromCharCode(c);
      return i + 1;
    }
    if (c !== SP || digits === '') return this.#stop(events, digits === '' ? `byte 0x${c.toString(16).padStart(2, '0')} where MSG-LEN starts` : `byte 0x${c.toString(16).padStart(2, '0')} after MSG-LEN ${digits}, not a blank`);
    const length = Number(digits);
    if (length === 0) return this.#stop(events, 'MSG-LEN is 0');
    this.#digits = null;
    this.#length = length;
    this.#remaining = length;
    this.#skipping = length > this.#maxFrameBytes;
    return i + 1;
  }

  #finish(events: FrameEvent[]): void {
    if (this.#skipping) {
      events.push({ kind: 'too_long', length: this.#length });
    } else {
      let text = Buffer.concat(this.#parts).toString('utf8');
      if (text.endsWith('\n')) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1);
      events.push({ kind: 'frame', text });
    }
    this.#parts = [];
    this.#skipping = false;
    this.#digits = '';
  }

  #stop(events: FrameEvent[], detail: string): number {
    this.#dead = true;
    this.#parts = [];
    events.push({ kind: 'malformed', detail });
    return Number.MAX_SAFE_INTEGER;
  }
}
