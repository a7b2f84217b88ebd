/**
 * The default ATT&CK procedure of each CyberTrace feed family (issue 14), added when
 * `alert.procedures` is on. A detection says an indicator of the feed was seen: the technique
 * below is what that feed's indicators are evidence of. Tactics are ATT&CK's short names, as
 * TheHive 5 and TheHive4py write them (`initial-access`). First match wins, so specific families
 * come first (a `KL_Mobile_BotnetCnC_*` detection is a botnet's). Pure.
 *
 * | Category glob | Technique | Tactic | Why |
 * |---|---|---|---|
 * | `*_BotnetCnC_*` | T1071 Application Layer Protocol | command-and-control | a host talks to a botnet's C&C |
 * | `*_Ransomware_*` | T1486 Data Encrypted for Impact | impact | ransomware infrastructure or sample |
 * | `*_Phishing_*` | T1566 Phishing | initial-access | a phishing URL was visited or delivered |
 * | `*_Malicious_URL*` | T1189 Drive-by Compromise | initial-access | a malicious page was requested |
 * | `*_Malicious_Hash*` | T1204 User Execution | execution | a known malicious file was seen on a host |
 * | `*_Mining_*` | T1496 Resource Hijacking | impact | a miner's pool or sample |
 * | `*_IoT_URL*` | T1105 Ingress Tool Transfer | command-and-control | IoT malware download URLs |
 *
 * No default for `*_IP_Reputation*`, `*_APT_*` or `*_ICS_*`: their records cover many techniques
 * (an IP's reputation may be spam, scanning or C&C), so a guess would mislead; a rule can set one.
 */
import { globMatches } from '../severity.js';
import type { ProcedureSpec } from './spec.js';

export const DEFAULT_PROCEDURES: readonly { readonly match: string; readonly procedure: ProcedureSpec }[] = [
  { match: '*_BotnetCnC_*', procedure: { patternId: 'T1071', tactic: 'command-and-control' } },
  { match: '*_Ransomware_*', procedure: { patternId: 'T1486', tactic: 'impact' } },
  { match: '*_Phishing_*', procedure: { patternId: 'T1566', tactic: 'initial-access' } },
  { match: '*_Malicious_URL*', procedure: { patternId: 'T1189', tactic: 'initial-access' } },
  { match: '*_Malicious_Hash*', procedure: { patternId: 'T1204', tactic: 'execution' } },
  { match: '*_Mining_*', procedure: { patternId: 'T1496', tactic: 'impact' } },
  { match: '*_IoT_URL*', procedure: { patternId: 'T1105', tactic: 'command-and-control' } },
];

/** The default procedure of `category`, or null when its family has none. */
export function defaultProcedure(category: string): ProcedureSpec | null {
  return DEFAULT_PROCEDURES.find((d) => globMatches(d.match, category))?.procedure ?? null;
}

/** An ATT&CK technique or sub-technique ID (`T1071`, `T1566.001`). */
export const PATTERN_ID = /^T\d{4}(?:\.\d{3})?$/;
/** ATT&CK's tactic short names. */
export const TACTICS = [
  ...['reconnaissance', 'resource-development', 'initial-access', 'execution', 'persistence', 'privilege-escalation', 'defense-evasion'],
  ...['credential-access', 'discovery', 'lateral-movement', 'collection', 'command-and-control', 'exfiltration', 'impact'],
] as const;
