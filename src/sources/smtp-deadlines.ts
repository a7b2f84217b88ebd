/**
 * Deadlines of SMTP sessions (email.smtp.commandTimeoutMs and dataTimeoutMs). smtp-server's
 * own socket timeout is an idle timeout that any command resets, so 100 sessions sending NOOP
 * held every slot of maxClients and a real mail got 421. Here a session must start DATA within
 * the command deadline of connecting or of the answer to its last mail, whatever it sends
 * meanwhile, and DATA must end within the data deadline. While a mail waits for the intake the
 * client waits for us, so no deadline runs. A session has one timer; sessions are few
 * (maxClients), so a timer each is cheap.
 */

/** Which deadline passed. */
export type DeadlineKind = 'command' | 'data';

/** The deadline timers of open sessions, by session id. */
export class SessionDeadlines {
  readonly #commandMs: number;
  readonly #dataMs: number;
  readonly #expired: (sessionId: string, kind: DeadlineKind) => void;
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(commandMs: number, dataMs: number, expired: (sessionId: string, kind: DeadlineKind) => void) {
    this.#commandMs = commandMs;
    this.#dataMs = dataMs;
    this.#expired = expired;
  }

  /** The session must start DATA within the command deadline from now (connected, or its last mail answered). */
  command(sessionId: string): void {
    this.#arm(sessionId, 'command', this.#commandMs);
  }

  /** DATA started: it must end within the data deadline from now. */
  data(sessionId: string): void {
    this.#arm(sessionId, 'data', this.#dataMs);
  }

  /** The client waits for us (the mail is with the intake): no deadline runs. */
  hold(sessionId: string): void {
    clearTimeout(this.#timers.get(sessionId));
    this.#timers.delete(sessionId);
  }

  /** The session closed. */
  end(sessionId: string): void {
    this.hold(sessionId);
  }

  /** Sessions with a deadline running. */
  get size(): number {
    return this.#timers.size;
  }

  #arm(sessionId: string, kind: DeadlineKind, ms: number): void {
    clearTimeout(this.#timers.get(sessionId));
    const timer = setTimeout(() => {
      this.#timers.delete(sessionId);
      this.#expired(sessionId, kind);
    }, ms);
    timer.unref();
    this.#timers.set(sessionId, timer);
  }
}
