/**
 * `alert.rules` checked and compiled in one pass (issue 14): every problem is named by the rule's
 * index and key (`alert.rules[2].set.title: unclosed {{ at character 7`), so `check-config` says
 * exactly what to fix. Regexes are compiled with RE2 (re2js): what RE2 refuses (lookaround,
 * backreferences) is refused here, never run on a backtracking engine. Pure.
 */
import { globMatches } from '../severity.js';
import { RE2JS } from 're2js';
import { cidrMatcher, parseCidr } from '../../net/cidr.js';
import type { Severity } from '../../types.js';
import { isKnownField, knownSpelling } from './fields.js';
import { PATTERN_ID, TACTICS } from './procedures.js';
import { CUSTOM_FIELD_TYPES, MAIL_KINDS, type CompiledRule, type CustomFieldType, type MailKind, type ProcedureSpec } from './spec.js';
import { parseTemplate, type Template } from './template.js';

/** What {@link compileRules} gives: the rules when `problems` is empty. */
export interface Compiled {
  readonly rules: CompiledRule[];
  readonly problems: string[];
}

export interface CompileOptions {
  /** `alert.ruleFields`: a feed's own field names rules may use besides the known ones. */
  readonly extraFields?: readonly string[];
  /** False: names are not checked (the schema's format, which cannot see `alert.ruleFields`). */
  readonly checkFields?: boolean;
}

const RULE_KEYS = ['name', 'match', 'set', 'stop'];
const MATCH_KEYS = ['category', 'fields', 'peer', 'mail'];
const MAIL_KEYS = ['kind', 'sender', 'mailbox'];
const SET_KEYS = ['title', 'description', 'severity', 'tags', 'tlp', 'pap', 'type', 'source', 'customFields', 'caseTemplate', 'externalLink', 'assignee', 'procedures', 'organisation', 'target'];
/** Rules at most: each is tried on every event. */
export const RULES_MAX = 200;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const own = (o: Obj, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);

/** Checks and compiles `raw` (the value of `alert.rules`). */
export function compileRules(raw: unknown, options: CompileOptions = {}): Compiled {
  const problems: string[] = [];
  if (!Array.isArray(raw)) return { rules: [], problems: ['alert.rules: expected a list of rules such as [{"match":{"category":"*_Phishing_*"},"set":{"tags":["phish"]}}]'] };
  if (raw.length > RULES_MAX) problems.push(`alert.rules: ${raw.length} rules, at most ${RULES_MAX}`);
  const extra = new Set(options.extraFields ?? []);
  const rules: CompiledRule[] = [];
  raw.forEach((rule: unknown, i) => {
    const c = new RuleChecker(`alert.rules[${i}]`, options.checkFields !== false, extra, problems);
    const compiled = c.rule(rule, i);
    if (compiled !== null) rules.push(compiled);
  });
  return { rules, problems };
}

class RuleChecker {
  readonly at: string;
  readonly checkFields: boolean;
  readonly extra: ReadonlySet<string>;
  readonly problems: string[];

  constructor(at: string, checkFields: boolean, extra: ReadonlySet<string>, problems: string[]) {
    this.at = at;
    this.checkFields = checkFields;
    this.extra = extra;
    this.problems = problems;
  }

  fail(key: string, problem: string): undefined {
    this.problems.push(`${this.at}${key === '' ? '' : `.${key}`}: ${problem}`);
    return undefined;
  }

