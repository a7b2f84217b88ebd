/**
 * The lean mapper (issue 15 point 4) gives the alerts the mapper gave before it: the small
 * functions it replaced are kept here as references and compared on arbitrary input, and the
 * encoded bodies of 6,000 generated alerts are pinned by a digest taken before the change.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { parse } from 'tldts';
import { DEFAULT_POLICY, alertFromRecord, titleFor, type Reputation } from '../../../src/map/alert.js';
import { visibleControls, hasControls, oneLine } from '../../../src/map/controls.js';
import { detectionSummary, escapeCell, escapeText, inlineCode, markdownDescription, type DescriptionInput, type DetectionFacts } from '../../../src/map/description.js';
import { isInternalName } from '../../../src/map/indicator-syntax.js';
import { isDnsLabel } from '../../../src/map/observables.js';
import { DESCRIPTION_MAX, TITLE_MAX, truncate } from '../../../src/map/limits.js';
import { parseLine } from '../../../src/parse/kv.js';
import { createFileSink } from '../../../src/sinks/file.js';
import { createRng, generateLine } from '../../../src/tools/cybertrace-gen.js';
import type { KvPair } from '../../../src/types.js';
import { detectionLine } from '../../support/lines.js';

// The references: description.ts and alert.ts before issue 15, verbatim but for names.
const CELL_SPECIAL = /[\\`*_[\]<>|~&\r\n]/;
const CELL_ESCAPE = /[\\`*[\]<>|~&]/g;
const EDGE_UNDERSCORE = /(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g;
function refCell(value: string | null): string {
  if (value === null || value === '') return '-';
  if (!CELL_SPECIAL.test(value) && !hasControls(value)) return value;
  return visibleControls(value, '\r\n').replace(CELL_ESCAPE, '\\$&').replace(EDGE_UNDERSCORE, '\\_').replace(/\r\n|\r|\n/g, '<br>');
}
function refText(value: string): string {
  if (!CELL_SPECIAL.test(value) && !hasControls(value)) return value;
  return visibleControls(value, '\r\n').replace(CELL_ESCAPE, '\\$&').replace(EDGE_UNDERSCORE, '\\_').replace(/\r\n|\r|\n/g, ' ');
}
const hasValue = (value: string | null): boolean => value !== null && value.trim() !== '' && value.trim() !== '-';
function refDescription(input: DescriptionInput): string {
  const head = [input.summary, ...(input.notes ?? []).map((n) => `_${refText(n)}_`)].join('\n\n');
  const pairs = input.pairs.filter((p) => hasValue(p.value));
  if (pairs.length === 0) return truncate(head, DESCRIPTION_MAX);
  let text = `${head}\n\n| key | value |\n|---|---|`;
  let shown = 0;
  for (const pair of pairs) {
    const row = `\n| ${refCell(pair.key)} | ${refCell(pair.value)} |`;
    if (text.length + row.length > DESCRIPTION_MAX - 200) break;
    text += row;
    shown += 1;
  }
  if (shown < pairs.length) text += `\n\n_${pairs.length - shown} of ${pairs.length} pairs left out: TheHive takes at most ${DESCRIPTION_MAX} characters._`;
  return truncate(text, DESCRIPTION_MAX);
}
function refSummary(f: DetectionFacts): string {
  const what = f.indicator === null ? 'CyberTrace reported a detection' : `CyberTrace matched ${inlineCode(f.indicator)}`;
  const extras: string[] = [];
  if (f.reputationCategory !== undefined) extras.push(`reputation category ${inlineCode(f.reputationCategory)}`);
  if (f.threatScore !== undefined) extras.push(`threat score ${inlineCode(f.threatScore)}`);
  if (f.threat !== null) extras.push(`threat ${inlineCode(f.threat)}`);
  if (f.srcHost !== null) extras.push(`source ${inlineCode(f.srcHost)}`);
  if (f.user !== null) extras.push(`user ${inlineCode(f.user)}`);
  return `${what} in feed category ${inlineCode(f.category)}${extras.length > 0 ? ` (${extras.join(', ')})` : ''}.`;
}
function refTitle(category: string, indicator: string | null, reputation: Reputation): string {
  const label = category.replace(/^KL_/, '').replace(/_/g, ' ').trim() || category;
  const facts = [reputation.reputationCategory, reputation.threatScore === undefined ? undefined : `threat score ${reputation.threatScore}`].filter((f) => f !== undefined);
  const tail = facts.length === 0 ? '' : ` (${facts.join(', ')})`;
  return truncate(oneLine(indicator === null ? `${label}${tail}` : `${label}: ${indicator}${tail}`).trim(), TITLE_MAX) || 'CyberTrace detection';
}

// Text that reaches every branch: markdown punctuation, underscores at and inside words, controls, line breaks.
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: fc.constantFrom('a', 'Z', '9', '_', ' ', '*', '`', '|', '\\', '[', '<', '&', '~', '\r', '\n', '\t', '\u0000', '\u202e', '\u0085', 'é', '-', '.'), maxLength: 20 }),
  fc.constantFrom('first_seen', '__init__', '_x', 'x_', 'KL_Malicious_URL', '-', ' - ', '', 'threat_score', 'a_b_c'),
);
const pairs = fc.array(fc.record({ key: text, value: fc.option(fc.oneof(text, fc.constant('v'.repeat(300_000))), { nil: null }) }), { maxLength: 12 });

describe('lean mapper (issue 15)', () => {
  it('escapes cells and paragraph text as before', () => {
    fc.assert(
      fc.property(fc.option(text, { nil: null }), (value) => {
        expect(escapeCell(value)).to.equal(refCell(value));
        if (value !== null) expect(escapeText(value)).to.equal(refText(value));
      }),
      { numRuns: 5000 },
    );
  });

  it('builds the description as before, rows past the 1 MiB budget counted the same way', () => {
    let cut = 0;
    fc.assert(
      fc.property(text, fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }), pairs, (summary, notes, list: KvPair[]) => {
        const input = notes === undefined ? { summary, pairs: list } : { summary, pairs: list, notes };
        const expected = refDescription(input);
        if (expected.includes('pairs left out')) cut += 1;
        expect(markdownDescription(input)).to.equal(expected);
      }),
      { numRuns: 300 },
    );
    expect(cut, 'descriptions over the budget').to.be.greaterThan(10);
  });

  it('writes the summary sentence and the title as before', () => {
    const opt = fc.option(text, { nil: null });
    const rep = fc.record({ threatScore: fc.option(text, { nil: undefined }), reputationCategory: fc.option(text, { nil: undefined }) }, { requiredKeys: [] });
    fc.assert(
      fc.property(text, opt, opt, opt, opt, rep, (category, indicator, threat, srcHost, user, reputation) => {
        const r: Reputation = JSON.parse(JSON.stringify(reputation)) as Reputation; // undefined members dropped, as reputationOf gives them
        const facts: DetectionFacts = { category, indicator, threat, srcHost, user, ...r };
        expect(detectionSummary(facts)).to.equal(refSummary(facts));
        expect(titleFor(category, indicator, r)).to.equal(refTitle(category, indicator, r));
      }),
      { numRuns: 3000 },
    );
  });

  it('tells internal names as before', () => {
    const INTERNAL = ['local', 'corp', 'lan', 'internal', 'home.arpa', 'localdomain', 'intranet'];
    const reference = (name: string, extra: readonly string[]): boolean => {
      const host = name.toLowerCase().replace(/\.$/, '');
      if (host === '' || !host.includes('.')) return host !== '';
      for (const suffix of [...INTERNAL, ...extra]) {
        const s = suffix.toLowerCase().replace(/^\.+|\.+$/g, '');
        if (s !== '' && (host === s || host.endsWith(`.${s}`))) return true;
      }
      return parse(host).isIcann !== true;
    };
    const label = fc.constantFrom('a', 'corp', 'local', 'lan', 'home', 'arpa', 'xlocal', 'example', 'com', 'kz', 'Corp', '');
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
    const extra = fc.array(fc.constantFrom('corp.kz', '.Example.COM.', '', '..', 'a'), { maxLength: 2 });
    fc.assert(
      fc.property(fc.oneof(name, name.map((n) => `${n}.`)), extra, (n, ex) => {
        expect(isInternalName(n, ex), n).to.equal(reference(n, ex));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a DNS label as the regex it replaced on the hot path does', () => {
    const LABEL = /^[\p{L}\p{N}_](?:[\p{L}\p{N}_-]{0,61}[\p{L}\p{N}_])?$/u;
    const unit = fc.constantFrom('a', 'Z', '0', '_', '-', '.', ' ', '!', 'é', 'ж', '٣', '\u{1d400}', '\ud800', '\u0301');
    const label = fc.oneof(fc.string({ unit, maxLength: 8 }), fc.string({ unit, minLength: 55, maxLength: 70 }), fc.string({ maxLength: 70 }));
    fc.assert(fc.property(label, (l) => {
      expect(isDnsLabel(l), JSON.stringify(l)).to.equal(LABEL.test(l));
    }), { numRuns: 5000 });
    expect(isDnsLabel('a'.repeat(63))).to.equal(true);
    expect(isDnsLabel('a'.repeat(64))).to.equal(false);
    expect(isDnsLabel('\u{1d400}'.repeat(40))).to.equal(true); // 80 UTF-16 units, 40 letters
  });

  it('encodes the same 6,000 alerts, byte for byte, as before the change', () => {
    const sink = createFileSink('unused.ndjson');
    const digest = createHash('sha256');
    const rng = createRng(15);
    const policy = { ...DEFAULT_POLICY, tags: ['soc', 'x'], internalSuffixes: ['example-bad.test'] };
    let n = 0;
    for (let i = 0; i < 3000; i++) {
      const r = parseLine(i < 1000 ? detectionLine(i) : generateLine(rng, i));
      if (!r.ok) continue;
      for (const p of [DEFAULT_POLICY, policy]) {
        const alert = alertFromRecord(r.value, p, 1_700_000_000_000);
        if (alert === null) continue;
        // The date depends on the machine's time zone; every other byte is pinned.
        digest.update(`${sink.encode({ ...alert, date: 0 })}\n`);
        n += 1;
      }
    }
    expect(n).to.equal(6000);
    expect(digest.digest('hex')).to.equal('97101a1abae0ca9b66fc6aa65dcb6c21456c08abd7604809448870f6de769e49');
  });
});
