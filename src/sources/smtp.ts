/**
 * The SMTP source: a receive-only smtp-server for spamtraps and forwarding rules. It is not
 * an MTA and keeps no queue of its own: a mail is answered `250` only once the
 * {@link MailIntake} has kept it (spooled, or quarantined: kept either way), and `451` when
 * the intake could not keep it, so the sending MTA keeps it and retries. While the spool is
 * full, `MAIL FROM` and `RCPT TO` get `452`. Peers can be restricted by address (`allowPeers`,
 * checked at connect) and senders by envelope address or domain (`allowFrom`, at `MAIL FROM`).
 *
 * Replies carry their own enhanced status codes (`550 5.7.1 …`): smtp-server would add its
 * generic ones per reply code (`550 5.1.1`, "bad destination mailbox"), which misname a policy
 * refusal, so its automatic ones are turned off.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { cidrMatcher, parseCidr } from '../net/cidr.js';
import type { MailIntake, MailOrigin } from './mail-intake.js';

/** Where to listen and what to take. */
export interface SmtpOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** `0` picks a free port (read it from `start()`). */
  readonly port: number;
  /** Larger mails are refused with 552 (advertised as `SIZE`). @default 26214400 */
  readonly maxBytes?: number;
  /** Allowed envelope senders: `soc@corp.example` or `@corp.example` (that domain exactly), case-insensitive; empty allows all. @default [] */
  readonly allowFrom?: readonly string[];
  /** CIDR allowlist of clients (`10.0.0.0/8`, `::1`); empty allows all. @default [] */
  readonly allowPeers?: readonly string[];
  /** PEM key and certificate files: STARTTLS is offered only when both are set. @default '' */
  readonly tlsKeyFile?: string;
  readonly tlsCertFile?: string;
  /** Name in the greeting. @default os.hostname() */
  readonly name?: string;
  /** Connections at once; more are refused with 421. @default 100 */
  readonly maxClients?: number;
  /** A client silent this long is disconnected. @default 60000 */
  readonly socketTimeoutMs?: number;
}

/** How long stop() lets connected clients finish before they get `421` (an MTA then retries). */
const CLOSE_GRACE_MS = 5_000;
/** Recipients per mail: a spamtrap needs one; a bound keeps a session's memory small. */
const MAX_RECIPIENTS = 100;

