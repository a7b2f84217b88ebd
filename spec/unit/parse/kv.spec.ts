import { expect } from 'chai';
import fc from 'fast-check';
import { normaliseLine, parseLine } from '../../../src/parse/kv.js';
import type { CyberTraceRecord, DetectionRecord, ParseResult } from '../../../src/types.js';
import { readFixture, readLineSamples, recordView, type RecordView } from '../../support/fixtures.js';

/** The record of a line that must parse; fails the test with the refusal otherwise. */
function record(raw: string): CyberTraceRecord {
  const result = parseLine(raw);
  if (!result.ok) expect.fail(`expected a record, got ${result.code}: ${result.detail}`);
  return result.value;
}

function detection(raw: string): DetectionRecord {
  const r = record(raw);
  if (r.kind !== 'detection') expect.fail(`expected a detection, got ${r.kind}`);
  return r;
}

function pairsOf(raw: string): [string, string | null][] {
  return record(raw).pairs.map((p) => [p.key, p.value]);
}

function refusal(raw: string): { code: string; detail: string } {
  const result: ParseResult<CyberTraceRecord> = parseLine(raw);
  if (result.ok) expect.fail(`expected a refusal, got a ${result.value.kind} record`);
  return { code: result.code, detail: result.detail };
}

describe('parse/kv: the documented corpus (spec/fixtures/cybertrace)', () => {
  const samples = readLineSamples('cybertrace', 'samples.txt');
  const expected = JSON.parse(readFixture('cybertrace', 'expected.json')) as Record<string, RecordView>;

  it('has every example line of the format reference (Q1–Q3, C4–C33) plus variants, and an expectation for each', () => {
    // §7 numbers its nine service alerts C21–C29 and its two finished events C31a/b.
    const reference = ['Q1', 'Q2', 'Q3', ...Array.from({ length: 26 }, (_, i) => `C${i + 4}`), 'C31a', 'C31b', 'C32', 'C33'];
    expect(samples.map((s) => s.id)).to.include.members(reference);
    expect(reference).to.have.length(33);
    expect(samples.length).to.be.at.least(35);
    expect(Object.keys(expected).sort()).to.deep.equal(samples.map((s) => s.id).sort());
  });

  for (const { id, description, line } of samples) {
    it(`${id} ${description}`, () => {
      const result = parseLine(line);
      expect(recordView(result)).to.deep.equal(expected[id]);
      // A KUMA line is hashed as its plain equivalent; every other sample as it is.
      if (result.ok) expect(result.value.line).to.equal(result.value.format === 'kuma' ? 'category=KL_Malicious_URL matchedIndicator=fakess123.nu popularity=5 threat=HEUR:Trojan.Script.Generic' : line);
    });
  }
});

describe('parse/kv: normaliseLine', () => {
  it('removes every \\r, trims trailing blanks and keeps leading ones', () => {
    expect(normaliseLine('  a=1\r\n')).to.equal('  a=1');
    expect(normaliseLine('a=1\r b=2 \t \r')).to.equal('a=1 b=2');
    expect(normaliseLine('\r\r')).to.equal('');
  });

  it('drops a leading byte-order mark (a capture saved by a Windows editor)', () => {
    expect(normaliseLine('\ufeffOct 12 16:14:02 category=KL_Malicious_URL')).to.equal('Oct 12 16:14:02 category=KL_Malicious_URL');
    const r = parseLine('\ufeffcategory=KL_Malicious_URL matchedIndicator=x.test');
    if (!r.ok) expect.fail(r.detail);
    expect(r.value.kind).to.equal('detection');
  });

  it('keeps a trailing no-break space: only ASCII blanks are trimmed', () => {
    expect(normaliseLine('a=1\u00a0')).to.equal('a=1\u00a0');
  });

  it('is idempotent and is what records carry as line', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '=', ' ', '\t', '\r', '\n', 'é') }), (s) => {
        const once = normaliseLine(s);
        expect(normaliseLine(once)).to.equal(once);
        const result = parseLine(s);
        if (result.ok) expect(result.value.line).to.equal(once);
      }),
    );
  });

  it('gives a CRLF line the record of the LF line', () => {
    const lf = 'Oct 12 16:14:02 category=KL_Malicious_URL matchedIndicator=fakess123.nu';
    expect(parseLine(`${lf}\r`)).to.deep.equal(parseLine(lf));
  });
});

