import { expect } from 'chai';
import { detectionSummary, escapeCell, inlineCode, markdownDescription } from '../../../src/map/description.js';
import type { KvPair } from '../../../src/types.js';

const pairs = (...kv: Array<[string, string | null]>): KvPair[] => kv.map(([key, value]) => ({ key, value }));

describe('map/description', () => {
  it('renders the summary, then every pair with a value in order, repeats kept; null, empty and - make no row', () => {
    const text = markdownDescription({
      summary: 'Summary.',
      pairs: pairs(['ip', '192.0.2.0'], ['url', null], ['md5', ''], ['sha1', ' - '], ['ip', '192.0.2.0'], ['category', 'malware']),
    });
    expect(text).to.equal(
      [
        'Summary.',
        '',
        '| key | value |',
        '|---|---|',
        '| ip | 192.0.2.0 |',
        '| ip | 192.0.2.0 |',
        '| category | malware |',
      ].join('\n'),
    );
  });

  it('gives only the summary when no pair has a value', () => {
    expect(markdownDescription({ summary: 'S.', pairs: pairs(['url', null], ['md5', '-']) })).to.equal('S.');
  });

  it('puts notes in italics between summary and table', () => {
    const text = markdownDescription({ summary: 'S.', pairs: pairs(['a', 'b']), notes: ['Note one.'] });
    expect(text.startsWith('S.\n\n_Note one._\n\n| key | value |')).to.equal(true);
  });

  it('escapes notes: a value they quote shows literally, never as a link or HTML (issue 11)', () => {
    const text = markdownDescription({ summary: 'S.', pairs: [], notes: ['A file ([x](http://y.example) <img src=z>*a*) was skipped.\nNext.'] });
    expect(text).to.equal('S.\n\n_A file (\\[x\\](http://y.example) \\<img src=z\\>\\*a\\*) was skipped. Next._');
  });

  it('is the summary alone without pairs', () => {
    expect(markdownDescription({ summary: 'S.', pairs: [] })).to.equal('S.');
  });

  const cells: Array<[string | null, string]> = [
    [null, '-'],
    ['', '-'],
    ['a|b', 'a\\|b'],
    ['a\\|b', 'a\\\\\\|b'], // the value's own backslash cannot swallow our escape
    ['C:\\Temp', 'C:\\\\Temp'],
    ['one\ntwo\r\nthree\rfour', 'one<br>two<br>three<br>four'],
    ['HEUR:Trojan.Script.Generic', 'HEUR:Trojan.Script.Generic'],
    // Values from the network show literally, never as markup.
    ['*.evil.*', '\\*.evil.\\*'],
    ['<b>bold</b>', '\\<b\\>bold\\</b\\>'],
    ['[click](http://x.test/)', '\\[click\\](http://x.test/)'],
    ['`code` ~~gone~~ &lt; _em_', '\\`code\\` \\~\\~gone\\~\\~ \\&lt; \\_em\\_'],
    ['KL_Malicious_URL first_seen', 'KL_Malicious_URL first_seen'], // inside a word: never emphasis
  ];
  for (const [value, cell] of cells) {
    it(`escapes cell ${JSON.stringify(value)} as ${JSON.stringify(cell)}`, () => {
      expect(escapeCell(value)).to.equal(cell);
    });
  }

  it('keeps every table row at two cells whatever the value', () => {
    const text = markdownDescription({ summary: 'S.', pairs: pairs(['k|ey', 'v|a\\|l\nue']) });
    const row = text.split('\n').at(-1) ?? '';
    // Borders are `|` not preceded by an odd run of backslashes.
    const borders = [...row.matchAll(/(?<!\\)(?:\\\\)*\|/g)].length;
    expect(borders).to.equal(3);
  });

  it('stays within 1,048,576 chars and says how many rows it left out', () => {
    const big = 'x'.repeat(60_000);
    const many = Array.from({ length: 40 }, (_, i): [string, string] => [`k${i}`, big]);
    const text = markdownDescription({ summary: 'S.', pairs: pairs(...many) });
    expect(text.length).to.be.at.most(1_048_576);
    const shown = text.split('\n').filter((l) => /^\| k\d/.test(l)).length;
    expect(shown).to.be.within(15, 17);
    expect(text).to.contain(`_${40 - shown} of 40 pairs left out`);
  });

  const codes: Array<[string, string]> = [
    ['fakess123ap.nu/*', '`fakess123ap.nu/*`'],
    ['a`b', '``a`b``'],
    ['`x', '`` `x ``'],
    ['two\nlines', '`two lines`'],
  ];
  for (const [value, code] of codes) {
    it(`quotes ${JSON.stringify(value)} as ${code}`, () => {
      expect(inlineCode(value)).to.equal(code);
    });
  }

  it('cuts long summary values to 256 chars', () => {
    const code = inlineCode('a'.repeat(1000));
    expect(code).to.equal('`' + 'a'.repeat(255) + '…`');
  });

  it('summarises category, indicator, threat, source host and user', () => {
    expect(
      detectionSummary({ category: 'KL_Malicious_URL', indicator: 'fakess123.nu', threat: 'HEUR:Trojan.Script.Generic', srcHost: '10.20.1.44', user: 'jsmith' }),
    ).to.equal(
      'CyberTrace matched `fakess123.nu` in feed category `KL_Malicious_URL` (threat `HEUR:Trojan.Script.Generic`, source `10.20.1.44`, user `jsmith`).',
    );
    expect(detectionSummary({ category: 'KL_APT_IP', indicator: null, threat: null, srcHost: null, user: null })).to.equal(
      'CyberTrace reported a detection in feed category `KL_APT_IP`.',
    );
  });
});
