/**
 * `email.imap.mailboxes` (issue 14 point 2): several IMAP mailboxes, each polled by its own source
 * (imapflow holds one selected mailbox per connection), each with its own done mailbox, role and
 * TheHive target, and optionally its own account (host, port, user, password). A key an entry
 * leaves out comes from `email.imap.*`; an empty list (the default) is the one mailbox of
 * `email.imap.mailbox`, as before. Checked at load, every problem on its own line naming
 * `email.imap.mailboxes[i].<key>`; the target names are checked against `thehive.targets` by
 * their user ({@link mailboxTargets}). Pure, but for {@link readMailboxPasswordFiles}.
 */
import type { Config } from './config-schema.js';
import { readSecret, type SecretProblem as KeyedSecretProblem } from './config-secret-files.js';
import { MAIL_ROLES, type MailRole } from './map/mail-trust.js';

/** Entries at most: each one is a connection to keep open, and a list longer than this is a generated mistake. */
export const MAILBOXES_MAX = 32;

/** One entry as written. */
export interface ImapMailboxSpec {
  readonly name?: string;
  readonly mailbox: string;
  readonly doneMailbox?: string;
  readonly role?: MailRole;
  readonly target?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly passwordFile?: string;
}

const KEYS = ['name', 'mailbox', 'doneMailbox', 'role', 'target', 'host', 'port', 'user', 'password', 'passwordFile'] as const;
/** Text keys, each with its longest value (a mailbox name of 255 is already more than servers take). */
const TEXTS: Readonly<Record<string, number>> = { name: 64, mailbox: 255, doneMailbox: 255, target: 64, host: 253, user: 255, password: 1024, passwordFile: 4096 };
/** Keys that may be empty text ('' for doneMailbox marks mails seen in place; '' password inherits). */
const MAY_BE_EMPTY = new Set(['doneMailbox', 'password', 'passwordFile']);

/** One mailbox to poll, every key resolved. */
export interface ResolvedMailbox {
  /** How messages name it: `email.imap.mailboxes[2]`, or `email.imap` for the single mailbox. */
  readonly key: string;
  /** The entry's `name`, else its mailbox. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly mailbox: string;
  readonly doneMailbox: string;
  /** Set only when the entry sets one: otherwise `email.imap.role` applies, as to the single mailbox. */
  readonly role?: MailRole;
  readonly target?: string;
  /**
   * The account is `email.imap`'s: the state file of an earlier release (one mailbox, keyed by
   * its name alone) was written for it.
   */
  readonly legacyState: boolean;
}

/** A password file that cannot be used, with the code it is reported under. */
export type SecretProblem = Pick<KeyedSecretProblem, 'code' | 'message'>;

/** The `email.imap.*` keys an entry inherits. */
type Base = Pick<Config['email']['imap'], 'enabled' | 'host' | 'port' | 'user' | 'password' | 'mailbox' | 'doneMailbox'>;

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** What is wrong with `value` as `email.imap.mailboxes`, given `email.imap.*`: one line per problem. */
export function imapMailboxProblems(value: unknown, base: Base): string[] {
  if (!Array.isArray(value)) return ['email.imap.mailboxes: expected a JSON list such as [{"mailbox":"INBOX/tenant-b","target":"tenant-b"}]'];
  if (value.length > MAILBOXES_MAX) return [`email.imap.mailboxes: ${value.length} entries, at most ${MAILBOXES_MAX} (one IMAP connection each)`];
  const problems: string[] = [];
  const names = new Map<string, number>();
  const polled = new Map<string, number>();
  const moves: { i: number; to: string }[] = [];
  value.forEach((entry: unknown, i) => {
    const at = `email.imap.mailboxes[${i}]`;
    const fail = (key: string, what: string): void => void problems.push(`${at}${key === '' ? '' : `.${key}`}: ${what}`);
    if (!isObj(entry)) return fail('', 'expected an object {mailbox, name?, doneMailbox?, role?, target?, host?, port?, user?, password?, passwordFile?}');
    const before = problems.length;
    for (const key of Object.keys(entry)) if (!(KEYS as readonly string[]).includes(key)) fail(key, `unknown key; expected one of ${KEYS.join(', ')}`);
    for (const [key, max] of Object.entries(TEXTS)) {
      const v = entry[key];
      if (v === undefined) continue;
      if (typeof v !== 'string' || v.length > max || (v === '' && !MAY_BE_EMPTY.has(key))) fail(key, `expected a ${MAY_BE_EMPTY.has(key) ? '' : 'non-empty '}text of at most ${max} characters, got ${key === 'password' ? 'something else' : JSON.stringify(v)}`);
    }
    if (entry['mailbox'] === undefined) fail('mailbox', 'missing: the mailbox (folder) to poll, such as "INBOX/tenant-b"');
    const port = entry['port'];
    if (port !== undefined && (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)) fail('port', `expected an integer from 1 to 65535, got ${JSON.stringify(port)}`);
    const role = entry['role'];
    if (role !== undefined && !MAIL_ROLES.includes(role as MailRole)) fail('role', `expected one of ${MAIL_ROLES.join(', ')}, got ${JSON.stringify(role)}`);
    if (problems.length > before) return;
    const e = entry as unknown as ImapMailboxSpec;
    const done = e.doneMailbox ?? base.doneMailbox;
    if (done === e.mailbox) fail('doneMailbox', `is the mailbox itself (${JSON.stringify(e.mailbox)}${e.doneMailbox === undefined ? ', from email.imap.doneMailbox' : ''}): give another mailbox, or "" to mark taken mails seen in place`);
    if (e.name !== undefined) {
      const first = names.get(e.name);
      if (first !== undefined) fail('name', `${JSON.stringify(e.name)} is already the name of email.imap.mailboxes[${first}]: give each entry its own name`);
      else names.set(e.name, i);
    }
    const host = e.host ?? base.host;
    const user = e.user ?? base.user;
    if (base.enabled && (host === '' || user === '')) {
      fail(host === '' ? 'host' : 'user', `IMAP is enabled but the entry has no ${host === '' ? 'host' : 'user'}, and email.imap.${host === '' ? 'host' : 'user'} is empty too: set it in the entry or in email.imap`);
    }
    // email.imap.password goes only to email.imap.host: another server must not learn it.
    if (base.enabled && host.toLowerCase() !== base.host.toLowerCase() && (e.password ?? '') === '' && (e.passwordFile ?? '') === '') {
      fail('password', `the entry's host ${JSON.stringify(host)} is not email.imap.host, so email.imap.password is not sent to it: set the entry's own password or passwordFile`);
    }
    const account = `${user}@${host.toLowerCase()}:${e.port ?? base.port}`;
    const first = polled.get(`${account}/${e.mailbox}`);
    if (first !== undefined) fail('mailbox', `${JSON.stringify(e.mailbox)} of ${account} is already polled by email.imap.mailboxes[${first}]: poll each mailbox of an account once (a rule with match.mail.mailbox can treat its mails in several ways)`);
    else polled.set(`${account}/${e.mailbox}`, i);
    if (done !== '') moves.push({ i, to: `${account}/${done}` });
  });
  // A mailbox that another entry moves its taken mails to would take them a second time, for its own target.
  for (const { i, to } of moves) {
    const j = polled.get(to);
    if (j !== undefined) problems.push(`email.imap.mailboxes[${i}].doneMailbox: is the mailbox email.imap.mailboxes[${j}] polls: its taken mails would be taken again there. Give another done mailbox`);
  }
  return problems;
}

