/**
 * The stand-in's reading of `multipart/form-data` bodies, as Play reads them for TheHive: the
 * `_json` part is the request's JSON, every part with a file name is a file, kept by its field
 * name (thehive-api.md §3.4: an observable's `attachment` names its part; `…/observable` and v0
 * `…/artifact` take one part named `attachment`). busboy, the parser Node servers use, does the
 * reading; a body it cannot read is the 400 Play gives.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import busboy from 'busboy';

export interface FormFile {
  readonly filename: string;
  readonly contentType: string;
  readonly content: Buffer;
}

export interface Multipart {
  /** The `_json` field's text; undefined when the body has none. */
  readonly json: string | undefined;
  readonly files: ReadonlyMap<string, FormFile>;
}

/** Whether the request says it is multipart. */
export function isMultipart(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === 'multipart/form-data';
}

/** The parts of `body`, or why it is not a multipart body. */
export function readMultipart(headers: IncomingHttpHeaders, body: Buffer): Promise<Multipart | { readonly error: string }> {
  return new Promise((resolve) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers, limits: { fieldSize: 64 * 1024 * 1024 } });
    } catch (err) {
      resolve({ error: (err as Error).message });
      return;
    }
    let json: string | undefined;
    const files = new Map<string, FormFile>();
    bb.on('field', (name, value) => {
      if (name === '_json') json = value;
    });
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => files.set(name, { filename: info.filename ?? '', contentType: info.mimeType, content: Buffer.concat(chunks) }));
    });
    bb.on('error', (err) => resolve({ error: (err as Error).message }));
    bb.on('close', () => resolve({ json, files }));
    bb.end(body);
  });
}

/** TheHive's attachment of a stored file: its hashes in the order of the default `hashAlgorithm` (SHA-256, SHA-1, MD5). */
export function attachmentOf(file: FormFile): { name: string; contentType: string; size: number; hashes: string[]; id: string } {
  const [sha256, sha1, md5] = ['sha256', 'sha1', 'md5'].map((a) => createHash(a).update(file.content).digest('hex')) as [string, string, string];
  return { name: file.filename, contentType: file.contentType, size: file.content.length, hashes: [sha256, sha1, md5], id: sha256 };
}
