/**
 * What an SMTP client says about a mail besides the mail, read from smtp-server's session: the
 * envelope and client handed to the intake (they go into the alert, never into its sourceRef),
 * and the SIZE it declared (RFC 1870), which the byte budget of mails in flight is checked against.
 */
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { MailEnvelope } from './mail-intake.js';

/** The SIZE a client declared at MAIL FROM (RFC 1870), 0 when none. */
export function declaredSize(address: SMTPServerAddress): number {
  const size = address.args ? Number(address.args.SIZE) : 0;
  return Number.isSafeInteger(size) && size > 0 ? size : 0;
}

/** What the client said about the mail besides the mail: for the alert, never for its sourceRef. */
export function envelopeOf(session: SMTPServerSession): MailEnvelope {
  const { mailFrom, rcptTo } = session.envelope;
  const helo: unknown = session.hostNameAppearsAs;
  return {
    mailFrom: mailFrom ? mailFrom.address : '',
    rcptTo: rcptTo.map((r) => r.address),
    clientAddress: session.remoteAddress,
    ...(typeof helo === 'string' && helo !== '' ? { helo } : {}),
  };
}
