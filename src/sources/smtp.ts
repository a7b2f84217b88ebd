/**
 * The SMTP source: a receive-only smtp-server for spamtraps and forwarding rules. It is not
 * an MTA and keeps no queue of its own: a mail is answered `250` only once the
 * {@link MailIntake} has kept it (spooled, or quarantined: kept either way), and `451` when
 * the intake could not keep it, so the sending MTA keeps it and retries. While the spool is
 * full, `MAIL FROM` and `RCPT TO` get `452`. Peers can be restricted by address (`allowPeers`,
 * checked at connect) and senders by envelope address or domain (`allowFrom`, at `MAIL FROM`).
 *
 * Greedy clients are bounded: connections in all (`maxClients`) and per address
 * (`maxClientsPerPeer`), the time to start a mail and to send it (see smtp-deadlines.ts), and
 * the bytes of every mail in flight together (`maxInflightBytes`, see smtp-data.ts): a mail
 * that would go over gets `452` and the sending MTA retries it later. What a client says is
 * clipped before it is logged.
 *
 * Replies carry their own enhanced status codes (`550 5.7.1 …`): smtp-server would add its
 * generic ones per reply code (`550 5.1.1`, "bad destination mailbox"), which misname a policy
 * refusal, so its automatic ones are turned off.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { ByteBudget } from '../net/byte-budget.js';
import { cidrMatcher } from '../net/cidr.js';
import { PeerSlots } from '../net/peer-slots.js';
import { clipPeerText } from '../net/peer-text.js';
import type { Telemetry } from '../telemetry.js';
import type { MailIntake, MailOrigin } from './mail-intake.js';
import { receiveMail } from './smtp-data.js';
import { SessionDeadlines, type DeadlineKind } from './smtp-deadlines.js';
import { declaredSize, envelopeOf } from './smtp-envelope.js';
import { resolveSmtpOptions, senderMatcher, type ResolvedSmtpOptions, type SmtpOptions } from './smtp-options.js';

export { senderMatcher, type SmtpOptions } from './smtp-options.js';

/** How long stop() lets connected clients finish before they get `421` (an MTA then retries). */
const CLOSE_GRACE_MS = 5_000;
/** Recipients per mail: a spamtrap needs one; a bound keeps a session's memory small. */
const MAX_RECIPIENTS = 100;

/** The answer to a mail over maxInflightBytes: a 4xx, so the sending MTA keeps it and retries. */
const TOO_MUCH_IN_FLIGHT = '4.3.1 Too much mail in flight: try again later';

