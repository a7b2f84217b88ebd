import { expect } from 'chai';
import fc from 'fast-check';
import { ERROR_CODES } from '../../../src/errors.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { CyberTraceRecord, ParseResult } from '../../../src/types.js';
import { readLineSamples, recordView, type RecordView } from '../../support/fixtures.js';

const K = 'KL_Malicious_URL';

function det(pairs: [string, string | null][], category = K, matchedIndicator: string | null = null, format = 'kv', dateText: string | null = null): RecordView {
  return { kind: 'detection', format, dateText, pairs, category, matchedIndicator };
}

/** Expectations for spec/fixtures/cybertrace/hostile.txt, by id, written by hand from the rules. */
const EXPECTED: Record<string, RecordView> = {
  H01: { error: 'ERR_KV_MALFORMED' },
  H02: { error: 'ERR_KV_MALFORMED' },
  H03: { error: 'ERR_KV_MALFORMED' },
  H04: { error: 'ERR_KV_NO_CATEGORY' },
  H05: det([['category', K], ['matchedIndicator', null]]),
  H06: det([['category', `=${K}`]], `=${K}`),
  H07: det([['category', K], ['a', null], ['b', null], ['c', null]]),
  H08: det(
    [
      ['category', 'KL_Phishing_URL'],
      ['matchedIndicator', 'пример.рф'],
      ['usrName', 'Иван Петров'],
      ['note', '日本語 テキスト'],
      ['emoji', '🦀🦀'],
      ['bad', '\ufffd'],
    ],
    'KL_Phishing_URL',
    'пример.рф',
  ),
  H09: det([['category', K]]),
  H10: det([['category', K]]),
  H11: det([['a.b/c-d_1', 'x'], ['category', K]]),
  H12: { error: 'ERR_KV_MALFORMED' },
  H13: det(
    [['category', K], ['matchedIndicator', 'fakess123.nu'], ['src', '10.0.0.1'], ['usrName', 'jsmith']],
    K,
    'fakess123.nu',
  ),
  H14: { error: 'ERR_KV_MALFORMED' },
  H15: { error: 'ERR_KV_MALFORMED' },
  H16: { kind: 'service', format: 'kv', dateText: null, pairs: [['alert', 'KL_ALERT_']], alert: 'KL_ALERT_' },
  H17: { error: 'ERR_KV_NO_CATEGORY' },
  H18: { error: 'ERR_CEF_MALFORMED' },
  H19: { error: 'ERR_CEF_MALFORMED' },
  H20: { error: 'ERR_KV_MALFORMED' },
  H21: det([['reason', K], ['cs1Label', 'matchedindicator'], ['cs1', 'fakess123.nu']], K, 'fakess123.nu', 'cef'),
  H22: { error: 'ERR_KV_NO_CATEGORY' },
  H23: det(
    [
      ['date', null],
      ['reason', 'KL_BotnetCnC_URL'],
      ['detected', null],
      ['msg', 'free text here'],
      ['popularity', '5'],
      ['note', 'see msg:other'],
      ['threat', 'X'],
    ],
    'KL_BotnetCnC_URL',
    null,
    'esm',
  ),
  H24: { error: 'ERR_KV_MALFORMED' },
  H25: det([['_', 'x'], ['category', K]]),
  H26: det([['category', K], ['matchedIndicator', null], ['src', '--']]),
  H27: det(
    [['category', K], ['category', 'KL_APT_URL'], ['matchedIndicator', 'a'], ['matchedIndicator', 'b']],
    K,
    'a',
  ),
  H28: det([['category', K], ['note', 'see msg:popularity=5']]),
  // A `|key=` before any blank-preceded key: the KUMA pipe format, split on the pipes.
  H29: det([['category', K], ['matchedIndicator', 'fakess123.nu'], ['x', '1']], K, 'fakess123.nu', 'kuma'),
  H30: det([['category', K]]),
  H31: det([['category', `${K} msg:popularity=5`]], `${K} msg:popularity=5`),
};

const KEY_TOKEN = /^[A-Za-z_][A-Za-z0-9_./-]*$/;

/** What every parse result must satisfy, whatever the input. */
function checkInvariants(raw: string, result: ParseResult<CyberTraceRecord>): void {
  if (!result.ok) {
    expect(Object.keys(ERROR_CODES)).to.include(result.code);
    expect(result.detail.length).to.be.within(1, 200);
    return;
  }
  for (const p of result.value.pairs) {
    expect(p.key).to.match(KEY_TOKEN);
    if (p.value !== null) expect(p.value).to.not.equal('').and.not.equal('-');
  }
  const rec = result.value;
  if (rec.format === 'kuma' || rec.format === 'leef') {
    // Hashed as the plain equivalent: the pairs written `key=value`, one blank apart.
    expect(rec.line).to.equal(rec.pairs.map((p) => `${p.key}=${p.value ?? '-'}`).join(' '));
  } else if (rec.glued !== undefined || rec.framing !== undefined) {
    // Blanks put back between glued fields, or a syslog header removed: the same text otherwise.
    expect(raw.replace(/\s/g, '')).to.include(rec.line.replace(/\s/g, ''));
  } else {
    expect(raw.replaceAll('\r', '')).to.include(rec.line);
  }
}

describe('parse/kv: hostile lines (spec/fixtures/cybertrace/hostile.txt)', () => {
  const samples = readLineSamples('cybertrace', 'hostile.txt');

  it('has an expectation for every hostile sample, no more', () => {
    expect(Object.keys(EXPECTED).sort()).to.deep.equal(samples.map((s) => s.id).sort());
  });

  for (const { id, description, line } of samples) {
    it(`${id} ${description}`, () => {
      const result = parseLine(line);
      expect(recordView(result)).to.deep.equal(EXPECTED[id]);
      checkInvariants(line, result);
    });
  }
});