describe('parse/kv rule 1: key tokens and values', () => {
  it('keeps spaces, =, :, ;, commas and | inside values', () => {
    expect(pairsOf('category=K geo=vn, in, mx q=http://h/?a=b&c=d t=HEUR:Trojan x=a;b;c p=a|b|c')).to.deep.equal([
      ['category', 'K'],
      ['geo', 'vn, in, mx'],
      ['q', 'http://h/?a=b&c=d'],
      ['t', 'HEUR:Trojan'],
      ['x', 'a;b;c'],
      ['p', 'a|b|c'],
    ]);
  });

  it('starts a key only at the start or after a blank', () => {
    expect(pairsOf('category=a=b=c x=1,y=2')).to.deep.equal([
      ['category', 'a=b=c'],
      ['x', '1,y=2'],
    ]);
  });

  it('accepts . / - _ and digits after the first key character, not as the first', () => {
    expect(pairsOf('category=K whois/org.x-y_1=v 1a=w -b=z')).to.deep.equal([
      ['category', 'K'],
      ['whois/org.x-y_1', 'v 1a=w -b=z'],
    ]);
  });

  it('trims values and treats - and empty as null, but not --', () => {
    expect(pairsOf('category=K   a=  x  y \t b=- c= d=-- e= - ')).to.deep.equal([
      ['category', 'K'],
      ['a', 'x  y'],
      ['b', null],
      ['c', null],
      ['d', '--'],
      ['e', null],
    ]);
  });

  it('keeps repeated keys in order and tells keys apart by case', () => {
    expect(pairsOf('category=K ip=1 IP=2 ip=3')).to.deep.equal([
      ['category', 'K'],
      ['ip', '1'],
      ['IP', '2'],
      ['ip', '3'],
    ]);
    expect(refusal('CATEGORY=KL_Malicious_URL').code).to.equal('ERR_KV_NO_CATEGORY');
  });
});

describe('parse/kv rule 2: header and dateText', () => {
  const dateOf = (header: string): string | null => record(`${header} category=KL_X`).dateText;

  it('takes a syslog date, also with a double-spaced single-digit day', () => {
    expect(dateOf('Oct 12 16:14:02')).to.equal('Oct 12 16:14:02');
    expect(dateOf('Apr  6 09:05:41')).to.equal('Apr  6 09:05:41');
    expect(dateOf('Apr 6 09:05:41')).to.equal('Apr 6 09:05:41');
  });

  it('takes the date a longer header ends with', () => {
    expect(dateOf('ct-host Oct 12 16:14:02')).to.equal('Oct 12 16:14:02');
    expect(dateOf('<134>1 2024-10-12T16:14:02.5Z')).to.equal('2024-10-12T16:14:02.5Z');
  });

  it('takes ISO-8601 with T or a blank, fractions and zones', () => {
    for (const iso of ['2024-10-12T16:14:02', '2024-10-12T16:14:02Z', '2024-10-12T16:14:02,5+0300', '2024-10-12T16:14+03', '2024-10-12 16:14:02.123-05:00']) {
      expect(dateOf(iso), iso).to.equal(iso);
    }
  });

  it('gives null for headers that are not or do not end with a timestamp', () => {
    for (const header of ['Oct 12 16:14:02 ct-host', 'Oct 32 16:14:02', 'oct 12 16:14:02', 'Oct 12 24:00:00', 'Oct 12 16:14', '2024-13-01T00:00:00', '2024-10-12', '2024-10-12T16:14:02Q', '12.10.2024 16:14:02', 'hello']) {
      expect(dateOf(header), header).to.equal(null);
    }
    expect(record('category=KL_X').dateText).to.equal(null);
  });
});

describe('parse/kv rule 3: kv category and indicator', () => {
  it('takes the first category and first matchedIndicator, not the feed record ones', () => {
    const r = detection('category=KL_IP_Reputation matchedIndicator=192.0.2.1 category=spam matchedIndicator=x');
    expect([r.format, r.category, r.matchedIndicator]).to.deep.equal(['kv', 'KL_IP_Reputation', '192.0.2.1']);
  });

  it('gives a null indicator when it is absent or - (a later one does not stand in)', () => {
    expect(detection('category=KL_X').matchedIndicator).to.equal(null);
    expect(detection('category=KL_X matchedIndicator=- matchedIndicator=y').matchedIndicator).to.equal(null);
  });

  it('reads event_name as the category of the second documented 5.0 format', () => {
    expect(detection('Oct 12 16:30:00 event_name=KL_APT_IP matchedIndicator=192.0.2.4').category).to.equal('KL_APT_IP');
  });

  it('refuses a first category without value rather than use the feed record one', () => {
    const { code, detail } = refusal('category=- matchedIndicator=x category=spam');
    expect(code).to.equal('ERR_KV_NO_CATEGORY');
    expect(detail).to.include('`category`');
  });
});

