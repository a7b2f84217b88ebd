/**
 * Keeping credentials out of what tracehive prints about its configuration: `check-config`'s
 * output, log fields, and every error message of loading it. The schema marks secrets
 * `sensitive` (convict then never appends their value to an error); a URL can carry a password
 * too (`https://user:password@host`), valid or not, so it is redacted wherever it is shown, and
 * {@link scrub} is the last line: whatever a message says, the secrets it was given are cut out.
 */

/** What stands in for a secret in output. */
export const REDACTED = '[redacted]';

/**
 * Shorter secrets are not scrubbed from free text: replacing every "k" of a message would make it
 * unreadable, and such a secret is no secret. The sensitive keys are never echoed in the first place.
 */
const MIN_SCRUB_LENGTH = 4;

/** The keys whose whole value is secret. */
export const SECRET_KEYS = ['thehive.apiKey', 'email.imap.password', 'notify.smtp.password', 'notify.webhook.token', 'http.thehiveWebhookToken'] as const;

/** The keys holding a URL that may carry a `user:password@` part. */
export const URL_KEYS = ['thehive.url', 'notify.webhook.url', 'thehive.proxy'] as const;

/**
 * A URL without its `user:password@` part's secrets, for logs and output: the password, and the
 * user too (some deployments put a token there: `https://TOKEN@thehive`); an unparsable one loses
 * its whole user part.
 */
export function redactUrl(text: string): string {
  if (!text.includes('@')) return text;
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = 'redacted';
    if (url.username !== '') url.username = 'redacted';
    return url.toString();
  } catch {
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
    return `${scheme}${REDACTED}${text.slice(text.lastIndexOf('@'))}`;
  }
}

/** The secret parts of a URL's text: its user part and its password, as written and decoded. */
export function urlSecrets(text: string): string[] {
  const at = text.lastIndexOf('@');
  if (at < 0) return [];
  const start = text.indexOf('//') >= 0 && text.indexOf('//') < at ? text.indexOf('//') + 2 : 0;
  const userinfo = text.slice(start, at);
  const password = userinfo.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : '';
  const out = [userinfo, password];
  try {
    out.push(decodeURIComponent(password));
  } catch {
    // Not percent-encoded text: the raw form is already in the list.
  }
  return out;
}

/** `text` with every secret (and its JSON-escaped form) replaced by {@link REDACTED}. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  const forms = secrets.filter((s) => s.length >= MIN_SCRUB_LENGTH).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  // Longest first, so a password is not half-replaced inside its user:password pair.
  for (const s of [...new Set(forms)].sort((a, b) => b.length - a.length)) out = out.split(s).join(REDACTED);
  return out;
}

/** The effective configuration as JSON with every secret masked, for `check-config`. */
export function redactedConfig(config: object): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const key of SECRET_KEYS) update(copy, key, (v) => (v === '' ? v : REDACTED));
  for (const key of URL_KEYS) update(copy, key, redactUrl);
  // thehive.targets: each target's key and URL, as thehive.apiKey and thehive.url.
  const targets = (copy['thehive'] as Record<string, unknown> | undefined)?.['targets'];
  if (targets !== null && typeof targets === 'object') {
    for (const target of Object.values(targets as Record<string, Record<string, unknown>>)) {
      if (target === null || typeof target !== 'object') continue;
      if (typeof target['apiKey'] === 'string' && target['apiKey'] !== '') target['apiKey'] = REDACTED;
      if (typeof target['url'] === 'string') target['url'] = redactUrl(target['url']);
      if (typeof target['proxy'] === 'string') target['proxy'] = redactUrl(target['proxy']);
    }
  }
  // email.imap.mailboxes: each entry may hold its own password.
  const boxes = (copy['email'] as { imap?: { mailboxes?: unknown } } | undefined)?.imap?.mailboxes;
  if (Array.isArray(boxes)) for (const box of boxes as Record<string, unknown>[]) if (typeof box?.['password'] === 'string' && box['password'] !== '') box['password'] = REDACTED;
  return copy;
}

function update(root: Record<string, unknown>, key: string, fn: (value: string) => string): void {
  const parts = key.split('.');
  let node: Record<string, unknown> | undefined = root;
  for (const p of parts.slice(0, -1)) node = node?.[p] as Record<string, unknown> | undefined;
  const last = parts.at(-1) as string;
  if (node && typeof node[last] === 'string') node[last] = fn(node[last]);
}
