/**
 * One directory of files tracehive keeps for an operator to read — dead letters, rejected lines,
 * quarantined mails — with a byte cap and a retention (`spool.<dir>.maxBytes`, `retentionDays`).
 * Any peer that may send can fill these, and they hold alert data and personal data, so each is
 * counted (bytes, files, oldest), expired after its retention, and asked before it grows. What to
 * do over the cap is the owner's choice: rejected lines drop their oldest day files and then only
 * count lines; quarantine refuses the mail for now; dead letters make input pause.
 *
 * Only tracehive's own names count and are ever deleted: day files `<prefix>-YYYY-MM-DD.ndjson`
 * (dated by their name) and quarantine pairs `<ISO stamp>-<hash>.eml` + `.json` (dated by their
 * stamp). Anything else in the directory is left alone. Links are neither counted nor followed.
 */
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileBudget } from '../config.js';
import type { AppendGate } from './daily-ndjson.js';

const DAY_MS = 86_400_000;

/** How the files of a directory are named (and so dated and grouped). */
export type KeptNaming = { readonly kind: 'day'; readonly prefix: string | readonly string[] } | { readonly kind: 'quarantine' };

/** One kept item: a day file, or a quarantined mail with its reason. */
export interface KeptItem {
  /** The day file's name, or the quarantine pair's common stem. */
  readonly key: string;
  /** The file names on disk. */
  readonly names: readonly string[];
  readonly bytes: number;
  /** Epoch ms: the start of the day file's UTC day, or the quarantine stamp. */
  readonly time: number;
}

/** What `spool stats` and the metrics show. */
export interface KeptUsage {
  readonly bytes: number;
  readonly files: number;
  /** Epoch ms of the oldest item, or null when there is none. */
  readonly oldest: number | null;
  readonly maxBytes: number;
  readonly retentionDays: number;
}

/** The key and time of a name, or null when the name is not one of ours. Pure. */
export function keptKeyOf(naming: KeptNaming, name: string): { key: string; time: number } | null {
  if (naming.kind === 'day') {
    const m = /^(.+)-(\d{4})-(\d{2})-(\d{2})\.ndjson$/.exec(name);
    const prefixes: readonly string[] = typeof naming.prefix === 'string' ? [naming.prefix] : naming.prefix;
    // `dead.tenant-b`: a named target's own dead letters count as `dead` (issue 14).
    const stem = (m?.[1] ?? '').replace(/\.[a-z0-9][a-z0-9_-]*$/, '');
    if (!m || !prefixes.includes(stem)) return null;
    const time = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]));
    return Number.isNaN(time) ? null : { key: name, time };
  }
  // 2026-12-04T16-40-33-012Z-6b5cb3924cb1.eml: the stamp is new Date(at).toISOString() with : and . as -.
  const m = /^((\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z-[0-9a-f]{12})\.(?:eml|json)$/.exec(name);
  if (!m) return null;
  const time = Date.parse(`${m[2]}T${m[3]}:${m[4]}:${m[5]}.${m[6]}Z`);
  return Number.isNaN(time) ? null : { key: m[1] as string, time };
}

/**
 * Whether an item is past its retention at `now`: a day file once the whole day is older than
 * `retentionDays` days, a quarantined mail once its stamp is. 0 keeps everything. Pure.
 */
export function expired(naming: KeptNaming, time: number, retentionDays: number, now: number): boolean {
  if (retentionDays <= 0) return false;
  const newest = naming.kind === 'day' ? time + DAY_MS : time;
  return newest <= now - retentionDays * DAY_MS;
}

/** Reads a directory of kept files: its items, oldest first (missing directory: none). */
export async function scanKept(dir: string, naming: KeptNaming): Promise<KeptItem[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const items = new Map<string, { names: string[]; bytes: number; time: number }>();
  for (const name of names) {
    const id = keptKeyOf(naming, name);
    if (id === null) continue;
    const st = await lstat(join(dir, name)).catch(() => null);
    if (st === null || !st.isFile()) continue;
    const item = items.get(id.key) ?? { names: [], bytes: 0, time: id.time };
    item.names.push(name);
    item.bytes += st.size;
    items.set(id.key, item);
  }
  return [...items].map(([key, i]) => ({ key, names: i.names.sort(), bytes: i.bytes, time: i.time })).sort((a, b) => a.time - b.time || a.key.localeCompare(b.key));
}

