/**
 * A real SMTP relay for the notification tests: smtp-server on 127.0.0.1 that parses each mail it
 * takes (mailparser); `refuse` makes it answer 550 to DATA.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

export interface Received {
  messageId: string;
  subject: string;
  text: string;
  to: string;
}

/** A real SMTP relay on 127.0.0.1; `refuse` makes it answer 550 to DATA. */
export class Relay {
  readonly mails: Received[] = [];
  refuse = false;
  #server: SMTPServer | undefined;

  /** `tls`: implicit TLS (port 465 style) with this key and certificate. */
  async start(port = 0, tls?: { readonly key: string; readonly cert: string }): Promise<number> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      ...(tls ? { secure: true, key: tls.key, cert: tls.cert } : {}),
      logger: false,
      onData: (stream, _session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.refuse) return callback(Object.assign(new Error('5.7.1 Relaying denied'), { responseCode: 550 }));
          void simpleParser(Buffer.concat(chunks)).then((m) => {
            this.mails.push({ messageId: m.messageId ?? '', subject: m.subject ?? '', text: m.text ?? '', to: Array.isArray(m.to) ? '' : (m.to?.text ?? '') });
            callback();
          }, callback);
        });
      },
    });
    // A client that refuses the certificate makes the server emit an error: a relay logs it and goes on.
    server.on('error', () => undefined);
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    return ((server as unknown as { server: http.Server }).server.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

