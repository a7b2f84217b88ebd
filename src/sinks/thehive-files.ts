/**
 * `file` observables on the wire (thehive-api.md §3.4, issue 13 point 2). Their bytes wait in the
 * file store (io/file-store.ts); here they become TheHive's multipart requests:
 *
 * - TheHive 5, with the alert: `POST /api/v1/alert` as multipart, the alert JSON in `_json`, each
 *   file observable naming its part (`"attachment": "file0"`), each file in that part (what
 *   TheHive4py 2.x's `attachment_map` sends). One transaction: created with its files, or not at
 *   all, so a retry after "already exists" has nothing left to add.
 * - TheHive 4 (v0 takes files only inline as base64, which its 256 kB body limit refuses): the
 *   alert first, then each file by `POST /api/alert/{id}/artifact` as multipart (`_json` + a part
 *   named `attachment`, as TheHive4py 1.x). Idempotent: files the alert already has (their
 *   SHA-256 among its attachments' hashes) are not sent again.
 * - Added to an existing alert (a SIEM update with a new attachment): the same per-file request on
 *   `…/observable` (5) or `…/artifact` (4).
 *
 * A content no longer in the store (deleted by hand, released by an earlier delivery of the same
 * mail) is left out: the alert's hash observables and description still name it.
 */
import type { Readable } from 'node:stream';
import type { Alert, Observable } from '../types.js';
import { multipartBody, type FilePart, type MultipartBody } from './multipart.js';

/** What the sinks need of the file store. */
export interface FileSource {
  size(sha256: string): Promise<number | null>;
  open(sha256: string): Readable;
  release(ref: string, sha256s: readonly string[]): Promise<void>;
}

/** A `file` observable whose bytes are in the store. */
export type FileObservable = Observable & { readonly attachment: NonNullable<Observable['attachment']> };

export function isFile(o: Observable): o is FileObservable {
  return o.dataType === 'file' && o.attachment !== undefined;
}

/** Whether an encoded alert body has file observables (a cheap test before parsing it). */
export function mayHaveFiles(body: string): boolean {
  return body.includes('"attachment":{');
}

/** The alert's observables without its files: what TheHive 4's create and the file sink's line get. */
export function withoutFiles(alert: Alert): Alert {
  return alert.observables.some(isFile) ? { ...alert, observables: alert.observables.filter((o) => !isFile(o)) } : alert;
}

/** An observable as TheHive takes it with a file part: no `data`, no content record. */
function wireObservable(o: FileObservable, part?: string): Record<string, unknown> {
  const { data: _data, attachment: _attachment, ...rest } = o;
  return part === undefined ? { ...rest } : { ...rest, attachment: part };
}

/** The files of `observables` that are still in the store, as parts named by `field`. */
export async function partsOf(files: readonly FileObservable[], source: FileSource, field: (i: number) => string): Promise<{ parts: FilePart[]; kept: FileObservable[] }> {
  const parts: FilePart[] = [];
  const kept: FileObservable[] = [];
  for (const f of files) {
    const size = await source.size(f.attachment.sha256);
    if (size === null) continue;
    parts.push({ field: field(kept.length), filename: f.attachment.name, contentType: f.attachment.contentType, size, open: () => source.open(f.attachment.sha256) });
    kept.push(f);
  }
  return { parts, kept };
}

/** TheHive 5's multipart create of `alert` with its files (those still in the store). */
export async function createV1Body(alert: Alert, source: FileSource): Promise<MultipartBody> {
  const files = alert.observables.filter(isFile);
  const { parts, kept } = await partsOf(files, source, (i) => `file${i}`);
  const observables = [...alert.observables.filter((o) => !isFile(o)), ...kept.map((f, i) => wireObservable(f, `file${i}`))];
  return multipartBody(JSON.stringify({ ...alert, observables }), parts);
}

/** One file as `POST …/observable` (5) or `…/artifact` (4) takes it: `_json` + a part named `attachment`. */
export function oneFileBody(f: FileObservable, part: FilePart): MultipartBody {
  return multipartBody(JSON.stringify(wireObservable(f)), [{ ...part, field: 'attachment' }]);
}

/** Gives the store back these observables' files: TheHive has them (or they are gone from the store). */
export async function releaseFiles(observables: readonly Observable[], source: FileSource | undefined): Promise<void> {
  if (source === undefined) return;
  const byRef = new Map<string, string[]>();
  for (const o of observables) {
    if (!isFile(o)) continue;
    const list = byRef.get(o.attachment.ref) ?? [];
    list.push(o.attachment.sha256);
    byRef.set(o.attachment.ref, list);
  }
  for (const [ref, shas] of byRef) await source.release(ref, shas);
}

/** The SHA-256s of the files an alert (TheHive's GET answer, 5 or 4) already holds. */
export function attachedHashes(body: unknown): Set<string> {
  const out = new Set<string>();
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const list = Array.isArray(b['artifacts']) ? b['artifacts'] : Array.isArray(b['observables']) ? b['observables'] : [];
  for (const o of list) {
    const att = (o && typeof o === 'object' ? (o as Record<string, unknown>)['attachment'] : undefined) as Record<string, unknown> | undefined;
    if (!att) continue;
    for (const h of Array.isArray(att['hashes']) ? att['hashes'] : []) if (typeof h === 'string') out.add(h.toLowerCase());
    if (typeof att['id'] === 'string') out.add(att['id'].toLowerCase());
  }
  return out;
}
