/**
 * SIEM notification mails read right (issue 13, point 4): KUMA, FortiSIEM and QRadar
 * notifications recognised by their own incident-ID fields, incident-level fields before
 * event-level ones, numeric severities on the scale their field uses, and observables tagged with
 * the role their field names (attacker, source, victim, destination, user).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { mailPolicyOf } from '../../../src/app-options.js';
import { loadConfig } from '../../../src/config.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY, severityOfField, type MailPolicy } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import type { Alert, Observable } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

const RECEIVED = Date.UTC(2024, 3, 2, 9, 30, 0);
const utc = (y: number, mo: number, d: number, h: number, mi: number, s: number, offsetH = 0): number =>
  Date.UTC(y, mo - 1, d, h - offsetH, mi, s);
const o = (dataType: Observable['dataType'], data: string, tags: string[] = []): Observable => ({ dataType, data, ioc: false, tags });

/**
 * The fixtures use documentation names, which the default `email.ignore` leaves out, and
 * documentation addresses, which never become observables; the inline mails below use the
 * public addresses of the older fixtures (siem-en.eml) to show an attacker's IP tagged.
 */
const OPEN: MailPolicy = { ...DEFAULT_MAIL_POLICY, ignore: { domains: [], ips: [], hashes: [], emails: [] } };

async function alertOf(name: string, mailPolicy: MailPolicy = OPEN): Promise<Alert> {
  return alertFromMail(await parseMail(readFileSync(fixturePath('mail', name))), DEFAULT_POLICY, mailPolicy, RECEIVED);
}

async function notification(body: string, mailPolicy: MailPolicy = OPEN): Promise<Alert> {
  const headers = 'From: siem@soc.example.org\r\nSubject: Incident mail\r\nDate: Tue, 02 Apr 2024 14:00:00 +0500';
  return alertFromMail(await parseMail(Buffer.from(`${headers}\r\n\r\n${body}`)), DEFAULT_POLICY, mailPolicy, RECEIVED);
}

type Expected = Omit<Alert, 'description' | 'tlp' | 'pap'>;

const TABLE: Record<string, Expected> = {
  // No "Incident ID:" line: KUMA's "ID алерта" makes it a notification, "Критичность: Высокая" is read.
  'siem-kuma-ru.eml': {
    type: 'siem-mail',
    source: 'mail',
    sourceRef: 'mail-6a1f0c52-8d7e-4b1e-9c33-2f4e5d7a9b10',
    title: 'R077_Подбор пароля к учётной записи',
    severity: 3,
    date: utc(2024, 4, 2, 13, 55, 10, 5),
    tags: ['mail', 'siem-notification', 'status:Новый'],
    // 193.233.48.915 is a documentation address: never an observable (ipScope), whatever its role.
    observables: [
      o('domain', 'scan-07.example.net', ['attacker']),
      o('domain', 'srv-1c-02.corp.example.org', ['victim']),
      o('ip', '10.20.4.12', ['private', 'victim']),
      o('other', 'CORP\\i.petrova', ['user']),
    ],
  },
  // "Incident Severity: HIGH" wins over the "Event Severity: 9" above it; "Host IP" is the victim, not the source.
  'siem-fortisiem-en.eml': {
    type: 'siem-mail',
    source: 'mail',
    sourceRef: 'mail-48213',
    title: 'Excessive Denied Connections From Same Source',
    severity: 3,
    date: utc(2024, 4, 2, 13, 55, 10, 5),
    tags: ['mail', 'siem-notification', 'status:Active', 'type:Security/Network', 'source:203.0.113.77'],
    observables: [
      o('ip', '10.30.1.23', ['private', 'victim', 'destination']),
      o('domain', 'web-02.dmz.example.org', ['victim']),
    ],
  },
  // The offense's magnitude (8 of 10: high) wins over the event "Severity: 4" (which alone would read as critical).
  'siem-qradar-en.eml': {
    type: 'siem-mail',
    source: 'mail',
    sourceRef: 'mail-5127',
    title: 'Multiple Login Failures for the Same User',
    severity: 3,
    date: utc(2024, 4, 2, 13, 55, 10, 5),
    tags: ['mail', 'siem-notification', 'source:203.0.113.9'],
    observables: [
      o('ip', '10.30.2.40', ['private', 'destination']),
      o('other', 'svc_backup', ['user']),
      o('ip', '10.30.0.10', ['private']),
    ],
  },
};

