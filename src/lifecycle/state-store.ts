/**
 * The lifecycle's memory of which TheHive alert each key has (issue 12 point 3), kept durably in
 * `spool.dir/alerts/state.ndjson` and bounded (`alert.updateMaxKeys`, the least recently seen
 * forgotten first). An append-only log: each change is one line with the key's whole state
 * (`{"v":1,"state":{…}}`) or its removal (`{"v":1,"forget":"<key>"}`), written and fdatasynced in
 * one batch per call; the last line of a key wins at load. When the log outgrows twice what is
 * live, it is rewritten (a new file, fdatasynced, renamed, the directory fsynced). A torn last line
 * (a crash mid-write) is skipped; a line of a newer format stops the load (ERR_FORMAT_NEWER): a
 * state misread could send an update to the wrong alert.
 *
 * Memory is bounded twice: keys by `alert.updateMaxKeys`, and the sighting ids of all keys together by
 * {@link IDS_TOTAL_MAX}: past it, the least recently seen keys drop their ids (a replay of their
 * old lines could then be counted again; their counts, alerts and rows stay).
 *
 * Forgetting a key is harmless: its alert is found again (its sourceRef is made from the key), only
 * its exact sighting count restarts.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { BridgeError } from '../errors.js';
import { syncDir } from '../io/durable-file.js';
import { createFresh, makePrivateDir, openPrivate } from '../io/private-files.js';
import { STATE_VERSION, type KeyState } from './state.js';

/** What the store keeps: one state per key, found by its alert's sourceRef; ids are capped. */
export interface StoredState {
  readonly key: string;
  readonly sourceRef: string;
  readonly ids?: readonly string[];
}

/** The detections' states; mail alerts keep theirs in `mail-state.ndjson` (lifecycle/mail-lifecycle.ts). */
const FILE = 'state.ndjson';
/**
 * Sighting ids kept for all keys together: about 50 bytes each in memory, so 500,000 are 25 MB
 * whatever `alert.updateMaxKeys` is (10,000 busy keys of 2,000 ids each would be a gigabyte).
 */
export const IDS_TOTAL_MAX = 500_000;
/** The log is rewritten only past this size, so a small store is never rewritten at every write. */
const COMPACT_MIN_BYTES = 4 * 1024 * 1024;
/** A compaction writes the live states in chunks of about this many characters. */
const COMPACT_CHUNK_CHARS = 1024 * 1024;

export interface StateStoreOptions {
  /** The store's directory (`spool.dir/alerts`), created 0700. */
  readonly dir: string;
  /** The log's file name in `dir`. @default state.ndjson */
  readonly file?: string;
  /** Keys kept at most; beyond, the least recently seen are forgotten. */
  readonly maxKeys: number;
  /** Sighting ids kept for all keys together. @default IDS_TOTAL_MAX */
  readonly idsMax?: number;
  /** A line that could not be read (a torn tail), reported and skipped. */
  readonly report?: (err: Error) => void;
}

export class StateStore<S extends StoredState = KeyState> {
  readonly #dir: string;
  readonly #file: string;
  readonly #maxKeys: number;
  /** Insertion order = least recently put first (a put moves a key to the end). */
  readonly #states = new Map<string, S>();
  readonly #bySourceRef = new Map<string, string>();
  #fileBytes = 0;
  #liveBytes = 0;
  readonly #lineBytes = new Map<string, number>();
  #ids = 0;
  readonly #idsMax: number;
  #chain: Promise<unknown> = Promise.resolve();
  /** States waiting for the next write, and that write (null when none waits). */
  #batch: { state: S; line: string }[] = [];
  #batchRun: Promise<void> | null = null;

  private constructor(o: StateStoreOptions) {
    this.#dir = o.dir;
    this.#file = join(o.dir, o.file ?? FILE);
    this.#maxKeys = o.maxKeys;
    this.#idsMax = o.idsMax ?? IDS_TOTAL_MAX;
  }

