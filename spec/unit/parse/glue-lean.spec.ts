/**
 * The lean glue scan (issue 15 point 4) against the scan it replaced, kept here as the reference:
 * the parser's line (and so every sourceRef) must not move by one blank.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { unglue, type Unglued } from '../../../src/parse/glue.js';
import { isBlank, isKeyChar, isKeyStart } from '../../../src/parse/key-token.js';

// The reference: glue.ts before issue 15, verbatim but for names.
const CONTEXT_KEYS: ReadonlySet<string> = new Set([
  'mask', 'type', 'first_seen', 'last_seen', 'popularity', 'threat', 'geo', 'industry',
  'stolen_data_type', 'targeted_organization', 'attack_type', 'threat_score', 'category', 'ip',
  'ip_geo', 'users_geo', 'MD5', 'SHA1', 'SHA256', 'file_size', 'domains', 'url', 'Ip', 'Geo',
  'detection_date', 'publication_name',
]);
const CONTEXT_PARENTS: readonly string[] = ['ip_whois/', 'whois/', 'files/', 'urls/'];
const isGlueChar = (code: number): boolean =>
  (code >= 0x30 && code <= 0x3a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x2e || code === 0x2d || code === 0x3d;
const isUrlParameterStart = (code: number): boolean => code === 0x3f || code === 0x26 || code === 0x3b;
function isContextKey(key: string): boolean {
  if (CONTEXT_KEYS.has(key)) return true;
  return CONTEXT_PARENTS.some((parent) => key.length > parent.length && key.startsWith(parent) && !key.includes('/', parent.length));
}
function gluedKeyStart(line: string, runStart: number, eq: number): number {
  for (let i = Math.max(runStart, eq - 48); i < eq; i++) {
    if (!isContextKey(line.slice(i, eq))) continue;
    if (i === runStart || isGlueChar(line.charCodeAt(i - 1))) return i;
  }
  return -1;
}
function referenceUnglue(line: string, from: number): Unglued {
  const valueSplits: number[] = [];
  const keySplits: number[] = [];
  for (let eq = line.indexOf('=', from); eq >= 0; eq = line.indexOf('=', eq + 1)) {
    let runStart = eq;
    while (runStart > from && isKeyChar(line.charCodeAt(runStart - 1))) runStart--;
    if (runStart === eq) continue;
    const before = runStart > 0 ? line.charCodeAt(runStart - 1) : 0x20;
    const isToken = isBlank(before) && isKeyStart(line.charCodeAt(runStart));
    const key = gluedKeyStart(line, runStart, eq);
    if (key < 0) continue;
    if (isToken) {
      if (key > runStart) keySplits.push(key);
    } else if (!isUrlParameterStart(before) && (key > runStart || isGlueChar(before))) {
      valueSplits.push(key);
    }
  }
  if (valueSplits.length < 2) return { line, splits: 0 };
  const at = [...valueSplits, ...keySplits].sort((a, b) => a - b);
  let out = '';
  let last = 0;
  for (const i of at) {
    out += `${line.slice(last, i)} `;
    last = i;
  }
  return { line: out + line.slice(last), splits: at.length };
}

// Fields of a record context, run together (glued) or apart, with look-alike values among them.
const KEYS = [...CONTEXT_KEYS, 'whois/org', 'files/MD5', 'ip_whois/net/x', 'urls/url', 'matchedIndicator', 'usrName', 'x', 'mxfiles/MD5'];
const VALUES = ['jsmith', 'x.nu', '1', '-', '', 'vn, in, mx', 'http://h.test/a?clip=1&ip=2', '10.07.2015 23:53', 'a'.repeat(50), 'KL_Malicious_URL', 'mask', 'a/b=', ':'];
const field = fc.tuple(fc.constantFrom(...KEYS), fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 6 })), fc.constantFrom(' ', '', '', '  ', '?', ';'));
const line = fc.oneof(
  fc.array(field, { maxLength: 14 }).map((fs) => fs.map(([k, v, sep]) => `${k}=${v}${sep}`).join('')),
  fc.array(fc.oneof(fc.constantFrom(...KEYS, '=', ' ', '/', '.'), fc.string({ maxLength: 6 })), { maxLength: 40 }).map((xs) => xs.join('')),
);

describe('unglue (lean scan)', () => {
  it('splits exactly where the scan it replaced did, on any line and from any start', () => {
    let glued = 0;
    fc.assert(
      fc.property(line, fc.nat(20), (text, from) => {
        const start = Math.min(from, text.length);
        const expected = referenceUnglue(text, start);
        if (expected.splits > 0) glued += 1;
        expect(unglue(text, start)).to.deep.equal(expected);
      }),
      { numRuns: 5000 },
    );
    // The lines must exercise the split itself, not only the common line left alone.
    expect(glued, `${glued} glued lines`).to.be.greaterThan(250);
  });

  it('still splits a glued record context', () => {
    const glued = 'Oct 12 16:14:02 category=KL_Malicious_URL matchedIndicator=x.nu usrName=jsmithmask=x.nutype=1first_seen=10.07.2015';
    expect(unglue(glued, 16)).to.deep.equal(referenceUnglue(glued, 16));
    expect(unglue(glued, 16).splits).to.equal(3);
  });
});
