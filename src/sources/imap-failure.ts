/**
 * What the IMAP source logs when a connection ends or fails, before it reconnects with backoff:
 * the failures only the operator can fix (a refused login, a missing mailbox, a server without
 * the STARTTLS the configuration requires) are errors naming the key to change; the rest (a
 * server restarting, a network blip) are warnings. Pure: the source logs what this returns.
 */
import type { StartTls } from './imap-options.js';

/** A failure's log level and message. */
export interface FailureReport {
  readonly level: 'error' | 'warn';
  readonly msg: string;
}

/** What imapflow sets on the errors it throws. */
interface ImapFlowFailure {
  readonly authenticationFailed?: boolean;
  readonly mailboxMissing?: boolean;
  /** Set when the TLS upgrade failed or, with `doSTARTTLS: true`, was not possible. */
  readonly tlsFailed?: boolean;
  /** Set on handshake errors (certificate, protocol) and on imapflow's own coded errors. */
  readonly code?: string;
}

/** Classifies why the last connection ended; `failure` undefined means the server closed it. */
export function describeFailure(failure: unknown, o: { readonly secure: boolean; readonly starttls: StartTls; readonly configKey?: string }): FailureReport {
  const f = (failure ?? {}) as ImapFlowFailure;
  const k = o.configKey ?? 'email.imap';
  // An entry of email.imap.mailboxes has its own user and password, or inherits email.imap's.
  const login = k === 'email.imap' ? 'email.imap.user and email.imap.password' : `the user and password of ${k} (its own, or email.imap.user and email.imap.password when it sets none)`;
  if (f.authenticationFailed) return { level: 'error', msg: `The IMAP server refused the login: check ${login}.` };
  if (f.mailboxMissing) return { level: 'error', msg: `The IMAP mailbox does not exist: check ${k}.mailbox.` };
  // imapflow throws an uncoded tlsFailed error before LOGIN when STARTTLS is required but not offered.
  if (f.tlsFailed && f.code === undefined && !o.secure && o.starttls === 'required') {
    return {
      level: 'error',
      msg: 'The IMAP server offers no STARTTLS, so the password was not sent (email.imap.starttls=required). Use implicit TLS (email.imap.secure=true, usually port 993) if the server has it; email.imap.starttls=when-offered or off would send the password in clear.',
    };
  }
  if (failure === undefined) return { level: 'warn', msg: 'The IMAP connection closed; reconnecting.' };
  return { level: 'warn', msg: 'The IMAP connection failed; reconnecting.' };
}
