/**
 * Typed custom-field values (issue 14): a rendered template's text converted to what TheHive's
 * custom field of that type takes. A value that does not convert is left out of the alert with a
 * reason (the caller counts it): one bad value must not cost the whole alert. Pure.
 */
import type { CustomFieldType } from './spec.js';

export type CustomFieldValue = string | number | boolean;

/** TheHive's custom-field values are strings of at most this many characters, like observables [infer]. */
const STRING_MAX = 4096;

/** The value of `text` as a `type` custom field, or why it is none. */
export function convertCustomField(type: CustomFieldType, raw: string): { readonly ok: true; readonly value: CustomFieldValue } | { readonly ok: false; readonly problem: string } {
  const text = raw.trim();
  if (text === '') return { ok: false, problem: 'the value is empty' };
  switch (type) {
    case 'string':
      return text.length <= STRING_MAX ? { ok: true, value: text } : { ok: false, problem: `longer than ${STRING_MAX} characters` };
    case 'integer': {
      if (!/^[-+]?\d{1,16}$/.test(text)) return { ok: false, problem: `${quote(text)} is no integer` };
      const n = Number(text);
      return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, problem: `${quote(text)} is out of range` };
    }
    case 'float': {
      if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) return { ok: false, problem: `${quote(text)} is no number` };
      const n = Number(text);
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, problem: `${quote(text)} is out of range` };
    }
    case 'boolean': {
      const b = BOOLEANS.get(text.toLowerCase());
      return b === undefined ? { ok: false, problem: `${quote(text)} is none of true, false, 1, 0` } : { ok: true, value: b };
    }
    case 'date': {
      const ms = dateMs(text);
      return ms === null ? { ok: false, problem: `${quote(text)} is no date (epoch ms, epoch seconds or ISO 8601 with a zone)` } : { ok: true, value: ms };
    }
    case 'url':
      return isHttpUrl(text) ? { ok: true, value: text } : { ok: false, problem: `${quote(text)} is no http(s) URL` };
  }
}

const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
]);

/**
 * Epoch ms: 13 digits as ms, 10 as seconds (CyberTrace's `first_seen` is seconds), or an ISO 8601
 * date-time with `Z` or an offset (one without a zone would be read in our own zone: refused).
 */
function dateMs(text: string): number | null {
  if (/^\d{13}$/.test(text)) return Number(text);
  if (/^\d{10}$/.test(text)) return Number(text) * 1000;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i.test(text)) {
    const t = Date.parse(text);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/** An absolute http: or https: URL with a host. */
export function isHttpUrl(text: string): boolean {
  if (text.length > STRING_MAX || /\s/.test(text)) return false;
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