describe('SIEM notification mails: KUMA, FortiSIEM, QRadar', () => {
  for (const [name, exp] of Object.entries(TABLE)) {
    it(name, async () => {
      const { description, tlp, pap, ...rest } = await alertOf(name);
      expect(rest).to.deep.equal(exp);
      expect(description).to.include(`SIEM incident \`${exp.sourceRef.slice('mail-'.length)}\``);
    });
  }

  it('with the default email.ignore the documentation names are left out, the roles of the others kept', async () => {
    const a = await alertOf('siem-fortisiem-en.eml', DEFAULT_MAIL_POLICY);
    expect(a.observables).to.deep.equal([o('ip', '10.30.1.23', ['private', 'victim', 'destination'])]);
    expect(a.severity).to.equal(3);
  });
});

describe('SIEM notification mails: incident fields before event fields', () => {
  it('"Incident Severity" wins over "Event Severity" in either order', async () => {
    expect((await notification('Incident ID: 1\nIncident Severity: HIGH\nEvent Severity: 9')).severity).to.equal(3);
    expect((await notification('Incident ID: 1\nEvent Severity: 9\nIncident Severity: HIGH')).severity).to.equal(3);
    expect((await notification('Incident ID: 1\nEvent Severity: 9\nIncident Severity: -')).severity).to.equal(4);
  });

  it('the incident ID by the first synonym present, not the first line', async () => {
    const a = await notification('Alert ID: A-77\nOffense ID: 9\nIncident ID: INC-5');
    expect(a.sourceRef).to.equal('mail-INC-5');
  });

  it('incident-ID spellings of KUMA, ArcSight, QRadar and FortiSIEM, English and Russian', async () => {
    const ids: Array<[string, string]> = [
      ['Incident Id: 48213', 'mail-48213'],
      ['Offense ID: 5127', 'mail-5127'],
      ['Alert ID: 6a1f', 'mail-6a1f'],
      ['Case ID: 3307', 'mail-3307'],
      ['ID инцидента: 12', 'mail-12'],
      ['Идентификатор инцидента: 13', 'mail-13'],
      ['Номер инцидента: 14', 'mail-14'],
      ['ID алерта: 15', 'mail-15'],
      ['Идентификатор алерта: 16', 'mail-16'],
      ['ID нарушения: 17', 'mail-17'],
    ];
    for (const [line, ref] of ids) {
      const a = await notification(`${line}\nStatus: New`);
      expect([line, a.type, a.sourceRef]).to.deep.equal([line, 'siem-mail', ref]);
    }
  });

  it('email.fieldNames.incidentId is configurable: a mail with only a configured key is a notification', async () => {
    const policy: MailPolicy = { ...OPEN, fieldNames: { ...OPEN.fieldNames, incidentId: ['Alarm No'] } };
    expect((await notification('Alarm No: AL-9\nSeverity: Low', policy)).sourceRef).to.equal('mail-AL-9');
    expect((await notification('Incident ID: 9\nSeverity: Low', policy)).type).to.equal('mail');
  });
});

describe('SIEM notification mails: email.fieldNames in the configuration', () => {
  const load = (fieldNames: unknown) =>
    loadConfig({ env: { TRACEHIVE_EMAIL_FIELD_NAMES: JSON.stringify(fieldNames) }, useDefaultFile: false });

  it('takes incidentId and the role fields; a field left out (a configuration from before) keeps its defaults', () => {
    const policy = mailPolicyOf(load({ title: ['Заголовок'], incidentId: ['Alarm No'] }));
    expect(policy.fieldNames.title).to.deep.equal(['Заголовок']);
    expect(policy.fieldNames.incidentId).to.deep.equal(['Alarm No']);
    expect(policy.fieldNames.attacker).to.deep.equal(DEFAULT_MAIL_POLICY.fieldNames.attacker);
    expect(policy.fieldNames.severity[0]).to.equal('incident severity');
  });

  it('refuses an unknown field, naming the known ones', () => {
    expect(() => load({ incidentID: ['x'] })).to.throw(/email\.fieldNames[\s\S]*unknown field "incidentID": expected one of incidentId, title/);
  });
});

