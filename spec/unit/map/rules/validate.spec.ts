import { expect } from 'chai';
import { compileRules } from '../../../../src/map/rules/validate.js';

function problems(rules: unknown, extraFields: string[] = []): string[] {
  return compileRules(rules, { extraFields }).problems;
}

describe('map/rules/validate', () => {
  it('takes a full rule and names it by index and name', () => {
    const c = compileRules([
      { set: { tags: ['all'] } },
      {
        name: 'tenant-a',
        match: { category: '*_Phishing_*', fields: { src: '^10\\.1\\.' }, peer: ['10.0.0.0/8', '::1/128'] },
        set: {
          title: '{{category | upper}} on {{src | default:"?"}}',
          description: 'Seen by {{usrName}}',
          severity: 3,
          tags: ['tenant:a'],
          tlp: 3,
          pap: 1,
          type: 'ct-tenant-a',
          source: 'CT-A',
          customFields: { score: { type: 'integer', value: '{{popularity}}' }, seen: { type: 'date', value: '{{first_seen}}' } },
          caseTemplate: 'Phishing',
          externalLink: 'https://intel.example/{{matchedIndicator}}',
          assignee: 'soc-l1',
          procedures: [{ patternId: 'T1566.002', tactic: 'initial-access' }],
          organisation: 'tenantA',
        },
        stop: true,
      },
      { match: { mail: { kind: 'reported', sender: '*@corp.example', mailbox: 'INBOX/tenant-*' } }, set: { title: 'Reported to {{mailbox}}: {{subject}}' } },
    ]);
    expect(c.problems).to.deep.equal([]);
    expect(c.rules.map((r) => r.label)).to.deep.equal(['alert.rules[0]', 'alert.rules[1] (tenant-a)', 'alert.rules[2]']);
    expect(c.rules[1]?.stop).to.equal(true);
  });

  const table: Array<[string, unknown, string]> = [
    ['an unclosed placeholder', [{}, {}, { set: { title: 'x {{category' } }], 'alert.rules[2].set.title: unclosed {{ at character 3'],
    ['a lookbehind', [{ match: { fields: { url: '(?<=https://)evil' } } }], 'alert.rules[0].match.fields.url: RE2 refuses "(?<=https://)evil"'],
    ['a backreference', [{ match: { fields: { src: '(a)\\1' } } }], 'alert.rules[0].match.fields.src: RE2 refuses'],
    ['an unknown field in a template', [{ set: { title: '{{tenant}}' } }], 'alert.rules[0].set.title: unknown field "tenant"'],
    ['a field in other capitals', [{ set: { title: '{{usrname}}' } }], '(did you mean "usrName"? fields are case-sensitive)'],
    ['a prototype name as a field', [{ set: { title: '{{__proto__}}' } }], 'alert.rules[0].set.title: unknown field "__proto__"'],
    ['an unknown field in a match', [{ match: { fields: { tenant: 'a' } } }], 'alert.rules[0].match.fields.tenant: unknown field "tenant"'],
    ['a bad CIDR', [{ match: { peer: ['10.0.0.0/8', '010.1.2.3'] } }], 'alert.rules[0].match.peer[1]: expected a CIDR range'],
    ['an unknown key', [{ set: { titel: 'x' } }], 'alert.rules[0].set.titel: unknown key'],
    ['a severity out of range', [{ set: { severity: 5 } }], 'alert.rules[0].set.severity: expected one of 1, 2, 3, 4, got 5'],
    ['a custom field type', [{ set: { customFields: { a: { type: 'int', value: '1' } } } }], 'alert.rules[0].set.customFields.a.type: expected one of string, integer'],
    ['a bad pattern ID', [{ set: { procedures: [{ patternId: '1071', tactic: 'impact' }] } }], 'alert.rules[0].set.procedures[0].patternId: expected an ATT&CK technique ID'],
    ['a bad tactic', [{ set: { procedures: [{ patternId: 'T1071', tactic: 'C2' }] } }], 'alert.rules[0].set.procedures[0].tactic: expected an ATT&CK tactic'],
    ['a type over 32', [{ set: { type: 'x'.repeat(33) } }], 'alert.rules[0].set.type: expected a text of 1 to 32 characters'],
    ['a mail kind', [{ match: { mail: { kind: 'spam' } } }], 'alert.rules[0].match.mail.kind: expected one of notification, reported, mail'],
    ['a mailbox glob that is no text', [{ match: { mail: { mailbox: ['INBOX'] } } }], 'alert.rules[0].match.mail.mailbox: expected a text'],
    ['an unknown key of match.mail', [{ match: { mail: { folder: 'INBOX' } } }], 'alert.rules[0].match.mail.folder: unknown key'],
    ['stop that is no boolean', [{ stop: 'yes' }], 'alert.rules[0].stop: expected true or false'],
    ['a rule that is no object', ['x'], 'alert.rules[0]: expected an object'],
    ['no list', { a: 1 }, 'alert.rules: expected a list of rules'],
  ];
  for (const [what, rules, problem] of table) {
    it(`refuses ${what}, naming the rule and key`, () => {
      const found = problems(rules);
      expect(found.some((p) => p.includes(problem)), `${found.join('\n')}\nshould include ${problem}`).to.equal(true);
    });
  }

  it('takes a feed’s own field once it is listed in alert.ruleFields', () => {
    expect(problems([{ set: { title: '{{tenant}}' } }], ['tenant'])).to.deep.equal([]);
  });

  it('takes record-context families (whois/*, files/*)', () => {
    expect(problems([{ match: { fields: { 'whois/org': 'Inc' } }, set: { title: '{{files/MD5}}' } }])).to.deep.equal([]);
  });

  it('reports every problem of every rule, not the first only', () => {
    expect(problems([{ set: { title: '{{a' } }, { set: { severity: 0, tlp: 9 } }])).to.have.length(3);
  });
});
