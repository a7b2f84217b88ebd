/**
 * The template language of `alert.rules` (issue 14): text with `{{field}}` placeholders and
 * filters, `{{threat | default:"unknown"}}`, `{{matchedIndicator | truncate:40}}`, `{{category |
 * upper}}`, `lower`. Nothing else: no expressions, no function calls, no property paths, so a
 * template cannot run code nor reach anything but the event's own fields ({@link FieldLookup}).
 * Parsed once, at configuration load; rendering is linear in the output and capped by the caller.
 * Pure.
 */

/** A filter applied to a value, left to right. */
export type Filter =
  | { readonly kind: 'default'; readonly text: string }
  | { readonly kind: 'truncate'; readonly max: number }
  | { readonly kind: 'upper' }
  | { readonly kind: 'lower' };

export type Part = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'field'; readonly field: string; readonly filters: readonly Filter[] };

/** A parsed template: literal text and placeholders, in order. */
export interface Template {
  readonly source: string;
  readonly parts: readonly Part[];
  /** The fields its placeholders name (for the unknown-field check). */
  readonly fields: readonly string[];
}

/** A field's value for the event being mapped, or null when the event has none. */
export type FieldLookup = (field: string) => string | null;

/** A field name: letters, digits, `_`, `/` (record-context keys such as `whois/org`), `.`, `-`. */
const FIELD = /^[A-Za-z_][A-Za-z0-9_./-]{0,127}$/;
/** `truncate:N` takes 1 to this many characters. */
const TRUNCATE_MAX = 4096;
/** Placeholders in one template at most: a template is a line or a paragraph, not a program. */
const PLACEHOLDERS_MAX = 64;

/** Parses `text`; a problem (`unclosed {{`, `unknown filter "x"`…) when it is no template. */
export function parseTemplate(text: string): { readonly ok: true; readonly template: Template } | { readonly ok: false; readonly problem: string } {
  const parts: Part[] = [];
  const fields: string[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('{{', at);
    if (open < 0) {
      parts.push({ kind: 'text', text: text.slice(at) });
      break;
    }
    if (open > at) parts.push({ kind: 'text', text: text.slice(at, open) });
    const close = text.indexOf('}}', open + 2);
    if (close < 0) return { ok: false, problem: `unclosed {{ at character ${open + 1}` };
    const inner = text.slice(open + 2, close);
    if (inner.includes('{{')) return { ok: false, problem: `unclosed {{ at character ${open + 1}` };
    const placeholder = parsePlaceholder(inner);
    if (typeof placeholder === 'string') return { ok: false, problem: `{{${inner}}}: ${placeholder}` };
    parts.push(placeholder);
    fields.push(placeholder.field);
    if (fields.length > PLACEHOLDERS_MAX) return { ok: false, problem: `more than ${PLACEHOLDERS_MAX} placeholders` };
    at = close + 2;
  }
  return { ok: true, template: { source: text, parts, fields } };
}

/** `field | filter:arg | filter`, or why it is not one. */
function parsePlaceholder(inner: string): Extract<Part, { kind: 'field' }> | string {
  const segments = splitPipes(inner);
  if (typeof segments === 'string') return segments;
  const field = (segments[0] ?? '').trim();
  if (!FIELD.test(field)) return `expected a field name (letters, digits, _ / . -), got ${JSON.stringify(field)}`;
  const filters: Filter[] = [];
  for (const raw of segments.slice(1)) {
    const filter = parseFilter(raw.trim());
    if (typeof filter === 'string') return filter;
    filters.push(filter);
  }
  return { kind: 'field', field, filters };
}

/** Splits on `|` outside double-quoted strings; a string left open is a problem. */
function splitPipes(inner: string): string[] | string {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i] as string;
    if (quoted && c === '\\' && i + 1 < inner.length) {
      current += c + (inner[++i] as string);
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === '|' && !quoted) {
      out.push(current);
      current = '';
    } else current += c;
  }
  if (quoted) return 'unclosed string: a " without its closing "';
  out.push(current);
  return out;
}

function parseFilter(text: string): Filter | string {
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).trim();
  const arg = colon < 0 ? undefined : text.slice(colon + 1).trim();
  switch (name) {
    case 'upper':
    case 'lower':
      if (arg !== undefined) return `${name} takes no argument`;
      return { kind: name };
    case 'default': {
      const m = arg === undefined ? null : /^"((?:[^"\\]|\\.)*)"$/.exec(arg);
      if (m === null) return 'default takes a quoted text, e.g. default:"unknown"';
      return { kind: 'default', text: (m[1] as string).replace(/\\(.)/g, '$1') };
    }
    case 'truncate': {
      const n = arg !== undefined && /^\d{1,5}$/.test(arg) ? Number(arg) : NaN;
      if (!(n >= 1 && n <= TRUNCATE_MAX)) return `truncate takes a length from 1 to ${TRUNCATE_MAX}, e.g. truncate:40`;
      return { kind: 'truncate', max: n };
    }
    default:
      return `unknown filter ${JSON.stringify(name)} (filters: default:"x", truncate:N, upper, lower)`;
  }
}

/**
 * C0 and C1 controls, DEL and bidi controls (controls.ts's set): removed from rendered output,
 * so a value cannot break a title onto two lines or disguise itself. `keepLines` keeps LF and TAB.
 */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Renders `template` with the event's fields, at most `max` characters (never splitting a
 * surrogate pair), control characters removed (LF and TAB kept with `keepLines`).
 */
export function renderTemplate(template: Template, lookup: FieldLookup, max: number, keepLines = false): string {
  let out = '';
  for (const part of template.parts) {
    out += part.kind === 'text' ? part.text : applyFilters(lookup(part.field), part.filters);
    // Stop early: a template of 64 placeholders over 64 KiB values must not build megabytes first.
    if (out.length > max * 2 + 16) break;
  }
  out = out.replace(CONTROLS, (c) => (keepLines && (c === '\n' || c === '\t') ? c : ''));
  return capped(out, max);
}

function applyFilters(value: string | null, filters: readonly Filter[]): string {
  let v = value ?? '';
  for (const f of filters) {
    if (f.kind === 'default') v = v.trim() === '' ? f.text : v;
    else if (f.kind === 'upper') v = v.toUpperCase();
    else if (f.kind === 'lower') v = v.toLowerCase();
    else if (v.length > f.max) v = `${capped(v, f.max - 1)}…`;
  }
  return v;
}

/** At most `max` UTF-16 units, never ending on half a surrogate pair. */
function capped(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}