/** An error smtp-server answers with `code` and `text` (which starts with the enhanced code). */
function reply(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** Receives mail over SMTP into a {@link MailIntake}; see the module comment. */
export class SmtpSource {
  readonly name = 'source.smtp';
  readonly #o: ResolvedSmtpOptions;
  readonly #intake: MailIntake;
  readonly #log: Logger;
  readonly #telemetry: Telemetry | undefined;
  readonly #peerAllowed: (address: string | undefined) => boolean;
  readonly #senderAllowed: (address: string) => boolean;
  readonly #slots: PeerSlots;
  readonly #budget: ByteBudget;
  readonly #deadlines: SessionDeadlines;
  /** Admitted sessions (id → client address), until smtp-server reports them closed. */
  readonly #sessions = new Map<string, string>();
  #server: SMTPServer | undefined;

  /** `telemetry`, when given, counts refusals and shows the bytes in flight on /metrics. */
  constructor(opts: SmtpOptions, intake: MailIntake, log: Logger, telemetry?: Telemetry) {
    this.#o = resolveSmtpOptions(opts);
    this.#intake = intake;
    this.#log = log.child({ component: this.name });
    this.#telemetry = telemetry;
    this.#peerAllowed = cidrMatcher(opts.allowPeers ?? []);
    this.#senderAllowed = senderMatcher(opts.allowFrom ?? []);
    this.#slots = new PeerSlots(this.#o.maxClientsPerPeer);
    this.#budget = new ByteBudget(this.#o.maxInflightBytes);
    this.#deadlines = new SessionDeadlines(this.#o.commandTimeoutMs, this.#o.dataTimeoutMs, (id, kind) => this.#expired(id, kind));
    telemetry?.attachSmtpInflight(() => this.#budget.used);
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
      maxClients: o.maxClients,
      maxRecipients: MAX_RECIPIENTS,
      socketTimeout: o.socketTimeoutMs ?? 60_000,
      closeTimeout: CLOSE_GRACE_MS,
      logger: false,
      onConnect: (session, cb) => this.#onConnect(session, cb),
      onMailFrom: (address, session, cb) => this.#onMailFrom(address, session, cb),
      onRcptTo: (_address, _session, cb) => cb(this.#intake.full ? reply(452, '4.3.1 Insufficient system storage: try again later') : null),
      onData: (stream, session, cb) => this.#onData(stream, session, cb),
      onClose: (session) => this.#onClose(session),
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
    this.#log.info({ host: address.address, port: address.port, starttls: tls !== undefined, maxBytes: o.maxBytes, maxClients: o.maxClients, maxClientsPerPeer: o.maxClientsPerPeer, maxInflightBytes: o.maxInflightBytes }, 'SMTP source listening.');
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
    const peer = session.remoteAddress;
    if (!this.#peerAllowed(peer)) {
      this.#log.info({ peer }, 'SMTP client refused: not in allowPeers.');
      return cb(reply(554, '5.7.1 Client address not allowed'));
    }
    if (!this.#slots.take(peer)) {
      this.#telemetry?.smtpRefused('peer_limit');
      this.#log.warn({ peer, maxClientsPerPeer: this.#o.maxClientsPerPeer }, 'SMTP client refused with 421: its address already holds email.smtp.maxClientsPerPeer connections; it retries later (raise the key if one relay needs more).');
      return cb(reply(421, '4.7.0 Too many connections from your address: try again later'));
    }
    this.#sessions.set(session.id, peer);
    this.#deadlines.command(session.id);
    cb();
  }

  #onClose(session: SMTPServerSession): void {
    const peer = this.#sessions.get(session.id);
    if (peer === undefined) return;
    this.#sessions.delete(session.id);
    this.#slots.give(peer);
    this.#deadlines.end(session.id);
  }

  /** A deadline passed: 421 and close (smtp-server's send(421) closes the connection). */
  #expired(sessionId: string, kind: DeadlineKind): void {
    const connection = [...(this.#server?.connections ?? [])].find((c) => c.id === sessionId);
    if (!connection || !this.#sessions.has(sessionId)) return;
    const command = kind === 'command';
    const ms = command ? this.#o.commandTimeoutMs : this.#o.dataTimeoutMs;
    this.#telemetry?.smtpRefused(command ? 'command_timeout' : 'data_timeout');
    const helo = connection.session.hostNameAppearsAs;
    this.#log.warn(
      { peer: this.#sessions.get(sessionId), helo: typeof helo === 'string' ? clipPeerText(helo) : undefined, [command ? 'commandTimeoutMs' : 'dataTimeoutMs']: ms },
      command
        ? 'SMTP session closed with 421: no mail started within email.smtp.commandTimeoutMs; a real MTA retries later.'
        : 'SMTP session closed with 421: a mail did not end within email.smtp.dataTimeoutMs; a real MTA retries later (raise the key for a slow link).',
    );
    connection.send(421, command ? `4.4.2 No mail started within ${ms} ms (commandTimeoutMs): closing connection` : `4.4.2 Mail not received within ${ms} ms (dataTimeoutMs): closing connection`);
  }

  #onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    if (!this.#senderAllowed(address.address)) {
      this.#log.info({ peer: session.remoteAddress, sender: clipPeerText(address.address) }, 'SMTP sender refused: not in allowFrom.');
      return cb(reply(550, '5.7.1 Sender not allowed'));
    }
    if (this.#intake.full) return cb(reply(452, '4.3.1 Insufficient system storage: try again later'));
    const declared = declaredSize(address);
    if (declared > 0 && !this.#budget.fits(declared)) {
      this.#overBudget(session, declared);
      return cb(reply(452, TOO_MUCH_IN_FLIGHT));
    }
    cb();
  }

  #overBudget(session: SMTPServerSession, bytes: number): void {
    this.#telemetry?.smtpRefused('inflight_bytes');
    this.#log.info({ peer: session.remoteAddress, bytes, inflightBytes: this.#budget.used, maxInflightBytes: this.#budget.max }, 'SMTP mail deferred with 452: email.smtp.maxInflightBytes would be exceeded; the sender retries.');
  }

  /** Collects the message (bounded), then answers with what the intake did with it. */
  #onData(stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): void {
    const id = session.id;
    // Read now: smtp-server resets the envelope once the mail is answered.
    const envelope = envelopeOf(session);
    const declared = session.envelope.mailFrom ? declaredSize(session.envelope.mailFrom) : 0;
    this.#deadlines.data(id);
    // The command deadline starts again once the mail is both in (DATA ended) and answered.
    let ended = false;
    let answered = false;
    const next = (): void => {
      if (ended && answered && this.#sessions.has(id)) this.#deadlines.command(id);
    };
    stream.once('end', () => {
      ended = true;
      // The client now waits for our answer: no deadline runs against it.
      if (!answered) this.#deadlines.hold(id);
      next();
    });
    const answer = (err: Error | null, message?: string): void => {
      if (answered) return;
      answered = true;
      cb(err, message);
      next();
    };
    const max = this.#o.maxBytes;
    receiveMail(stream, max, this.#budget, declared).then(
      (received) => {
        if (received.kind === 'too-big') {
          this.#log.info({ peer: session.remoteAddress, bytes: received.bytes, maxBytes: max, code: 'ERR_MAIL_TOO_BIG' }, 'SMTP mail refused: larger than maxBytes.');
          return answer(reply(552, `5.3.4 Message exceeds fixed maximum message size ${max}`));
        }
        if (received.kind === 'over-budget') {
          this.#overBudget(session, received.bytes);
          return answer(reply(452, TOO_MUCH_IN_FLIGHT));
        }
        const origin: MailOrigin = { via: 'smtp', id: `${id} ${session.remoteAddress}`, envelope };
        this.#intake.accept(received.raw, origin).then(
          (verdict) => {
            this.#budget.give(received.reserved);
            this.#log.debug({ origin: origin.id, bytes: received.raw.length, verdict }, 'Mail received.');
            answer(null, verdict.kind === 'accepted' ? `2.6.0 Accepted as ${verdict.sourceRef}` : verdict.kind === 'dropped' ? '2.6.0 Taken, no alert (email.dropSubjects)' : '2.6.0 Kept for review (quarantined)');
          },
          (err: unknown) => {
            this.#budget.give(received.reserved);
            this.#log.warn({ err, origin: origin.id }, 'The intake could not keep the mail: answered 451, the sender retries.');
            answer(reply(451, '4.3.0 Could not store the message: try again later'));
          },
        );
      },
      (err: Error) => answer(reply(451, `4.3.0 ${err.message}`)),
    );
  }
}

