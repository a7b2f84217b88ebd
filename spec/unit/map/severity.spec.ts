import { expect } from 'chai';
import { DEFAULT_POLICY, DEFAULT_SEVERITY_RULES } from '../../../src/map/alert.js';
import { globMatches, severityFor } from '../../../src/map/severity.js';
import type { AlertPolicy, KvPair, Severity } from '../../../src/types.js';

function rec(category: string, pairs: Array<[string, string | null]> = []): { category: string; pairs: KvPair[] } {
  return { category, pairs: pairs.map(([key, value]) => ({ key, value })) };
}

describe('map/severity', () => {
  describe('default rules by category', () => {
    const table: Array<[string, Severity]> = [
      ['KL_APT_URL', 4],
      ['KL_APT_IP', 4],
      ['KL_APT_Hash_MD5', 4],
      ['KL_ICS_Hash_MD5', 4],
      ['KL_ICS_Hash_SHA256', 4],
      ['KL_BotnetCnC_URL', 3],
      ['KL_BotnetCnC_Hash_SHA1', 3],
      ['KL_Mobile_BotnetCnC_Hash_MD5', 3], // BotnetCnC is tried before Mobile
      ['KL_Ransomware_URL', 3],
      ['KL_Malicious_URL', 2],
      ['KL_Malicious_Hash_MD5', 2],
      ['KL_Mobile_Malicious_Hash_MD5', 2],
      ['KL_Phishing_URL', 2],
      ['KL_IoT_URL', 2],
      ['KL_IoT_Hash_SHA1', 2],
      ['KL_InternalTI_IP', 2], // no rule: defaultSeverity
      ['KL_BlackList_URL', 2],
      ['OSINT_Forensics_Hash', 2], // `ICS` inside a word is not the ICS feed
      ['kl_apt_url', 4], // globs ignore case
    ];
    for (const [category, severity] of table) {
      it(`${category} → ${severity}`, () => {
        expect(severityFor(rec(category), DEFAULT_POLICY)).to.equal(severity);
      });
    }
  });

  describe('KL_IP_Reputation by threat_score', () => {
    const table: Array<[Array<[string, string | null]>, Severity]> = [
      [[], 1],
      [[['threat_score', null]], 1],
      [[['threat_score', '0']], 1],
      [[['threat_score', '74']], 1],
      [[['threat_score', '74.9']], 1],
      [[['threat_score', '75']], 2],
      [[['threat_score', '89']], 2],
      [[['threat_score', '90']], 3],
      [[['threat_score', '97']], 3],
      [[['threat_score', '100']], 3],
      [[['threat_score', 'high']], 1],
      [[['threat_score', ' 91 ']], 3],
      [[['threat_score', 'n/a'], ['threat_score', '95']], 3], // the first numeric value counts
      [[['THREAT_SCORE', '95']], 1], // keys are case-sensitive (cybertrace-format §4.3)
    ];
    for (const [pairs, severity] of table) {
      it(`${JSON.stringify(pairs)} → ${severity}`, () => {
        expect(severityFor(rec('KL_IP_Reputation', pairs), DEFAULT_POLICY)).to.equal(severity);
      });
    }
  });

  it('falls back to the policy default when no rule matches', () => {
    const policy: AlertPolicy = { ...DEFAULT_POLICY, defaultSeverity: 1 };
    expect(severityFor(rec('Custom_Feed'), policy)).to.equal(1);
  });

  it('takes the first matching rule and the highest reached step, whatever the step order', () => {
    const policy: AlertPolicy = {
      ...DEFAULT_POLICY,
      severity: [
        { match: 'acme_*', severity: 1, scoreField: 'score', steps: [{ min: 50, severity: 4 }, { min: 10, severity: 2 }] },
        { match: '*', severity: 3 },
      ],
    };
    expect(severityFor(rec('ACME_feed', [['score', '9']]), policy)).to.equal(1);
    expect(severityFor(rec('ACME_feed', [['score', '10']]), policy)).to.equal(2);
    expect(severityFor(rec('ACME_feed', [['score', '50']]), policy)).to.equal(4);
    expect(severityFor(rec('other'), policy)).to.equal(3);
  });

  it('keeps the documented defaults in order', () => {
    expect(DEFAULT_POLICY.severity).to.equal(DEFAULT_SEVERITY_RULES);
    const order = DEFAULT_SEVERITY_RULES.map((r) => r.match);
    expect(order.indexOf('*_BotnetCnC_*')).to.be.lessThan(order.indexOf('*_Mobile_*'));
  });

  describe('globMatches', () => {
    const table: Array<[string, string, boolean]> = [
      ['*', '', true],
      ['KL_*', 'KL_APT_URL', true],
      ['KL_*', 'XKL_APT', false],
      ['*_APT_*', 'KL_APT_URL', true],
      ['*_APT_*', 'KL_Adapter_URL', false],
      ['KL_A.B', 'KL_AxB', false], // regex characters are literal
      ['KL_A.B', 'kl_a.b', true],
      ['a(b)+', 'a(b)+', true],
    ];
    for (const [glob, text, expected] of table) {
      it(`${glob} ~ ${JSON.stringify(text)} is ${expected}`, () => {
        expect(globMatches(glob, text)).to.equal(expected);
      });
    }
  });
  // Each set of rules remembers its first matching rule per category (issue 15), for at most 1,024
  // categories at once: the answers must stay those of running the globs, across sets and past the cap.
  it('answers as the globs do for many categories and for two rule sets asked in turn', () => {
    const other: AlertPolicy = { ...DEFAULT_POLICY, severity: [{ match: '*_URL', severity: 4 }], defaultSeverity: 1 };
    const byGlobs = (policy: AlertPolicy, category: string): Severity => policy.severity.find((r) => globMatches(r.match, category))?.severity ?? policy.defaultSeverity;
    const families = ['APT', 'Malicious', 'Phishing', 'Feed', 'BotnetCnC'];
    for (let i = 0; i < 2500; i++) {
      const category = i % 3 === 0 ? `KL_${families[i % families.length]}_${i % 1300}_URL` : `KL_${families[i % families.length]}_Hash_MD5_${i % 1300}`;
      for (const policy of [DEFAULT_POLICY, other]) {
        expect(severityFor({ category, pairs: [] }, policy), `${category} ${policy === other ? 'other' : 'default'}`).to.equal(byGlobs(policy, category));
      }
    }
  });
});
