/**
 * The attachments of a mail, whoever read them (mailparser, or the part-by-part walk of
 * mime-walk.ts for a mail mailparser gives up on): one shape, hashed over the exact decoded
 * bytes (email-intake §0.4), and the test that tells a forwarded mail from any other file. Pure.
 */
import { createHash } from 'node:crypto';
import type { Attachment } from 'mailparser';
import type { WalkedAttachment } from './mime-walk.js';

/** One attachment, hashed over its exact decoded bytes. */
export interface MailAttachment {
  readonly filename: string | null;
  /** The type the part declared (mailparser's guess from the file name only when it declared none). */
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
  readonly md5: string;
  /**
   * True for a forwarded mail's own part (`message/rfc822`, an `.eml`) parsed into `forwarded`:
   * its content is that mail's, and the part itself is no file of the forwarding mail.
   */
  readonly forwardedMail?: true;
}

/** An attachment before hashing: its name, types and decoded bytes. */
export interface RawPart {
  readonly filename: string | null;
  /** The declared type, or the reader's guess when the part declared none. */
  readonly contentType: string;
  /** The reader's type: mailparser relabels an octet-stream from its file name (`.eml` → message/rfc822). */
  readonly guessedType: string;
  readonly content: Buffer;
}

/** How a mail reached us: the top mail, or forwarded inside another one. */
export type ParsedMailOrigin = 'top' | 'rfc822' | 'attachment' | 'inline';

/** A mailparser attachment as a {@link RawPart}. */
export function partOfAttachment(a: Attachment): RawPart {
  const declared = a.headers.get('content-type');
  const declaredType = declared !== undefined && typeof declared === 'object' && 'value' in declared ? String(declared.value).toLowerCase() : '';
  return { filename: a.filename?.trim() || null, contentType: declaredType || a.contentType, guessedType: a.contentType, content: a.content };
}

/** A walked attachment as a {@link RawPart}. */
export function partOfWalked(a: WalkedAttachment): RawPart {
  return { filename: a.filename?.trim() || null, contentType: a.declaredType || a.contentType, guessedType: a.contentType, content: a.content };
}

export function hashed(p: RawPart): MailAttachment {
  return {
    filename: p.filename,
    contentType: p.contentType,
    size: p.content.length,
    sha256: createHash('sha256').update(p.content).digest('hex'),
    md5: createHash('md5').update(p.content).digest('hex'),
  };
}

/**
 * `rfc822` for a declared `message/rfc822` part; `attachment` for an `.eml` (mailparser relabels
 * those from their name) or an octet-stream / text/plain / untyped part that reads like a mail
 * ({@link looksLikeMail}); else null.
 */
export function forwardKind(p: RawPart): ParsedMailOrigin | null {
  if (p.contentType === 'message/rfc822') return 'rfc822';
  if (/\.eml$/i.test(p.filename ?? '') || p.guessedType === 'message/rfc822') return 'attachment';
  const generic = p.contentType === 'application/octet-stream' || p.contentType === '' || p.contentType === 'text/plain';
  return generic && looksLikeMail(p.content) ? 'attachment' : null;
}

/**
 * True when `content` starts with a header block that has a `From:`, `Subject:`, `Received:` or
 * `Message-ID:` and at least two header lines (an mbox `From ` line before it is allowed).
 */
export function looksLikeMail(content: Buffer): boolean {
  const head = content.subarray(0, 8192).toString('latin1').replace(/^From [^\n]{0,1000}\n/, '');
  const lines = head.split(/\r?\n/);
  let headers = 0;
  let key = false;
  for (const line of lines) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && headers > 0) continue;
    const m = /^([A-Za-z][A-Za-z0-9-]{0,60}):/.exec(line);
    if (m === null) return false;
    headers += 1;
    if (/^(?:from|subject|received|message-id)$/i.test(m[1] as string)) key = true;
  }
  return key && headers >= 2;
}
