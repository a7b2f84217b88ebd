/**
 * Raw RFC 5322 bytes → {@link ParsedMail} (contract §5). mailparser's `simpleParser` reads the
 * MIME structure from the exact bytes, so attachment hashes are those of the decoded content as
 * sent (email-intake §0.4). Forwarded mails are parsed recursively from `message/rfc822` parts
 * and `.eml`/octet-stream attachments that look like a mail, and inline-forwarded blocks are
 * recognised in the text. Everything a sender controls is bounded ({@link MailLimits}); going
 * over a bound cuts the input and says so in `warnings`. A mail with more MIME parts than
 * mailparser reads is walked part by part instead (mime-walk.ts), so its attachments are still
 * hashed. Pure (no I/O but in-memory parsing), and it never rejects: MIME that neither can read
 * degrades to scanning the raw text.
 */
import { createHash } from 'node:crypto';
import type { ParsedMail as MpMail } from 'mailparser';
import { addressOf, findInlineForwards, htmlToText, type MailAddress } from './mail-text.js';
import { addresses, bareId, firstAddress, headerDate, identityDigest, keptHeaders, rawHeaderLines, headerDateOffset, receivedValues } from './mail-headers.js';
import { forwardKind, hashed, partOfAttachment, partOfWalked, type MailAttachment, type ParsedMailOrigin, type RawPart } from './mail-parts.js';
import { MAILPARSER_MAX_PARTS, WALK_MAX_PARTS, walkMime } from './mime-walk.js';

export type { MailAddress } from './mail-text.js';
export { looksLikeMail, type MailAttachment, type ParsedMailOrigin } from './mail-parts.js';

/** Bounds on what one mail may make the parser do. */
export interface MailLimits {
  /** Bytes of one mail (top or forwarded) that are parsed; the rest is cut off. @default 26214400 (25 MiB, `email.smtp.maxBytes`) */
  readonly maxRawBytes: number;
  /** Characters of text (and of HTML) kept per mail for scanning and the description. @default 1000000 */
  readonly maxTextChars: number;
  /** Attachments hashed per mail; further ones are counted in a warning. @default 100 */
  readonly maxAttachments: number;
  /** Forwarded mails nested deeper than this are kept as attachments, not parsed. @default 3 */
  readonly maxDepth: number;
  /** Bytes parsed over the whole tree of forwarded mails, the top mail included. @default 52428800 (50 MiB) */
  readonly maxTotalBytes: number;
  /** Attachments plus forwarded mails over the whole tree. @default 500 */
  readonly maxParts: number;
}

/** The defaults of {@link MailLimits}. */
export const DEFAULT_MAIL_LIMITS: MailLimits = {
  maxRawBytes: 25 * 1024 * 1024,
  maxTextChars: 1_000_000,
  maxAttachments: 100,
  maxDepth: 3,
  maxTotalBytes: 50 * 1024 * 1024,
  maxParts: 500,
};

/** A parsed mail; forwarded mails have the same shape, nested in `forwarded`. */
export interface ParsedMail {
  readonly origin: ParsedMailOrigin;
  /** 0 for the top mail, 1 for a mail forwarded in it, … */
  readonly depth: number;
  /** Message-ID without angle brackets, or null. */
  readonly messageId: string | null;
  readonly subject: string | null;
  readonly from: MailAddress | null;
  readonly to: MailAddress[];
  readonly cc: MailAddress[];
  readonly replyTo: MailAddress[];
  /** Epoch ms of the `Date` header, null when absent or unparsable (never "now"). */
  readonly date: number | null;
  /** The `Date` header's offset in minutes east of UTC (`+0500` → 300), when it has one: the zone the sender's times are in. */
  readonly dateOffset?: number;
  /** Plain text; converted from the HTML when the mail has only HTML. Cut to `maxTextChars`. */
  readonly text: string;
  readonly html: string | null;
  readonly attachments: MailAttachment[];
  /** Headers of interest by lower-case name, first value, decoded: return-path, x-mailer, user-agent, x-originating-ip, in-reply-to, date. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Every `Received:` field's value, unfolded, topmost (the last added) first; absent for an
   * inline-forwarded block, which has none. A reported phish's sending hops come from here.
   */
  readonly received?: readonly string[];
  /** SHA-256 (hex) of the decoded content (text, HTML, attachment hashes): equal for a re-fetched mail. */
  readonly bodyDigest: string;
  /**
   * SHA-256 (hex) of the header fields the author wrote (Date, From, To, Cc, Subject, …), never of
   * those added in transit: with {@link bodyDigest}, it tells apart mails without a Message-ID.
   */
  readonly headerDigest: string;
  readonly forwarded: ParsedMail[];
  /** What was cut, skipped or unreadable, as sentences. */
  readonly warnings: string[];
  /**
   * SHA-256 of this mail's own bytes, when they are known (the top mail, a `message/rfc822` or
   * `.eml` part; not an inline-forwarded block): the `.eml` that becomes a `file` observable.
   */
  readonly rawSha256?: string;
  /**
   * The top mail only: the bytes of every file in the tree (the mail itself, forwarded mails'
   * parts, attachments) by SHA-256, with the type their first bytes show (mail-files.ts).
   */
  readonly contents?: ReadonlyMap<string, FileContent>;
}

