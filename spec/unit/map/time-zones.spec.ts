/**
 * A SIEM's time zone per sender domain (issue 13 point 4, `email.timeZones`): a notification time
 * without an offset is read in the zone configured for its sender's domain (exact or a parent),
 * before the mail's own `Date:` offset; an explicit offset or `Z` in the time wins over both. A
 * zone that is not one is a configuration error naming the key and the domain.
 */
import { expect } from 'chai';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { mailPolicyOf } from '../../../src/app-options.js';
import { loadConfig } from '../../../src/config.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY, type MailPolicy } from '../../../src/map/mail-policy.js';
import { zoneForSender } from '../../../src/map/time-zones.js';
import { parseMail } from '../../../src/parse/email.js';

const RECEIVED = Date.UTC(2024, 6, 2, 12, 0, 0);

/** A SIEM notification sent by a mail server whose `Date:` says +0000 (a relay in UTC), not the SIEM's zone. */
async function dateOf(from: string, time: string, timeZones: Readonly<Record<string, string>> = {}): Promise<number> {
  const mail = `From: ${from}\r\nSubject: Incident\r\nDate: Tue, 02 Jul 2024 10:00:00 +0000\r\n\r\nIncident ID: 4711\r\nIncident time: ${time}\r\nSeverity: High\r\n`;
  const policy: MailPolicy = { ...DEFAULT_MAIL_POLICY, timeZones };
  return (await alertFromMail(await parseMail(Buffer.from(mail)), DEFAULT_POLICY, policy, RECEIVED)).date;
}

function failure(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('map: a SIEM time zone per sender domain (email.timeZones)', () => {
  it('without it, a time without an offset is read in the Date: offset, as before', async () => {
    expect(await dateOf('siem@kuma.example.kz', '2024-07-02 13:55:10')).to.equal(Date.UTC(2024, 6, 2, 13, 55, 10));
  });

  it('a fixed offset for the sender domain wins over the Date: offset', async () => {
    expect(await dateOf('siem@kuma.example.kz', '2024-07-02 13:55:10', { 'kuma.example.kz': '+05:00' })).to.equal(Date.UTC(2024, 6, 2, 8, 55, 10));
  });

  it('a parent domain matches, the most specific entry wins, and an IANA zone follows its summer time', async () => {
    const zones = { 'example.de': 'Europe/Berlin', 'siem.example.de': '+03:00' };
    // Berlin in July is +02:00 (CEST), in January +01:00.
    expect(await dateOf('alerts@soc.example.de', '2024-07-02 13:55:10', zones)).to.equal(Date.UTC(2024, 6, 2, 11, 55, 10));
    expect(await dateOf('alerts@soc.example.de', '02.01.2024 13:55', zones)).to.equal(Date.UTC(2024, 0, 2, 12, 55, 0));
    expect(await dateOf('qradar@siem.example.de', '2024-07-02 13:55:10', zones)).to.equal(Date.UTC(2024, 6, 2, 10, 55, 10));
    // A domain that only ends with the name is not below it.
    expect(await dateOf('x@notexample.de', '2024-07-02 13:55:10', zones)).to.equal(Date.UTC(2024, 6, 2, 13, 55, 10));
  });

  it('an explicit offset or Z in the time wins over both', async () => {
    const zones = { 'kuma.example.kz': 'Asia/Almaty' };
    expect(await dateOf('siem@kuma.example.kz', '2024-07-02T13:55:10Z', zones)).to.equal(Date.UTC(2024, 6, 2, 13, 55, 10));
    expect(await dateOf('siem@kuma.example.kz', '2024-07-02T13:55:10+03:00', zones)).to.equal(Date.UTC(2024, 6, 2, 10, 55, 10));
  });

  it('matches domains in any case, with or without a trailing dot', () => {
    expect(zoneForSender('SIEM@Kuma.Example.KZ', { 'example.kz.': '+05:00' })).to.equal('+05:00');
    expect(zoneForSender(null, { 'example.kz': '+05:00' })).to.equal(undefined);
  });

  it('config: email.timeZones (domain=zone, from a file or TRACEHIVE_EMAIL_TIME_ZONES, comma-separated) reaches the mapper', () => {
    const fromEnv = loadConfig({ env: { TRACEHIVE_EMAIL_TIME_ZONES: 'kuma.example.kz=Asia/Almaty, example.org=-03:30' }, useDefaultFile: false });
    expect(mailPolicyOf(fromEnv).timeZones).to.deep.equal({ 'kuma.example.kz': 'Asia/Almaty', 'example.org': '-03:30' });
    const fromFile = loadConfig({ env: {}, useDefaultFile: false, overrides: { email: { timeZones: ['siem.example.de=Europe/Berlin'] } } });
    expect(mailPolicyOf(fromFile).timeZones).to.deep.equal({ 'siem.example.de': 'Europe/Berlin' });
    expect(loadConfig({ env: {}, useDefaultFile: false }).email.timeZones).to.deep.equal([]);
  });

  it('config: a zone that is not one fails at load, naming the key and the domain', () => {
    const bad = failure(() => loadConfig({ env: {}, useDefaultFile: false, overrides: { email: { timeZones: ['kuma.example.kz=Asia/Almatty'] } } }));
    expect(bad.message).to.include('email.timeZones').and.include('kuma.example.kz').and.include('Asia/Almatty');
    expect((bad as Error & { code?: string }).code).to.equal('ERR_CONFIG_INVALID');
    const offset = failure(() => loadConfig({ env: { TRACEHIVE_EMAIL_TIME_ZONES: 'example.org=+25:00' }, useDefaultFile: false }));
    expect(offset.message).to.include('TRACEHIVE_EMAIL_TIME_ZONES').and.include('example.org');
    const noZone = failure(() => loadConfig({ env: { TRACEHIVE_EMAIL_TIME_ZONES: 'example.org' }, useDefaultFile: false }));
    expect(noZone.message).to.include('email.timeZones').and.include('example.org');
  });
});
