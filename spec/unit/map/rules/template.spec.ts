import { expect } from 'chai';
import { parseTemplate, renderTemplate, type Template } from '../../../../src/map/rules/template.js';

function t(text: string): Template {
  const parsed = parseTemplate(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.template;
}
const fields = (o: Record<string, string>) => (f: string): string | null => (Object.prototype.hasOwnProperty.call(o, f) ? (o[f] as string) : null);

describe('map/rules/template', () => {
  it('fills placeholders with the event’s fields', () => {
    expect(renderTemplate(t('{{category}}: {{matchedIndicator}}'), fields({ category: 'KL_Phishing_URL', matchedIndicator: 'evil.example' }), 256)).to.equal('KL_Phishing_URL: evil.example');
  });

  it('applies default, truncate, upper and lower, left to right', () => {
    const look = fields({ a: 'abcdefghij', c: 'MiXeD' });
    expect(renderTemplate(t('{{missing | default:"n/a"}}'), look, 100)).to.equal('n/a');
    expect(renderTemplate(t('{{a | truncate:5}}'), look, 100)).to.equal('abcd…');
    expect(renderTemplate(t('{{c|upper}} {{c | lower}}'), look, 100)).to.equal('MIXED mixed');
    expect(renderTemplate(t('{{missing | default:"say \\"x\\" | y" | upper}}'), look, 100)).to.equal('SAY "X" | Y');
  });

  it('renders an absent field as nothing', () => {
    expect(renderTemplate(t('[{{threat}}]'), fields({}), 100)).to.equal('[]');
  });

  it('caps the output, never splitting a surrogate pair', () => {
    const out = renderTemplate(t('{{v}}'), fields({ v: `${'x'.repeat(9)}😀tail` }), 10);
    expect(out).to.equal('x'.repeat(9));
    expect(renderTemplate(t('{{v}}{{v}}{{v}}'), fields({ v: 'y'.repeat(100_000) }), 256)).to.have.length(256);
  });

  it('strips control characters from values and text (keeping line breaks only where asked)', () => {
    const look = fields({ v: 'evil\u001b[31m\r\nTitle: forged\u202Eexe.pdf' });
    expect(renderTemplate(t('{{v}}'), look, 100)).to.equal('evil[31mTitle: forgedexe.pdf');
    expect(renderTemplate(t('line1\n{{v}}'), look, 100, true)).to.equal('line1\nevil[31m\nTitle: forgedexe.pdf');
  });

  describe('injection attempts resolve to text, never to code or objects', () => {
    const look = fields({ category: 'X' });
    for (const text of ['{{__proto__}}', '{{constructor}}', '{{toString}}', '{{hasOwnProperty}}']) {
      it(`${text} → ""`, () => expect(renderTemplate(t(text), look, 100)).to.equal(''));
    }
    it('a value that looks like a template is not expanded again', () => {
      expect(renderTemplate(t('{{v}}'), fields({ v: '{{category}} ${process.exit()}' }), 100)).to.equal('{{category}} ${process.exit()}');
    });
    for (const text of ['{{category.constructor.name}}x', '{{ process.env }}', '{{a[0]}}', '{{a()}}', '{{`x`}}', '{{a + b}}']) {
      it(`${JSON.stringify(text)} is no placeholder of a field: refused or a plain name`, () => {
        const parsed = parseTemplate(text);
        if (parsed.ok) {
          // Only dotted names parse, and they are looked up as one whole name.
          const seen: string[] = [];
          renderTemplate(parsed.template, (f) => (seen.push(f), null), 100);
          expect(seen.every((f) => /^[A-Za-z_][A-Za-z0-9_./-]*$/.test(f))).to.equal(true);
        } else expect(parsed.problem).to.be.a('string');
      });
    }
  });

  describe('syntax errors', () => {
    const table: Array<[string, RegExp]> = [
      ['{{category', /^unclosed \{\{ at character 1$/],
      ['a {{b}} {{c', /^unclosed \{\{ at character 9$/],
      ['{{}}', /expected a field name/],
      ['{{a | shout}}', /unknown filter "shout"/],
      ['{{a | truncate:0}}', /truncate takes a length/],
      ['{{a | truncate:x}}', /truncate takes a length/],
      ['{{a | default:x}}', /default takes a quoted text/],
      ['{{a | default:"x}}', /unclosed string/],
      ['{{a | upper:1}}', /upper takes no argument/],
    ];
    for (const [text, problem] of table) {
      it(`${JSON.stringify(text)} → ${problem}`, () => {
        const parsed = parseTemplate(text);
        expect(parsed.ok).to.equal(false);
        if (!parsed.ok) expect(parsed.problem).to.match(problem);
      });
    }
  });
});
