/**
 * The IMAP source's options: what they mean, their defaults, and the checks that turn a wrong one
 * into a TypeError naming it (config.ts has already checked the user's config; these guard the API).
 */
import type { MailOrigin } from './mail-intake.js';

/** How a plain connection (`secure: false`) is protected; see {@link ImapOptions.starttls}. */
export type StartTls = 'required' | 'when-offered' | 'off';

const STARTTLS_MODES: readonly StartTls[] = ['required', 'when-offered', 'off'];

/** How to reach the mailbox and how to treat its mails. */
export interface ImapOptions {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS (port 993). @default true */
  readonly secure?: boolean;
  /**
   * Without `secure`: `required` upgrades with STARTTLS or refuses the server before the password
   * is sent; `when-offered` upgrades when the capability list (itself in clear, so strippable)
   * offers it and logs in in clear otherwise; `off` never upgrades. Ignored with `secure`.
   * @default 'required'
   */
  readonly starttls?: StartTls;
  /** Verify the server certificate. @default true */
  readonly tlsVerify?: boolean;
  /** Extra CA certificate(s), PEM, for a private server, trusted beside the system roots. */
  readonly ca?: string | Buffer;
  readonly user: string;
  /** Sensitive: never logged. */
  readonly password: string;
  /** @default 'INBOX' */
  readonly mailbox?: string;
  /** Where taken mails are moved (created when missing); `''` marks them `\Seen` in place. @default '' */
  readonly doneMailbox?: string;
  /** Poll interval beside IDLE (and the only trigger on servers without IDLE). @default 60000 */
  readonly pollIntervalMs?: number;
  /** JSON file with the last UID taken per mailbox, written atomically; `''` keeps it in memory. One file per source. @default '' */
  readonly stateFile?: string;
  /** Larger mails are not downloaded: they stay unseen in the mailbox, are logged and reported to `onOversize`. @default 26214400 */
  readonly maxBytes?: number;
  /** First reconnect / retry window; doubles per failure. @default 1000 */
  readonly retryBaseMs?: number;
  /** Cap of the reconnect / retry window. @default 60000 */
  readonly retryMaxMs?: number;
  /** Called for each mail left in the mailbox because it is larger than `maxBytes` (for a metric). */
  readonly onOversize?: (origin: MailOrigin, bytes: number) => void;
  /** The TheHive target of this mailbox's mails (`email.imap.mailboxes[i].target`), put on each mail's origin. */
  readonly target?: string;
  /** This mailbox's role and the key that sets it (`email.imap.mailboxes[i].role`), put on each mail's origin. */
  readonly role?: MailOrigin['role'];
  /**
   * The state file may hold this account's entry under an earlier release's key, the mailbox name
   * alone: true for the `email.imap.*` account (the one earlier releases polled). @default true
   */
  readonly legacyState?: boolean;
  /** The config key log messages name (`email.imap.mailboxes[2]`). @default 'email.imap' */
  readonly configKey?: string;
}

/** The options with their defaults filled in. */
export type ResolvedImapOptions = Required<Omit<ImapOptions, 'ca' | 'onOversize' | 'target' | 'role'>> & ImapOptions;

/** `opts` with the defaults filled in; throws a TypeError naming the first wrong option. */
export function resolveImapOptions(opts: ImapOptions): ResolvedImapOptions {
  const o = {
    secure: true,
    starttls: 'required',
    tlsVerify: true,
    mailbox: 'INBOX',
    doneMailbox: '',
    pollIntervalMs: 60_000,
    stateFile: '',
    maxBytes: 25 * 1024 * 1024,
    retryBaseMs: 1000,
    retryMaxMs: 60_000,
    legacyState: true,
    configKey: 'email.imap',
    ...stripUndefined(opts),
  } as ResolvedImapOptions;
  check(o);
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function check(o: ResolvedImapOptions): void {
  const fail = (name: string, expected: string, got: unknown): never => {
    throw new TypeError(`Expected \`${name}\` to be ${expected}, got ${JSON.stringify(got)}.`);
  };
  if (typeof o.host !== 'string' || o.host === '') fail('host', 'a host name or address', o.host);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) fail('port', 'an integer from 1 to 65535', o.port);
  if (typeof o.user !== 'string' || o.user === '') fail('user', 'a non-empty string', o.user);
  if (typeof o.password !== 'string') fail('password', 'a string', typeof o.password);
  if (!STARTTLS_MODES.includes(o.starttls)) fail('starttls', `one of ${STARTTLS_MODES.join(', ')}`, o.starttls);
  if (typeof o.mailbox !== 'string' || o.mailbox === '') fail('mailbox', 'a mailbox name', o.mailbox);
  if (o.doneMailbox === o.mailbox) fail('doneMailbox', `'' or a mailbox other than \`mailbox\``, o.doneMailbox);
  for (const key of ['pollIntervalMs', 'maxBytes', 'retryBaseMs', 'retryMaxMs'] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key] < 1) fail(key, 'a positive integer', o[key]);
  }
}
