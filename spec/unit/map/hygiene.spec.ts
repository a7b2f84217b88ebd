/**
 * Observable hygiene (issue 14, point 4): what an analyst and TheHive's analyzers get from a
 * detection. A URL without a scheme is only a `url` when the event itself says which scheme;
 * internal host names never go out as `domain` (public analyzers would be asked about them);
 * `-` rows do not clutter the table; service and IP-reputation titles say what happened.
 */
import { expect } from 'chai';
import { DEFAULT_POLICY, alertFromRecord } from '../../../src/map/alert.js';
import { classifyIndicator } from '../../../src/map/observables.js';
import { cleanTags } from '../../../src/map/limits.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { Alert, AlertPolicy, Observable } from '../../../src/types.js';
import { readLineSamples } from '../../support/fixtures.js';

const RECEIVED = new Date(2024, 9, 12, 18, 0, 0).getTime();

function alertOf(line: string, policy: AlertPolicy = { ...DEFAULT_POLICY, serviceAlerts: 'alert' }): Alert {
  const parsed = parseLine(line);
  if (!parsed.ok) throw new Error(parsed.code);
  const alert = alertFromRecord(parsed.value, policy, RECEIVED);
  if (alert === null) throw new Error('no alert');
  return alert;
}

const view = (o: Observable): [string, string, boolean, string[]] => [o.dataType, o.data, o.ioc ?? false, o.tags ?? []];
const sample = (id: string): string => readLineSamples('cybertrace', 'samples.txt').find((s) => s.id === id)?.line as string;

describe('map hygiene: URLs without a scheme', () => {
  it('gives the IoT corpus line (C13) one url observable, the absolute one, marked as the indicator', () => {
    const urls = alertOf(sample('C13')).observables.filter((o) => o.dataType === 'url').map(view);
    expect(urls).to.deep.equal([['url', 'http://e593461621ee0f9134c632d00bf108fd.com/.i', true, ['category:KL_IoT_URL']]]);
  });

  it('types a host/path with no absolute URL in the event `other`, never `url`', () => {
    const a = alertOf('category=KL_IoT_URL matchedIndicator=e593461621ee0f9134c632d00bf108fd.com/.i src=10.30.0.12');
    expect(a.observables.map(view)[0]).to.deep.equal(['other', 'e593461621ee0f9134c632d00bf108fd.com/.i', true, ['category:KL_IoT_URL']]);
  });

  it('does not guess between http and https when the event has both', () => {
    const a = alertOf('category=KL_IoT_URL matchedIndicator=x.example.com/a url=http://x.example.com/a request=https://x.example.com/a');
    expect(a.observables.map(view)[0]).to.deep.equal(['other', 'x.example.com/a', true, ['category:KL_IoT_URL']]);
  });

  it('types a bare path `uri_path`, a scheme-less url= value by the absolute URL it matches', () => {
    const a = alertOf('category=KL_Malicious_URL matchedIndicator=fakess123.nu url=/gate.php urls/url=fakess123.nu/x;http://fakess123.nu/x');
    expect(a.observables.map(view)).to.deep.equal([
      ['domain', 'fakess123.nu', true, ['category:KL_Malicious_URL']],
      ['uri_path', '/gate.php', false, []],
      ['url', 'http://fakess123.nu/x', false, []],
    ]);
  });

  it('leaves classifyIndicator without context: a host/path is `other`, a path `uri_path`', () => {
    expect(classifyIndicator('KL_IoT_URL', 'e593461621ee0f9134c632d00bf108fd.com/.i')).to.equal('other');
    expect(classifyIndicator('Custom', '/just/a/path')).to.equal('uri_path');
    expect(classifyIndicator('KL_Malicious_URL', 'http://fakess123.nu')).to.equal('url');
  });
});

