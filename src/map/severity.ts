/**
 * Severity from the `alert.severity` policy: ordered glob rules on the category, optionally
 * refined by a numeric field of the record (contract §4).
 */
import type { AlertPolicy, KvPair, Severity, SeverityRule } from '../types.js';
import { keptPerKey } from './kept-per-key.js';

/**
 * The default `alert.severity` rules (contract §4). Order matters: the first match wins, so
 * BotnetCnC comes before Mobile (`KL_Mobile_BotnetCnC_*` is a botnet, 3) and everything
 * specific comes before the broad feed families. Patterns are `_`-delimited words
 * (`*_ICS_*`, not `*ICS*`) because a bare substring also hits unrelated third-party
 * categories (`*ICS*` matches `Forensics`, `*APT*` matches `Adapter`); every Kaspersky category
 * is `KL_<feed>_<object>`, so the delimited form matches all of them.
 */
export const DEFAULT_SEVERITY_RULES: readonly SeverityRule[] = [
  { match: '*_APT_*', severity: 4 },
  { match: '*_ICS_*', severity: 4 },
  { match: '*_BotnetCnC_*', severity: 3 },
  { match: '*_Ransomware_*', severity: 3 },
  {
    match: '*_IP_Reputation*',
    severity: 1,
    scoreField: 'threat_score',
    steps: [
      { min: 75, severity: 2 },
      { min: 90, severity: 3 },
    ],
  },
  { match: '*_Malicious_*', severity: 2 },
  { match: '*_Phishing_*', severity: 2 },
  { match: '*_IoT_*', severity: 2 },
  { match: '*_Mobile_*', severity: 2 },
];

/** What severity needs of a record: detections have both; a mail mapper can pass its own. */
export interface SeverityInput {
  readonly category: string;
  readonly pairs: readonly KvPair[];
}

/**
 * Severity of `rec` under `policy`: the first rule whose glob matches the category
 * (case-insensitive) decides; with `scoreField`, the first pair of that key holding a number
 * picks the highest step whose `min` it reaches (below every step, or without a number, the
 * rule's own severity applies). No matching rule → `policy.defaultSeverity`.
 */
export function severityFor(rec: SeverityInput, policy: Pick<AlertPolicy, 'severity' | 'defaultSeverity'>): Severity {
  const rule = firstRule(policy.severity, rec.category);
  if (rule !== undefined) {
    if (rule.scoreField === undefined || rule.steps === undefined) return rule.severity;
    const score = scoreOf(rec.pairs, rule.scoreField);
    if (score === null) return rule.severity;
    let best: { min: number; severity: Severity } | null = null;
    for (const step of rule.steps) {
      if (score >= step.min && (best === null || step.min > best.min)) best = step;
    }
    return best === null ? rule.severity : best.severity;
  }
  return policy.defaultSeverity;
}

/**
 * The first rule whose glob matches `category`. A feed names a few dozen categories at most, so
 * each set of rules remembers its answer per category (kept-per-key.ts; issue 15: every line ran
 * every glob until one matched).
 */
function firstRule(rules: readonly SeverityRule[], category: string): SeverityRule | undefined {
  let ofRules = firstRules.get(rules);
  if (ofRules === undefined) firstRules.set(rules, (ofRules = keptPerKey((c) => rules.find((r) => globMatches(r.match, c)))));
  return ofRules(category);
}

const firstRules = new WeakMap<readonly SeverityRule[], (category: string) => SeverityRule | undefined>();

/** True when `glob` (`*` = any run of characters, everything else literal) matches all of `text`, ignoring case. */
export function globMatches(glob: string, text: string): boolean {
  return compile(glob).test(text);
}

// Rules come from the config, so this cache is bounded by the number of configured patterns.
const compiled = new Map<string, RegExp>();

function compile(glob: string): RegExp {
  let re = compiled.get(glob);
  if (re === undefined) {
    const parts = glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    // A leading or trailing `*` drops its anchor instead of becoming `^.*` / `.*$`: with `s`
    // (`.` takes line breaks too) that is the same set of matches, and the engine then scans
    // for the literal instead of backtracking over `.*` (every default rule is `*…*`).
    const anyStart = parts.length > 1 && parts[0] === '';
    const anyEnd = parts.length > 1 && parts.at(-1) === '';
    const body = parts.slice(anyStart ? 1 : 0, anyEnd ? -1 : undefined).join('.*');
    re = new RegExp(`${anyStart ? '' : '^'}${body}${anyEnd ? '' : '$'}`, 'is');
    compiled.set(glob, re);
  }
  return re;
}

/** The first value of `key` that is a plain number (`97`, `97.5`); other values are skipped. */
function scoreOf(pairs: readonly KvPair[], key: string): number | null {
  for (const pair of pairs) {
    if (pair.key !== key || pair.value === null) continue;
    const text = pair.value.trim();
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text)) continue;
    return Number(text);
  }
  return null;
}
