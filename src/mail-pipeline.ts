/**
 * One mail's way in: parse the raw bytes (mailparser), map them with the one mapper, and spool the
 * alert; the promise resolves only once the group commit has fsynced it, so a source acknowledges
 * a mail (IMAP \Seen or MOVE, SMTP 250, `ingest` exit 0) only after it is on disk. A mail that
 * cannot become an alert is quarantined — its raw bytes and a `.json` reason next to them, in
 * `spool.dir/quarantine/` (0700, files 0600: mails hold personal data) — and never blocks the next
 * one, unless the quarantine is at `spool.quarantine.maxBytes`: then the mail is refused for now
 * (ERR_QUARANTINE_FULL; SMTP answers 4xx, IMAP leaves it unseen, a drop file stays), because any
 * allowed sender could otherwise fill the disk with non-mails. A SIEM notification from a sender
 * not trusted to send one (mail-trust.ts) is quarantined too on a `notifications` source, and
 * mapped as an ordinary mail elsewhere. The {@link MailIntake} of every source.
 */
import { droppedBy } from './map/mail-knobs.js';
import { withDefaultTarget } from './map/alert-target.js';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { BridgeError } from './errors.js';
import { syncDir, writeSynced } from './io/durable-file.js';
import type { FileStore, StoredFile } from './io/file-store.js';
import type { KeptFiles } from './io/kept-files.js';
import { makePrivateDir } from './io/private-files.js';
import PQueue, { TimeoutError } from 'p-queue';
import type { MailPolicy } from './map/mail-policy.js';
import { mailTrust, trustsEveryone, type MailRole, type TrustPolicy } from './map/mail-trust.js';
import { rawHeaderLines } from './parse/mail-headers.js';
import { alertRecord, type SpoolWriter } from './queue/spool-payload.js';
import type { MailIntake, MailOrigin, MailVerdict } from './sources/mail-intake.js';
import type { Telemetry } from './telemetry.js';
import type { AlertPolicy } from './types.js';

/** The part of the spool mail intake writes to. */
export interface MailSpool extends SpoolWriter {
  readonly closed: boolean;
}

export interface MailPipelineOptions {
  readonly policy: AlertPolicy;
  readonly mailPolicy: MailPolicy;
  /** The open spool, or undefined before start and after stop. */
  readonly spool: () => MailSpool | undefined;
  readonly quarantineDir: string;
  /** Counts and caps quarantineDir (spool.quarantine.maxBytes); none: no cap. */
  readonly quarantine?: KeptFiles;
  readonly telemetry: Telemetry;
  readonly now: () => number;
  /** Who may send SIEM notifications, and what each source is for; none: everyone, every source `mixed`. */
  readonly trust?: MailTrust;
  /**
   * Where the alert's `file` observables' bytes are kept until TheHive has them; none: the alert
   * carries no files (their hashes and names only).
   */
  readonly files?: FileStore;
}

/** `email.trustedSenders`, `…Ips`, `authservId` and the role of each mail source. */
export interface MailTrust {
  readonly policy: TrustPolicy;
  /** `email.imap.role`, `email.smtp.role`, `ingest.role` (drop files, whether from stdin or files). */
  readonly roles: { readonly imap: MailRole; readonly smtp: MailRole; readonly ingest: MailRole };
}

/** The config key of a source's role, for reasons an operator reads. */
const ROLE_KEYS = { imap: 'email.imap.role', smtp: 'email.smtp.role', ingest: 'ingest.role' } as const;

/** The source kind whose role applies to a mail from `via`. */
function sourceOf(via: MailOrigin['via']): keyof typeof ROLE_KEYS {
  return via === 'imap' || via === 'smtp' ? via : 'ingest';
}

/** Header fields are read for the trust decision from at most this many bytes of the mail. */
const TRUST_HEAD_MAX = 256 * 1024;

/** The top-level header fields of a raw mail (up to the first empty line). */
function topHeaders(raw: Buffer): ReturnType<typeof rawHeaderLines> {
  const head = raw.subarray(0, TRUST_HEAD_MAX).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  return rawHeaderLines(end < 0 ? head : head.slice(0, end));
}

/**
 * mailparser, tldts and the IoC scanners cost a serve that takes no mail about 40 MiB of memory:
 * they are loaded with the first mail, not at start-up.
 */
let mailModules: Promise<[typeof import('./parse/email.js'), typeof import('./map/mail-alert.js')]> | undefined;
function loadMailModules(): NonNullable<typeof mailModules> {
  mailModules ??= Promise.all([import('./parse/email.js'), import('./map/mail-alert.js')]);
  return mailModules;
}

/**
 * Mails parsed at once at most. Parsing a 25 MiB mail takes about 80 MiB of heap; SMTP may hold
 * up to 100 sessions: the others wait here (their bytes are already in buffers, off the heap).
 */
export const MAIL_PARSE_CONCURRENCY = 2;
/** A 25 MiB mail parses in about half a second; one still parsing after a minute is stuck. */
const MAIL_PARSE_TIMEOUT_MS = 60_000;

