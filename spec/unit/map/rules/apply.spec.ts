import { expect } from 'chai';
import { DEFAULT_POLICY, alertFromRecord } from '../../../../src/map/alert.js';
import { applyRules, ruleSetOf, shapeAlert } from '../../../../src/map/rules/apply.js';
import { recordEvent } from '../../../../src/map/rules/fields.js';
import { parseLine } from '../../../../src/parse/kv.js';
import type { Alert, AlertPolicy, CyberTraceRecord } from '../../../../src/types.js';

const NOW = Date.UTC(2024, 9, 12, 12, 0, 0);
const PHISH = 'Oct 12 16:15:10 category=KL_Phishing_URL matchedIndicator=fakess123ap.nu/* url=http://fakess123ap.nu/login.php src=10.20.3.17 usrName=a.petrova popularity=1 first_seen=1717000000 threat_score=87';
const CNC = 'Oct 12 16:16:45 category=KL_BotnetCnC_URL matchedIndicator=a7396d61.com url=http://a7396d61.com/gate.php src=10.1.5.9 threat=Backdoor.Win32.Agent.gen';
const SERVICE = 'Apr 16 09:05:41 alert=KL_ALERT_UpdatedFeed feed=Phishing_URL_Data_Feed.json records=200473';

function record(line: string): CyberTraceRecord {
  const r = parseLine(line);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}
function map(line: string, policy: Partial<AlertPolicy>, peer?: string): Alert {
  const alert = alertFromRecord(record(line), { ...DEFAULT_POLICY, serviceAlerts: 'alert', ...policy }, NOW, peer);
  if (alert === null) throw new Error('no alert');
  return alert;
}

describe('map/rules/apply', () => {
  it("the contract's minimum shape: fields directly under match (a glob, or /regex/ in RE2), a custom field as a plain template", () => {
    const rules = [
      {
        match: { category: 'KL_BotnetCnC*', src: '/^10\\./' },
        set: { title: 'C2 {{matchedIndicator}} contacted by {{src}}', severity: 3, tags: ['c2'], customFields: { 'ct-feed': '{{category}}' } },
      },
    ];
    const a = map(CNC, { rules });
    expect([a.title, a.severity]).to.deep.equal(['C2 a7396d61.com contacted by 10.1.5.9', 3]);
    expect(a.tags).to.include('c2');
    expect(a.customFields).to.deep.equal({ 'ct-feed': 'KL_BotnetCnC_URL' });
    // The regex holds or the rule does not match: a 192.168 source keeps the built-in title.
    const other = map(CNC.replace('src=10.1.5.9', 'src=192.168.5.9'), { rules });
    expect(other.title).to.not.match(/^C2 /);
    // A glob on any field, any case.
    expect(map(PHISH, { rules: [{ match: { usrName: 'A.PET*' }, set: { tags: ['vip'] } }] }).tags).to.include('vip');
  });

  it('no rules: the built-in alert, the same object, no meta', () => {
    const plain = alertFromRecord(record(PHISH), DEFAULT_POLICY, NOW);
    expect(map(PHISH, { rules: [] })).to.deep.equal(plain);
    expect(map(PHISH, { rules: [{ match: { category: '*_APT_*' }, set: { severity: 4 } }] })).to.deep.equal(plain);
    expect(plain).to.not.have.property('meta');
  });

  it('layers matching rules in order: later wins per field, tags add up', () => {
    const a = map(PHISH, {
      rules: [
        { name: 'all', set: { title: 'first', severity: 1, tags: ['soc'] } },
        { match: { category: '*_Phishing_*' }, set: { title: '{{category}} by {{usrName | upper}}', tags: ['phish', 'user:{{usrName}}'] } },
        { match: { category: '*_BotnetCnC_*' }, set: { title: 'never' } },
      ],
    });
    expect(a.title).to.equal('KL_Phishing_URL by A.PETROVA');
    expect(a.severity).to.equal(1);
    expect(a.tags).to.include.members(['cybertrace', 'category:KL_Phishing_URL', 'soc', 'phish', 'user:a.petrova']);
    expect(a.meta?.rules).to.deep.equal(['alert.rules[0] (all)', 'alert.rules[1]']);
  });

  it('stop ends the evaluation', () => {
    const a = map(PHISH, { rules: [{ set: { severity: 4 }, stop: true }, { set: { severity: 1 } }] });
    expect(a.severity).to.equal(4);
    expect(a.meta?.rules).to.have.length(1);
  });

  it('matches field regexes (RE2), the peer’s range and the category', () => {
    const rules = [{ match: { fields: { src: '^10\\.1\\.' }, peer: ['192.0.2.0/24'] }, set: { organisation: 'tenantA' } }];
    expect(map(CNC, { rules }, '192.0.2.7').meta?.organisation).to.equal('tenantA');
    expect(map(CNC, { rules }, '198.51.100.7')).to.not.have.property('meta');
    expect(map(CNC, { rules })).to.not.have.property('meta'); // the peer unknown: the condition does not hold
    expect(map(PHISH, { rules }, '192.0.2.7')).to.not.have.property('meta'); // src 10.20…
  });

  it('converts custom fields by type, and leaves out (with a reason) what does not convert', () => {
    const a = map(PHISH, {
      rules: [
        {
          name: 'fields',
          set: {
            customFields: {
              popularity: { type: 'integer', value: '{{popularity}}' },
              score: { type: 'float', value: '{{threat_score}}' },
              seen: { type: 'date', value: '{{first_seen}}' },
              phish: { type: 'boolean', value: '1' },
              link: { type: 'url', value: '{{url}}' },
              user: { type: 'string', value: '{{usrName}}' },
              broken: { type: 'integer', value: '{{usrName}}' },
            },
          },
        },
      ],
    });
    expect(a.customFields).to.deep.equal({ popularity: 1, score: 87, seen: 1717000000000, phish: true, link: 'http://fakess123ap.nu/login.php', user: 'a.petrova' });
    expect(a.meta?.dropped).to.deep.equal(['alert.rules[0] (fields) set.customFields.broken (integer): "a.petrova" is no integer']);
    expect(a.meta?.setBy).to.deep.include({ field: 'customFields.popularity', rule: 'alert.rules[0] (fields)' });
  });

  it('adds default ATT&CK procedures only when alert.procedures is on, dated with the event', () => {
    expect(map(CNC, {})).to.not.have.property('procedures');
    const a = map(CNC, { procedures: true });
    expect(a.procedures).to.deep.equal([{ patternId: 'T1071', tactic: 'command-and-control', occurDate: a.date }]);
    expect(map(CNC, { procedures: true, rules: [{ set: { procedures: [{ patternId: 'T1568', tactic: 'command-and-control' }] } }] }).procedures?.[0]?.patternId).to.equal('T1568');
    // No default for a service alert or an IP reputation.
    expect(map(SERVICE, { procedures: true })).to.not.have.property('procedures');
  });

  it('prepends a description template to the built-in description, its table kept', () => {
    const plain = map(PHISH, {});
    const a = map(PHISH, { rules: [{ set: { description: 'Tenant **A**\nuser {{usrName}}' } }] });
    expect(a.description).to.equal(`Tenant **A**\nuser a.petrova\n\n${plain.description}`);
  });

  it('keeps a rendered title within 256 characters and on one line', () => {
    const long = `Oct 12 16:15:10 category=KL_Phishing_URL matchedIndicator=x threat=${'A'.repeat(5000)}\u0007\u202E`;
    const a = map(long, { rules: [{ set: { title: 'T: {{threat}}' } }] });
    expect(a.title).to.have.length(256);
    expect(a.title).to.not.match(/[\u0000-\u001f\u202e]/);
  });

  it('an empty rendered title keeps the built-in one', () => {
    expect(map(PHISH, { rules: [{ set: { title: '{{threat}}' } }] }).title).to.equal(map(PHISH, {}).title);
  });

  it('service alerts see their own fields (alert, feed)', () => {
    expect(map(SERVICE, { rules: [{ match: { fields: { alert: 'UpdatedFeed$' } }, set: { title: 'Feed {{feed}} updated' } }] }).title).to.equal('Feed Phishing_URL_Data_Feed.json updated');
  });

  it('an external link that renders to no http(s) URL is left out, with a reason', () => {
    const a = map(CNC, { rules: [{ set: { externalLink: '{{usrName}}' } }] });
    expect(a).to.not.have.property('externalLink');
    expect(a.meta?.dropped?.[0]).to.match(/set\.externalLink: "" is no http\(s\) URL/);
  });
});

