/**
 * The SMTP source's options: what they mean, their defaults (those of config/default.json), and
 * the checks that turn a wrong one into a TypeError naming it (config.ts has already checked the
 * user's config; these guard the API and the one rule that spans two keys).
 */
import { parseCidr } from '../net/cidr.js';

/** Where to listen and what to take. */
export interface SmtpOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** `0` picks a free port (read it from `start()`). */
  readonly port: number;
  /** Larger mails are refused with 552 (advertised as `SIZE`). @default 26214400 */
  readonly maxBytes?: number;
  /** Allowed envelope senders: `soc@corp.example` or `@corp.example` (that domain exactly), case-insensitive; empty allows all. @default [] */
  readonly allowFrom?: readonly string[];
  /** CIDR allowlist of clients (`10.0.0.0/8`, `::1`); empty allows all. @default [] */
  readonly allowPeers?: readonly string[];
  /** PEM key and certificate files: STARTTLS is offered only when both are set. @default '' */
  readonly tlsKeyFile?: string;
  readonly tlsCertFile?: string;
  /** Name in the greeting. @default os.hostname() */
  readonly name?: string;
  /** Connections at once; more are refused with 421. @default 100 */
  readonly maxClients?: number;
  /** Connections from one client address at once; more are refused with 421. @default 10 */
  readonly maxClientsPerPeer?: number;
  /** Bytes of mails being received or waiting for the intake, over every session; a mail that would go over gets 452. @default 67108864 */
  readonly maxInflightBytes?: number;
  /** A client must start DATA within this after connecting or after its last mail (NOOP, RSET… do not extend it), else 421. @default 60000 */
  readonly commandTimeoutMs?: number;
  /** A mail's DATA must end within this after it started, else 421. @default 300000 */
  readonly dataTimeoutMs?: number;
  /** A client silent this long is disconnected. @default 60000 */
  readonly socketTimeoutMs?: number;
}

/** The defaults of the bounds on clients, as in config/default.json. */
const DEFAULTS = { host: '127.0.0.1', maxBytes: 26_214_400, maxClients: 100, maxClientsPerPeer: 10, maxInflightBytes: 67_108_864, commandTimeoutMs: 60_000, dataTimeoutMs: 300_000 };

/** The options with every default filled in. */
export type ResolvedSmtpOptions = SmtpOptions & typeof DEFAULTS;

/** Fills in the defaults and checks the result; throws a TypeError naming a wrong option. */
export function resolveSmtpOptions(opts: SmtpOptions): ResolvedSmtpOptions {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as SmtpOptions;
  const o: ResolvedSmtpOptions = { ...DEFAULTS, ...given };
  check(o);
  return o;
}

/** A predicate on envelope senders from `addr@domain` and `@domain` entries; an empty list allows all. */
export function senderMatcher(list: readonly string[]): (address: string) => boolean {
  const addresses = new Set<string>();
  const domains = new Set<string>();
  for (const entry of list) {
    const e = entry.trim().toLowerCase();
    if (/^@[^@\s]+$/.test(e)) domains.add(e.slice(1));
    else if (/^[^@\s]+@[^@\s]+$/.test(e)) addresses.add(e);
    else {
      const hint = parseCidr(e) ? ' (client addresses go in `allowPeers`)' : '';
      throw new TypeError(`Expected \`allowFrom\` entries to be addresses or @domain, got ${JSON.stringify(entry)}${hint}.`);
    }
  }
  if (addresses.size === 0 && domains.size === 0) return () => true;
  return (address) => {
    const a = address.toLowerCase();
    return addresses.has(a) || domains.has(a.slice(a.lastIndexOf('@') + 1));
  };
}

function check(o: ResolvedSmtpOptions): void {
  const fail = (name: string, expected: string, got: unknown): never => {
    throw new TypeError(`Expected \`${name}\` to be ${expected}, got ${JSON.stringify(got)}.`);
  };
  if (typeof o.host !== 'string' || o.host === '') fail('host', 'a listen address', o.host);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) fail('port', 'an integer from 0 to 65535', o.port);
  for (const key of ['maxBytes', 'maxClients', 'maxClientsPerPeer', 'maxInflightBytes', 'commandTimeoutMs', 'dataTimeoutMs'] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key] < 1) fail(key, 'a positive integer', o[key]);
  }
  // A mail between the two could never get in: the MTA would retry it until it gives up.
  if (o.maxInflightBytes < o.maxBytes) fail('maxInflightBytes', `at least \`maxBytes\` (${o.maxBytes})`, o.maxInflightBytes);
  if (Boolean(o.tlsKeyFile) !== Boolean(o.tlsCertFile)) fail('tlsKeyFile and tlsCertFile', 'both set or both empty', [o.tlsKeyFile, o.tlsCertFile]);
  for (const peer of o.allowPeers ?? []) if (!parseCidr(peer)) fail('allowPeers entries', 'addresses or CIDR ranges', peer);
}
