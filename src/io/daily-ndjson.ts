/**
 * An append-only NDJSON log that starts a new file each UTC day (`<prefix>-YYYY-MM-DD.ndjson`),
 * so operators can read, grep and delete old days with ordinary tools. Used for the
 * rejected-line log and the dead-letter log.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export class DailyNdjson {
  readonly #dir: string;
  readonly #prefix: string;
  #day = '';
  #stream: WriteStream | undefined;

  constructor(dir: string, prefix: string) {
    this.#dir = dir;
    this.#prefix = prefix;
  }

  /** The file that today's entries go to. */
  get currentFile(): string {
    return join(this.#dir, `${this.#prefix}-${new Date().toISOString().slice(0, 10)}.ndjson`);
  }

  /** Appends one entry; resolves when the stream has taken it (drained when it was full). */
  async append(entry: object): Promise<void> {
    const stream = this.#streamForToday();
    if (!stream.write(`${JSON.stringify(entry)}\n`)) {
      await new Promise<void>((resolve) => {
        stream.once('drain', resolve);
        stream.once('error', () => resolve());
      });
    }
  }

  /** Flushes and closes the current file. */
  async close(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    this.#day = '';
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }

  #streamForToday(): WriteStream {
    const day = new Date().toISOString().slice(0, 10);
    if (this.#stream && day === this.#day) return this.#stream;
    void this.#stream?.end();
    mkdirSync(this.#dir, { recursive: true });
    this.#day = day;
    this.#stream = createWriteStream(join(this.#dir, `${this.#prefix}-${day}.ndjson`), { flags: 'a' });
    this.#stream.on('error', () => {
      // Reported by the caller's metrics; a broken log file must not crash the bridge.
      this.#stream = undefined;
    });
    return this.#stream;
  }
}
