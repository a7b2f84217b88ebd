/**
 * The parts of a mail that mailparser gives up on because it has more MIME parts than mailsplit
 * (its splitter) reads: 1,000 child nodes, then "Max allowed child nodes exceeded" and nothing
 * at all. Without this walk such a mail was scanned as raw text and none of its attachments was
 * hashed, so padding a mail with empty parts hid its malware. The same splitter is walked here
 * part by part with a higher limit of its own: each part's bytes are decoded with the decoder
 * mailsplit gives it, the one mailparser uses (so hashes are the same), and only what the
 * caller will use is kept — the top header block, inline text and HTML up to a character
 * budget, and the first attachments. Linear in the mail's size, bounded in parts and memory.
 */
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Splitter, type MimeNode, type SplitterChunk } from '@zone-eu/mailsplit';

/**
 * mailsplit's own `maxChildNodes` default, which mailparser keeps: a mail with more parts makes
 * mailparser fail, and is what {@link walkMime} is for.
 */
export const MAILPARSER_MAX_PARTS = 1000;
/**
 * Parts the walk reads at most. A part costs a header parse (a few microseconds), so ten times
 * mailparser's limit stays well under a second, and a mail padded past mailparser's limit is read
 * to its end: no real mail has more than a few hundred parts.
 */
export const WALK_MAX_PARTS = 10 * MAILPARSER_MAX_PARTS;
/** Bytes fed to the splitter at once, as mailparser's ChunkedPassthrough does. */
const CHUNK_BYTES = 64 * 1024;
/** Content types mailparser reads as the mail's text when they are not attachments. */
const TEXT_TYPES: ReadonlySet<string> = new Set(['text/plain', 'text/html', 'message/delivery-status']);

/** An attachment as the walk found it: what mailparser's `Attachment` would say, and its decoded bytes. */
export interface WalkedAttachment {
  readonly filename: string | null;
  /** The Content-Type the part declared, '' when it declared none. */
  readonly declaredType: string;
  /** mailsplit's type: the declared one, else guessed from the file name or the disposition. */
  readonly contentType: string;
  readonly content: Buffer;
}

/** What {@link walkMime} read. */
export interface MimeWalk {
  /** The top header block, blank line included: parse it for the header fields. */
  readonly header: Buffer;
  /** The inline text/plain parts, decoded, line breaks as `\n`, joined by `\n`; cut at the character budget. */
  readonly text: string;
  /** The inline text/html parts, decoded and joined; null when there was none. */
  readonly html: string | null;
  /** The first `maxAttachments` attachments, in mail order. */
  readonly attachments: WalkedAttachment[];
  /** Every attachment seen, kept or not. */
  readonly attachmentCount: number;
  /** False when the walk stopped at {@link WALK_MAX_PARTS} (or an unreadable part) before the mail's end. */
  readonly complete: boolean;
}

/** Bounds of one walk. */
export interface WalkLimits {
  /** Attachments whose bytes are kept; the rest are only counted. */
  readonly maxAttachments: number;
  /** Characters of text (and of HTML) kept. */
  readonly maxTextChars: number;
}

/** One leaf part being read: its decoder's output is gathered until the next part starts. */
interface Leaf {
  readonly node: MimeNode;
  readonly kind: 'attachment' | 'text' | 'html' | 'skip';
  readonly decoder: Transform | null;
  readonly output: Promise<Buffer[]> | null;
}

/** Walks the parts of `raw` with mailsplit; never rejects (what was read before an error is returned, `complete` false). */
export async function walkMime(raw: Buffer, limits: WalkLimits): Promise<MimeWalk> {
  let header: Buffer = Buffer.alloc(0);
  const texts: string[] = [];
  const htmls: string[] = [];
  const attachments: WalkedAttachment[] = [];
  let attachmentCount = 0;
  let textChars = 0;
  let htmlChars = 0;
  let leaf: Leaf | null = null;

  const finish = async (): Promise<void> => {
    if (leaf === null) return;
    const { node, kind, decoder, output } = leaf;
    leaf = null;
    if (decoder === null || output === null) return;
    decoder.end();
    const bytes = Buffer.concat(await output);
    if (kind === 'attachment') {
      attachments.push({ filename: node.filename || null, declaredType: declaredType(node), contentType: node.contentType || '', content: bytes });
    } else {
      const decoded = decodeText(bytes, node.charset);
      if (kind === 'text') {
        texts.push(decoded);
        textChars += decoded.length;
      } else {
        htmls.push(decoded);
        htmlChars += decoded.length;
      }
    }
  };

  const start = (node: MimeNode): Leaf => {
    const kind = partKind(node);
    const keep =
      (kind === 'attachment' && attachmentCount++ < limits.maxAttachments) ||
      (kind === 'text' && textChars < limits.maxTextChars) ||
      (kind === 'html' && htmlChars < limits.maxTextChars);
    if (!keep) return { node, kind: 'skip', decoder: null, output: null };
    const decoder = node.getDecoder();
    return { node, kind, decoder, output: decoder.toArray() as Promise<Buffer[]> };
  };

  let complete = true;
  try {
    await pipeline(chunks(raw), new Splitter({ ignoreEmbedded: true, maxChildNodes: WALK_MAX_PARTS }), async (source: AsyncIterable<SplitterChunk>) => {
      for await (const chunk of source) {
        if (chunk.type === 'node') {
          await finish();
          if (chunk.root) header = chunk.getHeaders();
          if (!chunk.multipart) leaf = start(chunk);
        } else if (chunk.type === 'body' && leaf?.decoder && chunk.node === leaf.node) {
          leaf.decoder.write(chunk.value);
        }
      }
      await finish();
    });
  } catch {
    // The part limit, or a header block over mailsplit's size limit: keep what was read.
    complete = false;
    await finish().catch(() => undefined);
  }
  const text = texts.join('\n');
  const html = htmls.length === 0 ? null : htmls.join('\n');
  return {
    header,
    text: text.length > limits.maxTextChars ? text.slice(0, limits.maxTextChars) : text,
    html: html !== null && html.length > limits.maxTextChars ? html.slice(0, limits.maxTextChars) : html,
    attachments,
    attachmentCount,
    complete,
  };
}

/** `raw` in {@link CHUNK_BYTES} slices (views, no copies). */
function chunks(raw: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < raw.length; at += CHUNK_BYTES) yield raw.subarray(at, at + CHUNK_BYTES);
    })(),
  );
}

/**
 * mailparser's rule (`createNode`): a part is the mail's text when its type is a text type and
 * its disposition is inline or absent (an unknown disposition counts as attachment); anything
 * else is an attachment.
 */
function partKind(node: MimeNode): 'attachment' | 'text' | 'html' {
  const type = node.contentType || 'text/plain';
  const disposition = node.disposition || 'inline';
  if (!TEXT_TYPES.has(type) || disposition !== 'inline') return 'attachment';
  return type === 'text/html' ? 'html' : 'text';
}

function declaredType(node: MimeNode): string {
  const headers = node.headers;
  return headers !== false && headers.get('Content-Type').length > 0 ? node.contentType || '' : '';
}

/** Bytes of a text part as a string: its charset when the platform knows it, else UTF-8; line breaks as `\n`. */
function decodeText(bytes: Buffer, charset: string | false): string {
  let text: string;
  try {
    text = new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    text = new TextDecoder('utf-8').decode(bytes);
  }
  return text.replace(/\r?\n/g, '\n');
}
