/**
 * Notification mails through an SMTP relay (nodemailer): `notify.smtp.*`, `notify.from`,
 * `notify.to`. The Message-ID is `<notify-<key>@tracehive>`, the same at every attempt, so a mail
 * sent again after a crash (sent, but not yet marked so) is recognisable as the same one. A 5xx
 * answer is final (ERR_NOTIFY_REJECTED); anything else (4xx, a connection refused or cut, a
 * timeout) is retried.
 */
import { rootCertificates } from 'node:tls';
import type { Transporter } from 'nodemailer';
import type { AttemptResult, Channel } from './record.js';
import { renderMail, type Notification } from './render.js';

export interface MailChannelOptions {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly starttls: 'required' | 'when-offered' | 'off';
  readonly user: string;
  readonly password: string;
  /** Verify the relay's certificate. @default true */
  readonly tlsVerify?: boolean;
  /** PEM text of `notify.smtp.caFile` (read by the caller), trusted beside Node's root CAs. */
  readonly ca?: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly linkBaseUrl: string;
  /** Connection, greeting and socket timeouts. @default 30000 */
  readonly timeoutMs?: number;
}

/** The Message-ID of a notification: one per alert and severity. */
export function messageIdOf(key: string): string {
  return `<notify-${key}@tracehive>`;
}

export function createMailChannel(o: MailChannelOptions): Channel {
  const timeout = o.timeoutMs ?? 30_000;
  // nodemailer is loaded with the first notification, not at start: a serve that never mails does not hold it (issue 15, memory).
  let transport: Transporter | undefined;
  const open = async (): Promise<Transporter> => (transport ??= (await import('nodemailer')).default.createTransport({
    host: o.host,
    port: o.port,
    secure: o.secure,
    requireTLS: !o.secure && o.starttls === 'required',
    ignoreTLS: !o.secure && o.starttls === 'off',
    ...(o.user !== '' ? { auth: { user: o.user, pass: o.password } } : {}),
    tls: { rejectUnauthorized: o.tlsVerify ?? true, ...(o.ca ? { ca: [...rootCertificates, o.ca] } : {}) },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    // One mail per connection: notifications are rare, and a pooled connection the relay dropped is one more failure mode.
    pool: false,
  }));
  return {
    name: 'mail',
    async send(n: Notification, key: string): Promise<AttemptResult> {
      const mail = renderMail(n, o.linkBaseUrl);
      try {
        await (await open()).sendMail({ from: o.from, to: [...o.to], subject: mail.subject, text: mail.text, messageId: messageIdOf(key), headers: { 'X-Tracehive-Key': key } });
        return { kind: 'sent' };
      } catch (err) {
        const e = err as { responseCode?: number; response?: string; code?: string; message: string };
        const reason = `${o.host}:${o.port}: ${e.response ?? e.message}${e.code ? ` (${e.code})` : ''}`;
        if (typeof e.responseCode === 'number' && e.responseCode >= 500) return { kind: 'rejected', reason, status: e.responseCode };
        return { kind: 'retry', reason };
      }
    },
    async close() {
      transport?.close();
    },
  };
}
