/**
 * Which files of a mail become `file` observables (issue 13 point 2), so that Cortex's EmlParser,
 * FileInfo or a sandbox can run on them: each real attachment of the mail the alert is about, then
 * that mail itself as an `.eml` (for a reported phish, the phish as forwarded in a
 * `message/rfc822` or `.eml` part; an inline-forwarded block has no bytes of its own, so the
 * report is sent). A SIEM notification's own `.eml` is not: it is the SIEM's text, already in the
 * alert. Each file is tagged with the type its magic bytes show (`filetype:pdf`), and
 * `type-mismatch` when that contradicts what it declared (an `.exe` sent as `application/pdf`).
 *
 * Within `email.files.maxBytes` each and `maxTotalBytes` in all, in that order; a file over either
 * keeps its hashes and name (mail-collect.ts) and is named in the description. Pure: the bytes stay
 * in the parsed mail, the pipeline writes them to the file store before the alert is spooled.
 */
import type { FileContent, ParsedMail } from '../parse/email.js';
import type { MailAttachment } from '../parse/mail-parts.js';
import type { FileRef, Observable } from '../types.js';
import { cleanTags } from './limits.js';
import { DEFAULT_FILES_POLICY, type MailFilesPolicy } from './mail-policy.js';

/** Characters of a file name kept (TheHive shows it; a 10 KB name is an attack on the table, not a name). */
const NAME_MAX = 255;

/** The `file` observables of a mail, and what could not be attached. */
export interface MailFiles {
  readonly observables: Observable[];
  /** Sentences for the description: each file over the limits, with its size and SHA-256. */
  readonly notes: string[];
}

interface Candidate {
  readonly sha256: string;
  readonly name: string;
  readonly declared: string;
  readonly tags: readonly string[];
  readonly message: string;
}

/**
 * `subject`: the mail the alert is about (the top mail, or the reported phish); `top`: the mail
 * received, whose `contents` hold the bytes; `withEml`: whether the subject's own `.eml` is sent.
 * `also`: attachments of the top mail besides the subject's (a report's own files).
 */
export function mailFiles(top: ParsedMail, subject: ParsedMail, withEml: boolean, policy: MailFilesPolicy = DEFAULT_FILES_POLICY, also: readonly MailAttachment[] = []): MailFiles {
  const contents = top.contents;
  const ref = top.rawSha256;
  if (contents === undefined || ref === undefined || policy.maxBytes <= 0) return { observables: [], notes: [] };
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  const push = (c: Candidate): void => {
    if (seen.has(c.sha256) || !contents.has(c.sha256)) return;
    seen.add(c.sha256);
    candidates.push(c);
  };
  const attachmentsOf = (mail: ParsedMail): MailAttachment[] => [
    ...mail.attachments.filter((a) => a.forwardedMail !== true),
    // An ordinary mail's forwarded mails' files are its files too (a report has one forwarded mail: the subject).
    ...(mail === subject && mail === top ? mail.forwarded.flatMap((f) => f.attachments.filter((a) => a.forwardedMail !== true)) : []),
  ];
  for (const a of [...attachmentsOf(subject), ...also.filter((a) => a.forwardedMail !== true)]) {
    const name = cleanName(a.filename) ?? `attachment-${a.sha256.slice(0, 12)}`;
    push({ sha256: a.sha256, name, declared: a.contentType, tags: [a.filename === null ? 'attachment' : `attachment:${name}`], message: `Attachment ${name}, declared ${a.contentType}, ${a.size} bytes.` });
  }
  const emlSha = subject.rawSha256 ?? (subject.origin === 'inline' ? top.rawSha256 : undefined);
  if (withEml && emlSha !== undefined) {
    const reported = subject !== top;
    const name = reported && subject.rawSha256 !== undefined ? 'reported-mail.eml' : reported ? 'report.eml' : 'mail.eml';
    const message = reported
      ? subject.rawSha256 !== undefined
        ? 'The reported mail as it was forwarded to us, headers and all: for EmlParser.'
        : 'The report as received: the phish was forwarded inline, so its own headers are not in it.'
      : 'The mail as received, headers and all: for EmlParser.';
    push({ sha256: emlSha, name, declared: 'message/rfc822', tags: ['eml'], message });
  }

  const observables: Observable[] = [];
  const notes: string[] = [];
  let total = 0;
  for (const c of candidates) {
    const file = contents.get(c.sha256) as FileContent;
    const size = file.content.length;
    const over = size > policy.maxBytes ? `email.files.maxBytes ${policy.maxBytes}` : total + size > policy.maxTotalBytes ? `email.files.maxTotalBytes ${policy.maxTotalBytes} for one mail` : null;
    if (over !== null) {
      notes.push(`Not attached as a file (over ${over}): ${c.name}, ${size} bytes, sha256 ${c.sha256}.`);
      continue;
    }
    total += size;
    const kind = fileKind(file, c.declared);
    const attachment: FileRef = { name: c.name, contentType: kind.mime, size, sha256: c.sha256, ref: ref.slice(0, 32) };
    observables.push({ dataType: 'file', data: c.sha256, ioc: false, attachment, tags: cleanTags([...c.tags, `filetype:${kind.ext}`, ...(kind.mismatch ? ['type-mismatch'] : [])]), message: c.message });
  }
  return { observables, notes };
}

