/**
 * The seam between the mail transports (IMAP, SMTP, .eml files, an MTA pipe) and the rest of
 * tracehive. A transport only moves raw RFC 5322 bytes: it hands each mail to
 * {@link MailIntake.accept} and acknowledges it to its peer (IMAP `\Seen`/MOVE, SMTP 250,
 * exit 0) only once that promise resolved, so a mail is never acknowledged before it is kept.
 */
import type { MailRole } from '../map/mail-trust.js';

/** What an SMTP client said about a mail besides the mail itself: the envelope and who sent it. */
export interface MailEnvelope {
  /** `MAIL FROM` address ('' for the null sender `<>`). */
  readonly mailFrom: string;
  /** `RCPT TO` addresses. */
  readonly rcptTo: readonly string[];
  /** The client's IP address. */
  readonly clientAddress: string;
  /** The name the client gave in HELO/EHLO, when it gave one. */
  readonly helo?: string;
}

/** Where a mail came from, for logs, quarantine records and the `sourceRef` fallback. */
export interface MailOrigin {
  readonly via: 'imap' | 'smtp' | 'file' | 'stdin' | 'drop';
  /**
   * IMAP: `mailbox:uidvalidity:uid`; SMTP: `session-id peer-address`; file: the absolute path;
   * stdin: `stdin`; drop: the path of a file in the drop directory that was no drop file.
   */
  readonly id: string;
  /** SMTP only: the envelope and client, recorded in the alert (never part of its `sourceRef`). */
  readonly envelope?: MailEnvelope;
  /** IMAP only: the mailbox the mail was taken from (`INBOX/tenant-b`), for `match.mail.mailbox` of `alert.rules`. */
  readonly mailbox?: string;
  /** The TheHive target of the mailbox (`email.imap.mailboxes[i].target`): the alert's `meta.target` unless a rule sets one. */
  readonly target?: string;
  /** The role of the mailbox (`email.imap.mailboxes[i].role`) and its key, replacing the source's (`email.imap.role`). */
  readonly role?: { readonly value: MailRole; readonly key: string };
}

/** What became of a mail that was kept. */
export type MailVerdict =
  /** The alert is durably in the spool. */
  | { readonly kind: 'accepted'; readonly sourceRef: string }
  /** Could not be parsed/mapped: kept in quarantine with its reason, never blocks the next mail. */
  | { readonly kind: 'quarantined'; readonly reason: string }
  /** Matched `email.dropSubjects` (an auto-reply, a newsletter): taken, and deliberately no alert. */
  | { readonly kind: 'dropped'; readonly reason: string };

/** Parses, maps and spools mails; implemented by the spool wiring, used by every mail source. */
export interface MailIntake {
  /**
   * Parses, maps and durably spools one mail. Resolves once the alert is on disk (or the mail
   * quarantined); REJECTS only when the mail could not be kept at all (disk full, I/O error,
   * shutting down): the caller must then leave the mail in place (IMAP: not seen / not moved;
   * SMTP: answer 451; MTA pipe: exit 75 EX_TEMPFAIL) so it is retried.
   */
  accept(raw: Buffer, origin: MailOrigin): Promise<MailVerdict>;
  /** True while the spool is full: IMAP stops fetching, SMTP answers 452/451 to new mail. */
  readonly full: boolean;
  /** Resolves when the spool has room again (at once when it is not full). */
  whenSpace(): Promise<void>;
}
