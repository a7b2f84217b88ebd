/**
 * The shapes of `alert.rules` (issue 14): what an operator writes (a {@link RuleSpec}) and what it
 * is compiled to once, at configuration load ({@link CompiledRule}: templates parsed, regexes
 * compiled with RE2, CIDRs parsed). Pure data.
 */
import type { Severity } from '../../types.js';
import type { Template } from './template.js';

/** The TheHive custom-field types a rule may convert a value to. */
export const CUSTOM_FIELD_TYPES = ['string', 'integer', 'float', 'boolean', 'date', 'url'] as const;
export type CustomFieldType = (typeof CUSTOM_FIELD_TYPES)[number];

/** What kind of mail an alert was made from (mail-alert.ts). */
export const MAIL_KINDS = ['notification', 'reported', 'mail'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

/** One ATT&CK procedure as a rule names it: the event's date becomes its `occurDate`. */
export interface ProcedureSpec {
  readonly patternId: string;
  readonly tactic: string;
}

/** One rule of `alert.rules`, as written in the configuration. */
export interface RuleSpec {
  readonly name?: string;
  readonly match?: {
    /** Glob on the category (`*` any run, case-insensitive), as `alert.severity` rules. */
    readonly category?: string;
    /** Field name → RE2 regex its (first) value must contain a match of. */
    readonly fields?: Readonly<Record<string, string>>;
    /** The peer that sent the line must be in one of these ranges. */
    readonly peer?: readonly string[];
    /** `mailbox`: glob on the IMAP mailbox the mail was taken from (`INBOX/tenant-*`); no IMAP mail, no match. */
    readonly mail?: { readonly kind?: MailKind; readonly sender?: string; readonly mailbox?: string };
  };
  readonly set?: {
    readonly title?: string;
    readonly description?: string;
    readonly severity?: Severity;
    readonly tags?: readonly string[];
    readonly tlp?: number;
    readonly pap?: number;
    readonly type?: string;
    readonly source?: string;
    readonly customFields?: Readonly<Record<string, { readonly type: CustomFieldType; readonly value: string }>>;
    readonly caseTemplate?: string;
    readonly externalLink?: string;
    readonly assignee?: string;
    readonly procedures?: readonly ProcedureSpec[];
    readonly organisation?: string;
    /** A name of `thehive.targets`: the TheHive the alert goes to (none: `thehive.url`). */
    readonly target?: string;
  };
  readonly stop?: boolean;
}

/** A rule ready to run: every template parsed, every regex compiled, once. */
export interface CompiledRule {
  /** `alert.rules[2] (tenant-a)`: how logs, dead letters and /readyz/delivery name it. */
  readonly label: string;
  readonly match: {
    readonly category?: string;
    readonly fields: readonly { readonly field: string; readonly test: (value: string) => boolean }[];
    readonly peer?: (address: string | undefined) => boolean;
    readonly mailKind?: MailKind;
    readonly sender?: string;
    readonly mailbox?: string;
  };
  readonly set: {
    readonly title?: Template;
    readonly description?: Template;
    readonly severity?: Severity;
    readonly tags: readonly Template[];
    readonly tlp?: number;
    readonly pap?: number;
    readonly type?: string;
    readonly source?: string;
    readonly customFields: readonly { readonly name: string; readonly type: CustomFieldType; readonly value: Template }[];
    readonly caseTemplate?: string;
    readonly externalLink?: Template;
    readonly assignee?: string;
    readonly procedures?: readonly ProcedureSpec[];
    readonly organisation?: string;
    readonly target?: string;
  };
  readonly stop: boolean;
}

/** The compiled `alert.rules` with the switches that go with them. */
export interface RuleSet {
  readonly rules: readonly CompiledRule[];
  /** `alert.procedures`: add the default ATT&CK procedure of the event's category (procedures.ts). */
  readonly procedures: boolean;
}
