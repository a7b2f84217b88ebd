/**
 * The IMAP sources' state file (`spool.dir/imap-state.json`): per account and mailbox
 * ({@link stateKey}), its UIDVALIDITY and the highest UID whose mail is safely in the spool. A
 * restart fetches only above it; a changed UIDVALIDITY (the mailbox was recreated) starts over
 * from the unseen mails. Releases before `email.imap.mailboxes` polled one account and keyed its
 * entries by the mailbox name alone: such a key is read as the `email.imap.*` account's, and
 * replaced by the full key at the first save. Every source of `email.imap.mailboxes` shares the
 * file: {@link updateImapState} changes its own entry under a per-file lock, keeping the others'.
 */
import { dirname } from 'node:path';
import { replaceFile } from '../io/durable-file.js';
import { makePrivateDir, openPrivate } from '../io/private-files.js';

/** What the state file holds for one mailbox. */
export interface MailboxState {
  uidValidity: string;
  lastUid: number;
}

/** The account a mailbox belongs to. */
export interface ImapAccount {
  readonly user: string;
  readonly host: string;
  readonly port: number;
}

/**
 * The state file's key of `mailbox` of `account`: `imap://user@host:port/mailbox` (the user
 * percent-encoded, the host lower case), so two accounts' `INBOX` never share a UID.
 */
export function stateKey(account: ImapAccount, mailbox: string): string {
  return `imap://${encodeURIComponent(account.user)}@${account.host.toLowerCase()}:${account.port}/${mailbox}`;
}

/** The file format's version; another one is ignored (with a warning), not misread. */
const STATE_VERSION = 1;

/**
 * The mailboxes of `file`; empty when it does not exist. A file that cannot be understood gives
 * empty state and its `problem` (the caller warns and starts from the unseen mails); a file that
 * cannot be read at all (EACCES…), or is a link, a FIFO or another odd file (ERR_FILE_UNSAFE), throws.
 */
export async function loadImapState(file: string): Promise<{ mailboxes: Map<string, MailboxState>; problem?: Error }> {
  const mailboxes = new Map<string, MailboxState>();
  let text: string;
  try {
    const handle = await openPrivate(file, 'read');
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { mailboxes };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as { version?: unknown; mailboxes?: Record<string, Partial<MailboxState>> };
    if (parsed.version !== STATE_VERSION) throw new Error(`unknown version ${JSON.stringify(parsed.version)}`);
    for (const [mailbox, s] of Object.entries(parsed.mailboxes ?? {})) {
      if (typeof s.uidValidity === 'string' && Number.isSafeInteger(s.lastUid)) mailboxes.set(mailbox, { uidValidity: s.uidValidity, lastUid: s.lastUid as number });
    }
    return { mailboxes };
  } catch (err) {
    return { mailboxes: new Map(), problem: err instanceof Error ? err : new Error(String(err)) };
  }
}

/** Replaces `file` atomically (mode 0600: it names mailboxes; its directory, when made here, 0700); rejects on I/O errors. */
export async function saveImapState(file: string, mailboxes: ReadonlyMap<string, MailboxState>): Promise<void> {
  const body = `${JSON.stringify({ version: STATE_VERSION, mailboxes: Object.fromEntries(mailboxes) }, null, 2)}\n`;
  await makePrivateDir(dirname(file));
  await replaceFile(file, body, { tmp: `${file}.${process.pid}.tmp` });
}

/** The update of each file in progress: the next one waits for it (sources of one process share the file). */
const pending = new Map<string, Promise<void>>();

/**
 * Reads `file`, lets `change` alter its mailboxes, and writes it back, one update of `file` at a
 * time within this process, so the sources sharing it never undo each other's entries. An
 * unreadable file (garbage, another version) is replaced by what `change` makes of empty state;
 * rejects on I/O errors.
 */
export async function updateImapState(file: string, change: (mailboxes: Map<string, MailboxState>) => void): Promise<void> {
  const before = pending.get(file) ?? Promise.resolve();
  const update = before.then(async () => {
    const { mailboxes } = await loadImapState(file);
    change(mailboxes);
    await saveImapState(file, mailboxes);
  });
  // The next update waits for this one, whether it succeeded or not.
  const settled = update.catch(() => undefined);
  pending.set(file, settled);
  try {
    await update;
  } finally {
    if (pending.get(file) === settled) pending.delete(file);
  }
}
