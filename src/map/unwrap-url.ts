/**
 * Links a mail gateway rewrote, back to the link the sender wrote: Microsoft Defender for Office
 * 365 Safe Links (`https://<region>.safelinks.protection.outlook.com/?url=…&data=…`) and
 * Proofpoint URL Defense v1, v2 and v3 (`https://urldefense.proofpoint.com/v2/url?u=…`,
 * `https://urldefense.com/v3/__<url>__;<replaced characters>!!…`). A phish forwarded from a
 * protected mailbox would otherwise give the gateway's own address as its indicator. Pure.
 *
 * Proofpoint v2 writes `%` as `-` and `/` as `_`; v3 keeps the URL readable and puts a `*` where
 * it took a character out (`**X` for a run of them, X giving the length from 2 to 65), the
 * characters themselves following base64url-encoded after `__;`.
 */

/** Gateways wrapping gateways (Safe Links around a Proofpoint link) are unwrapped this deep. */
const MAX_LAYERS = 3;
/** `**X`: the run length is 2 + the index of X here. */
const V3_RUN_LENGTHS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const V3_PARTS = /\/v3\/__(.*?)__;([A-Za-z0-9_-]*)!/;
const V3_TOKEN = /\*(\*.)?/g;

/** The URL inside `url` when a gateway wrapped it (repeatedly), else `url` itself. */
export function unwrapUrl(url: string): string {
  let current = url;
  for (let layer = 0; layer < MAX_LAYERS; layer++) {
    const inner = unwrapOnce(current);
    if (inner === null || inner === current) break;
    current = inner;
  }
  return current;
}

function unwrapOnce(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const host = parsed.hostname.toLowerCase();
  if (host.endsWith('.safelinks.protection.outlook.com') || host.endsWith('.safelinks.protection.office365.us')) {
    return schemeUrl(parsed.searchParams.get('url'));
  }
  if (host !== 'urldefense.proofpoint.com' && host !== 'urldefense.com') return null;
  if (parsed.pathname === '/v1/url') return schemeUrl(parsed.searchParams.get('u'));
  if (parsed.pathname === '/v2/url') {
    const u = parsed.searchParams.get('u');
    return u === null ? null : schemeUrl(percentDecode(u.replaceAll('-', '%').replaceAll('_', '/')));
  }
  return parsed.pathname.startsWith('/v3/__') ? schemeUrl(decodeV3(url)) : null;
}

/** The v3 URL with every `*` token replaced by its characters; null when the parts do not add up. */
function decodeV3(url: string): string | null {
  const parts = V3_PARTS.exec(url);
  if (parts === null) return null;
  const text = percentDecode(parts[1] as string);
  const taken = [...Buffer.from(parts[2] as string, 'base64url').toString('utf8')];
  let used = 0;
  let at = 0;
  let out = '';
  for (const token of text.matchAll(V3_TOKEN)) {
    const run = token[1] === undefined ? 1 : V3_RUN_LENGTHS.indexOf(token[1].charAt(1)) + 2;
    if (run < 1 || used + run > taken.length) return null;
    out += text.slice(at, token.index) + taken.slice(used, used + run).join('');
    used += run;
    at = token.index + token[0].length;
  }
  return out + text.slice(at);
}

/** `text` with its percent-escapes decoded; as it is when they are not valid UTF-8. */
function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `value` when it is an http(s) or ftp URL (what the gateways wrap), else null. */
function schemeUrl(value: string | null): string | null {
  return value !== null && /^(?:https?|ftp):\/\/\S+$/i.test(value) ? value : null;
}