  /** Loads the log (creating the directory); throws ERR_FORMAT_NEWER for a newer format. */
  static async open<T extends StoredState = KeyState>(o: StateStoreOptions): Promise<StateStore<T>> {
    const store = new StateStore<T>(o);
    await makePrivateDir(o.dir, { refuseLink: true });
    let text = '';
    try {
      const handle = await openPrivate(store.#file, 'read');
      try {
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    store.#fileBytes = Buffer.byteLength(text);
    const lines = text.split('\n');
    for (const [i, line] of lines.entries()) {
      if (line === '') continue;
      let entry: { v?: unknown; state?: T; forget?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        o.report?.(new Error(`Line ${i + 1} of ${store.#file} is not JSON (a write cut short by a crash?): skipped; the keys it held are found again in TheHive.`));
        continue;
      }
      if (typeof entry.v !== 'number' || entry.v > STATE_VERSION) {
        throw new BridgeError('ERR_FORMAT_NEWER', `ERR_FORMAT_NEWER: line ${i + 1} of ${store.#file} has format ${JSON.stringify(entry.v)}, newer than this tracehive reads (${STATE_VERSION}): run that release or newer on this spool.dir.`);
      }
      if (typeof entry.forget === 'string') store.#drop(entry.forget);
      else if (entry.state && typeof entry.state.key === 'string') store.#set(entry.state, Buffer.byteLength(line) + 1, true);
    }
    store.#trimIds();
    return store;
  }

  get size(): number {
    return this.#states.size;
  }

  /** Sighting ids held for all keys (bounded by `idsMax`). */
  get ids(): number {
    return this.#ids;
  }

  /** Bytes of the state file. */
  get fileBytes(): number {
    return this.#fileBytes;
  }

  get(key: string): S | undefined {
    return this.#states.get(key);
  }

  /** The key whose alert has this sourceRef, if known. */
  keyOfSourceRef(sourceRef: string): string | undefined {
    return this.#bySourceRef.get(sourceRef);
  }

  /** Every state, least recently seen first. */
  list(): S[] {
    return [...this.#states.values()];
  }

  /** Keeps `states` durably (one write and fdatasync for all); resolves once on disk. Calls run one after another. */
  put(states: readonly S[]): Promise<void> {
    if (states.length === 0) return Promise.resolve();
    for (const state of states) this.#batch.push({ state, line: `${JSON.stringify({ v: STATE_VERSION, state })}\n` });
    // Group commit: puts that arrive while a write is on its way share the next write and fdatasync.
    if (this.#batchRun === null) {
      const run = this.#chain.then(() => {
        const batch = this.#batch;
        this.#batch = [];
        this.#batchRun = null;
        return this.#append(batch);
      });
      this.#batchRun = run;
      this.#chain = run.catch(() => undefined);
    }
    return this.#batchRun;
  }

  /** Forgets a key durably (`tracehive alerts forget`, or eviction); false when unknown. */
  async forget(key: string): Promise<boolean> {
    if (!this.#states.has(key)) return false;
    const run = this.#chain.then(() => this.#appendForget([key]));
    this.#chain = run.catch(() => undefined);
    await run;
    return true;
  }

  /** Waits for writes in flight. */
  async close(): Promise<void> {
    await this.#chain;
  }

  async #append(entries: readonly { state: S; line: string }[]): Promise<void> {
    const text = entries.map((e) => e.line).join('');
    await this.#write(text);
    for (const { state, line } of entries) {
      this.#set(state, Buffer.byteLength(line), true);
    }
    const over = this.#states.size - this.#maxKeys;
    if (over > 0) await this.#appendForget(firstKeys(this.#states, over));
    this.#trimIds();
    if (this.#fileBytes > COMPACT_MIN_BYTES && this.#fileBytes > 2 * this.#liveBytes) await this.#compact();
  }

  async #appendForget(keys: readonly string[]): Promise<void> {
    await this.#write(keys.map((key) => `${JSON.stringify({ v: STATE_VERSION, forget: key })}\n`).join(''));
    for (const key of keys) this.#drop(key);
  }

  async #write(text: string): Promise<void> {
    const handle = await openPrivate(this.#file, 'append');
    try {
      await handle.appendFile(text, 'utf8');
      await handle.datasync();
    } finally {
      await handle.close();
    }
    this.#fileBytes += Buffer.byteLength(text);
  }

  /** Rewrites the log with only what is live. */
  async #compact(): Promise<void> {
    const path = this.#file;
    const tmp = `${path}.tmp`;
    const handle = await createFresh(tmp);
    let bytes = 0;
    try {
      // In chunks: 20,000 keys' lines joined at once held their text three times over (the lines,
      // the joined string, its UTF-8 copy), 60 MB for a moment at every compaction.
      let chunk = '';
      for (const state of [...this.#states.values()]) {
        chunk += `${JSON.stringify({ v: STATE_VERSION, state })}\n`;
        if (chunk.length < COMPACT_CHUNK_CHARS) continue;
        bytes += Buffer.byteLength(chunk);
        await handle.writeFile(chunk, 'utf8');
        chunk = '';
      }
      bytes += Buffer.byteLength(chunk);
      await handle.writeFile(chunk, 'utf8');
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    await syncDir(this.#dir);
    this.#fileBytes = bytes;
    this.#liveBytes = bytes;
  }

  /** The least recently seen keys drop their ids until all keys hold at most `idsMax` (in memory; on disk at their next write or the compaction). */
  #trimIds(): void {
    if (this.#ids <= this.#idsMax) return;
    for (const [key, state] of this.#states) {
      if (this.#ids <= this.#idsMax) break;
      if (state.ids === undefined || state.ids.length === 0) continue;
      this.#ids -= state.ids.length;
      this.#states.set(key, { ...state, ids: [] });
    }
  }

  /** Keeps `state` (its line `bytes` long); `touch` moves it to the end: most recently seen. */
  #set(state: S, bytes: number, touch = false): void {
    const before = this.#states.get(state.key);
    if (before) {
      this.#bySourceRef.delete(before.sourceRef);
      this.#ids -= before.ids?.length ?? 0;
      if (touch) this.#states.delete(state.key);
    }
    this.#ids += state.ids?.length ?? 0;
    this.#liveBytes += bytes - (this.#lineBytes.get(state.key) ?? 0);
    this.#lineBytes.set(state.key, bytes);
    this.#states.set(state.key, state);
    this.#bySourceRef.set(state.sourceRef, state.key);
  }

  #drop(key: string): void {
    const before = this.#states.get(key);
    if (!before) return;
    this.#states.delete(key);
    this.#bySourceRef.delete(before.sourceRef);
    this.#ids -= before.ids?.length ?? 0;
    this.#liveBytes -= this.#lineBytes.get(key) ?? 0;
    this.#lineBytes.delete(key);
  }
}

/** The first `n` keys of `map` (its least recently put), without copying all of them. */
function firstKeys(map: Map<string, unknown>, n: number): string[] {
  const out: string[] = [];
  for (const key of map.keys()) {
    if (out.length >= n) break;
    out.push(key);
  }
  return out;
}
