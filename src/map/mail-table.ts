/**
 * The rows of a mail alert's description table: the header fields an analyst triages by, one row
 * per attachment and per forwarded mail, and for a mail that came over SMTP its envelope and
 * client. Values are plain text here; markdownDescription escapes them. Pure.
 */
import type { MailAddress, ParsedMail } from '../parse/email.js';
import type { MailEnvelope } from '../sources/mail-intake.js';
import type { KvPair } from '../types.js';

/** `Name <address>`, the address alone, or `(unknown sender)`. */
export function who(a: MailAddress | null): string {
  if (a === null) return '(unknown sender)';
  if (a.name === '') return a.address || '(unknown sender)';
  return a.address === '' ? a.name : `${a.name} <${a.address}>`;
}

/** The summary table of a mail: headers, then `extra` (the envelope), then one row per attachment and per forwarded mail. */
export function mailPairs(mail: ParsedMail, extra: readonly KvPair[] = []): KvPair[] {
  const list = (xs: readonly MailAddress[]): string | null => (xs.length === 0 ? null : xs.map(who).join(', '));
  const pairs: KvPair[] = [
    { key: 'From', value: mail.from === null ? null : who(mail.from) },
    { key: 'To', value: list(mail.to) },
    { key: 'Cc', value: list(mail.cc) },
    { key: 'Reply-To', value: list(mail.replyTo) },
    { key: 'Date', value: mail.headers['date'] ?? null },
    { key: 'Subject', value: mail.subject },
    { key: 'Message-ID', value: mail.messageId },
  ];
  for (const name of ['return-path', 'x-originating-ip']) {
    const value = mail.headers[name];
    if (value !== undefined) pairs.push({ key: name, value });
  }
  pairs.push(...extra);
  for (const a of mail.attachments) {
    pairs.push({ key: 'Attachment', value: `${a.filename ?? '(no name)'} (${a.contentType}, ${a.size} bytes, sha256 ${a.sha256}, md5 ${a.md5})` });
  }
  for (const f of mail.forwarded) pairs.push({ key: `Forwarded (${f.origin})`, value: `${who(f.from)}: ${f.subject ?? '(no subject)'}` });
  return pairs;
}

/**
 * What the SMTP client said: `MAIL FROM` (`<>` for the null sender of bounces), the `RCPT TO`
 * list, and the client's address with the name it gave in HELO/EHLO. Shown to the analyst only:
 * the client is usually our own MTA, never an indicator.
 */
export function envelopePairs(envelope: MailEnvelope): KvPair[] {
  const helo = envelope.helo?.trim() ?? '';
  return [
    { key: 'Envelope from', value: envelope.mailFrom === '' ? '<>' : envelope.mailFrom },
    { key: 'Envelope to', value: envelope.rcptTo.length === 0 ? null : envelope.rcptTo.join(', ') },
    { key: 'SMTP client', value: helo === '' ? envelope.clientAddress : `${envelope.clientAddress} (HELO ${helo})` },
  ];
}
