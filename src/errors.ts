/**
 * The error-code catalogue. Codes are stable strings that operators grep for and that the
 * `rejected` and `dead` logs carry; every code has one sentence of documentation here, and
 * spec/unit/errors.spec.ts checks they are unique and documented.
 */
export const ERROR_CODES = {
  ERR_LINE_EMPTY: 'The line holds nothing but whitespace.',
  ERR_LINE_TOO_LONG: 'The line is longer than `tcp.maxLineBytes`; it was dropped and the connection went on.',
  ERR_FRAME_TOO_LONG: 'An octet-counted frame (RFC 6587, `MSG-LEN SP MSG`) is longer than `tcp.maxLineBytes`; its bytes were skipped and the next frame read (counted in `tracehive_lines_too_long_total`).',
  ERR_FRAME_MALFORMED: 'An octet-counted connection (RFC 6587) sent no valid `MSG-LEN SP` where a frame starts (not digits, more than 10, or 0): the frames before it were taken, then the connection was closed; the relay reconnects. Check its framing (rsyslog `TCP_Framing`).',
  ERR_FRAME_TRUNCATED: 'An octet-counted connection (RFC 6587) ended inside a frame: the partial frame was dropped (it would be another alert than the whole one).',
  ERR_KV_MALFORMED: 'The line has no `key=value` pair at all.',
  ERR_KV_NO_CATEGORY: 'The line has `key=value` pairs but no `category` (or `reason`) and is no service alert.',
  ERR_CEF_MALFORMED: 'The line starts with `CEF:` but lacks the seven `|`-separated header fields.',
  ERR_LEEF_MALFORMED: 'The line starts with `LEEF:` but lacks the five `|`-separated header fields (version, vendor, product, version, EventID).',
  ERR_CONFIG_INVALID: 'The configuration failed validation; the message names the key.',
  ERR_CONFIG_FILE: 'The configuration file could not be read or is not JSON.',
  ERR_CONFIG_SECRET_BOTH: 'A secret is given twice, as its value and as a file (`thehive.apiKey` and `thehive.apiKeyFile`, …); the message names both keys and their variables.',
  ERR_CONFIG_SECRET_FILE: 'A secret file (`thehive.apiKeyFile`, `THEHIVE_API_KEY_FILE`, a systemd credential, …) cannot be read, is empty or holds more than one line.',
  ERR_CONFIG_TARGET: 'A `thehive.targets` entry is invalid, or a rule or mailbox names a target it does not have; the message names the key, e.g. `alert.rules[1].set.target: no target "tenant-c" in thehive.targets`.',
  ERR_CONFIG_RULE: 'An `alert.rules` entry is invalid (a regex RE2 refuses, an unknown field, a template error, a bad CIDR…); the message names the rule’s index and key, e.g. `alert.rules[2].set.title: unclosed {{`.',
  ERR_RULE_REFUSED: 'TheHive refused a value a rule set (an unknown custom field, case template, ATT&CK pattern or organisation): the alert went to the dead-letter log, and `/readyz/delivery` names the rule.',
  ERR_RULE_VALUE: 'A rule’s custom field or external link did not convert (e.g. `abc` as an integer): that value was left out and the alert sent without it; counted in `tracehive_rule_values_dropped_total`.',
  ERR_SINK_REJECTED: 'TheHive refused the alert for good (a 4xx other than duplicate/auth); it went to the dead-letter log.',
  ERR_TARGET_BACKLOG: 'A delivery target’s backlog went over its share of the spool (`thehive.targets.<name>.spoolMaxBytes`): what it read went to its dead letters, so the other targets kept their input. Requeue them once it delivers again.',
  ERR_TARGET_UNKNOWN: 'An alert was routed to a target `thehive.targets` no longer has (removed since it was spooled): it went to the dead letters. Add the target back, then requeue.',
  ERR_SINK_ATTEMPTS: 'The alert failed `queue.maxAttempts` times; it went to the dead-letter log.',
  ERR_SPOOL_DIR: 'The data directory (`spool.dir`) cannot be created or written.',
  ERR_SPOOL_LOCKED: 'Another running tracehive serve holds the spool (`spool.dir/queue/LOCK` names its pid).',
  ERR_SPOOL_CLOSED: 'Input arrived after the spool was closed at shutdown; the sender must send it again.',
  ERR_SPOOL_FORMAT: 'The spool (or one of its files) was written by a newer tracehive; this release refuses to misread it.',
  ERR_SPOOL_RECORD: 'A spooled record could not be read back (damaged or from an unknown version); it was skipped and counted.',
  ERR_MAIL_PARSE: 'A mail could not be turned into an alert; it was kept in `spool.dir/quarantine/` with the reason.',
  ERR_MAIL_TOO_BIG: 'A mail is larger than the configured limit; it was refused (SMTP 552) or quarantined.',
  ERR_MAIL_UNTRUSTED: 'A mail that reads as a SIEM notification came from a sender not trusted to send one (`email.trustedSenders`, `email.trustedSenderIps`, `email.authservId`); on a `notifications` source it was quarantined with every failed check.',
  ERR_THEHIVE_PROXY: 'The proxy of `thehive.proxy` (or `HTTPS_PROXY` with `env`) could not be reached or refused the CONNECT to TheHive (403: the port is not allowed; 407: it wants a login); the request is retried.',
  ERR_USAGE: 'The command line is wrong.',
  ERR_FILE_UNSAFE: 'A file tracehive opens in `spool.dir` or the drop directory is a symbolic link, a hard link, not a regular file or not its own: refused, never followed.',
  ERR_DROP_INVALID: 'A file in the ingest drop directory (`ingest.dropDir`) is not a drop file `tracehive ingest` wrote: moved aside with its reason, never sent.',
  ERR_QUARANTINE_FULL: 'A mail that would be quarantined was refused for now: `spool.dir/quarantine/` holds `spool.quarantine.maxBytes`; the sender tries again later.',
  ERR_FORMAT_NEWER: 'A file or record was written by a newer tracehive (a higher format version): kept as it is, not misread.',
  ERR_NOTIFY_REJECTED: 'The SMTP relay (a 5xx answer) or the notification webhook (a 4xx other than 408/429) refused a notification for good; it went to `spool.dir/dead/notify-*.ndjson`.',
  ERR_NOTIFY_ATTEMPTS: 'A notification failed 16 times or for 24 hours on one channel; it went to `spool.dir/dead/notify-*.ndjson`.',
  ERR_NOTIFY_BACKLOG: 'A notification came while 10,000 were waiting (the relay or webhook has been failing): it went straight to `spool.dir/dead/notify-*.ndjson`.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error class of tracehive: a stable `code`, a message for the operator, an optional cause. */
export class BridgeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BridgeError';
    this.code = code;
  }
}