describe('parse/kv rule 4: McAfee ESM recipe', () => {
  const esm = 'Kaspersky CyberTrace Detection Event| date=Oct 12 16:13:23 reason=KL_X detected=http://h act=- suser=UserName';

  it('reads reason, detected and date', () => {
    const r = detection(`${esm} msg:popularity=5`);
    expect([r.format, r.category, r.matchedIndicator, r.dateText]).to.deep.equal(['esm', 'KL_X', 'http://h', 'Oct 12 16:13:23']);
  });

  it('ends a value at " msg:" and keeps msg as a pair holding text before the next key', () => {
    expect(pairsOf(`${esm} msg:popularity=5 geo=vn, in, mx`).slice(-4)).to.deep.equal([
      ['suser', 'UserName'],
      ['msg', null],
      ['popularity', '5'],
      ['geo', 'vn, in, mx'],
    ]);
    expect(pairsOf(`${esm} msg:free text popularity=5`).slice(-3)).to.deep.equal([
      ['suser', 'UserName'],
      ['msg', 'free text'],
      ['popularity', '5'],
    ]);
  });

  it('treats only the first " msg:" as the boundary', () => {
    expect(pairsOf(`${esm} msg:note=see msg:x`).slice(-2)).to.deep.equal([
      ['msg', null],
      ['note', 'see msg:x'],
    ]);
  });

  it('does not split at " msg:" outside the ESM recipe', () => {
    expect(pairsOf('category=K suser=UserName msg:popularity=5')).to.deep.equal([
      ['category', 'K'],
      ['suser', 'UserName msg:popularity=5'],
    ]);
  });

  it('gives null dateText without date and refuses a line without reason', () => {
    expect(detection('Kaspersky CyberTrace Detection Event| reason=KL_X').dateText).to.equal(null);
    const { code, detail } = refusal('Kaspersky CyberTrace Detection Event| date=Oct 12 16:13:23 category=KL_X');
    expect(code).to.equal('ERR_KV_NO_CATEGORY');
    expect(detail).to.include('`reason`');
  });
});

describe('parse/kv rule 5: ArcSight CEF recipe', () => {
  const head = 'CEF:0|Kaspersky|Kaspersky CyberTrace for ArcSight|2.0|2|CyberTrace Detection Event|8|';

  it('takes reason and the csN labelled MatchedIndicator, whatever N', () => {
    const r = detection(`${head} reason=KL_X cs2Label=MatchedIndicator cs5=not-it cs2=ioc`);
    expect([r.format, r.category, r.matchedIndicator, r.dateText]).to.deep.equal(['cef', 'KL_X', 'ioc', null]);
  });

  it('gives a null indicator without a MatchedIndicator label', () => {
    expect(detection(`${head} reason=KL_X cs5=fakess123.nu`).matchedIndicator).to.equal(null);
  });

  it('reads "cs6= mask=…" as a null cs6 and a pair of its own', () => {
    expect(pairsOf(`${head} reason=KL_X cs6= mask=fakess123.nu`)).to.deep.equal([
      ['reason', 'KL_X'],
      ['cs6', null],
      ['mask', 'fakess123.nu'],
    ]);
  });

  it('refuses fewer than seven header fields, naming how many it found', () => {
    const { code, detail } = refusal('CEF:0|Kaspersky|CyberTrace|2.0| reason=KL_X');
    expect(code).to.equal('ERR_CEF_MALFORMED');
    expect(detail).to.include('4 of the 7');
  });

  it('skips escaped pipes in the header and accepts leading blanks', () => {
    const r = detection('  CEF:0|Kaspersky\\|Lab|P|1|2|N|8|reason=KL_X');
    expect(r.pairs).to.deep.equal([{ key: 'reason', value: 'KL_X' }]);
  });

  it('reads reason=KL_ALERT_… as a service alert', () => {
    const r = record('CEF:0|Kaspersky|P|2.0|1|CyberTrace Service Event|4| reason=KL_ALERT_Whatever msg=');
    expect(r.kind === 'service' ? r.alert : r.kind).to.equal('KL_ALERT_Whatever');
  });
});