/**
 * Each entry's `passwordFile` read into its `password` (an entry sets one or the other, never
 * both), for the loaded configuration; `value` as it is when it is no list (validation names it).
 */
export function readMailboxPasswordFiles(value: unknown): { readonly value: unknown; readonly problems: readonly SecretProblem[] } {
  if (!Array.isArray(value)) return { value, problems: [] };
  const problems: SecretProblem[] = [];
  const out = value.map((entry: unknown, i) => {
    if (!isObj(entry) || typeof entry['passwordFile'] !== 'string' || entry['passwordFile'] === '') return entry;
    const at = `email.imap.mailboxes[${i}]`;
    if (typeof entry['password'] === 'string' && entry['password'] !== '') {
      problems.push({ code: 'ERR_CONFIG_SECRET_BOTH', message: `${at}.password and ${at}.passwordFile are both set: give the password one way. Remove the first to read it from the file, or the second to use the value.` });
      return entry;
    }
    const read = readSecret(entry['passwordFile']);
    if (!read.ok) {
      problems.push({ code: 'ERR_CONFIG_SECRET_FILE', message: `${at}.passwordFile ${entry['passwordFile']} ${read.problem}` });
      return entry;
    }
    return { ...entry, password: read.value };
  });
  return { value: out, problems };
}

/** The passwords the entries hold: secrets every message and `check-config` must hide. */
export function mailboxPasswords(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((e: unknown) => (isObj(e) && typeof e['password'] === 'string' && e['password'] !== '' ? [e['password']] : []));
}

/** The mailboxes to poll: each entry of `email.imap.mailboxes` resolved, or the one of `email.imap.mailbox` when the list is empty. */
export function imapMailboxesOf(config: Config): ResolvedMailbox[] {
  const i = config.email.imap;
  const entries = i.mailboxes;
  if (entries.length === 0) {
    return [{ key: 'email.imap', name: i.mailbox, host: i.host, port: i.port, user: i.user, password: i.password, mailbox: i.mailbox, doneMailbox: i.doneMailbox, legacyState: true }];
  }
  return entries.map((e, n) => {
    const host = e.host ?? i.host;
    const port = e.port ?? i.port;
    const user = e.user ?? i.user;
    return {
      key: `email.imap.mailboxes[${n}]`,
      name: e.name ?? e.mailbox,
      host,
      port,
      user,
      // Only an entry on email.imap.host inherits its password (load refuses one elsewhere without its own).
      password: e.password !== undefined && e.password !== '' ? e.password : i.password,
      mailbox: e.mailbox,
      doneMailbox: e.doneMailbox ?? i.doneMailbox,
      ...(e.role === undefined ? {} : { role: e.role }),
      ...(e.target === undefined ? {} : { target: e.target }),
      legacyState: host.toLowerCase() === i.host.toLowerCase() && port === i.port && user === i.user,
    };
  });
}

/** The target each mailbox names, with the key that names it: for the check against `thehive.targets`. */
export function mailboxTargets(config: Config): { readonly key: string; readonly target: string }[] {
  return mailboxTargetsOf(config.email.imap.mailboxes);
}

/** {@link mailboxTargets} of the list as written (config.ts checks them against thehive.targets before the config is built). */
export function mailboxTargetsOf(mailboxes: unknown): { readonly key: string; readonly target: string }[] {
  if (!Array.isArray(mailboxes)) return [];
  return mailboxes.flatMap((e: unknown, n) => {
    const target = e !== null && typeof e === 'object' ? (e as { target?: unknown }).target : undefined;
    return typeof target === 'string' ? [{ key: `email.imap.mailboxes[${n}].target`, target }] : [];
  });
}
