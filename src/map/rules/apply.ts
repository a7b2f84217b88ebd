/**
 * `alert.rules` applied to an alert the built-in mapping made (issue 14). Every rule whose match
 * fits the event is layered over it in order: a later rule wins per field, tags add up, a rule
 * with `stop` ends the evaluation. An alert no rule touches is returned as it is (the same
 * object), so a configuration without rules gives today's alerts exactly. Pure: the rules are
 * compiled once per policy ({@link ruleSetOf}), and the same event always gives the same alert.
 */
import { BridgeError } from '../../errors.js';
import type { Alert, AlertMeta, AlertPolicy, Procedure, Severity } from '../../types.js';
import { DESCRIPTION_MAX, SOURCE_MAX, TYPE_MAX, cleanTags, cleanTitle, cut } from '../limits.js';
import { convertCustomField, isHttpUrl } from './custom-fields.js';
import { fieldOf, type RuleEvent } from './fields.js';
import { ruleMatches } from './match.js';
import { defaultProcedure } from './procedures.js';
import type { ProcedureSpec, RuleSet } from './spec.js';
import { renderTemplate, type Template } from './template.js';
import { compileRules } from './validate.js';

/** A rendered title at most: a title is read in a list, and TheHive's own limit is 512. */
export const TITLE_TEMPLATE_MAX = 256;
/** Any other rendered value (description, custom field, link) at most. */
export const TEMPLATE_MAX = 4096;
/** A rendered tag at most: TheHive's limit. */
const TAG_TEMPLATE_MAX = 128;

const NO_RULES: RuleSet = { rules: [], procedures: false };
const compiled = new WeakMap<AlertPolicy, RuleSet>();

/**
 * The compiled rules of `policy`, compiled on first use and kept for as long as the policy (the
 * frozen configuration) lives. The configuration was validated at load, so a problem here is a
 * caller's bug: it throws.
 */
export function ruleSetOf(policy: AlertPolicy): RuleSet {
  if ((policy.rules === undefined || policy.rules.length === 0) && policy.procedures !== true) return NO_RULES;
  let set = compiled.get(policy);
  if (set === undefined) {
    const c = compileRules(policy.rules ?? [], { extraFields: policy.ruleFields ?? [] });
    if (c.problems.length > 0) throw new BridgeError('ERR_CONFIG_RULE', `Invalid alert.rules:\n  ${c.problems.join('\n  ')}`);
    set = { rules: c.rules, procedures: policy.procedures === true };
    compiled.set(policy, set);
  }
  return set;
}

/**
 * `alert` shaped by the rules of `policy` that match the event `eventOf` builds; `alert` itself
 * when none does. The event is built only when there are rules to match: a CyberTrace record's
 * event was a twentieth of a line's mapping, for configurations without rules.
 */
export function shapeAlert(alert: Alert, eventOf: () => RuleEvent, policy: AlertPolicy): Alert {
  const set = ruleSetOf(policy);
  if (set === NO_RULES) return alert;
  return applyRules(alert, eventOf(), set);
}