/**
 * What the file is by its first bytes: file-type's reading; a mail (`eml`) or text when it has
 * none and looks so; else `unknown`. `mismatch`: the declared type names another kind of file.
 */
export function fileKind(file: FileContent, declared: string): { readonly ext: string; readonly mime: string; readonly mismatch: boolean } {
  const decl = declared.toLowerCase();
  if (file.detected !== null) {
    const { ext, mime } = file.detected;
    const generic = decl === '' || decl === 'application/octet-stream' || decl === 'binary/octet-stream';
    return { ext, mime, mismatch: !generic && family(decl) !== family(mime) };
  }
  if (decl === 'message/rfc822') return { ext: 'eml', mime: 'message/rfc822', mismatch: false };
  const head = file.content.subarray(0, 4096);
  if (!head.includes(0)) {
    // file-type reads binary signatures only: text is told by its first characters.
    if (/^\s*<(!doctype html|html|head|body|script|meta|div|table|form|iframe)\b/i.test(head.toString('latin1'))) return { ext: 'html', mime: 'text/html', mismatch: false };
    const sub = /^text\/([\w.+-]+)$/.exec(decl)?.[1];
    const ext = sub === undefined || sub === 'plain' ? 'txt' : sub.replace(/^x-/, '');
    return { ext, mime: decl.startsWith('text/') ? decl : 'text/plain', mismatch: false };
  }
  return { ext: 'unknown', mime: 'application/octet-stream', mismatch: false };
}

/**
 * Types that are the same kind of file: any image as any image (`image/jpg` is `image/jpeg`), and
 * Office documents with the ZIP and OLE containers they are (a docx is a zip to the detector).
 */
function family(mime: string): string {
  const major = mime.split('/')[0] ?? '';
  if (major === 'image' || major === 'audio' || major === 'video' || major === 'text') return major;
  if (/(officedocument|msword|ms-excel|ms-powerpoint|x-cfb|zip|opendocument)/.test(mime)) return 'office-or-zip';
  return mime;
}

/** A file name fit to show and send: no path, no control characters, at most {@link NAME_MAX} characters. */
function cleanName(name: string | null): string | null {
  if (name === null) return null;
  // eslint-disable-next-line no-control-regex
  const base = name.replace(/[\u0000-\u001f\u007f]/g, '').split(/[\\/]/).pop()?.trim() ?? '';
  return base === '' || base === '.' || base === '..' ? null : base.slice(0, NAME_MAX);
}