/**
 * The format of a quarantine `.json` record; 0.1.0 wrote the same fields without `version`.
 * Readers take a missing version as 0.1.0's and refuse a higher one (ERR_FORMAT_NEWER).
 */
export const QUARANTINE_RECORD_VERSION = 1;

/** What {@link MailPipeline.accept} may be told besides the mail. */
export interface AcceptOptions {
  /** When the mail reached tracehive (a drop file's header): the mapping clock. @default now */
  readonly receivedAt?: number;
}

export class MailPipeline implements MailIntake {
  readonly #o: MailPipelineOptions;
  /** A parse that never settles must not hold a slot for good: after this it fails and the mail is quarantined. */
  readonly #parsing = new PQueue({ concurrency: MAIL_PARSE_CONCURRENCY, timeout: MAIL_PARSE_TIMEOUT_MS });

  constructor(options: MailPipelineOptions) {
    this.#o = options;
  }

  get full(): boolean {
    return this.#o.spool()?.full ?? false;
  }

  whenSpace(): Promise<void> {
    return this.#o.spool()?.whenSpace() ?? Promise.resolve();
  }

  async accept(raw: Buffer, origin: MailOrigin, options: AcceptOptions = {}): Promise<MailVerdict> {
    const { telemetry } = this.#o;
    const receivedAt = options.receivedAt ?? this.#o.now();
    const spool = this.#o.spool();
    const closed = (): BridgeError => new BridgeError('ERR_SPOOL_CLOSED', 'tracehive is not running or shutting down: the mail was not kept; the sender must try again.');
    if (spool === undefined || spool.closed) throw closed();
    let reason: string | undefined;
    let sourceRef = '';
    let payload = '';
    let files: FilesToKeep | null = null;
    try {
      if (!startsLikeMail(raw)) {
        reason = NOT_A_MAIL;
      } else {
        const [{ parseMail }, { alertFromMail, isNotificationMail }] = await loadMailModules();
        const parsed = await this.#parsing.add(async () => {
          // Waiting for a slot can take a while: a spool that closed meanwhile refuses the mail (below), it does not quarantine it.
          if (spool.closed) return null;
          const mail = await parseMail(raw, { maxDepth: this.#o.mailPolicy.maxDepth });
          const glob = droppedBy(mail.subject, this.#o.mailPolicy.dropSubjects);
          if (glob !== null) return { dropped: `its subject matches ${JSON.stringify(glob)} of email.dropSubjects` };
          const trust = this.#o.trust;
          let untrusted: readonly string[] = [];
          if (trust !== undefined && !trustsEveryone(trust.policy) && isNotificationMail(mail, this.#o.mailPolicy)) {
            untrusted = mailTrust({ from: mail.from?.address ?? null, headers: topHeaders(raw) }, trust.policy).reasons;
            const source = sourceOf(origin.via);
            // A mailbox of email.imap.mailboxes has its own role, replacing the source's.
            const role = origin.role ?? { value: trust.roles[source], key: ROLE_KEYS[source] };
            // A notifications mailbox holds nothing else worth an alert: a notification no one may send is kept aside.
            if (untrusted.length > 0 && role.value === 'notifications') {
              return { reason: `ERR_MAIL_UNTRUSTED: a SIEM notification from a sender not trusted to send one (${untrusted.join('; ')}); ${role.key} is notifications, so it was not mapped. Add the sender to email.trustedSenders/email.trustedSenderIps if it is your SIEM.` };
            }
          }
          const mailPolicy = this.#o.files === undefined ? { ...this.#o.mailPolicy, files: { maxBytes: 0, maxTotalBytes: 0 } } : this.#o.mailPolicy;
          const mapped = alertFromMail(mail, this.#o.policy, mailPolicy, receivedAt, origin.envelope, { untrusted, ...(origin.mailbox === undefined ? {} : { mailbox: origin.mailbox }) });
          const alert = withDefaultTarget(mapped, origin.target);
          return { alert, warnings: mail.warnings, files: filesOf(alert, mail.contents) };
        });
        if (parsed === null) throw closed();
        if (parsed.dropped !== undefined) {
          telemetry.mailDropped(origin, parsed.dropped);
          return { kind: 'dropped', reason: parsed.dropped };
        }
        if ('reason' in parsed) reason = parsed.reason;
        else {
          sourceRef = parsed.alert.sourceRef;
          payload = alertRecord(parsed.alert);
          files = parsed.files;
          if (parsed.warnings.length > 0) telemetry.mailWarnings(origin, sourceRef, parsed.warnings);
        }
      }
    } catch (err) {
      if (err instanceof BridgeError && err.code === 'ERR_SPOOL_CLOSED') throw err;
      reason =
        err instanceof TimeoutError
          ? `ERR_MAIL_PARSE: parsing took longer than ${MAIL_PARSE_TIMEOUT_MS / 1000} s`
          : `ERR_MAIL_PARSE: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (reason !== undefined) {
      await this.#quarantine(raw, origin, reason, receivedAt);
      telemetry.mailQuarantined(origin, reason);
      return { kind: 'quarantined', reason };
    }
    // The files first, durable: a record on disk always finds its files, whenever serve dies.
    if (files !== null && this.#o.files !== undefined) await this.#o.files.put(files.ref, files.files);
    spool.append(payload, receivedAt);
    await spool.commit();
    telemetry.mailAccepted(origin, sourceRef);
    return { kind: 'accepted', sourceRef };
  }

  /**
   * Keeps input that is no mail to map (a file in the drop directory that is no drop file) in the
   * quarantine with its reason, under the quarantine's cap; never parses nor maps it. Rejects with
   * ERR_QUARANTINE_FULL when it does not fit, and on I/O errors.
   */
  async keepAside(raw: Buffer, origin: MailOrigin, reason: string): Promise<void> {
    await this.#quarantine(raw, origin, reason, this.#o.now());
    this.#o.telemetry.mailQuarantined(origin, reason);
  }

  /**
   * Writes the raw mail and its reason, both fsynced; rejects when it cannot or when the quarantine
   * is full (the source then leaves the mail in place).
   */
  async #quarantine(raw: Buffer, origin: MailOrigin, reason: string, at: number): Promise<void> {
    const dir = this.#o.quarantineDir;
    const record = `${JSON.stringify({ version: QUARANTINE_RECORD_VERSION, time: new Date(at).toISOString(), via: origin.via, origin: origin.id, bytes: raw.length, reason })}\n`;
    const bytes = raw.length + Buffer.byteLength(record);
    const budget = this.#o.quarantine;
    if (budget && !budget.fits(bytes)) {
      const { bytes: used, maxBytes } = budget.usage();
      this.#o.telemetry.mailRefused(origin, 'quarantine_full');
      throw new BridgeError(
        'ERR_QUARANTINE_FULL',
        `The mail could not become an alert (${reason}) and the quarantine is full (${used} of spool.quarantine.maxBytes ${maxBytes} bytes): it was not kept, the sender must try again later. Read and delete mails in ${dir}, or raise spool.quarantine.maxBytes.`,
      );
    }
    // A directory made here must itself survive a power cut: its parent's entry is synced too.
    if ((await makePrivateDir(dir, { refuseLink: true })) !== undefined) await syncDir(dirname(dir));
    const stem = quarantineStem(raw, origin, reason, at);
    await writeSynced(join(dir, `${stem}.eml`), raw);
    await writeSynced(join(dir, `${stem}.json`), record);
    budget?.added(stem, bytes, [`${stem}.eml`, `${stem}.json`]);
    await syncDir(dir); // the new names too: the source acknowledges the mail once this resolves
  }
}

/** The bytes of an alert's `file` observables, and the reference the mail holds on them. */
interface FilesToKeep {
  readonly ref: string;
  readonly files: StoredFile[];
}

/** What the file store must keep for `alert`: each `file` observable's bytes, from the parsed mail. */
function filesOf(alert: { readonly observables: readonly import('./types.js').Observable[] }, contents: ReadonlyMap<string, { readonly content: Buffer }> | undefined): FilesToKeep | null {
  const files: StoredFile[] = [];
  let ref = '';
  for (const o of alert.observables) {
    const content = o.attachment === undefined ? undefined : contents?.get(o.attachment.sha256)?.content;
    if (o.attachment === undefined || content === undefined) continue;
    ref = o.attachment.ref;
    files.push({ sha256: o.attachment.sha256, content });
  }
  return files.length === 0 ? null : { ref, files };
}

/** Why input that is no mail at all is quarantined. */
export const NOT_A_MAIL = 'ERR_MAIL_PARSE: the input does not start with a mail header line (From:, Subject:, Received: …) or holds binary data: is it an RFC 5322 mail?';

/**
 * The name (without `.eml`/`.json`) a quarantined input gets: its time, then a hash of its content
 * and origin, so that two inputs kept in one millisecond (empty planted files, say) never share it.
 */
export function quarantineStem(raw: Buffer, origin: MailOrigin, reason: string, at: number): string {
  const digest = createHash('sha256').update(raw).update('\0').update(`${origin.via}\0${origin.id}\0${reason}`).digest('hex');
  return `${new Date(at).toISOString().replace(/[:.]/g, '-')}-${digest.slice(0, 12)}`;
}

/**
 * Lenient on purpose: broken folding and stray header lines are for mailparser to cope with; only
 * input that is no mail at all (binary, empty, a text without any header) is refused here.
 * `tracehive map --mail` asks the same before it parses.
 */
export function startsLikeMail(raw: Buffer): boolean {
  const head = raw.subarray(0, 8192);
  if (head.length === 0 || head.includes(0)) return false;
  const first = /^(?:From [^\n]*\n)?([^\r\n]*)/.exec(head.toString('latin1'))?.[1] ?? '';
  return /^[!-9;-~]{1,76}:/.test(first);
}
