/**
 * The TheHive target a mail's alert goes to (issue 14 point 2): the `target` of the IMAP mailbox it
 * came from (`email.imap.mailboxes[i].target`), unless a rule of `alert.rules` chose one, which
 * wins (a mailbox's rule set may route some of its mails elsewhere). The target travels as the
 * alert's `meta.target`, which is never sent to TheHive. Pure.
 */
import type { Alert } from '../types.js';

/** `alert` with `meta.target = target` when a target is given and no rule set one; `alert` itself otherwise. */
export function withDefaultTarget(alert: Alert, target: string | undefined): Alert {
  if (target === undefined || alert.meta?.target !== undefined) return alert;
  return { ...alert, meta: { rules: [], setBy: [], ...alert.meta, target } };
}
