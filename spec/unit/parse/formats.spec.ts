/**
 * CyberTrace's other recipes (KUMA pipes, QRadar LEEF 1.0/2.0), relayed lines (RFC 3164/5424
 * syslog headers), glued context fields and the 5.0 `event_name=` naming, each mapped end to end
 * next to its plain equivalent in spec/fixtures/cybertrace/formats.txt: an analyst must get the
 * same alert whichever way the event came, and a re-sent event must land on the alert it made.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { DEFAULT_POLICY, alertFromRecord } from '../../../src/map/alert.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { Alert, CyberTraceRecord } from '../../../src/types.js';
import { readLineSamples } from '../../support/fixtures.js';

const RECEIVED = new Date(2024, 9, 12, 18, 0, 0).getTime();

function record(line: string): CyberTraceRecord {
  const parsed = parseLine(line);
  if (!parsed.ok) throw new Error(`refused: ${parsed.code}: ${parsed.detail}`);
  return parsed.value;
}

function alertOf(line: string): Alert {
  const alert = alertFromRecord(record(line), { ...DEFAULT_POLICY, serviceAlerts: 'alert' }, RECEIVED);
  if (alert === null) throw new Error('no alert');
  return alert;
}

/** The ref as contract §4 defines it (sha256 of the plain line), computed without src/map/source-ref.ts. */
function refOf(plain: string): string {
  return 'ct-' + createHash('sha256').update(plain, 'utf8').digest('hex').slice(0, 20);
}

describe('parse: other recipes and relayed lines map like their plain equivalent (formats.txt)', () => {
  const samples = readLineSamples('cybertrace', 'formats.txt');
  const plain = new Map(samples.filter((s) => s.id.startsWith('P')).map((s) => [s.id, s.line]));

  it('has a plain twin for every variant', () => {
    const variants = samples.filter((s) => /^[=~]P\d/.test(s.description));
    expect(variants.length).to.be.at.least(15);
    for (const v of variants) expect(plain.has(v.description.slice(1, 3)), v.id).to.equal(true);
  });

  for (const { id, description, line } of samples) {
    const twin = /^([=~])(P\d)/.exec(description);
    if (twin === null) continue;
    it(`${id} ${description}`, () => {
      const base = plain.get(twin[2] as string) as string;
      const want = alertOf(base);
      const got = alertOf(line);
      expect(got.title).to.equal(want.title);
      expect(got.severity).to.equal(want.severity);
      expect(got.tags).to.deep.equal(want.tags);
      expect(got.observables).to.deep.equal(want.observables);
      if (twin[1] === '=') {
        expect(got.sourceRef, 'the same alert as the plain line').to.equal(refOf(base));
        expect(got.sourceRef).to.equal(want.sourceRef);
        expect(got.description).to.equal(want.description);
      } else {
        // Only the key's name differs: an alert of its own, hashed as received (as before this release).
        expect(got.sourceRef).to.equal(refOf(line));
      }
    });
  }

  it('takes the date of the payload, else of the syslog header, else the receive time', () => {
    const byId = new Map(samples.map((s) => [s.id, s.line]));
    const dateOf = (id: string): number => alertOf(byId.get(id) as string).date;
    expect(dateOf('S2'), 'payload date, not the header one').to.equal(new Date(2024, 9, 12, 16, 14, 2).getTime());
    expect(dateOf('K3'), 'no payload date: the relay header').to.equal(new Date(2024, 9, 12, 16, 14, 5).getTime());
    expect(dateOf('K1'), 'no date at all').to.equal(RECEIVED);
  });

  it('says which recipe and which relay a line came in, and how many fields were glued', () => {
    const byId = new Map(samples.map((s) => [s.id, s.line]));
    const rec = (id: string): CyberTraceRecord => record(byId.get(id) as string);
    expect(rec('K1').format).to.equal('kuma');
    expect(rec('L2').format).to.equal('leef');
    expect(rec('L5')).to.include({ format: 'leef', framing: 'rfc5424' });
    expect(rec('S1')).to.include({ format: 'kv', framing: 'rfc3164' });
    expect(rec('S4').framing).to.equal('rfc5424');
    expect(rec('G1').glued).to.equal(6);
    expect(rec('G2').glued).to.equal(8);
    expect(rec('N1').glued).to.equal(undefined);
    expect(rec('P1').glued).to.equal(undefined);
  });

  it('never splits a correct line: URL parameters and feed keys stay whole', () => {
    const byId = new Map(samples.map((s) => [s.id, s.line]));
    const n1 = record(byId.get('N1') as string);
    expect(n1.line).to.equal(byId.get('N1'));
    expect(n1.pairs.find((p) => p.key === 'url')?.value).to.equal('http://fakess123.nu/v?clip=1&type=2');
  });
});

describe('parse: syslog headers that are not quite', () => {
  it('parses a line whose <PRI> is out of range or has no date as it is', () => {
    const line = '<192>Oct 12 16:14:05 host tag: category=KL_X matchedIndicator=a.example';
    const rec = record(line);
    expect(rec.framing).to.equal(undefined);
    expect(rec.line).to.equal(line);
  });

  it('refuses a 5424 header with unterminated structured data as the plain line it then is not', () => {
    const r = parseLine('<13>1 2024-10-12T16:14:05Z h a - - [x a="1" category=KL_X');
    expect(r.ok && r.value.framing).to.not.equal('rfc5424');
  });

  it('gives ERR_LINE_EMPTY for a header with nothing after it', () => {
    const r = parseLine('<13>Oct 12 16:14:05 host tag:');
    expect(r.ok ? 'ok' : r.code).to.equal('ERR_LINE_EMPTY');
  });

  it('gives ERR_LEEF_MALFORMED for a LEEF header cut short', () => {
    const r = parseLine('LEEF:1.0|Kaspersky Lab|CyberTrace|4.4');
    expect(r.ok ? 'ok' : r.code).to.equal('ERR_LEEF_MALFORMED');
  });
});