describe('map hygiene: internal host names', () => {
  const indicator = (value: string, policy?: AlertPolicy): [string, string, boolean, string[]] =>
    view(alertOf(`category=KL_InternalTI_URL matchedIndicator=${value}`, policy).observables[0] as Observable);

  for (const name of ['ws-buh-07', 'fileserver.local', 'dc01.corp', 'nas.lan', 'api.internal', 'router.home.arpa']) {
    it(`types ${name} hostname with the tag internal`, () => {
      expect(indicator(name)).to.deep.equal(['hostname', name, true, ['category:KL_InternalTI_URL', 'internal']]);
    });
  }

  it('takes alert.internalSuffixes: ws-buh-07.corp.kz is internal only when corp.kz is listed', () => {
    expect(indicator('ws-buh-07.corp.kz')[0]).to.equal('fqdn');
    const policy = { ...DEFAULT_POLICY, internalSuffixes: ['corp.kz'] };
    expect(indicator('ws-buh-07.corp.kz', policy)).to.deep.equal(['hostname', 'ws-buh-07.corp.kz', true, ['category:KL_InternalTI_URL', 'internal']]);
    expect(indicator('corp.kz', { ...DEFAULT_POLICY, internalSuffixes: ['.Corp.KZ'] })[0]).to.equal('hostname');
    expect(indicator('notcorp.kz', policy)[0]).to.equal('domain');
  });

  it('keeps public names domain/fqdn', () => {
    expect(indicator('fakess123.nu')[0]).to.equal('domain');
    expect(indicator('www.fakess123.nu')[0]).to.equal('fqdn');
  });

  it('types a host name in src/dst hostname (internal tagged), not other', () => {
    const a = alertOf('category=KL_Malicious_URL matchedIndicator=fakess123.nu src=ws-buh-07.corp dst=10.0.0.1');
    expect(a.observables.map(view).slice(1)).to.deep.equal([
      ['hostname', 'ws-buh-07.corp', false, ['src', 'internal']],
      ['ip', '10.0.0.1', false, ['dst']],
    ]);
  });
});

describe('map hygiene: description and titles', () => {
  it('makes no row of a `-` or empty value', () => {
    const d = alertOf(sample('C4')).description;
    for (const key of ['ip', 'md5', 'sha1', 'sha256']) expect(d).to.not.contain(`| ${key} |`);
    expect(d).to.contain('| url | http://fakess123.nu/ |');
  });

  it('names the feed in a service alert title', () => {
    expect(alertOf(sample('Q1')).title).to.equal('CyberTrace service: UpdatedFeed (Phishing_URL_Data_Feed.json)');
    expect(alertOf('Oct 12 06:00:01 alert=KL_ALERT_ServiceStarted').title).to.equal('CyberTrace service: ServiceStarted');
  });

  it('states threat score and reputation category of an IP-reputation hit in title and description', () => {
    const a = alertOf(sample('C8'));
    expect(a.title).to.equal('IP Reputation: 192.0.2.0 (malware, threat score 97)');
    expect(a.description.split('\n')[0]).to.contain('reputation category `malware`').and.contain('threat score `97`');
    const b = alertOf('category=KL_IP_Reputation matchedIndicator=192.0.2.9 threat_score=55');
    expect(b.title).to.equal('IP Reputation: 192.0.2.9 (threat score 55)');
  });
});

describe('map hygiene: empty fields and clean tags (the mapper\'s fast paths)', () => {
  it('makes no observable of a `-` in any field that has a role, and still types the real values around it', () => {
    const line = 'Oct 12 16:14:02 category=KL_Malicious_URL matchedIndicator=bad.example.com/x url=- request=- urls/url=- src=- dst=- ip=- md5=- sha1=- sha256=- hash=- fileHash=- files/md5=- usrName=- suser=- hostname=- dst=198.51.100.7';
    expect(alertOf(line).observables.map(view)).to.deep.equal([
      ['other', 'bad.example.com/x', true, ['category:KL_Malicious_URL']],
      ['ip', '198.51.100.7', false, ['dst']],
    ]);
  });

  it('cleanTags gives a new array even when every tag is already clean, and still dedupes and cleans short lists', () => {
    const tags = ['cybertrace', 'category:KL_Malicious_URL'];
    const out = cleanTags(tags);
    expect(out).to.deep.equal(tags);
    expect(out).to.not.equal(tags);
    out.push('x');
    expect(tags).to.have.length(2);
    expect(cleanTags(['a', 'a'])).to.deep.equal(['a']);
    expect(cleanTags([' a ', ''])).to.deep.equal(['a']);
    expect(cleanTags(['a\u0007'])).to.deep.equal(['a<U+0007>']);
    expect(cleanTags(['x'.repeat(200)])[0]).to.have.length.below(200);
  });
});
