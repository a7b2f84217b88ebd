/**
 * Checks of the environment that convict does not make: a misspelt `TRACEHIVE_*` or `THEHIVE_*`
 * variable is otherwise silently ignored (an allowlist that was meant to apply, doesn't), and a
 * list variable set to nothing (`TRACEHIVE_TCP_ALLOW=` or `" , "`) would read as an empty list,
 * which for an allowlist means every peer. Unset means the default; set-but-empty is a mistake.
 * Pure: takes the environment and the schema's variables, returns the problems.
 */

/** A variable of the schema. */
export interface EnvKey {
  readonly env: string;
  readonly key: string;
  /** A comma-separated list (format `cidr-list` or `string-list`). */
  readonly list: boolean;
}

/** The prefixes tracehive owns: any variable with one must be a known one. */
const OWNED = /^(TRACEHIVE|THEHIVE)_/;

/** Keys of earlier releases that a newer mechanism replaced: what to set instead. */
export const REPLACED_KEYS: Readonly<Record<string, { readonly env: string; readonly instead: string }>> = {
  'alert.groupWindowMs': { env: 'TRACEHIVE_ALERT_GROUP_WINDOW_MS', instead: 'replaced by the alert lifecycle (0.3.0): detections of one key update one open alert; set alert.updateWindowMs (TRACEHIVE_ALERT_UPDATE_WINDOW_MS) and alert.updateFlushMs instead' },
  'alert.groupMaxSightings': { env: 'TRACEHIVE_ALERT_GROUP_MAX_SIGHTINGS', instead: 'replaced by the alert lifecycle (0.3.0): an alert now counts every sighting and lists the newest 100; remove it' },
};

/** Variables read outside the schema. */
export const EXTRA_ENV = ['TRACEHIVE_CONFIG'] as const;

/** What to do instead of an empty list, by key; the rest keep their default when unset. */
const EMPTY_LIST_HINTS: Readonly<Record<string, string>> = {
  'tcp.allow': 'unset it to allow all peers, or give the CIDR ranges of CyberTrace',
  'email.smtp.allowPeers': 'unset it to allow all peers, or give the CIDR ranges of your MTA',
  'email.smtp.allowFrom': 'unset it to allow all senders, or give addresses and @domains',
  'alert.tags': 'unset it for no extra tags',
  'email.trustedSenders': 'unset it to let every sender send SIEM notifications, or give addresses and @domains',
  'email.trustedSenderIps': 'unset it to let every sending server send SIEM notifications, or give the CIDR ranges of your SIEM',
};

/** One line per problem: unknown variables (with the closest known name) and empty lists. */
export function environmentProblems(env: NodeJS.ProcessEnv, keys: readonly EnvKey[]): string[] {
  const known = new Map(keys.map((k) => [k.env, k]));
  const names = [...known.keys(), ...EXTRA_ENV];
  const problems: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!OWNED.test(name) || known.has(name) || (EXTRA_ENV as readonly string[]).includes(name)) continue;
    const replaced = Object.values(REPLACED_KEYS).find((r) => r.env === name);
    if (replaced) {
      problems.push(`${name}: ${replaced.instead}.`);
      continue;
    }
    // The value is not shown: a misspelt THEHIVE_APIKEY holds a secret.
    problems.push(`${name}: unknown environment variable; did you mean ${closest(name, names)}? Rename or unset it (every variable is in the README's configuration table).`);
  }
  for (const k of keys) {
    const value = env[k.env];
    if (!k.list || value === undefined || value.split(',').some((s) => s.trim() !== '')) continue;
    const hint = EMPTY_LIST_HINTS[k.key] ?? 'unset it to keep the default, or put [] in a config file for an empty list';
    problems.push(`${k.env} (${k.key}) is set but lists nothing: ${hint}.`);
  }
  return problems;
}

/** The known name nearest to `name`, comparing whole names and the parts after the prefix. */
export function closest(name: string, known: readonly string[]): string {
  const tail = (n: string): string => n.replace(OWNED, '');
  let best = known[0] ?? '';
  let bestScore = Infinity;
  for (const candidate of known) {
    // THEHIVE_TCP_PORT is one prefix away from TRACEHIVE_TCP_PORT; TRACEHIVE_LOG_LEVEL from LOG_LEVEL.
    const score = Math.min(distance(name, candidate), distance(tail(name), tail(candidate)) + 1);
    if (score < bestScore) [best, bestScore] = [candidate, score];
  }
  return best;
}

/** Levenshtein distance (two rows). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
