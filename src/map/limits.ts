/**
 * TheHive 5 field limits (thehive-api §3.1, §3.4, §5) and the helpers that keep an alert inside them.
 * TheHive counts Java `String` lengths, i.e. UTF-16 code units, which is what JavaScript's
 * `length` counts too, so the limits below compare against `length` directly.
 */

/** `type` is 1–32 chars and part of TheHive's dedup key. */
export const TYPE_MAX = 32;
/** `source` is 1–32 chars and part of TheHive's dedup key. */
export const SOURCE_MAX = 32;
/** `sourceRef` is 1–128 chars. */
export const SOURCE_REF_MAX = 128;
/** `title` is 1–512 chars. */
export const TITLE_MAX = 512;
/** `description` is at most 1 MiB of chars. */
export const DESCRIPTION_MAX = 1_048_576;
/** Each tag is 1–128 chars. */
export const TAG_MAX = 128;
/** Each observable `data` value is 1–4096 chars on 5.x; longer values make TheHive refuse the whole alert. */
export const OBSERVABLE_DATA_MAX = 4096;

import { hasControls, oneLine } from './controls.js';

/** Marks text that was cut short. */
export const ELLIPSIS = '…';

/**
 * `text` cut to at most `max` chars, ending in `…` when cut. Never splits a surrogate pair,
 * so the result is always valid UTF-16 (a lone surrogate would become U+FFFD in JSON).
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  return cut(text, max - ELLIPSIS.length) + ELLIPSIS;
}

/** `text` cut to at most `max` chars without a marker (for identifiers such as `type`), surrogate-safe. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const last = text.charCodeAt(end - 1);
  // A high surrogate at the end would be half a character: drop it too.
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/**
 * Tags as TheHive accepts them: control characters made visible ({@link oneLine}), trimmed,
 * empty ones dropped, each at most {@link TAG_MAX} chars, unique (uniqueItems), first
 * occurrence kept in order.
 */
export function cleanTags(tags: Iterable<string>): string[] {
  // Nearly every call: a few tags the mapper wrote itself, already clean. A copy, without the Set.
  if (Array.isArray(tags) && tags.length <= 4 && areClean(tags as readonly string[])) return (tags as readonly string[]).slice();
  const out = new Set<string>();
  for (const raw of tags) {
    const tag = truncate(oneLine(raw).trim(), TAG_MAX);
    if (tag !== '') out.add(tag);
  }
  return [...out];
}

/** True when {@link cleanTags} would return `tags` as they are: each non-empty, trimmed, short, without controls, and unique. */
function areClean(tags: readonly string[]): boolean {
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i] as string;
    if (tag === '' || tag.length > TAG_MAX || hasControls(tag) || tag.trim().length !== tag.length) return false;
    for (let j = 0; j < i; j++) if (tags[j] === tag) return false;
  }
  return true;
}

/**
 * An alert title: control characters made visible ({@link oneLine}), trimmed, at most
 * {@link TITLE_MAX} chars; '' when nothing is left (the caller falls back).
 */
export function cleanTitle(text: string): string {
  return truncate(oneLine(text).trim(), TITLE_MAX);
}
