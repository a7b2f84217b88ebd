import { expect } from 'chai';
import fc from 'fast-check';
import { refang } from '../../../src/map/refang.js';

describe('refang', () => {
  const CASES: Array<[string, string]> = [
    ['hxxp://evil.top/a', 'http://evil.top/a'],
    ['hXXp://evil.top/a', 'http://evil.top/a'],
    ['HXXPS://evil.top/a', 'https://evil.top/a'],
    ['hxxps[://]evil.top', 'https://evil.top'],
    ['hxxp[:]//evil.top', 'http://evil.top'],
    ['hxp://evil.top', 'http://evil.top'],
    ['h**ps://evil.top', 'https://evil.top'],
    ['h[tt]p://evil.top', 'http://evil.top'],
    ['fxp://files.evil.top', 'ftp://files.evil.top'],
    ['sfxp://files.evil.top', 'sftp://files.evil.top'],
    ['evil[.]top', 'evil.top'],
    ['evil(.)top', 'evil.top'],
    ['evil{.}top', 'evil.top'],
    ['evil[dot]top', 'evil.top'],
    ['evil(dot)top', 'evil.top'],
    ['evil [DOT] top', 'evil.top'],
    ['evil [ . ] top', 'evil.top'],
    ['evil[точка]рф', 'evil.рф'],
    ['evil\\.top', 'evil.top'],
    ['evil。top', 'evil.top'],
    ['185[.]244[.]129[.]7', '185.244.129.7'],
    ['bad[at]evil.top', 'bad@evil.top'],
    ['bad(at)evil.top', 'bad@evil.top'],
    ['bad [at] evil.top', 'bad@evil.top'],
    ['bad[@]evil.top', 'bad@evil.top'],
    ['bad{AT}evil.top', 'bad@evil.top'],
    ['http[:]//evil.top', 'http://evil.top'],
    ['https[://]evil.top[/]path', 'https://evil.top/path'],
    ['e\u200bvil.t\u200cop', 'evil.top'],
    ['evil dot top', 'evil.top'],
    ['a DOT evil DOT co DOT uk', 'a.evil.co.uk'],
    ['cdn-kz dot storage-edge dot ru', 'cdn-kz.storage-edge.ru'],
    ['hxxps[://]login[.]qazbank-secure(.)com/auth', 'https://login.qazbank-secure.com/auth'],
  ];
  for (const [input, expected] of CASES) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => expect(refang(input)).to.equal(expected));
  }

  const UNCHANGED = [
    'the dot com bubble',
    'Connect the dot to the line',
    'a dot on the map',
    'Dot matrix printers', // capitalised: a sentence, not a defang
    'version dot release', // "release" is no public suffix
    'Mr. Smith said hi (again).',
    'array[0] and f(x) and {a}',
    'a [b] c (d) e',
    'hxxp without a colon is a word',
    'the path C:\\Users\\a.b is Windows',
    'Привет, мир. Как дела?',
    '',
  ];
  for (const text of UNCHANGED) it(`leaves ${JSON.stringify(text)} alone`, () => expect(refang(text)).to.equal(text));

  it('changes nothing in text without any defang marker (property)', () => {
    // No h/f (schemes), no d/D (dot), no brackets, backslash, wide dots or zero-width characters.
    const unit = fc.constantFrom(...'abceijklmnoqrsuvwyzABCEIJKLMNOQRSUVWYZ0123456789 .,:;/-_@#?!\n\tаб');
    fc.assert(fc.property(fc.string({ unit, maxLength: 200 }), (s) => refang(s) === s));
  });

  it('undoes a defanged URL of any domain (property)', () => {
    const defang = (url: string): string => url.replace(/^http/, 'hxxp').replace(/\./g, '[.]');
    fc.assert(
      fc.property(fc.domain(), fc.stringMatching(/^[a-z0-9/_-]{0,20}$/), (domain, path) => {
        const url = `http://${domain}/${path}`;
        return refang(defang(url)) === url;
      }),
    );
  });

  describe('hostile input (completes, sane output)', function () {
    this.timeout(60_000);
    const N = 200_000;
    const HOSTILE: Array<[string, string]> = [
      ['[.] repeated', '[.]'.repeat(N / 3)],
      ['a dot repeated', 'a dot '.repeat(N / 6)],
      ['spaces then a bracket', `${' '.repeat(N)}[`],
      ['hxxp repeated', 'hxxp'.repeat(N / 4)],
      ['open brackets', '[('.repeat(N / 2)],
      ['backslashes', '\\'.repeat(N)],
      ['zero-width flood', '\u200b'.repeat(N)],
      ['dot labels without suffix', 'xx dot '.repeat(N / 7)],
    ];
    for (const [label, text] of HOSTILE) {
      it(label, () => {
        const out = refang(text);
        expect(out.length).to.be.at.most(text.length);
      });
    }

    it('random long strings over the marker alphabet', () => {
      const unit = fc.constantFrom('[', ']', '(', ')', '{', '}', '.', 'dot', 'DOT', ' ', 'at', '@', ':', '/', 'h', 'x', 'p', 's', 'a', '\\', '\t');
      fc.assert(
        fc.property(fc.string({ unit, minLength: 1000, maxLength: 20_000 }), (s) => {
          const out = refang(s);
          return typeof out === 'string' && out.length <= s.length * 2;
        }),
        { numRuns: 30 },
      );
    });
  });
});