  unknownKeys(o: Obj, allowed: readonly string[], key: string): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.fail(key === '' ? k : `${key}.${k}`, `unknown key (expected one of ${allowed.join(', ')})`);
  }

  field(name: string, key: string): void {
    if (!this.checkFields || isKnownField(name, this.extra)) return;
    const spelled = knownSpelling(name);
    this.fail(key, `unknown field ${JSON.stringify(name)}${spelled === null ? '' : ` (did you mean ${JSON.stringify(spelled)}? fields are case-sensitive)`}: not a CyberTrace or mail field tracehive knows; add a feed's own field to alert.ruleFields`);
  }

  template(v: unknown, key: string): Template | undefined {
    if (typeof v !== 'string') return this.fail(key, 'expected a text (a template such as "{{category}}: {{matchedIndicator}}")');
    const parsed = parseTemplate(v);
    if (!parsed.ok) return this.fail(key, parsed.problem);
    for (const f of parsed.template.fields) this.field(f, key);
    return parsed.template;
  }

  text(v: unknown, key: string, max: number): string | undefined {
    if (typeof v !== 'string' || v.trim().length === 0 || v.length > max) return this.fail(key, `expected a text of 1 to ${max} characters, got ${JSON.stringify(v)}`);
    return v.trim();
  }

  int<T extends number>(v: unknown, key: string, allowed: readonly T[]): T | undefined {
    if (!allowed.includes(v as T)) return this.fail(key, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  rule(raw: unknown, i: number): CompiledRule | null {
    if (!isObj(raw)) {
      this.fail('', 'expected an object {name?, match?, set?, stop?}');
      return null;
    }
    const before = this.problems.length;
    this.unknownKeys(raw, RULE_KEYS, '');
    const name = own(raw, 'name') === undefined ? undefined : this.text(own(raw, 'name'), 'name', 64);
    const match = this.match(own(raw, 'match'));
    const set = this.set(own(raw, 'set'));
    const stop = own(raw, 'stop');
    if (stop !== undefined && typeof stop !== 'boolean') this.fail('stop', `expected true or false, got ${JSON.stringify(stop)}`);
    if (this.problems.length > before) return null;
    return { label: `alert.rules[${i}]${name === undefined ? '' : ` (${name})`}`, match, set, stop: stop === true };
  }

  match(raw: unknown): CompiledRule['match'] {
    const fields: { field: string; test: (value: string) => boolean }[] = [];
    if (raw === undefined) return { fields };
    if (!isObj(raw)) {
      this.fail('match', 'expected an object {category?, fields?, peer?, mail?}');
      return { fields };
    }
    // The contract's shorthand: any other key names a field, its value a glob or a `/regex/` (RE2).
    for (const [field, pattern] of Object.entries(raw)) {
      if (MATCH_KEYS.includes(field)) continue;
      const key = `match.${field}`;
      this.field(field, key);
      const test = typeof pattern === 'string' && pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/') ? this.regex(pattern.slice(1, -1), key) : this.glob(pattern, key);
      if (test !== undefined) fields.push({ field, test });
    }
    const out: { -readonly [K in keyof CompiledRule['match']]: CompiledRule['match'][K] } = { fields };
    const category = own(raw, 'category');
    if (category !== undefined) out.category = this.text(category, 'match.category', 256);
    const f = own(raw, 'fields');
    if (f !== undefined) {
      if (!isObj(f)) this.fail('match.fields', 'expected an object {"<field>": "<regex>"}');
      else for (const [field, pattern] of Object.entries(f)) {
        const key = `match.fields.${field}`;
        this.field(field, key);
        const test = this.regex(pattern, key);
        if (test !== undefined) fields.push({ field, test });
      }
    }
    const peer = own(raw, 'peer');
    if (peer !== undefined) {
      if (!Array.isArray(peer) || peer.length === 0) this.fail('match.peer', 'expected a non-empty list of CIDR ranges such as ["10.1.0.0/16"]');
      else {
        const bad = peer.findIndex((p) => typeof p !== 'string' || parseCidr(p) === null);
        if (bad >= 0) this.fail(`match.peer[${bad}]`, `expected a CIDR range such as 10.1.0.0/16 or ::1/128 (dotted quads without leading zeros), got ${JSON.stringify(peer[bad])}`);
        else out.peer = cidrMatcher(peer as string[]);
      }
    }
    const mail = own(raw, 'mail');
    if (mail !== undefined) {
      if (!isObj(mail)) this.fail('match.mail', 'expected an object {kind?, sender?, mailbox?}');
      else {
        this.unknownKeys(mail, MAIL_KEYS, 'match.mail');
        const kind = own(mail, 'kind');
        if (kind !== undefined) out.mailKind = MAIL_KINDS.includes(kind as MailKind) ? (kind as MailKind) : this.fail('match.mail.kind', `expected one of ${MAIL_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
        const sender = own(mail, 'sender');
        if (sender !== undefined) out.sender = this.text(sender, 'match.mail.sender', 254)?.toLowerCase();
        const mailbox = own(mail, 'mailbox');
        if (mailbox !== undefined) out.mailbox = this.text(mailbox, 'match.mail.mailbox', 256);
      }
    }
    return out;
  }

  /** A glob as `alert.severity` rules take them: `*` any run, any case. */
  glob(pattern: unknown, key: string): ((value: string) => boolean) | undefined {
    if (typeof pattern !== 'string' || pattern === '') return this.fail(key, 'expected a glob such as "KL_BotnetCnC*" or a regex between slashes such as "/^10\\./"');
    return (value) => globMatches(pattern, value);
  }

  regex(pattern: unknown, key: string): ((value: string) => boolean) | undefined {
    if (typeof pattern !== 'string' || pattern === '') return this.fail(key, 'expected a regex (RE2 syntax) as a text');
    try {
      const re = RE2JS.compile(pattern);
      return (value) => re.matcher(value).find();
    } catch (err) {
      return this.fail(key, `RE2 refuses ${JSON.stringify(pattern)}: ${(err as Error).message} (lookaround and backreferences are not supported: rules run on a linear-time engine)`);
    }
  }

  set(raw: unknown): CompiledRule['set'] {
    const tags: Template[] = [];
    const customFields: { name: string; type: CustomFieldType; value: Template }[] = [];
    const out: { -readonly [K in keyof CompiledRule['set']]: CompiledRule['set'][K] } = { tags, customFields };
    if (raw === undefined) return out;
    if (!isObj(raw)) {
      this.fail('set', `expected an object with any of ${SET_KEYS.join(', ')}`);
      return out;
    }
    this.unknownKeys(raw, SET_KEYS, 'set');
    const has = (k: string): boolean => own(raw, k) !== undefined;
    if (has('title')) out.title = this.template(raw['title'], 'set.title');
    if (has('description')) out.description = this.template(raw['description'], 'set.description');
    if (has('externalLink')) out.externalLink = this.template(raw['externalLink'], 'set.externalLink');
    if (has('severity')) out.severity = this.int<Severity>(raw['severity'], 'set.severity', [1, 2, 3, 4]);
    if (has('tlp')) out.tlp = this.int(raw['tlp'], 'set.tlp', [0, 1, 2, 3, 4]);
    if (has('pap')) out.pap = this.int(raw['pap'], 'set.pap', [0, 1, 2, 3]);
    if (has('type')) out.type = this.text(raw['type'], 'set.type', 32);
    if (has('source')) out.source = this.text(raw['source'], 'set.source', 32);
    if (has('caseTemplate')) out.caseTemplate = this.text(raw['caseTemplate'], 'set.caseTemplate', 128);
    if (has('assignee')) out.assignee = this.text(raw['assignee'], 'set.assignee', 128);
    if (has('organisation')) out.organisation = this.text(raw['organisation'], 'set.organisation', 128);
    // Whether thehive.targets has it is checked in config.ts, which sees both keys.
    if (has('target')) out.target = this.text(raw['target'], 'set.target', 64);
    if (has('tags')) {
      const t = raw['tags'];
      if (!Array.isArray(t)) this.fail('set.tags', 'expected a list of tags (templates allowed, e.g. "tenant:{{src}}")');
      else t.forEach((tag: unknown, j) => {
        const parsed = this.template(tag, `set.tags[${j}]`);
        if (parsed !== undefined) tags.push(parsed);
      });
    }
    if (has('customFields')) {
      const cf = raw['customFields'];
      if (!isObj(cf)) this.fail('set.customFields', 'expected an object {"<name>": {"type": "string", "value": "{{field}}"}}');
      else for (const [name, spec] of Object.entries(cf)) {
        const key = `set.customFields.${name}`;
        if (name.length < 1 || name.length > 64) this.fail(key, 'a custom field name is 1 to 64 characters');
        else if (name in Object.prototype) this.fail(key, `${JSON.stringify(name)} is no custom field name`);
        // The contract's shorthand: a template alone is a string field.
        if (typeof spec === 'string') {
          const value = this.template(spec, key);
          if (value !== undefined) customFields.push({ name, type: 'string', value });
          continue;
        }
        if (!isObj(spec)) {
          this.fail(key, `expected a template, or {"type": one of ${CUSTOM_FIELD_TYPES.join(', ')}, "value": a template}`);
          continue;
        }
        this.unknownKeys(spec, ['type', 'value'], key);
        const type = spec['type'];
        if (!CUSTOM_FIELD_TYPES.includes(type as CustomFieldType)) this.fail(`${key}.type`, `expected one of ${CUSTOM_FIELD_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
        const value = this.template(spec['value'], `${key}.value`);
        if (value !== undefined && CUSTOM_FIELD_TYPES.includes(type as CustomFieldType)) customFields.push({ name, type: type as CustomFieldType, value });
      }
    }
    if (has('procedures')) out.procedures = this.procedures(raw['procedures']);
    return out;
  }

  procedures(raw: unknown): ProcedureSpec[] | undefined {
    if (!Array.isArray(raw)) return this.fail('set.procedures', 'expected a list such as [{"patternId": "T1071", "tactic": "command-and-control"}]');
    const out: ProcedureSpec[] = [];
    raw.forEach((p: unknown, j) => {
      const key = `set.procedures[${j}]`;
      if (!isObj(p)) return void this.fail(key, 'expected {"patternId", "tactic"}');
      this.unknownKeys(p, ['patternId', 'tactic'], key);
      const { patternId, tactic } = p;
      if (typeof patternId !== 'string' || !PATTERN_ID.test(patternId)) return void this.fail(`${key}.patternId`, `expected an ATT&CK technique ID such as T1071 or T1566.001, got ${JSON.stringify(patternId)}`);
      if (!TACTICS.includes(tactic as (typeof TACTICS)[number])) return void this.fail(`${key}.tactic`, `expected an ATT&CK tactic: ${TACTICS.join(', ')}; got ${JSON.stringify(tactic)}`);
      out.push({ patternId, tactic: tactic as string });
    });
    return out;
  }
}
