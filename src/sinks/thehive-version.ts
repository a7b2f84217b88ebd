/**
 * Which API a TheHive speaks and how it numbers TLP, from `thehive.api`, `thehive.version` and, when
 * either is `auto`, `GET /api/status` (no auth; `versions.TheHive` names the release on 4 and 5).
 *
 * - API: TheHive 4 speaks v0 (`/api/alert` + `artifacts`), 5 speaks v1.
 * - TLP: 5.2 renumbered it (RED 3 → 4, AMBER+STRICT new at 3, thehive-api §3.1). TheHive 4, 5.0 and
 *   5.1 take the old numbers; sending them RED as 4 is refused (5.0/5.1) or stored as a level they
 *   do not have (4). v0 bodies are always converted (thehive-v0.ts); v1 bodies when the release is
 *   5.0/5.1 (tlp-numbering.ts).
 *
 * An explicit `thehive.version` never asks. A status that answers but names no release (a proxy
 * blocking it, something that is not TheHive) is read as 5.2+ and said once through `warn`; a status
 * that does not answer at all leaves the question open, so the request is retried and asked again.
 */
import type { AxiosResponse } from 'axios';
import { commonOutcome, parseError } from './thehive-answers.js';
import type { Failure, TheHiveClient } from './thehive-client.js';

/** `thehive.version`: `auto` reads `GET /api/status`. */
export type TheHiveVersion = 'auto' | '4' | '5.0' | '5.1' | '5.2';

/** What the sink needs to know before it sends: the API and whether TLP takes the pre-5.2 numbers. */
export interface Dialect {
  readonly api: 'v1' | 'v0';
  /** TheHive 4, 5.0, 5.1: RED is 3, no AMBER+STRICT. */
  readonly legacyTlp: boolean;
}

/** What `GET /api/status` said: the release it names, or why it named none. */
type Status =
  | { readonly kind: 'status'; readonly release: string }
  /** A JSON answer naming no release: TheHive 5 (as `auto` always read it) behind something that rewrites it. */
  | { readonly kind: 'nameless'; readonly why: string }
  /** Not TheHive's answer (a proxy's refusal, a page): nothing can be read from it. */
  | { readonly kind: 'unknown'; readonly why: string; readonly failure: Failure };

/** True for releases that number TLP the old way (RED 3): TheHive 3, 4, 5.0 and 5.1. */
export function legacyTlpRelease(release: string): boolean {
  return /^(?:[34]\.|5\.[01](?:\.|-|$))/.test(release);
}

/** The dialect an explicit configuration fixes without asking, or null when TheHive must be asked. */
export function configuredDialect(api: 'auto' | 'v1' | 'v0', version: TheHiveVersion): Dialect | null {
  if (api === 'v0') return { api, legacyTlp: true };
  if (version === 'auto') return null;
  const legacyTlp = version !== '5.2';
  return { api: api === 'auto' ? (version === '4' ? 'v0' : 'v1') : api, legacyTlp };
}

/**
 * Resolves the dialect once (requests that start together share one `GET /api/status`; one that got
 * no answer is asked again next time). `warn` is told once when 5.2+ numbers are assumed.
 */
export function createDialectResolver(client: TheHiveClient, api: 'auto' | 'v1' | 'v0', version: TheHiveVersion, warn: (message: string) => void): { resolve(signal: AbortSignal): Promise<Dialect | Failure>; readonly current: Dialect | undefined } {
  let known: Dialect | undefined = configuredDialect(api, version) ?? undefined;
  let asking: Promise<Dialect | Failure> | null = null;

  function settle(status: Status | Failure): Dialect | Failure {
    if (status.kind === 'retry') {
      // No answer at all: TheHive is down or unreachable, and the request would fail too.
      const skip = api === 'auto' ? 'set THEHIVE_API=v1 (TheHive 5) or v0 (TheHive 4) and THEHIVE_VERSION' : 'set THEHIVE_VERSION (4, 5.0, 5.1 or 5.2)';
      return { ...status, reason: `thehive.${api === 'auto' ? 'api' : 'version'} is auto and GET /api/status failed: ${status.reason}; ${skip} to skip the check` };
    }
    if (status.kind !== 'status') {
      // Without the API nothing can be sent; with it, only the TLP numbering is a guess.
      if (status.kind === 'unknown' && api === 'auto') return { ...status.failure, reason: `thehive.api is auto and GET /api/status failed: ${status.failure.reason}; set THEHIVE_API=v1 (TheHive 5) or v0 (TheHive 4) to skip the check` };
      warn(`TheHive's release is unknown (GET /api/status: ${status.why}): TLP is sent in TheHive 5.2+ numbers (RED 4, AMBER+STRICT 3). On TheHive 5.0 or 5.1, set thehive.version (THEHIVE_VERSION=5.1) so RED is sent as 3.`);
      known = { api: api === 'v0' ? 'v0' : 'v1', legacyTlp: false };
      return known;
    }
    const v0 = /^[34]\./.test(status.release);
    known = { api: api === 'auto' ? (v0 ? 'v0' : 'v1') : api, legacyTlp: legacyTlpRelease(status.release) };
    return known;
  }

  return {
    resolve(signal: AbortSignal): Promise<Dialect | Failure> {
      if (known !== undefined) return Promise.resolve(known);
      asking ??= client.request({ method: 'GET', url: '/api/status' }, signal, classifyStatus).then((status) => {
        asking = null;
        return settle(status);
      });
      return asking;
    },
    get current() {
      return known;
    },
  };
}

/** `GET /api/status`: the release in `versions.TheHive` (4.x and 5.x alike). */
function classifyStatus(res: AxiosResponse): Status {
  const text = typeof res.data === 'string' ? res.data : '';
  if (res.status < 200 || res.status >= 300) {
    const failure = (commonOutcome(res, parseError(text)) as Failure | null) ?? { kind: 'retry', reason: `HTTP ${res.status}` };
    return { kind: 'unknown', why: `HTTP ${res.status}`, failure };
  }
  let body: { versions?: { TheHive?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { kind: 'unknown', why: `HTTP ${res.status}, not JSON`, failure: { kind: 'retry', reason: `HTTP ${res.status} with an answer that is not JSON: is thehive.url TheHive?` } };
  }
  const release = body?.versions?.TheHive;
  if (typeof release !== 'string') return { kind: 'nameless', why: `HTTP ${res.status} names no versions.TheHive` };
  return { kind: 'status', release };
}
