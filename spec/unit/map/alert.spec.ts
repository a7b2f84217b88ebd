import { expect } from 'chai';
import {
  DEFAULT_POLICY,
  alertFromDetection,
  alertFromRecord,
  alertFromServiceAlert,
  titleFor,
} from '../../../src/map/alert.js';
import type { AlertPolicy, DetectionRecord, KvPair, LineFormat, Observable, ServiceAlertRecord } from '../../../src/types.js';

// ---- local record builders (hand-made records: these tests do not depend on the parser) ----

/** Pairs of a simple `k=v k=v` text: a key starts after a blank; `-` and empty are null. */
function pairsOf(text: string): KvPair[] {
  const out: KvPair[] = [];
  const re = /(?:^|\s)([A-Za-z_][A-Za-z0-9_./-]*)=/g;
  const marks = [...text.matchAll(re)];
  marks.forEach((m, i) => {
    const start = (m.index ?? 0) + m[0].length;
    const end = i + 1 < marks.length ? (marks[i + 1]?.index ?? text.length) : text.length;
    const raw = text.slice(start, end).trim();
    out.push({ key: m[1] ?? '', value: raw === '' || raw === '-' ? null : raw });
  });
  return out;
}

/** A detection from a C-style line `Mon DD HH:MM:SS category=… matchedIndicator=… …`. */
function kvDetection(line: string): DetectionRecord {
  const date = /^([A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d) /.exec(line);
  const pairs = pairsOf(date ? line.slice(date[0].length) : line);
  const first = (k: string): string | null => pairs.find((p) => p.key === k)?.value ?? null;
  return { kind: 'detection', format: 'kv', line, dateText: date?.[1] ?? null, pairs, category: first('category') ?? '', matchedIndicator: first('matchedIndicator') };
}

function detection(
  category: string,
  matchedIndicator: string | null,
  kv: Array<[string, string | null]> = [],
  extra: { dateText?: string | null; format?: LineFormat } = {},
): DetectionRecord {
  const pairs = kv.map(([key, value]) => ({ key, value }));
  const line = kv.map(([k, v]) => `${k}=${v ?? '-'}`).join(' ');
  return { kind: 'detection', format: extra.format ?? 'kv', line, dateText: extra.dateText ?? null, pairs, category, matchedIndicator };
}

function service(line: string): ServiceAlertRecord {
  const rest = line.slice('Oct 12 06:00:01 '.length);
  const pairs = pairsOf(rest);
  return { kind: 'service', format: 'kv', line, dateText: line.slice(0, 15), pairs, alert: pairs[0]?.value ?? '' };
}

const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number => new Date(y, mo - 1, d, h, mi, s).getTime();
const RECEIVED = local(2024, 10, 12, 16, 30, 0);
const obs = (dataType: Observable['dataType'], data: string, ioc: boolean, tags: string[] = []): Observable => ({ dataType, data, ioc, tags });

// ---- corpus lines (cybertrace-format §7) ----

const C4 =
  'Oct 12 16:14:02 category=KL_Malicious_URL matchedIndicator=fakess123.nu url=http://fakess123.nu/ src=10.20.1.44 ip=- md5=- sha1=- sha256=- usrName=jsmith mask=fakess123.nu type=1 first_seen=10.07.2015 23:53 last_seen=03.05.2019 10:40 popularity=5 threat=HEUR:Trojan.Script.Generic';
const C5 =
  'Oct 12 16:15:10 category=KL_Phishing_URL matchedIndicator=fakess123ap.nu/* url=http://fakess123ap.nu/login.php?id=7&lang=en src=10.20.3.17 ip=- md5=- sha1=- sha256=- usrName=a.petrova id=107722881 type=20 mask=fakess123ap.nu/* industry=E-shop first_seen=19.05.2024 08:32 popularity=1 whois/domain=fakess123ap.nu whois/org=Example Registrant, Inc.';
const C6 =
  'Oct 12 16:16:45 category=KL_BotnetCnC_URL matchedIndicator=a7396d61caffe18a4cffbb3b428c9b60.com url=http://a7396d61caffe18a4cffbb3b428c9b60.com/gate.php src=10.20.5.9 ip=203.0.113.80 md5=- sha1=- sha256=- usrName=- mask=a7396d61caffe18a4cffbb3b428c9b60.com popularity=4 threat=Backdoor.Win32.Agent.gen geo=vn, in, mx files/MD5=0123456789ABCDEF0123456789ABCDEF;4123456789ABCDEF0123456789ABCDEF';
const C8 =
  'Oct 12 16:18:20 category=KL_IP_Reputation matchedIndicator=192.0.2.0 url=- src=10.20.1.44 ip=192.0.2.0 md5=- sha1=- sha256=- usrName=- ip=192.0.2.0 threat_score=97 category=malware first_seen=21.01.2015 00:00 last_seen=20.05.2016 03:48 popularity=1 ip_geo=es users_geo=us';
const C10 =
  'Oct 12 16:20:33 category=KL_Malicious_Hash_MD5 matchedIndicator=C912705B4BBB14EC7E78FA8B370532C9 url=- src=10.20.8.146 ip=- md5=c912705b4bbb14ec7e78fa8b370532c9 sha1=- sha256=- usrName=v.sokolova MD5=C912705B4BBB14EC7E78FA8B370532C9 SHA1=9F57E16FB47B96B170DAD78E26B96380E8262B9F SHA256=A6A69DB3767DB7F8DE9F1CD0AFA6928A276CFBE97170A826AE6857CBAD134154 file_size=477257 popularity=1 threat=HEUR:Trojan.Script.Generic';
const C13 =
  'Oct 12 16:23:05 category=KL_IoT_URL matchedIndicator=e593461621ee0f9134c632d00bf108fd.com/.i url=http://e593461621ee0f9134c632d00bf108fd.com/.i src=10.30.0.12 ip=- md5=- sha1=- sha256=- usrName=- url=e593461621ee0f9134c632d00bf108fd.com/.i popularity=3 threat=HEUR:Backdoor.Linux.Mirai.b';

describe('map/alert', () => {
  describe('DEFAULT_POLICY', () => {
    it('holds the contract §3/§4 defaults', () => {
      expect(DEFAULT_POLICY).to.include({ type: 'cybertrace', serviceType: 'cybertrace-service', source: 'CyberTrace', tlp: 2, pap: 2, defaultSeverity: 2, serviceAlerts: 'log' });
      expect(DEFAULT_POLICY.tags).to.deep.equal([]);
    });
  });

  describe('C4 Malicious URL', () => {
    const alert = alertFromDetection(kvDetection(C4), DEFAULT_POLICY, RECEIVED);

    it('fills the fixed fields', () => {
      expect(alert).to.include({ type: 'cybertrace', source: 'CyberTrace', title: 'Malicious URL: fakess123.nu', severity: 2, tlp: 2, pap: 2 });
      expect(alert.sourceRef).to.match(/^ct-[0-9a-f]{20}$/);
      expect(alert.date).to.equal(local(2024, 10, 12, 16, 14, 2));
      expect(alert.tags).to.deep.equal(['cybertrace', 'category:KL_Malicious_URL', 'threat:HEUR:Trojan.Script.Generic']);
    });

    it('types the bare registrable indicator as domain, then adds url, src and user', () => {
      expect(alert.observables).to.deep.equal([
        obs('domain', 'fakess123.nu', true, ['category:KL_Malicious_URL']),
        obs('url', 'http://fakess123.nu/', false),
        obs('ip', '10.20.1.44', false, ['src']),
        obs('other', 'jsmith', false, ['user']),
      ]);
    });

    it('describes the event: summary then the full table', () => {
      const lines = alert.description.split('\n');
      expect(lines[0]).to.equal(
        'CyberTrace matched `fakess123.nu` in feed category `KL_Malicious_URL` (threat `HEUR:Trojan.Script.Generic`, source `10.20.1.44`, user `jsmith`).',
      );
      expect(lines.slice(2, 5)).to.deep.equal(['| key | value |', '|---|---|', '| category | KL_Malicious_URL |']);
      // ip, md5, sha1 and sha256 are `-` (no regex match): no row says so.
      expect(lines.some((l) => l.startsWith('| ip |'))).to.equal(false);
      expect(lines).to.include('| first_seen | 10.07.2015 23:53 |');
      expect(lines.filter((l) => l.startsWith('| '))).to.have.length(1 + 11); // header + 15 pairs less the 4 without a value
    });
  });

  describe('C8 IP reputation (category= and ip= repeated)', () => {
    const alert = alertFromDetection(kvDetection(C8), DEFAULT_POLICY, RECEIVED);

    it('keeps the first category for title, tags and severity', () => {
      expect(alert.title).to.equal('IP Reputation: 192.0.2.0 (malware, threat score 97)');
      expect(alert.tags).to.deep.equal(['cybertrace', 'category:KL_IP_Reputation']);
      expect(alert.severity).to.equal(3); // threat_score=97
    });

    it('has the indicator ip once, as an ioc', () => {
      expect(alert.observables).to.deep.equal([
        obs('ip', '192.0.2.0', true, ['category:KL_IP_Reputation']),
        obs('ip', '10.20.1.44', false, ['src']),
      ]);
    });

    it('keeps both category pairs and both ip pairs in the table', () => {
      const rows = alert.description.split('\n');
      expect(rows.filter((r) => r === '| ip | 192.0.2.0 |')).to.have.length(2);
      expect(rows).to.include('| category | KL_IP_Reputation |');
      expect(rows).to.include('| category | malware |');
    });
  });

  it('C10: one hash for md5, MD5 and the indicator; SHA1/SHA256 added lower-cased', () => {
    const alert = alertFromDetection(kvDetection(C10), DEFAULT_POLICY, RECEIVED);
    expect(alert.observables).to.deep.equal([
      obs('hash', 'c912705b4bbb14ec7e78fa8b370532c9', true, ['category:KL_Malicious_Hash_MD5']),
      obs('ip', '10.20.8.146', false, ['src']),
      obs('other', 'v.sokolova', false, ['user']),
      obs('hash', '9f57e16fb47b96b170dad78e26b96380e8262b9f', false),
      obs('hash', 'a6a69db3767db7f8de9f1cd0afa6928a276cfbe97170a826ae6857cbad134154', false),
    ]);
    expect(alert.title).to.equal('Malicious Hash MD5: C912705B4BBB14EC7E78FA8B370532C9');
  });

  it('C6: files/MD5 values split on ; and the ip= pair without a tag', () => {
    const alert = alertFromDetection(kvDetection(C6), DEFAULT_POLICY, RECEIVED);
    expect(alert.severity).to.equal(3);
    expect(alert.observables).to.deep.equal([
      obs('domain', 'a7396d61caffe18a4cffbb3b428c9b60.com', true, ['category:KL_BotnetCnC_URL']),
      obs('url', 'http://a7396d61caffe18a4cffbb3b428c9b60.com/gate.php', false),
      obs('ip', '10.20.5.9', false, ['src']),
      obs('ip', '203.0.113.80', false),
      obs('hash', '0123456789abcdef0123456789abcdef', false),
      obs('hash', '4123456789abcdef0123456789abcdef', false),
    ]);
  });

  it('C5: a mask is an ioc of type other tagged mask (analyzers must not fetch a literal *); the summary quotes it as code', () => {
    const alert = alertFromDetection(kvDetection(C5), DEFAULT_POLICY, RECEIVED);
    expect(alert.observables[0]).to.deep.equal(obs('other', 'fakess123ap.nu/*', true, ['category:KL_Phishing_URL', 'mask']));
    expect(alert.observables.map((o) => o.data)).to.not.include('fakess123ap.nu'); // whois/domain is context only
    expect(alert.description.split('\n')[0]).to.contain('`fakess123ap.nu/*`');
  });

  it('C13: the scheme-less indicator and record url become the event\'s absolute url, one observable', () => {
    const alert = alertFromDetection(kvDetection(C13), DEFAULT_POLICY, RECEIVED);
    expect(alert.observables.filter((o) => o.dataType === 'url')).to.deep.equal([
      obs('url', 'http://e593461621ee0f9134c632d00bf108fd.com/.i', true, ['category:KL_IoT_URL']),
    ]);
  });

  it('maps CEF keys (dst, src, request, fileHash, suser) the same way', () => {
    const rec = detection(
      'KL_Malicious_URL',
      'fakess123.nu',
      [
        ['reason', 'KL_Malicious_URL'],
        ['dst', '203.0.113.10'],
        ['src', '10.20.1.44'],
        ['fileHash', 'C912705B4BBB14EC7E78FA8B370532C9;not-a-hash'],
        ['request', 'http://fakess123.nu/'],
        ['suser', 'jsmith'],
        ['cs5', 'fakess123.nu'],
      ],
      { format: 'cef' },
    );
    expect(alertFromDetection(rec, DEFAULT_POLICY, RECEIVED).observables).to.deep.equal([
      obs('domain', 'fakess123.nu', true, ['category:KL_Malicious_URL']),
      obs('ip', '203.0.113.10', false, ['dst']),
      obs('ip', '10.20.1.44', false, ['src']),
      obs('hash', 'c912705b4bbb14ec7e78fa8b370532c9', false),
      obs('url', 'http://fakess123.nu/', false),
      obs('other', 'jsmith', false, ['user']),
    ]);
  });

  it('maps ESM keys: detected url and request merge, hash lower-cased, hostname kept', () => {
    const rec = detection(
      'KL_BotnetCnC_URL',
      'http://fakess123bn.nu',
      [
        ['date', 'Oct 12 16:13:23'],
        ['reason', 'KL_BotnetCnC_URL'],
        ['detected', 'http://fakess123bn.nu'],
        ['hash', '776735A8CA96DB15B422879DA599F474'],
        ['request', 'http://fakess123bn.nu'],
        ['urls/url', 'http://a.example/x;http://b.example/y'],
        ['hostname', 'ws-042'],
      ],
      { format: 'esm', dateText: 'Oct 12 16:13:23' },
    );
    const alert = alertFromDetection(rec, DEFAULT_POLICY, RECEIVED);
    expect(alert.observables).to.deep.equal([
      obs('url', 'http://fakess123bn.nu', true, ['category:KL_BotnetCnC_URL']),
      obs('hash', '776735a8ca96db15b422879da599f474', false),
      obs('url', 'http://a.example/x', false),
      obs('url', 'http://b.example/y', false),
      obs('hostname', 'ws-042', false, ['internal']), // one label: an internal name
    ]);
    expect(alert.date).to.equal(local(2024, 10, 12, 16, 13, 23));
  });

  it('treats keys named like Object.prototype members as plain keys', () => {
    const rec = detection('KL_APT_IP', '192.0.2.4', [['__proto__', 'a'], ['constructor', 'b'], ['toString', 'c'], ['hasOwnProperty', null]]);
    const alert = alertFromDetection(rec, DEFAULT_POLICY, RECEIVED);
    expect(alert.observables).to.deep.equal([obs('ip', '192.0.2.4', true, ['category:KL_APT_IP'])]);
    expect(alert.description).to.contain('| \\_\\_proto\\_\\_ | a |'); // edge underscores escaped, never emphasis
  });

  it('types a host name in src as hostname, still tagged src; anything else stays other', () => {
    const alert = alertFromDetection(detection('KL_APT_IP', '192.0.2.4', [['src', 'gw.example.org'], ['dst', 'not a host']]), DEFAULT_POLICY, RECEIVED);
    expect(alert.observables.slice(1)).to.deep.equal([obs('hostname', 'gw.example.org', false, ['src']), obs('other', 'not a host', false, ['dst'])]);
  });

  describe('title', () => {
    const table: Array<[string, string | null, string]> = [
      ['KL_Malicious_URL', 'fakess123.nu', 'Malicious URL: fakess123.nu'],
      ['KL_Mobile_BotnetCnC_Hash_MD5', 'AB', 'Mobile BotnetCnC Hash MD5: AB'],
      ['Custom_Feed', 'x', 'Custom Feed: x'],
      ['KL_APT_IP', null, 'APT IP'],
      ['KL_', null, 'KL_'],
      [' ', null, 'CyberTrace detection'],
      [' \t ', null, 'CyberTrace detection'],
      [' ', ' ', ':'],
    ];
    for (const [category, indicator, title] of table) {
      it(`${category} + ${String(indicator)} → ${title}`, () => expect(titleFor(category, indicator)).to.equal(title));
    }

    it('is cut to 512 chars with …', () => {
      const alert = alertFromDetection(detection('KL_Malicious_URL', `http://x.example/${'a'.repeat(600)}`), DEFAULT_POLICY, RECEIVED);
      expect(alert.title).to.have.length(512);
      expect(alert.title.startsWith('Malicious URL: http://x.example/aaa')).to.equal(true);
      expect(alert.title.endsWith('a…')).to.equal(true);
    });

    it('is not cut at exactly 512 chars', () => {
      const indicator = 'b'.repeat(512 - 'Malicious URL: '.length);
      expect(titleFor('KL_Malicious_URL', indicator)).to.have.length(512).and.not.contain('…');
    });
  });

  it('drops observable data over 4096 chars and says so in the description', () => {
    const long = `http://x.example/${'a'.repeat(5000)}`;
    const alert = alertFromDetection(detection('KL_Malicious_URL', long, [['url', long], ['src', '10.0.0.1']]), DEFAULT_POLICY, RECEIVED);
    expect(alert.observables).to.deep.equal([obs('ip', '10.0.0.1', false, ['src'])]);
    expect(alert.description).to.contain('_2 values were longer than 4096 characters and not added as observables; see the table._');
  });

  it('caps the description of a huge record at 1 MiB and says how many pairs were left out', () => {
    const kv = Array.from({ length: 10_000 }, (_, i): [string, string] => [`k${i}`, 'v'.repeat(200)]);
    const alert = alertFromDetection(detection('KL_Malicious_URL', 'fakess123.nu', kv), DEFAULT_POLICY, RECEIVED);
    expect(alert.description.length).to.be.at.most(1_048_576);
    expect(alert.description).to.match(/_\d+ of 10000 pairs left out: TheHive takes at most 1048576 characters\._$/);
  });

  describe('date', () => {
    it('uses the time received when the date text does not parse', () => {
      const alert = alertFromDetection(detection('KL_APT_IP', '192.0.2.4', [], { dateText: 'garbage' }), DEFAULT_POLICY, RECEIVED);
      expect(alert.date).to.equal(RECEIVED);
    });
    it('uses the time received without a date text', () => {
      expect(alertFromDetection(detection('KL_APT_IP', '192.0.2.4'), DEFAULT_POLICY, RECEIVED).date).to.equal(RECEIVED);
    });
    it('moves a date more than a day ahead to last year', () => {
      const alert = alertFromDetection(detection('KL_APT_IP', '192.0.2.4', [], { dateText: 'Oct 20 10:00:00' }), DEFAULT_POLICY, RECEIVED);
      expect(alert.date).to.equal(local(2023, 10, 20, 10, 0, 0));
    });
  });

  describe('policy', () => {
    it('adds policy tags after its own, unique, each at most 128 chars', () => {
      const policy: AlertPolicy = { ...DEFAULT_POLICY, tags: ['soc', 'cybertrace', 'soc', 'x'.repeat(200)] };
      const tags = alertFromDetection(detection(`KL_${'Z'.repeat(200)}`, null), policy, RECEIVED).tags;
      expect(tags.slice(0, 1)).to.deep.equal(['cybertrace']);
      expect(tags[1]?.startsWith('category:KL_ZZZ')).to.equal(true);
      expect(tags.slice(2, 3)).to.deep.equal(['soc']);
      expect(tags).to.have.length(4);
      expect(tags.every((t) => t.length >= 1 && t.length <= 128)).to.equal(true);
    });

    it('cuts type and source to 32 chars and uses tlp/pap', () => {
      const policy: AlertPolicy = { ...DEFAULT_POLICY, type: 't'.repeat(40), source: 's'.repeat(33), tlp: 4, pap: 0 };
      const alert = alertFromDetection(detection('KL_APT_IP', '192.0.2.4'), policy, RECEIVED);
      expect(alert).to.include({ type: 't'.repeat(32), source: 's'.repeat(32), tlp: 4, pap: 0 });
    });

    it('falls back to the default type and source when configured empty', () => {
      const policy: AlertPolicy = { ...DEFAULT_POLICY, type: '', source: '  ' };
      expect(alertFromDetection(detection('KL_APT_IP', '192.0.2.4'), policy, RECEIVED)).to.include({ type: 'cybertrace', source: 'CyberTrace' });
    });
  });

  it('is deterministic: same record, same alert; another line, another sourceRef', () => {
    const a = alertFromDetection(kvDetection(C4), DEFAULT_POLICY, RECEIVED);
    const b = alertFromDetection(kvDetection(C4), DEFAULT_POLICY, RECEIVED);
    const c = alertFromDetection(kvDetection(C4.replace('src=10.20.1.44', 'src=10.20.1.45')), DEFAULT_POLICY, RECEIVED);
    expect(a).to.deep.equal(b);
    expect(c.sourceRef).to.not.equal(a.sourceRef);
  });

  describe('service alerts', () => {
    const table: Array<[string, string, 1 | 2]> = [
      ['Oct 12 06:00:01 alert=KL_ALERT_ServiceStarted', 'ServiceStarted', 1],
      ['Oct 12 06:00:01 alert=KL_ALERT_ServiceStopped', 'ServiceStopped', 1],
      ['Oct 12 06:00:01 alert=KL_ALERT_ServiceUnavailable', 'ServiceUnavailable', 2],
      ['Oct 12 06:00:01 alert=KL_ALERT_UpdatedFeed feed=Malicious_Hash_Data_Feed.json records=1743220', 'UpdatedFeed', 1],
      ['Oct 12 06:00:01 alert=KL_ALERT_FailedToUpdateFeed feed=IP_Reputation_Data_Feed.json error=Error while applying feed', 'FailedToUpdateFeed', 2],
      ['Oct 12 06:00:01 alert=KL_ALERT_OutdatedFeed feed=APT_URL_Data_Feed.json', 'OutdatedFeed', 2],
      ['Oct 12 06:00:01 alert=KL_ALERT_LicenseExpires days=14', 'LicenseExpires', 2],
      ['Oct 12 06:00:01 alert=KL_ALERT_LicenseChanged', 'LicenseChanged', 2],
      ['Oct 12 06:00:01 alert=KL_ALERT_ConfigurationUpdated', 'ConfigurationUpdated', 1],
      ['Oct 12 06:00:01 alert=KL_ALERT_SomethingNew', 'SomethingNew', 1],
    ];
    for (const [line, name, severity] of table) {
      it(`${name} → severity ${severity}`, () => {
        const alert = alertFromServiceAlert(service(line), DEFAULT_POLICY, RECEIVED);
        // The feed a feed alert is about is named in the title.
        const feed = /feed=(\S+)/.exec(line)?.[1];
        expect(alert).to.include({ type: 'cybertrace-service', source: 'CyberTrace', title: `CyberTrace service: ${name}${feed === undefined ? '' : ` (${feed})`}`, severity });
        expect(alert.tags).to.deep.equal(['cybertrace', 'service-alert', `alert:KL_ALERT_${name}`]);
        expect(alert.observables).to.deep.equal([]);
        expect(alert.date).to.equal(local(2024, 10, 12, 6, 0, 1));
        expect(alert.sourceRef).to.match(/^ct-[0-9a-f]{20}$/);
      });
    }

    it('names the feed in the summary and lists the context', () => {
      const alert = alertFromServiceAlert(service(table[3]?.[0] ?? ''), { ...DEFAULT_POLICY, serviceType: 'ct-svc', tags: ['ops'] }, RECEIVED);
      expect(alert.type).to.equal('ct-svc');
      expect(alert.tags).to.deep.equal(['cybertrace', 'service-alert', 'alert:KL_ALERT_UpdatedFeed', 'ops']);
      expect(alert.description.split('\n')[0]).to.equal(
        'CyberTrace raised service alert `KL_ALERT_UpdatedFeed` for feed `Malicious_Hash_Data_Feed.json`.',
      );
      expect(alert.description).to.contain('| records | 1743220 |');
    });
  });

  describe('alertFromRecord', () => {
    it('dispatches on kind and gives null for LookupFinished', () => {
      const det = kvDetection(C4);
      expect(alertFromRecord(det, DEFAULT_POLICY, RECEIVED)).to.deep.equal(alertFromDetection(det, DEFAULT_POLICY, RECEIVED));
      const svc = service('Oct 12 06:00:01 alert=KL_ALERT_ServiceStarted');
      expect(alertFromRecord(svc, DEFAULT_POLICY, RECEIVED)?.type).to.equal('cybertrace-service');
      const fin = { kind: 'finished', format: 'kv', line: 'LookupFinished', dateText: null, pairs: [] } as const;
      expect(alertFromRecord(fin, DEFAULT_POLICY, RECEIVED)).to.equal(null);
    });
  });
});
