/**
 * Whether a compiled rule's `match` fits an event (issue 14). Every condition written must hold;
 * a rule without `match` fits every event. A condition on something the event does not have
 * (a category on a mail, a peer on an event whose sender is unknown, a mailbox on a mail that came
 * by SMTP, a field it lacks) does not
 * hold. Regexes are RE2 (re2js, compiled at load): linear in the value, whatever the pattern. Pure.
 */
import { globMatches } from '../severity.js';
import { fieldOf, type RuleEvent } from './fields.js';
import type { CompiledRule } from './spec.js';

/** True when every condition of `rule.match` holds for `event`. */
export function ruleMatches(rule: CompiledRule, event: RuleEvent): boolean {
  const m = rule.match;
  if (m.category !== undefined && (event.category === null || !globMatches(m.category, event.category))) return false;
  if (m.mailKind !== undefined && event.mailKind !== m.mailKind) return false;
  if (m.sender !== undefined && (event.sender === undefined || !globMatches(m.sender, event.sender))) return false;
  if (m.mailbox !== undefined && (event.mailbox === undefined || !globMatches(m.mailbox, event.mailbox))) return false;
  if (m.peer !== undefined && !m.peer(event.peer)) return false;
  for (const { field, test } of m.fields) {
    const value = fieldOf(event, field);
    if (value === null || !test(value)) return false;
  }
  return true;
}

/** The address part of a peer as the TCP source names it (`10.0.0.5:51234`, `::1:51234`). */
export function peerAddress(peer: string): string {
  const colon = peer.lastIndexOf(':');
  const address = colon < 0 ? peer : peer.slice(0, colon);
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}
