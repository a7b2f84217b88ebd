/**
 * What a notification says (issue 12 point 5): the mail's subject and body, the webhook's JSON,
 * the link to the alert, and that a hostile title cannot forge lines.
 */
import { expect } from 'chai';
import { renderMail, renderWebhook, type Notification } from '../../../src/notify/render.js';

const event = (over: Partial<Notification> = {}): Notification => ({
  sourceRef: 'ct-k0123',
  alertId: '~4096',
  title: 'Malicious URL seen',
  severity: 4,
  previousSeverity: 3,
  sightings: 17,
  firstSeen: Date.UTC(2026, 0, 2, 3, 4, 5),
  lastSeen: Date.UTC(2026, 0, 2, 6, 7, 8),
  organisation: 'SOC',
  iocs: [
    { dataType: 'url', data: 'http://evil.example/x' },
    { dataType: 'ip', data: '203.0.113.9' },
  ],
  ...over,
});

describe('notification rendering', () => {
  it('mails subject, title, severity change, sightings, first/last seen in UTC, organisation, IOCs and the link', () => {
    const mail = renderMail(event(), 'https://hive.example/');
    expect(mail.subject).to.equal('[tracehive] CRITICAL: Malicious URL seen');
    expect(mail.text).to.include('Title: Malicious URL seen');
    expect(mail.text).to.include('Severity: CRITICAL (HIGH → CRITICAL)');
    expect(mail.text).to.include('Sightings: 17');
    expect(mail.text).to.include('First seen: 2026-01-02T03:04:05.000Z');
    expect(mail.text).to.include('Last seen: 2026-01-02T06:07:08.000Z');
    expect(mail.text).to.include('Organisation: SOC');
    expect(mail.text).to.include('  url: http://evil.example/x');
    expect(mail.text).to.include('  ip: 203.0.113.9');
    expect(mail.text).to.include('Open in TheHive: https://hive.example/alerts/~4096/details');
  });

  it('says "new alert" for a new one, and gives no link without an alert id', () => {
    const mail = renderMail(event({ previousSeverity: null, alertId: undefined as unknown as string }), 'https://hive.example');
    expect(mail.text).to.include('Severity: CRITICAL (new alert)');
    expect(mail.text).not.to.include('/alerts/');
  });

  it('lists ten IOCs at most', () => {
    const iocs = Array.from({ length: 14 }, (_, i) => ({ dataType: 'domain', data: `d${i}.example` }));
    const text = renderMail(event({ iocs }), '').text;
    expect(text).to.include('d9.example').and.not.include('d10.example');
    expect(renderWebhook(event({ iocs }), '', 'k').iocs).to.have.length(10);
  });

  it('cannot be made to forge a header or a body line: controls are shown, line breaks become spaces', () => {
    const mail = renderMail(event({ title: 'x\r\nBcc: victim@example.org\u202e', organisation: 'a\nLast seen: never' }), '');
    expect(mail.subject).to.equal('[tracehive] CRITICAL: x  Bcc: victim@example.org<U+202E>');
    expect(mail.text.split('\n').filter((l) => l.startsWith('Last seen:'))).to.have.length(1);
    expect(mail.text).not.to.match(/^Bcc:/m);
  });

  it('gives the webhook the same fields, machine-readable, with the link and the key', () => {
    const body = renderWebhook(event(), 'https://hive.example', 'abc');
    expect(body).to.deep.include({
      key: 'abc',
      sourceRef: 'ct-k0123',
      alertId: '~4096',
      title: 'Malicious URL seen',
      severity: 4,
      severityName: 'CRITICAL',
      previousSeverity: 3,
      sightings: 17,
      firstSeen: '2026-01-02T03:04:05.000Z',
      lastSeen: '2026-01-02T06:07:08.000Z',
      organisation: 'SOC',
      link: 'https://hive.example/alerts/~4096/details',
    });
    expect(renderWebhook(event({ alertId: undefined as unknown as string }), 'https://hive.example', 'abc').link).to.equal(null);
  });
});