describe('SIEM notification mails: severity on the scale of its field', () => {
  const CASES: Array<[string, string, 1 | 2 | 3 | 4 | null]> = [
    // FortiSIEM event severity, 0–10.
    ['Event Severity', '0', 1], ['Event Severity', '3', 1], ['Event Severity', '4', 2], ['Event Severity', '6', 2],
    ['Event Severity', '7', 3], ['Event Severity', '8', 3], ['Event Severity', '9', 4], ['Event Severity', '10', 4],
    ['event_severity', 'HIGH', 3], ['Event Severity', '11', null],
    // QRadar magnitude, 1–10.
    ['Magnitude', '1', 1], ['Magnitude', '4', 2], ['Offense Magnitude', '8', 3], ['Magnitude', '9', 4],
    // Other fields keep the general reading: 1–4 is TheHive's own scale.
    ['Severity', '4', 4], ['Severity', '9', 4], ['Критичность', 'Высокая', 3], ['Критичность', 'Критическая', 4],
    ['Severity', 'critical', 4], ['Severity', 'low', 1], ['Severity', 'medium', 2],
  ];
  for (const [key, value, expected] of CASES) {
    it(`${key}: ${value} → ${expected}`, () => expect(severityOfField(key, value, DEFAULT_MAIL_POLICY)).to.equal(expected));
  }

  it('in a mail: "Event Severity: 4" is medium, "Severity: 4" critical', async () => {
    expect((await notification('Incident ID: 1\nEvent Severity: 4')).severity).to.equal(2);
    expect((await notification('Incident ID: 1\nSeverity: 4')).severity).to.equal(4);
  });
});

describe('SIEM notification mails: roles from the field name', () => {
  it('attacker, source, victim, destination and user fields tag their observables', async () => {
    const a = await notification(
      [
        'Incident ID: 1',
        'Victim: 10.40.8.2',
        'Attacker: 91.243.85.17',
        'Src IP: 45.146.165.38',
        'Dst: 10.40.12.77',
        'Target Host: db-01.corp.example.org',
        'Account: j.doe@example.org',
        'Note: seen from 194.26.29.113',
      ].join('\n'),
    );
    expect(a.observables).to.deep.equal([
      o('ip', '91.243.85.17', ['attacker']),
      o('ip', '45.146.165.38', ['source']),
      o('ip', '10.40.8.2', ['private', 'victim']),
      o('domain', 'db-01.corp.example.org', ['victim']),
      o('ip', '10.40.12.77', ['private', 'destination']),
      o('mail', 'j.doe@example.org', ['user']),
      o('ip', '194.26.29.113'),
    ]);
  });

  it('Russian field names: атакующий, источник, жертва, назначение, пользователь', async () => {
    const a = await notification(
      ['ID инцидента: 2', 'Атакующий: 91.243.85.17', 'IP источника: 45.146.165.38', 'Жертва: 10.40.8.2', 'IP назначения: 10.40.12.77', 'Учётная запись: CORP\\a.ivanov'].join('\n'),
    );
    expect(a.observables).to.deep.equal([
      o('ip', '91.243.85.17', ['attacker']),
      o('ip', '45.146.165.38', ['source']),
      o('ip', '10.40.8.2', ['private', 'victim']),
      o('ip', '10.40.12.77', ['private', 'destination']),
      o('other', 'CORP\\a.ivanov', ['user']),
    ]);
  });

  it('a host named by a victim field never gets the source tag; a private victim stays private', async () => {
    const a = await notification('Incident ID: 3\nHost IP: 10.20.0.5\nSource IP: 193.233.48.91');
    expect(a.observables).to.deep.equal([o('ip', '193.233.48.91', ['source']), o('ip', '10.20.0.5', ['private', 'victim'])]);
  });
});