describe('parse/kv rules 6 and 7: service alerts and finished events', () => {
  it('accepts any KL_ALERT_ name', () => {
    const r = record('alert=KL_ALERT_SomethingNewIn6_0 x=1');
    expect(r.kind === 'service' ? r.alert : r.kind).to.equal('KL_ALERT_SomethingNewIn6_0');
  });

  it('lets the first deciding pair win', () => {
    expect(record('category=KL_X alert=KL_ALERT_UpdatedFeed').kind).to.equal('detection');
    expect(record('alert=KL_ALERT_UpdatedFeed category=KL_X').kind).to.equal('service');
    expect(record('category=KL_X usrName=LookupFinished').kind).to.equal('detection');
    expect(record('event=LookupFinished category=KL_X').kind).to.equal('finished');
  });

  it('does not take an alert pair without the KL_ALERT_ prefix', () => {
    expect(refusal('alert=UpdatedFeed').code).to.equal('ERR_KV_NO_CATEGORY');
  });

  it('recognises the bare LookupFinished line with blanks and CRLF', () => {
    for (const raw of ['LookupFinished', '  LookupFinished \r\n', 'LookupFinished\r']) {
      expect(record(raw)).to.deep.include({ kind: 'finished', format: 'kv', dateText: null, pairs: [] });
    }
    expect(refusal('LookupFinished please').code).to.equal('ERR_KV_MALFORMED');
  });
});

describe('parse/kv rule 8: refusals', () => {
  it('refuses blank lines as ERR_LINE_EMPTY', () => {
    for (const raw of ['', ' ', '\t \r\n', '\r']) expect(refusal(raw).code, JSON.stringify(raw)).to.equal('ERR_LINE_EMPTY');
  });

  it('refuses lines without any key token as ERR_KV_MALFORMED', () => {
    for (const raw of ['hello world', 'Oct 12 16:14:02', '= =', 'a =b']) expect(refusal(raw).code, raw).to.equal('ERR_KV_MALFORMED');
  });

  it('refuses a record-context fragment as ERR_KV_NO_CATEGORY, in one sentence without the line', () => {
    const line = 'Ip=192.0.2.100 Geo=ru,br,ua,cz,us';
    const { code, detail } = refusal(line);
    expect(code).to.equal('ERR_KV_NO_CATEGORY');
    expect(detail).to.match(/^[A-Z].*\.$/);
    expect(detail).to.include('2 pairs').and.not.include('192.0.2.100');
  });
});

describe('parse/kv: generated pairs come back as generated', () => {
  const KEY_START = [...'abcxyzABCXYZ_'];
  const KEY_REST = [...KEY_START, ...'0189./-'];
  const VALUE_CHARS = [...'aZ09=:;,|/.-?&*é€🦀', 'msg:', 'http://h?a=b'];
  const looksLikeKey = /^[A-Za-z_][A-Za-z0-9_./-]*=/;

  const key = fc
    .tuple(fc.constantFrom(...KEY_START), fc.string({ unit: fc.constantFrom(...KEY_REST), maxLength: 6 }))
    .map(([a, b]) => a + b);
  const token = fc.string({ unit: fc.constantFrom(...VALUE_CHARS), minLength: 1, maxLength: 6 }).filter((t) => !looksLikeKey.test(t));
  const gap = fc.constantFrom(' ', '  ', '\t', ' \t ');
  const value = fc.array(fc.tuple(token, gap), { maxLength: 4 }).map((parts) =>
    parts.map(([t, g], i) => (i === parts.length - 1 ? t : t + g)).join(''),
  );

  it('parses `category=K k1=v1 k2=v2 …` into exactly those pairs', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value, gap), { maxLength: 12 }), (pairs) => {
        const line = 'category=KL_Prop' + pairs.map(([k, v, g]) => `${g}${k}=${v}`).join('');
        const want = [['category', 'KL_Prop'], ...pairs.map(([k, v]) => [k, v === '' || v === '-' ? null : v])];
        expect(pairsOf(line)).to.deep.equal(want);
      }),
      { numRuns: 500 },
    );
  });

  // A line whose blanks are all spaces is scanned space to space (issue 15); one with a TAB among
  // them character by character. Both must cut the same text into the same pairs.
  it('cuts a line whose blanks are spaces as it cuts the same line with TABs among them', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'k', '_', '=', ' ', '  ', '-', '.', '/', '9', 'é', '€', 'msg:'), maxLength: 60 });
    fc.assert(
      fc.property(text, (rest) => {
        const spaced = `category=KL_Prop ${rest}`;
        // Every other space becomes a TAB, the first one included.
        let k = 0;
        const tabbed = spaced.replace(/ /g, () => (k++ % 2 === 0 ? '\t' : ' '));
        expect(tabbed).to.include('\t');
        const untab = (pairs: readonly (readonly [string, string | null])[]): (readonly [string, string | null])[] =>
          pairs.map(([k, v]) => [k, v === null ? null : v.replaceAll('\t', ' ')] as const);
        expect(pairsOf(spaced)).to.deep.equal(untab(pairsOf(tabbed)));
      }),
      { numRuns: 1000 },
    );
  });
});