/** What a sweep removed. */
export interface Removed {
  readonly files: number;
  readonly bytes: number;
}

/** A directory of kept files under a budget; the counts are kept in memory between scans. */
export class KeptFiles implements AppendGate {
  readonly dir: string;
  readonly naming: KeptNaming;
  readonly budget: FileBudget;
  readonly #now: () => number;
  #items = new Map<string, KeptItem>();
  #bytes = 0;

  constructor(dir: string, naming: KeptNaming, budget: FileBudget, now: () => number = Date.now) {
    this.dir = dir;
    this.naming = naming;
    this.budget = budget;
    this.#now = now;
  }

  /** Recounts from the disk (at start, after a sweep, after an operator moved files). */
  async scan(): Promise<void> {
    const items = await scanKept(this.dir, this.naming);
    this.#items = new Map(items.map((i) => [i.key, i]));
    this.#bytes = items.reduce((sum, i) => sum + i.bytes, 0);
  }

  usage(): KeptUsage {
    let oldest: number | null = null;
    for (const i of this.#items.values()) if (oldest === null || i.time < oldest) oldest = i.time;
    return { bytes: this.#bytes, files: this.#items.size, oldest, maxBytes: this.budget.maxBytes, retentionDays: this.budget.retentionDays };
  }

  /** Whether `bytes` more stay within maxBytes. */
  fits(bytes: number): boolean {
    return this.#bytes + bytes <= this.budget.maxBytes;
  }

  /** Bytes over maxBytes now (0 when within). */
  overBy(): number {
    return Math.max(0, this.#bytes - this.budget.maxBytes);
  }

  /** `bytes` more in the item `key` (a write that grew a day file, a new quarantine pair). */
  added(key: string, bytes: number, names: readonly string[] = [key]): void {
    const id = keptKeyOf(this.naming, names[0] ?? key);
    const item = this.#items.get(key);
    this.#items.set(key, { key, names: item?.names ?? names, bytes: (item?.bytes ?? 0) + bytes, time: item?.time ?? id?.time ?? this.#now() });
    this.#bytes += bytes;
  }

  /** The rejected-line log's gate: oldest other day files go first; a line that still does not fit is refused. */
  async admit(name: string, bytes: number): Promise<boolean> {
    if (this.fits(bytes)) return true;
    await this.dropOldest(bytes, name);
    return this.fits(bytes);
  }

  /** Deletes what is past retention. */
  async expire(): Promise<Removed> {
    const now = this.#now();
    return this.#remove([...this.#items.values()].filter((i) => expired(this.naming, i.time, this.budget.retentionDays, now)));
  }

  /** Deletes the oldest items, never `keep` (the file being appended to), until `bytes` more fit. */
  async dropOldest(bytes: number, keep?: string): Promise<Removed> {
    const victims: KeptItem[] = [];
    let left = this.#bytes;
    for (const item of [...this.#items.values()].sort((a, b) => a.time - b.time)) {
      if (left + bytes <= this.budget.maxBytes) break;
      if (item.key === keep) continue;
      victims.push(item);
      left -= item.bytes;
    }
    return this.#remove(victims);
  }

  async #remove(items: readonly KeptItem[]): Promise<Removed> {
    let files = 0;
    let bytes = 0;
    for (const item of items) {
      for (const name of item.names) {
        // Unlinking a name removes that entry only (a link, never what it points at).
        await unlink(join(this.dir, name)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        files += 1;
      }
      bytes += item.bytes;
      this.#items.delete(item.key);
      this.#bytes -= item.bytes;
    }
    return { files, bytes };
  }
}
