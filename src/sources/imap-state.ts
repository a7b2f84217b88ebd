/**
 * The IMAP source's state file (`spool.dir/imap-state.json`): per mailbox, its UIDVALIDITY and the
 * highest UID whose mail is safely in the spool. A restart fetches only above it; a changed
 * UIDVALIDITY (the mailbox was recreated) starts over from the unseen mails.
 */
import { dirname } from 'node:path';
import { replaceFile } from '../io/durable-file.js';
import { makePrivateDir, openPrivate } from '../io/private-files.js';

/** What the state file holds for one mailbox. */
export interface MailboxState {
  uidValidity: string;
  lastUid: number;
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
