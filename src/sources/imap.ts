/**
 * The IMAP source: takes the unseen mails of one mailbox, one at a time, hands each one's raw
 * bytes to the {@link MailIntake}, and only once the intake has kept it marks it `\Seen` (or
 * moves it to `doneMailbox`) and records its UID. A mail the intake could not keep stays unseen
 * and is taken again after a backoff. New mail is noticed through IDLE when the server offers
 * it, with a poll every `pollIntervalMs` as the safety net (IDLE is known to die silently:
 * imapflow #14, #98). imapflow never reconnects, so each connection is a new client, opened
 * again after capped, full-jitter backoff whatever ended the last one.
 *
 * The last UID taken and the mailbox's UIDVALIDITY are kept in `stateFile` (under the account and
 * mailbox: several sources, one per mailbox of `email.imap.mailboxes`, share it), so a restart
 * searches `UNSEEN UID last+1:*` and does not hand the intake a mail it already kept, even when
 * the server refused the `\Seen` flag (a read-only mailbox). A new UIDVALIDITY voids the UIDs:
 * then every unseen mail is taken again (at least once; the intake's `sourceRef` makes a
 * repeat harmless).
 */
import { rootCertificates } from 'node:tls';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { Logger } from 'pino';
import { fullJitter } from '../queue/backoff.js';
import type { MailIntake, MailOrigin } from './mail-intake.js';
import { loadImapState, stateKey, updateImapState, type MailboxState } from './imap-state.js';
import { resolveImapOptions, type ImapOptions, type ResolvedImapOptions, type StartTls } from './imap-options.js';
import { describeFailure } from './imap-failure.js';
import { sleepUnlessAborted } from '../sleep.js';

export type { ImapOptions } from './imap-options.js';

/** A dead server must not keep a reconnect attempt waiting for the OS (minutes). */
const CONNECT_TIMEOUT_MS = 30_000;
/** Room above `maxBytes` for the FETCH framing: a server sending more than we asked for is broken. */
const RESPONSE_SLACK_BYTES = 1024 * 1024;

/** email.imap.starttls as imapflow's `doSTARTTLS`. */
const DO_STARTTLS: Readonly<Record<StartTls, boolean | undefined>> = { required: true, 'when-offered': undefined, off: false };

type RoundOutcome = 'done' | 'rejected' | 'full';

/** Takes the unseen mails of one IMAP mailbox into a {@link MailIntake}; see the module comment. */
export class ImapSource {
  readonly name = 'source.imap';
  readonly #o: ResolvedImapOptions;
  readonly #intake: MailIntake;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  /** This mailbox's entry of the state file, and its key there. */
  #state: MailboxState | undefined;
  readonly #stateKey: string;
  #loop: Promise<void> | undefined;
  #client: ImapFlow | undefined;
  #connected = false;
  /** Set by EXISTS; cleared when a round starts, so mail arriving during a round gets another one. */
  #newMail = false;
  /** Ends the current wait: set while waiting, called on new mail, new space or stop. */
  #wakeOnMail: (() => void) | undefined;
  #wakeOnSpace: (() => void) | undefined;
  #spaceWait: Promise<void> | undefined;
  /**
   * imapflow logs every command at debug/info, and each failed attempt at error: our own
   * reconnect line already says that, at the right level, so its warnings and errors go to debug.
   */
  readonly #imapflowLog: NonNullable<ImapFlowOptions['logger']>;

  constructor(opts: ImapOptions, intake: MailIntake, log: Logger) {
    this.#o = resolveImapOptions(opts);
    this.#stateKey = stateKey(this.#o, this.#o.mailbox);
    this.#intake = intake;
    this.#log = log.child({ component: this.name });
    const lib = this.#log.child({ lib: 'imapflow' });
    const quiet = (): void => undefined;
    const debug = (o: object): void => lib.debug(o);
    this.#imapflowLog = { debug: quiet, info: quiet, warn: debug, error: debug };
  }

