/**
 * The sourceRef of a reported phish (issue 13): from the phish, not from the report, so that every
 * colleague who forwards the same phish names the same alert (the lifecycle then lists each
 * reporter on it, mail-update.ts; without it TheHive's "already exists" counts as delivered).
 *
 * - A whole phish (`message/rfc822`, `.eml`): its Message-ID, with its sender and subject, since
 *   some mail sets reuse Message-IDs across different mails.
 * - An inline-forwarded block, which has no Message-ID: its pasted sender and subject and its text,
 *   blanks collapsed (each reporter's client wraps it its own way). Not its `Sent:` line, written in
 *   each reporter's own locale, nor its `To:`, which names the reporter.
 * - A whole phish without a Message-ID: the same, with its `Date:` and its body digest.
 *
 * `mail-` + 20 hex like every mail ref; the identity starts with `phish` so it never meets a ref of
 * an ordinary mail.
 */
import { hash } from 'node:crypto';
import type { ParsedMail } from '../parse/email.js';
import { MAIL_PREFIX } from './mail-alert.js';

const HEX_CHARS = 20;

export function phishSourceRef(phish: Pick<ParsedMail, 'origin' | 'messageId' | 'from' | 'subject' | 'date' | 'text' | 'bodyDigest'>): string {
  const from = phish.from?.address.trim().toLowerCase() ?? '';
  const subject = (phish.subject ?? '').replace(/\s+/g, ' ').trim();
  const identity =
    phish.messageId !== null
      ? ['phish', 'message-id', phish.messageId, from, subject]
      : phish.origin === 'inline'
        ? ['phish', 'inline', from, subject, phish.text.replace(/\s+/g, ' ').trim()]
        : ['phish', 'whole', from, subject, String(phish.date ?? ''), phish.bodyDigest];
  return MAIL_PREFIX + hash('sha256', identity.join('\n'), 'hex').slice(0, HEX_CHARS);
}