/** An error smtp-server answers with `code` and `text` (which starts with the enhanced code). */
function reply(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** Receives mail over SMTP into a {@link MailIntake}; see the module comment. */
export class SmtpSource {
  readonly name = 'source.smtp';
  readonly #o: SmtpOptions & { host: string; maxBytes: number };
  readonly #intake: MailIntake;
  readonly #log: Logger;
  readonly #peerAllowed: (address: string | undefined) => boolean;
  readonly #senderAllowed: (address: string) => boolean;
  #server: SMTPServer | undefined;

  constructor(opts: SmtpOptions, intake: MailIntake, log: Logger) {
    this.#o = { ...opts, host: opts.host ?? '127.0.0.1', maxBytes: opts.maxBytes ?? 25 * 1024 * 1024 };
    check(this.#o);
    this.#intake = intake;
    this.#log = log.child({ component: this.name });
    this.#peerAllowed = cidrMatcher(opts.allowPeers ?? []);
    this.#senderAllowed = senderMatcher(opts.allowFrom ?? []);
  }

  /** Listens; resolves with the bound address. Rejects when the TLS files cannot be read or the port is taken. */
  async start(): Promise<AddressInfo> {
    if (this.#server) throw new Error('The SMTP source is already started.');
    const o = this.#o;
    const tls = o.tlsKeyFile ? { key: await readFile(o.tlsKeyFile), cert: await readFile(o.tlsCertFile ?? '') } : undefined;
    const options: SMTPServerOptions = {
      name: o.name,
      banner: 'tracehive',
      size: o.maxBytes,
      rejectOversized: true,
      authOptional: true,
      disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      ...tls,
      hideENHANCEDSTATUSCODES: true,
      disableReverseLookup: true,
      maxClients: o.maxClients ?? 100,
      maxRecipients: MAX_RECIPIENTS,
      socketTimeout: o.socketTimeoutMs ?? 60_000,
      closeTimeout: CLOSE_GRACE_MS,
      logger: false,
      onConnect: (session, cb) => this.#onConnect(session, cb),
      onMailFrom: (address, session, cb) => this.#onMailFrom(address.address, session, cb),
      onRcptTo: (_address, _session, cb) => cb(this.#intake.full ? reply(452, '4.3.1 Insufficient system storage: try again later') : null),
      onData: (stream, session, cb) => this.#onData(stream, session, cb),
    };
    const server = new SMTPServer(options);
    server.on('error', (err: Error) => this.#log.warn({ err }, 'SMTP connection error.'));
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const address = server.server.address() as AddressInfo;
    this.#log.info({ host: address.address, port: address.port, starttls: tls !== undefined, maxBytes: o.maxBytes }, 'SMTP source listening.');
    return address;
  }

  /** Stops accepting; a mail in flight is still answered; clients still connected after a grace get 421. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#log.info('SMTP source stopped.');
  }

  #onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    if (this.#peerAllowed(session.remoteAddress)) return cb();
    this.#log.info({ peer: session.remoteAddress }, 'SMTP client refused: not in allowPeers.');
    cb(reply(554, '5.7.1 Client address not allowed'));
  }

  #onMailFrom(sender: string, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    if (!this.#senderAllowed(sender)) {
      this.#log.info({ peer: session.remoteAddress, sender }, 'SMTP sender refused: not in allowFrom.');
      return cb(reply(550, '5.7.1 Sender not allowed'));
    }
    if (this.#intake.full) return cb(reply(452, '4.3.1 Insufficient system storage: try again later'));
    cb();
  }

  /** Collects the message (bounded), then answers with what the intake did with it. */
  #onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): void {
    const max = this.#o.maxBytes;
    let answered = false;
    const answer = (err: Error | null, message?: string): void => {
      if (answered) return;
      answered = true;
      cb(err, message);
    };
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // Past the limit the rest is read and dropped: smtp-server answers 552 (rejectOversized).
      if (bytes <= max) chunks.push(chunk);
      else chunks.length = 0;
    });
    stream.once('error', (err: Error) => answer(reply(451, `4.3.0 ${err.message}`)));
    stream.once('end', () => {
      if (bytes > max || stream.sizeExceeded) {
        this.#log.info({ peer: session.remoteAddress, bytes, maxBytes: max, code: 'ERR_MAIL_TOO_BIG' }, 'SMTP mail refused: larger than maxBytes.');
        return answer(reply(552, `5.3.4 Message exceeds fixed maximum message size ${max}`));
      }
      const origin: MailOrigin = { via: 'smtp', id: `${session.id} ${session.remoteAddress}` };
      this.#intake.accept(Buffer.concat(chunks, bytes), origin).then(
        (verdict) => {
          this.#log.debug({ origin, bytes, verdict }, 'Mail received.');
          answer(null, verdict.kind === 'accepted' ? `2.6.0 Accepted as ${verdict.sourceRef}` : '2.6.0 Kept for review (quarantined)');
        },
        (err: unknown) => {
          this.#log.warn({ err, origin }, 'The intake could not keep the mail: answered 451, the sender retries.');
          answer(reply(451, '4.3.0 Could not store the message: try again later'));
        },
      );
    });
  }
}

/** A predicate on envelope senders from `addr@domain` and `@domain` entries; an empty list allows all. */
export function senderMatcher(list: readonly string[]): (address: string) => boolean {
  const addresses = new Set<string>();
  const domains = new Set<string>();
  for (const entry of list) {
    const e = entry.trim().toLowerCase();
    if (/^@[^@\s]+$/.test(e)) domains.add(e.slice(1));
    else if (/^[^@\s]+@[^@\s]+$/.test(e)) addresses.add(e);
    else {
      const hint = parseCidr(e) ? ' (client addresses go in `allowPeers`)' : '';
      throw new TypeError(`Expected \`allowFrom\` entries to be addresses or @domain, got ${JSON.stringify(entry)}${hint}.`);
    }
  }
  if (addresses.size === 0 && domains.size === 0) return () => true;
  return (address) => {
    const a = address.toLowerCase();
    return addresses.has(a) || domains.has(a.slice(a.lastIndexOf('@') + 1));
  };
}

function check(o: SmtpOptions & { host: string; maxBytes: number }): void {
  const fail = (name: string, expected: string, got: unknown): never => {
    throw new TypeError(`Expected \`${name}\` to be ${expected}, got ${JSON.stringify(got)}.`);
  };
  if (typeof o.host !== 'string' || o.host === '') fail('host', 'a listen address', o.host);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) fail('port', 'an integer from 0 to 65535', o.port);
  if (!Number.isSafeInteger(o.maxBytes) || o.maxBytes < 1) fail('maxBytes', 'a positive integer', o.maxBytes);
  if (Boolean(o.tlsKeyFile) !== Boolean(o.tlsCertFile)) fail('tlsKeyFile and tlsCertFile', 'both set or both empty', [o.tlsKeyFile, o.tlsCertFile]);
  for (const peer of o.allowPeers ?? []) if (!parseCidr(peer)) fail('allowPeers entries', 'addresses or CIDR ranges', peer);
}