/** A file of a mail: its bytes and the type its magic bytes show (not the declared MIME type). */
export interface FileContent {
  readonly content: Buffer;
  /** file-type's reading: `pdf`/`application/pdf`, `exe`/`application/x-msdownload`, …; null when unknown (text, say). */
  readonly detected: { readonly ext: string; readonly mime: string } | null;
}

/** Files whose type is read from their magic bytes, per mail tree: the rest have none. */
const DETECT_MAX = 200;

/** HTML longer than this is not converted to text by mailparser (its converter is the slow step); we strip tags instead. */
const HTML_TO_TEXT_MAX = 2_000_000;

/** Parses one raw mail. Never rejects; see {@link ParsedMail.warnings} for what was cut or skipped. */
export async function parseMail(raw: Buffer, limits: Partial<MailLimits> = {}): Promise<ParsedMail> {
  const lim: MailLimits = { ...DEFAULT_MAIL_LIMITS, ...limits };
  const budget = { bytes: lim.maxTotalBytes, parts: lim.maxParts };
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw ?? ''), 'utf8');
  const found = new Map<string, Buffer>();
  const rawSha256 = createHash('sha256').update(bytes).digest('hex');
  found.set(rawSha256, bytes);
  let mail: ParsedMail;
  try {
    mail = await parseLevel(bytes, 0, 'top', lim, budget, found);
  } catch (err) {
    // Nothing below is expected to throw; if something does, the mail still becomes an alert.
    const warning = `The mail could not be parsed (${(err as Error).message}); the raw mail was scanned as text.`;
    mail = fromRawText(bytes.subarray(0, lim.maxRawBytes), 0, 'top', lim, [warning]);
  }
  return { ...mail, rawSha256, contents: await detectTypes(found) };
}

/** Each file's type from its magic bytes (file-type), the first {@link DETECT_MAX} of them. */
async function detectTypes(found: ReadonlyMap<string, Buffer>): Promise<Map<string, FileContent>> {
  const { fileTypeFromBuffer } = await import('file-type');
  const out = new Map<string, FileContent>();
  let n = 0;
  for (const [sha, content] of found) {
    let detected: FileContent['detected'] = null;
    if (n++ < DETECT_MAX) {
      try {
        const t = await fileTypeFromBuffer(content);
        if (t !== undefined) detected = { ext: t.ext, mime: t.mime };
      } catch {
        // A detector choking on odd bytes leaves the type unknown; the file is still kept.
      }
    }
    out.set(sha, { content, detected });
  }
  return out;
}

interface Budget {
  bytes: number;
  parts: number;
}

