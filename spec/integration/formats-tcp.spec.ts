/**
 * Lines relayed by syslog (RFC 3164 and 5424 headers), in the KUMA pipe format and with glued
 * context fields, sent over a real TCP connection to a running serve, end as the very alerts
 * their plain equivalents make: same sourceRef (TheHive sees one alert), same content.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { sendChunked, startApp, waitFor, type Harness } from '../support/harness.js';
import { readLineSamples } from '../support/fixtures.js';

type FileAlert = Record<string, unknown> & { sourceRef: string; date: number };

function fileAlerts(h: Harness): FileAlert[] {
  const path = h.app.config.file.path;
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').slice(0, -1).map((l) => JSON.parse(l) as FileAlert);
}

describe('other recipes and relayed lines over TCP (real socket, file sink)', function () {
  let h: Harness;
  afterEach(async () => {
    await h?.stop();
  });

  it('makes the same alerts from framed, KUMA and glued lines as from the plain lines', async () => {
    const s = new Map(readLineSamples('cybertrace', 'formats.txt').map((x) => [x.id, x.line]));
    const get = (id: string): string => s.get(id) as string;
    const plain = [get('P1'), get('P3'), get('P4')];
    const variants = [
      get('S1'), //                                     P1 behind an RFC 3164 header
      get('K2'), //                                     P3 in the KUMA pipe format
      `<13>1 2024-10-12T16:16:50Z ct-host cybertrace - - - ${get('G2')}`, // P4 glued, behind an RFC 5424 header
    ];
    h = await startApp();
    await sendChunked(h.tcpPort, plain.map((l) => `${l}\n`).join(''), 97);
    await waitFor('3 plain alerts', () => fileAlerts(h).length >= 3);
    await sendChunked(h.tcpPort, variants.map((l) => `${l}\r\n`).join(''), 61);
    await waitFor('6 alerts', () => fileAlerts(h).length >= 6);
    const all = fileAlerts(h);
    const first = all.slice(0, 3);
    const second = all.slice(3);
    expect(new Set(second.map((a) => a.sourceRef))).to.deep.equal(new Set(first.map((a) => a.sourceRef)));
    for (const a of second) {
      const twin = first.find((b) => b.sourceRef === a.sourceRef) as FileAlert;
      // P3 and K2 carry no date of their own: each is dated when it was received.
      const { date: da, ...restA } = a;
      const { date: db, ...restB } = twin;
      expect(restA).to.deep.equal(restB);
      if (!String(twin.title).startsWith('IP Reputation')) expect(da).to.equal(db);
    }
    expect(await h.app.telemetry.value('tracehive_glued_fields_total')).to.equal(8);
    expect(h.logs.some((l) => l.level === 40 && String(l.msg).includes('RecordFieldContextFormat'))).to.equal(true);
    expect(await h.app.telemetry.value('tracehive_lines_rejected_total', { code: 'ERR_KV_NO_CATEGORY' })).to.equal(0);
  });
});