/** {@link shapeAlert} with compiled rules. */
export function applyRules(alert: Alert, event: RuleEvent, set: RuleSet): Alert {
  const lookup = (field: string): string | null => fieldOf(event, field);
  const fallback = set.procedures && event.category !== null ? defaultProcedure(event.category) : null;
  const out = new Layered(alert);
  const meta: AlertMeta = { rules: [], setBy: [] };
  if (fallback !== null) {
    out.procedures = [fallback];
    meta.setBy.push({ field: 'procedures', rule: 'alert.procedures (the default of the category)' });
  }
  const setBy = (field: string, rule: string): void => {
    meta.setBy = meta.setBy.filter((s) => s.field !== field);
    meta.setBy.push({ field, rule });
  };
  const dropped: string[] = [];
  for (const rule of set.rules) {
    if (!ruleMatches(rule, event)) continue;
    meta.rules.push(rule.label);
    const s = rule.set;
    if (s.title !== undefined) {
      const title = cleanTitle(render(s.title, lookup, TITLE_TEMPLATE_MAX));
      if (title !== '') out.title = title;
    }
    if (s.description !== undefined) out.preface = render(s.description, lookup, TEMPLATE_MAX, true).trim();
    if (s.severity !== undefined) out.severity = s.severity;
    if (s.tlp !== undefined) out.tlp = s.tlp;
    if (s.pap !== undefined) out.pap = s.pap;
    if (s.type !== undefined) out.type = cut(s.type, TYPE_MAX);
    if (s.source !== undefined) out.source = cut(s.source, SOURCE_MAX);
    for (const tag of s.tags) out.tags.push(render(tag, lookup, TAG_TEMPLATE_MAX));
    if (s.assignee !== undefined) out.assignee = s.assignee;
    if (s.caseTemplate !== undefined) {
      out.caseTemplate = s.caseTemplate;
      setBy('caseTemplate', rule.label);
    }
    if (s.organisation !== undefined) {
      meta.organisation = s.organisation;
      setBy('organisation', rule.label);
    }
    if (s.target !== undefined) meta.target = s.target;
    if (s.externalLink !== undefined) {
      const link = render(s.externalLink, lookup, TEMPLATE_MAX).trim();
      if (isHttpUrl(link)) out.externalLink = link;
      else dropped.push(`${rule.label} set.externalLink: ${JSON.stringify(cut(link, 60))} is no http(s) URL`);
    }
    for (const cf of s.customFields) {
      const converted = convertCustomField(cf.type, render(cf.value, lookup, TEMPLATE_MAX));
      if (converted.ok) {
        out.customFields.set(cf.name, converted.value);
        setBy(`customFields.${cf.name}`, rule.label);
      } else dropped.push(`${rule.label} set.customFields.${cf.name} (${cf.type}): ${converted.problem}`);
    }
    if (s.procedures !== undefined) {
      out.procedures = s.procedures;
      setBy('procedures', rule.label);
    }
    if (rule.stop) break;
  }
  if (meta.rules.length === 0 && fallback === null) return alert;
  // A target the source chose (a mailbox's) stands unless a rule chose another.
  const chosen = alert.meta?.target;
  if (meta.target === undefined && chosen !== undefined) meta.target = chosen;
  if (dropped.length > 0) meta.dropped = dropped;
  return out.alert(event.date, meta);
}

/**
 * The `thehive.targets` name the rules send `event` to: the `set.target` of the last matching rule
 * (a rule with `stop` ends the evaluation), or undefined for `thehive.url`. What {@link applyRules}
 * puts in `meta.target`, without building the alert: the feeders route records with it.
 */
export function targetOf(event: RuleEvent, set: RuleSet): string | undefined {
  let target: string | undefined;
  for (const rule of set.rules) {
    if (!ruleMatches(rule, event)) continue;
    if (rule.set.target !== undefined) target = rule.set.target;
    if (rule.stop) break;
  }
  return target;
}

function render(t: Template, lookup: (field: string) => string | null, max: number, keepLines = false): string {
  return renderTemplate(t, lookup, max, keepLines);
}

/** The fields rules may change, then the alert they make. */
class Layered {
  title: string;
  preface: string | undefined;
  severity: Severity;
  tlp: number;
  pap: number;
  type: string;
  source: string;
  readonly tags: string[];
  assignee: string | undefined;
  caseTemplate: string | undefined;
  externalLink: string | undefined;
  readonly customFields = new Map<string, string | number | boolean>();
  procedures: readonly ProcedureSpec[] = [];

  readonly base: Alert;

  constructor(base: Alert) {
    this.base = base;
    this.title = base.title;
    this.severity = base.severity;
    this.tlp = base.tlp;
    this.pap = base.pap;
    this.type = base.type;
    this.source = base.source;
    this.tags = [...base.tags];
  }

  alert(date: number, meta: AlertMeta): Alert {
    const { observables, meta: _old, ...rest } = this.base;
    const description = this.preface === undefined || this.preface === '' ? rest.description : cut(`${this.preface}\n\n${rest.description}`, DESCRIPTION_MAX);
    const procedures: Procedure[] = this.procedures.map((p) => ({ patternId: p.patternId, tactic: p.tactic, occurDate: date }));
    return {
      ...rest,
      type: this.type,
      source: this.source,
      title: this.title,
      description,
      severity: this.severity,
      tags: cleanTags(this.tags),
      tlp: this.tlp,
      pap: this.pap,
      ...(this.externalLink === undefined ? {} : { externalLink: this.externalLink }),
      ...(this.assignee === undefined ? {} : { assignee: this.assignee }),
      ...(this.caseTemplate === undefined ? {} : { caseTemplate: this.caseTemplate }),
      ...(this.customFields.size === 0 ? {} : { customFields: Object.fromEntries(this.customFields) }),
      ...(procedures.length === 0 ? {} : { procedures }),
      observables,
      meta,
    };
  }
}