describe('map/rules set.target (issue 14, routing)', () => {
  const rules = [
    { match: { category: 'KL_Phishing_*' }, set: { target: 'tenant-b' } },
    { match: { fields: { src: '^10\\.1\\.' } }, set: { target: 'tenant-c' }, stop: true },
    { set: { target: 'default' } },
  ];

  it('puts the target of the last matching rule in meta.target, and targetOf agrees without building the alert', async () => {
    const { targetOf, ruleSetOf } = await import('../../../../src/map/rules/apply.js');
    const { recordEvent } = await import('../../../../src/map/rules/fields.js');
    const policy = { ...DEFAULT_POLICY, serviceAlerts: 'alert' as const, rules };
    // Phishing: rule 0 says tenant-b, rule 2 (no match condition) then says default.
    expect(map(PHISH, policy).meta?.target).to.equal('default');
    // C2 from 10.1.x: rule 1 says tenant-c and stops.
    expect(map(CNC, policy).meta?.target).to.equal('tenant-c');
    for (const line of [PHISH, CNC]) {
      const rec = record(line);
      if (rec.kind === 'finished') throw new Error('unexpected');
      expect(targetOf(recordEvent(rec, NOW), ruleSetOf(policy))).to.equal(map(line, policy).meta?.target);
    }
  });

  it('leaves meta.target out when no rule names a target', () => {
    expect(map(CNC, { rules: [{ set: { tags: ['x'] } }] }).meta?.target).to.equal(undefined);
  });

  it('builds the event only when there are rules to match, and shapes the alert as the rules applied to that event do', () => {
    const rec = record(CNC);
    if (rec.kind !== 'detection') throw new Error('not a detection');
    const base = map(CNC, {});
    let built = 0;
    const lazy = () => {
      built += 1;
      return recordEvent(rec, base.date);
    };
    // No rules: the alert itself comes back and the event is never built.
    expect(shapeAlert(base, lazy, DEFAULT_POLICY)).to.equal(base);
    expect(built).to.equal(0);
    const policy: AlertPolicy = { ...DEFAULT_POLICY, rules: [{ match: { src: '10.1.*' }, set: { severity: 4, tags: ['c2'] } }] };
    const viaFunction = shapeAlert(base, lazy, policy);
    expect(built).to.equal(1);
    expect(viaFunction).to.deep.equal(applyRules(base, recordEvent(rec, base.date), ruleSetOf(policy)));
    expect([viaFunction.severity, viaFunction.tags.includes('c2')]).to.deep.equal([4, true]);
  });
});