async function parseLevel(raw: Buffer, depth: number, origin: ParsedMailOrigin, lim: MailLimits, budget: Budget, found: Map<string, Buffer>): Promise<ParsedMail> {
  const warnings: string[] = [];
  let bytes = raw;
  if (bytes.length > lim.maxRawBytes) {
    bytes = bytes.subarray(0, lim.maxRawBytes);
    warnings.push(`The mail has ${raw.length} bytes; only the first ${lim.maxRawBytes} were parsed (maxRawBytes).`);
  }
  budget.bytes -= bytes.length;
  const read = await readMime(bytes, lim, warnings);
  if (read === null) return fromRawText(bytes, depth, origin, lim, warnings);
  const { mp } = read;

  let { html, text } = read;
  // mailparser converts only a top-level HTML part: an HTML-only part inside multipart/mixed
  // (most forwarded phish) or HTML its converter refused would leave no text to scan.
  if (html !== null && text.trim() === '') text = htmlToText(html.slice(0, lim.maxTextChars));
  if (text.length > lim.maxTextChars) {
    warnings.push(`The text has ${text.length} characters; only the first ${lim.maxTextChars} were kept (maxTextChars).`);
    text = text.slice(0, lim.maxTextChars);
  }
  if (html !== null && html.length > lim.maxTextChars) {
    warnings.push(`The HTML has ${html.length} characters; only the first ${lim.maxTextChars} were kept (maxTextChars).`);
    html = html.slice(0, lim.maxTextChars);
  }

  const attachments: MailAttachment[] = [];
  // Every part's sha256, blank ones included, in mail order: the body digest (a mail's identity
  // without a Message-ID) is computed as before blank parts were left out, so its sourceRef stays.
  const partDigests: string[] = [];
  const forwarded: ParsedMail[] = [];
  for (let i = 0; i < read.partCount; i++) {
    const part = read.parts[i];
    // A walked mail keeps the bytes of maxAttachments parts only: the loop ends there anyway.
    if (part === undefined || i >= lim.maxAttachments || budget.parts <= 0) {
      warnings.push(`${read.partCount - i} of ${read.partCount} attachments were not hashed (maxAttachments/maxParts).`);
      break;
    }
    budget.parts -= 1;
    // Outlook's ATT00001.txt (a CRLF) and empty parts are no files: their hash would name nothing.
    if (isBlank(part.content)) {
      partDigests.push(createHash('sha256').update(part.content).digest('hex'));
      warnings.push(`The part ${part.filename ?? part.contentType} holds ${part.content.length === 0 ? 'nothing' : 'only white space'} (${part.content.length} bytes): neither a file nor a hash.`);
      continue;
    }
    const att = hashed(part);
    partDigests.push(att.sha256);
    if (!found.has(att.sha256)) found.set(att.sha256, part.content);
    const kind = forwardKind(part);
    if (kind === null) {
      attachments.push(att);
      continue;
    }
    const name = att.filename ?? att.contentType;
    if (depth + 1 > lim.maxDepth) {
      attachments.push(att);
      warnings.push(`A forwarded mail (${name}) at depth ${depth + 1} was not parsed (maxDepth ${lim.maxDepth}).`);
    } else if (budget.parts <= 0 || budget.bytes < part.content.length) {
      attachments.push(att);
      warnings.push(`A forwarded mail (${name}) was not parsed (maxParts/maxTotalBytes).`);
    } else {
      budget.parts -= 1;
      // Marked: the part is the forwarded mail itself, whose content is read below, not a file of this mail.
      attachments.push({ ...att, forwardedMail: true });
      forwarded.push({ ...(await parseLevel(part.content, depth + 1, kind, lim, budget, found)), rawSha256: att.sha256 });
    }
  }
  if (depth + 1 <= lim.maxDepth) {
    // An HTML-only report: its text (a converter's) lost the rule before the pasted header block and
    // the links' targets, so forwards are sought in the HTML as Outlook's own text part would have it.
    let blocks = findInlineForwards(text, Math.max(0, budget.parts));
    if (blocks.length === 0 && html !== null && PASTED_FROM.test(text)) blocks = findInlineForwards(htmlToText(html, true), Math.max(0, budget.parts));
    for (const block of blocks) {
      budget.parts -= 1;
      forwarded.push(inlineMail(block, depth + 1));
    }
  }

  return {
    origin,
    depth,
    messageId: bareId(mp.messageId),
    subject: mp.subject ?? null,
    from: firstAddress(mp.from),
    to: addresses(mp.to),
    cc: addresses(mp.cc),
    replyTo: addresses(mp.replyTo),
    date: headerDate(mp.headerLines),
    ...offsetOf(headerDateOffset(mp.headerLines)),
    text,
    html,
    attachments,
    headers: keptHeaders(mp),
    received: receivedValues(mp.headerLines),
    bodyDigest: digest(text, html, partDigests),
    headerDigest: identityDigest(mp.headerLines),
    forwarded,
    warnings,
  };
}

/** mailparser's options, for whole mails and for header blocks alike. */
const MAILPARSER_OPTIONS = {
  ignoreEmbedded: true, // every message/rfc822 stays an attachment: we parse it ourselves, bounded
  checksumAlgo: false, // we hash with sha256 and md5 (mail-parts.ts)
  keepCidLinks: true, // no data: URLs of inline images blown into the HTML
  skipTextToHtml: true,
  skipTextLinks: true,
  maxHtmlLengthToParse: HTML_TO_TEXT_MAX,
} as const;

/** The MIME reading of one mail, by mailparser or by the part-by-part walk. */
interface MimeRead {
  /** Header fields come from here (for a walked mail, mailparser's reading of the header block alone). */
  readonly mp: MpMail;
  readonly text: string;
  readonly html: string | null;
  /** The attachments kept, in mail order (a walk keeps the first maxAttachments). */
  readonly parts: readonly RawPart[];
  /** Attachments in the mail, kept or not. */
  readonly partCount: number;
}

/** mailparser, loaded with the first mail: a serve that takes no mail does not hold it (issue 15, memory). */
let mailparser: Promise<typeof import('mailparser')> | undefined;
async function simpleParser(input: Buffer, options: typeof MAILPARSER_OPTIONS): Promise<MpMail> {
  return (await (mailparser ??= import('mailparser'))).simpleParser(input, options);
}

/**
 * mailparser's reading of `bytes`; for a mail with more parts than mailparser reads, the walk of
 * mime-walk.ts, with the header fields mailparser reads from the header block alone. Null (and a
 * warning) when the MIME structure is unreadable: the caller scans the raw text.
 */
