/**
 * A `multipart/form-data` body (RFC 7578) as TheHive takes files: a `_json` part with the JSON,
 * then one part per file, streamed from disk. Never built as one string or buffer: a mail with
 * 25 MiB of attachments costs a few KiB of memory to send. The length is known in advance (the
 * files' sizes), so the request carries a `Content-Length`, as proxies in front of TheHive want.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export interface FilePart {
  /** The form field: the name an observable's `attachment` gives, or `attachment`. */
  readonly field: string;
  readonly filename: string;
  readonly contentType: string;
  /** Bytes `open()` yields; a file that turns out shorter or longer fails the request. */
  readonly size: number;
  readonly open: () => Readable;
}

export interface MultipartBody {
  readonly stream: Readable;
  /** The `Content-Type` header, with the boundary. */
  readonly contentType: string;
  /** The `Content-Length` header. */
  readonly length: number;
}

/**
 * The body; each call opens the files anew (a retry needs a fresh stream). `json` is the text of
 * the `_json` part.
 */
export function multipartBody(json: string, files: readonly FilePart[]): MultipartBody {
  const boundary = `----tracehive-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="_json"\r\nContent-Type: application/json\r\n\r\n${json}\r\n`, 'utf8');
  const heads = files.map((f) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(f.field)}"; filename="${quoted(f.filename)}"\r\nContent-Type: ${contentType(f.contentType)}\r\n\r\n`, 'utf8'),
  );
  const crlf = Buffer.from('\r\n');
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const length = head.length + heads.reduce((n, h, i) => n + h.length + (files[i] as FilePart).size + crlf.length, 0) + tail.length;
  async function* parts(): AsyncGenerator<Buffer> {
    yield head;
    for (let i = 0; i < files.length; i++) {
      const f = files[i] as FilePart;
      yield heads[i] as Buffer;
      let sent = 0;
      for await (const chunk of f.open()) {
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      // A file changed since its size was read: the declared length would be a lie to TheHive.
      if (sent !== f.size) throw new Error(`file ${f.filename} has ${sent} bytes, not the ${f.size} announced`);
      yield crlf;
    }
    yield tail;
  }
  return { stream: Readable.from(parts(), { objectMode: false }), contentType: `multipart/form-data; boundary=${boundary}`, length };
}

/**
 * A name inside a quoted header parameter, as browsers write it (HTML's form-data encoding):
 * `"`, CR and LF percent-encoded, the rest UTF-8 as is.
 */
function quoted(name: string): string {
  return name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A content type fit for a header line: one token/token, else octet-stream. */
function contentType(type: string): string {
  return /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type : 'application/octet-stream';
}