  /** True while a connection with the mailbox selected is up. */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Loads the state file and starts the connection loop. Resolves once the first connection
   * attempt settled, whether it succeeded or not: a server that is down at start-up is logged
   * and retried like one that goes away later, it does not fail start-up.
   */
  async start(): Promise<void> {
    if (this.#loop || this.#abort.signal.aborted) throw new Error('The IMAP source is already started (or stopped: make a new one).');
    await this.#loadState();
    let firstSettled = (): void => undefined;
    const first = new Promise<void>((resolve) => (firstSettled = resolve));
    this.#loop = this.#run(() => firstSettled());
    await first;
  }

  /**
   * Stops taking mails: a mail whose `accept()` is in flight is still marked, then the
   * connection logs out. After `graceMs` the connection is cut instead.
   */
  async stop(graceMs = 10_000): Promise<void> {
    const loop = this.#loop;
    if (!loop || this.#abort.signal.aborted) return loop;
    this.#abort.abort();
    this.#wakeOnMail?.();
    this.#wakeOnSpace?.();
    const timer = setTimeout(() => this.#client?.close(), graceMs);
    timer.unref();
    await loop;
    clearTimeout(timer);
    this.#log.info({ mailbox: this.#o.mailbox }, 'IMAP source stopped.');
  }

  /** Connects, works the mailbox until the connection ends, and reconnects with backoff until stopped. */
  async #run(onFirstAttempt: () => void): Promise<void> {
    const signal = this.#abort.signal;
    const { host, port, mailbox } = this.#o;
    let attempt = 0;
    while (!signal.aborted) {
      const client = this.#newClient();
      let failure: unknown;
      let connectedAt: number | undefined;
      this.#client = client;
      client.on('error', (err: Error) => (failure ??= err));
      client.on('exists', () => {
        this.#newMail = true;
        this.#wakeOnMail?.();
      });
      try {
        await client.connect();
        const lock = await this.#select(client);
        try {
          this.#connected = true;
          connectedAt = Date.now();
          const box = client.mailbox || undefined;
          this.#log.info({ host, port, mailbox, uidValidity: box?.uidValidity.toString(), exists: box?.exists, idle: client.capabilities.has('IDLE'), tls: client.secureConnection }, 'Connected to the IMAP server.');
          // imapflow's own warning is demoted to debug with the rest of its log: say it here.
          if (!client.secureConnection && this.#o.starttls === 'when-offered') this.#log.warn({ host, port }, 'The IMAP server offers no STARTTLS: the password and mails cross the network in cleartext.');
          onFirstAttempt();
          await this.#session(client);
        } finally {
          lock.release();
        }
      } catch (err) {
        failure = err;
      } finally {
        this.#connected = false;
        this.#client = undefined;
        await closeClient(client, signal.aborted);
      }
      onFirstAttempt();
      if (signal.aborted) break;
      // Only a connection that lasted starts the backoff over: one that drops right after
      // login every time (a flapping server, a broken mailbox) must not be retried at the base rate.
      if (connectedAt !== undefined && Date.now() - connectedAt >= this.#o.retryMaxMs) attempt = 0;
      const delayMs = fullJitter(attempt++, this.#o.retryBaseMs, this.#o.retryMaxMs);
      const fields = { host, port, mailbox, err: failure, retryInMs: delayMs, nextAttemptAt: new Date(Date.now() + delayMs).toISOString() };
      const report = describeFailure(failure, this.#o);
      this.#log[report.level](failure === undefined ? { ...fields, reason: client.byeReason } : fields, report.msg);
      await sleepUnlessAborted(delayMs, signal);
    }
  }

  #newClient(): ImapFlow {
    const o = this.#o;
    const options: ImapFlowOptions = {
      host: o.host,
      port: o.port,
      secure: o.secure,
      // true: no upgrade, no LOGIN (imapflow throws before authenticating); undefined: opportunistic.
      doSTARTTLS: o.secure ? undefined : DO_STARTTLS[o.starttls],
      auth: { user: o.user, pass: o.password },
      // node's `ca` replaces its roots: keep them, so a private CA adds trust instead of narrowing it.
      tls: { rejectUnauthorized: o.tlsVerify, ...(o.ca === undefined ? {} : { ca: [...rootCertificates, o.ca] }) },
      // We run IDLE ourselves, between rounds only.
      disableAutoIdle: true,
      // BODY.PEEK, not BINARY: the intake must get the bytes as sent, transfer encoding included.
      disableBinary: true,
      connectionTimeout: CONNECT_TIMEOUT_MS,
      maxLiteralSize: o.maxBytes + RESPONSE_SLACK_BYTES,
      maxResponseSize: o.maxBytes + 2 * RESPONSE_SLACK_BYTES,
      logger: this.#imapflowLog,
    };
    return new ImapFlow(options);
  }

  /** Creates `doneMailbox` when missing, then selects the mailbox. */
  async #select(client: ImapFlow): Promise<{ release(): void }> {
    const done = this.#o.doneMailbox;
    if (done !== '') {
      const created = await client.mailboxCreate(done);
      if (created.created) this.#log.info({ doneMailbox: done }, 'Created the IMAP done mailbox.');
    }
    return client.getMailboxLock(this.#o.mailbox);
  }

  /** Rounds of taking mails, with IDLE or a poll timer between them, until the connection ends or stop. */
  async #session(client: ImapFlow): Promise<void> {
    const signal = this.#abort.signal;
    let rejections = 0;
    while (!signal.aborted && client.usable) {
      let pauseMs = 0;
      if (!this.#intake.full) {
        this.#newMail = false;
        const outcome = await this.#round(client);
        if (outcome === 'rejected') pauseMs = Math.max(1, fullJitter(rejections++, this.#o.retryBaseMs, this.#o.retryMaxMs));
        else if (outcome === 'done') rejections = 0;
        if (outcome === 'done' && this.#newMail) continue;
      }
      await this.#wait(client, pauseMs);
    }
  }

  /**
   * Waits for new mail (EXISTS), the poll timer, room in the spool (when full), the end of the
   * connection or stop. With `pauseMs`, a backoff after a rejection: only the timer, close and
   * stop end it. IDLE runs meanwhile when offered; the next command breaks it.
   */
  async #wait(client: ImapFlow, pauseMs: number): Promise<void> {
    const signal = this.#abort.signal;
    const full = pauseMs === 0 && this.#intake.full;
    if (full) {
      this.#spaceWait ??= this.#intake.whenSpace().then(
        () => {
          this.#spaceWait = undefined;
          this.#wakeOnSpace?.();
        },
        () => (this.#spaceWait = undefined),
      );
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('close', done);
        signal.removeEventListener('abort', done);
        this.#wakeOnMail = undefined;
        this.#wakeOnSpace = undefined;
        resolve();
      };
      const timer = setTimeout(done, pauseMs > 0 ? pauseMs : this.#o.pollIntervalMs);
      client.once('close', done);
      signal.addEventListener('abort', done, { once: true });
      if (full) this.#wakeOnSpace = done;
      else if (pauseMs === 0) this.#wakeOnMail = done;
      if (signal.aborted || !client.usable || (pauseMs === 0 && !full && this.#newMail)) done();
      else if (client.capabilities.has('IDLE')) {
        client.idle().catch((err: unknown) => this.#log.debug({ err }, 'IDLE ended with an error.'));
      }
    });
  }

  /** Takes every unseen mail above the recorded UID, oldest first, until one is rejected or the spool fills. */
  async #round(client: ImapFlow): Promise<RoundOutcome> {
    const box = client.mailbox;
    if (!box) throw new Error('No mailbox is selected.');
    const mailbox = this.#o.mailbox;
    const uidValidity = box.uidValidity.toString();
    let state = this.#state;
    if (state !== undefined && state.uidValidity !== uidValidity) {
      this.#log.warn({ mailbox, before: state.uidValidity, now: uidValidity }, 'The mailbox UIDVALIDITY changed: the recorded UID no longer applies, taking every unseen mail.');
      state = undefined;
    }
    if (state === undefined) {
      state = { uidValidity, lastUid: 0 };
      this.#state = state;
      await this.#saveState();
    }
    const query = state.lastUid > 0 ? { seen: false, uid: `${state.lastUid + 1}:*` } : { seen: false };
    const found = (await client.search(query, { uid: true })) || [];
    // `n:*` also matches the highest UID when it is below n (RFC 3501 6.4.8): filter.
    const last = state.lastUid;
    const uids = found.filter((uid) => uid > last).sort((a, b) => a - b);
    for (const uid of uids) {
      if (this.#abort.signal.aborted) return 'done';
      if (this.#intake.full) return 'full';
      if (!(await this.#take(client, uid, state))) return 'rejected';
    }
    return 'done';
  }

  /** Takes one mail; false when the intake could not keep it (it stays unseen). */
  async #take(client: ImapFlow, uid: number, state: MailboxState): Promise<boolean> {
    const { mailbox, maxBytes, target, role } = this.#o;
    const origin: MailOrigin = { via: 'imap', id: `${mailbox}:${state.uidValidity}:${uid}`, mailbox, ...(target === undefined ? {} : { target }), ...(role === undefined ? {} : { role }) };
    const meta = await client.fetchOne(String(uid), { uid: true, flags: true, size: true }, { uid: true });
    // Expunged or read by someone else since the SEARCH: not ours to take.
    if (!meta || meta.flags?.has('\\Seen')) return this.#advance(state, uid);
    let raw: Buffer | undefined;
    if ((meta.size ?? 0) <= maxBytes) {
      // Bounded even when the server's RFC822.SIZE was wrong: one byte more tells us so.
      const msg = await client.fetchOne(String(uid), { uid: true, source: { maxLength: maxBytes + 1 } }, { uid: true });
      if (!msg) return this.#advance(state, uid);
      raw = msg.source ?? Buffer.alloc(0);
    }
    if (raw === undefined || raw.length > maxBytes) {
      const bytes = Math.max(meta.size ?? 0, raw?.length ?? 0);
      this.#log.warn({ origin, bytes, maxBytes, code: 'ERR_MAIL_TOO_BIG' }, 'Mail larger than maxBytes: left unseen in the mailbox, not taken.');
      this.#o.onOversize?.(origin, bytes);
      return this.#advance(state, uid);
    }
    let verdict;
    try {
      verdict = await this.#intake.accept(raw, origin);
    } catch (err) {
      this.#log.warn({ err, origin }, 'The intake could not keep the mail: it stays unseen and is taken again later.');
      return false;
    }
    this.#log.debug({ origin, bytes: raw.length, verdict }, 'Mail taken.');
    await this.#acknowledge(client, uid, origin);
    return this.#advance(state, uid);
  }

  /** Marks `\Seen` or moves to `doneMailbox`. A refusal is logged (the recorded UID still keeps it from coming again); a lost connection throws. */
  async #acknowledge(client: ImapFlow, uid: number, origin: MailOrigin): Promise<void> {
    const done = this.#o.doneMailbox;
    let ok: unknown;
    try {
      ok = done === '' ? await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true }) : await client.messageMove(String(uid), done, { uid: true });
    } catch (err) {
      // Connection lost: the mail stays unseen and comes again after reconnecting (at least once).
      if (!client.usable) throw err;
      ok = err;
    }
    if (ok === false || ok instanceof Error) {
      this.#log.warn({ origin, doneMailbox: done || undefined, err: ok instanceof Error ? ok : undefined }, 'The server refused to mark the mail taken; its UID is recorded so it is not taken again.');
    }
  }

  async #advance(state: MailboxState, uid: number): Promise<true> {
    state.lastUid = Math.max(state.lastUid, uid);
    await this.#saveState();
    return true;
  }

  async #loadState(): Promise<void> {
    const file = this.#o.stateFile;
    if (file === '') return;
    const { mailboxes, problem } = await loadImapState(file);
    // An earlier release's entry (the mailbox name alone) is this account's only when it is email.imap's.
    this.#state = mailboxes.get(this.#stateKey) ?? (this.#o.legacyState ? mailboxes.get(this.#o.mailbox) : undefined);
    if (problem) this.#log.warn({ err: problem, stateFile: file }, 'The IMAP state file is unreadable: starting from the unseen mails.');
  }

  /** A failure is logged: the UIDs are still kept in memory. */
  async #saveState(): Promise<void> {
    const { stateFile: file, mailbox, legacyState } = this.#o;
    const state = this.#state;
    if (file === '' || state === undefined) return;
    try {
      await updateImapState(file, (mailboxes) => {
        mailboxes.set(this.#stateKey, { ...state });
        // Replaced by the full key: an earlier release's entry would otherwise stay forever.
        if (legacyState) mailboxes.delete(mailbox);
      });
    } catch (err) {
      this.#log.warn({ err, stateFile: file }, 'Could not write the IMAP state file: a restart may hand kept mails to the intake again.');
    }
  }
}

/** Logs out when stopping (breaks IDLE, says goodbye); otherwise the connection is gone or broken: just close. */
async function closeClient(client: ImapFlow, stopping: boolean): Promise<void> {
  if (stopping && client.usable) {
    try {
      await client.logout();
      return;
    } catch {
      // Falls through to close().
    }
  }
  client.close();
}