describe('parse/kv rule 9: control characters, NUL and broken Unicode', () => {
  it('keeps NUL and control characters inside values and headers', () => {
    const line = `\u0000\u0007 category=${K}\u0000 matchedIndicator=a\u0000b note=\u001b[31mred\u001b[0m x=\u0000`;
    expect(recordView(parseLine(line))).to.deep.equal(
      det(
        [['category', `${K}\u0000`], ['matchedIndicator', 'a\u0000b'], ['note', '\u001b[31mred\u001b[0m'], ['x', '\u0000']],
        `${K}\u0000`,
        'a\u0000b',
      ),
    );
  });

  it('treats a NUL as no blank: NUL before a key does not start it', () => {
    const glued = `${K}\u0000matchedIndicator=x`;
    expect(recordView(parseLine(`category=${glued}`))).to.deep.equal(det([['category', glued]], glued));
  });

  it('refuses a line of NULs and control characters as malformed, not empty', () => {
    expect(parseLine('\u0000\u0000\u0001\u007f')).to.deep.include({ ok: false, code: 'ERR_KV_MALFORMED' });
  });

  it('takes lone surrogates, U+FFFD and an inner BOM as value text; a leading BOM is dropped', () => {
    const line = `\ufeffOct 12 16:14:02 category=${K} a=\ud800 b=\udfff\ufffd c=\ufeffx`;
    expect(recordView(parseLine(line))).to.deep.equal(
      det([['category', K], ['a', '\ud800'], ['b', '\udfff\ufffd'], ['c', '\ufeffx']], K, null, 'kv', 'Oct 12 16:14:02'),
    );
  });

  it('splits on the ASCII blanks VT and FF, but not on a no-break space', () => {
    expect(recordView(parseLine(`category=${K}\u000ba=1\u000cb=2\u00a0c=3`))).to.deep.equal(
      det([['category', K], ['a', '1'], ['b', '2\u00a0c=3']]),
    );
  });
});

describe('parse/kv: huge lines stay linear', () => {
  const MB = 1 << 20;

  it('keeps a 1 MB value whole', () => {
    const big = 'x'.repeat(MB);
    const r = parseLine(`category=${K} matchedIndicator=${big} tail=1`);
    expect(r.ok && r.value.kind === 'detection' && r.value.matchedIndicator === big).to.equal(true);
  });

  it('reads 10,000 pairs in order', () => {
    const parts = Array.from({ length: 10_000 }, (_, i) => `k${i}=v ${i}`);
    const r = parseLine(`category=${K} ${parts.join(' ')}`);
    if (!r.ok) expect.fail(r.detail);
    expect(r.value.pairs).to.have.length(10_001);
    expect(r.value.pairs[10_000]).to.deep.equal({ key: 'k9999', value: 'v 9999' });
  });

  // Shapes that would be quadratic for a scanner (or regex) that retries keys inside values.
  const shapes: Record<string, string> = {
    'blank-separated key starts without =': `category=${K} ${'a '.repeat(MB / 2)}`,
    'one long key-character run': `category=${K} ${'a'.repeat(MB)}`,
    'equals signs only': '='.repeat(MB),
    'a=a=a=… glued': 'a='.repeat(MB / 2),
    'many tiny pairs': ' a=b'.repeat(MB / 4),
    'blanks only': ' '.repeat(MB),
    'ESM header then many msg: texts': `Kaspersky CyberTrace Detection Event| reason=${K} ${' msg:'.repeat(MB / 5)}`,
    'CEF with escapes and no seventh pipe': `CEF:0${'|\\|'.repeat(MB / 3)}`,
    'header of fake dates': `${'Oct 12 16:14:02 '.repeat(MB / 16)}category=${K}`,
  };
  for (const [name, line] of Object.entries(shapes)) {
    // Speed is measured by `make bench` (scripts/bench-kv); here only the answer is checked.
    it(`parses a 1 MB line of ${name} into a record or a known code`, () => {
      const r = parseLine(line);
      if (r.ok) expect(r.value.line.length).to.be.at.most(line.length);
      else expect(r.code).to.match(/^ERR_/);
    });
  }
});

describe('parse/kv: arbitrary input never breaks the parser', () => {
  const TRICKY = [' ', '\t', '\r', '\n', '\u0000', '=', '|', ':', '-', '\\', 'a', 'Z', '_', '.', '/', '1', 'é', '\ud800', '\ufffd',
    'category=', 'reason=', 'alert=', 'KL_ALERT_', 'LookupFinished', 'msg:', 'CEF:', 'Detection Event|', 'matchedIndicator=',
    'cs5Label=MatchedIndicator', 'cs5=', 'Oct 12 16:14:02', '2024-10-12T16:14:02Z', 'LEEF:2.0|', 'LEEF:1.0|V|P|1|KL_X|', '<13>',
    '<13>1 ', ' - - - ', 'host tag: ', 'Category=', '|MatchedIndicator=', 'mask=', 'type=', 'first_seen='];

  it('returns a record or a known code for any UTF-16 string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => checkInvariants(s, parseLine(s))),
      { numRuns: 1000 },
    );
  });

  it('returns a record or a known code for strings built from tricky pieces', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TRICKY), { maxLength: 40 }), (parts) => {
        const s = parts.join('');
        checkInvariants(s, parseLine(s));
      }),
      { numRuns: 3000 },
    );
  });
});