async function readMime(bytes: Buffer, lim: MailLimits, warnings: string[]): Promise<MimeRead | null> {
  const unreadable = (err: unknown): null => {
    warnings.push(`The MIME structure is unreadable (${(err as Error).message}); the raw mail was scanned as text.`);
    return null;
  };
  try {
    const mp = await simpleParser(bytes, MAILPARSER_OPTIONS);
    const parts = mp.attachments.map(partOfAttachment);
    return { mp, text: mp.text ?? '', html: typeof mp.html === 'string' ? mp.html : null, parts, partCount: parts.length };
  } catch (err) {
    if (!isPartLimit(err)) return unreadable(err);
  }
  const walk = await walkMime(bytes, { maxAttachments: lim.maxAttachments, maxTextChars: lim.maxTextChars });
  let mp: MpMail;
  try {
    mp = await simpleParser(walk.header, MAILPARSER_OPTIONS);
  } catch (err) {
    return unreadable(err);
  }
  warnings.push(
    `The mail has more MIME parts than mailparser reads (${MAILPARSER_MAX_PARTS}); its parts were read one by one instead` +
      (walk.complete ? '.' : `, up to ${WALK_MAX_PARTS} parts: the rest was not read.`),
  );
  return { mp, text: walk.text, html: walk.html, parts: walk.attachments.map(partOfWalked), partCount: walk.attachmentCount };
}

/** mailsplit's "Max allowed child nodes exceeded" (code EMAXLEN), which mailparser passes on. */
function isPartLimit(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === 'EMAXLEN' && typeof e.message === 'string' && /child nodes/i.test(e.message);
}

/** A pasted `From:`/`От:` header line somewhere in a text: the HTML may hold an inline forward. */
const PASTED_FROM = /^[ \t>*]{0,8}(?:from|от)\*{0,2}[ \t]{0,4}:/im;

function inlineMail(block: ReturnType<typeof findInlineForwards>[number], depth: number): ParsedMail {
  const headers: Record<string, string> = {};
  if (block.dateText !== null) headers['date'] = block.dateText;
  if (block.to !== null) headers['to'] = block.to;
  const to = block.to === null ? null : addressOf(block.to);
  const fields: Array<[string, string | null]> = [['date', block.dateText], ['from', block.from === null ? null : `${block.from.name} <${block.from.address}>`], ['to', block.to], ['subject', block.subject]];
  const lines = fields.flatMap(([key, value]) => (value === null ? [] : [{ key, line: `${key}: ${value}` }]));
  return {
    origin: 'inline', depth, messageId: null, subject: block.subject, from: block.from, to: to === null ? [] : [to], cc: [], replyTo: [],
    date: null, text: block.text, html: null, attachments: [], headers, bodyDigest: digest(block.text, null, []),
    headerDigest: identityDigest(lines), forwarded: [], warnings: [],
  };
}

/** What is left of a mail mailparser could not read: crude header fields and the body as UTF-8 text. */
function fromRawText(bytes: Buffer, depth: number, origin: ParsedMailOrigin, lim: MailLimits, warnings: string[]): ParsedMail {
  const all = bytes.toString('utf8', 0, Math.min(bytes.length, lim.maxTextChars * 4));
  const split = /\r?\n\r?\n/.exec(all);
  const head = split === null ? all : all.slice(0, split.index);
  const body = (split === null ? '' : all.slice(split.index + split[0].length)).slice(0, lim.maxTextChars);
  const field = (name: string): string | null => {
    const m = new RegExp(`^${name}:[ \\t]{0,8}([^\\r\\n]{0,2000})`, 'im').exec(head);
    return m === null ? null : (m[1] as string).trim() || null;
  };
  const from = field('from');
  const date = Date.parse(field('date') ?? '');
  return {
    origin, depth, messageId: bareId(field('message-id') ?? undefined), subject: field('subject'), from: from === null ? null : addressOf(from),
    to: [], cc: [], replyTo: [], date: Number.isNaN(date) ? null : date, text: body, html: null, attachments: [], headers: {}, received: receivedValues(rawHeaderLines(head)),
    bodyDigest: digest(body, null, []), headerDigest: identityDigest(rawHeaderLines(head)), forwarded: [], warnings,
  };
}

function digest(text: string, html: string | null, partDigests: readonly string[]): string {
  const files = partDigests.join(',');
  return createHash('sha256').update(text).update('\0').update(html ?? '').update('\0').update(files).digest('hex');
}

/** True for a part of nothing but spaces, tabs and line breaks (at most 4 KiB of them). */
function isBlank(content: Buffer): boolean {
  if (content.length > 4096) return false;
  for (const byte of content) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a) return false;
  return true;
}

function offsetOf(minutes: number | null): { dateOffset?: number } {
  return minutes === null ? {} : { dateOffset: minutes };
}
