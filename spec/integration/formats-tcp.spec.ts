/**
 * Lines relayed by syslog (RFC 3164 and 5424 headers), in the KUMA pipe format and with glued
 * context fields, sent over a real TCP connection to a running serve, end as the very alerts
 * their plain equivalents make: same sourceRef (TheHive sees one alert), same content. Relays that
 * frame by octet counting (RFC 6587: `MSG-LEN SP MSG`, no newline) are read too, with their bounds.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { connect, sendChunked, sleep, startApp, waitFor, type Harness } from '../support/harness.js';
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

  describe('RFC 6587 octet counting', () => {
    const frame = (msg: string): string => `${Buffer.byteLength(msg)} ${msg}`;
    let s: Map<string, string>;
    const get = (id: string): string => s.get(id) as string;
    beforeEach(() => {
      s = new Map(readLineSamples('cybertrace', 'formats.txt').map((x) => [x.id, x.line]));
    });

    it('reads octet-counted frames split anywhere as the alerts of the plain lines, skipping a frame over tcp.maxLineBytes', async () => {
      const plain = [get('P1'), get('P3'), get('P4')];
      h = await startApp({ 'tcp.maxLineBytes': 2048 });
      await sendChunked(h.tcpPort, plain.map((l) => `${l}\n`).join(''), 97);
      await waitFor('3 plain alerts', () => fileAlerts(h).length >= 3);
      const tooLong = `<13>1 2024-10-12T16:16:50Z ct-host cybertrace - - - ${get('P1')} pad=${'x'.repeat(3000)}`;
      const frames = [
        get('S1'), //                                                   P1 behind an RFC 3164 header
        tooLong, //                                                     over the limit: skipped, the rest goes on
        `<14>1 2024-10-12T16:16:50Z ct-host cybertrace - - - ${get('P3')}`, // P3 behind an RFC 5424 header
        `<13>Oct 12 16:16:50 ct-host cybertrace: ${get('G2')}`, //     P4 glued, behind an RFC 3164 header
      ];
      // 5-byte reads: lengths, blanks and multi-byte characters are all cut somewhere.
      await sendChunked(h.tcpPort, frames.map(frame).join(''), 5);
      await waitFor('6 alerts', () => fileAlerts(h).length >= 6);
      const all = fileAlerts(h);
      expect(all).to.have.length(6);
      const first = all.slice(0, 3);
      for (const a of all.slice(3)) {
        const twin = first.find((b) => b.sourceRef === a.sourceRef);
        expect(twin, `twin of ${a.sourceRef}`).to.not.equal(undefined);
        const { date: _da, ...restA } = a;
        const { date: _db, ...restB } = twin as FileAlert;
        expect(restA).to.deep.equal(restB);
      }
      expect(await h.app.telemetry.value('tracehive_lines_too_long_total')).to.equal(1);
      expect(h.logs.some((l) => l.code === 'ERR_FRAME_TOO_LONG')).to.equal(true);
      expect(await h.app.telemetry.value('tracehive_lines_rejected_total')).to.equal(0);
    });

    it('closes a connection at a malformed length after handing on every frame read before it', async () => {
      h = await startApp();
      const socket = await connect(h.tcpPort);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      socket.write(frame(get('S1')) + frame(`<13>1 2024-10-12T16:16:50Z h a - - - ${get('P3')}`) + `12x${get('P4')}`);
      await closed; // tracehive closed it: the peer (a relay) reconnects
      await waitFor('2 alerts', () => fileAlerts(h).length >= 2);
      expect(fileAlerts(h)).to.have.length(2);
      expect(await h.app.telemetry.value('tracehive_tcp_framing_errors_total', { code: 'ERR_FRAME_MALFORMED' })).to.equal(1);
      // A newline-framed connection after it is read as always.
      await sendChunked(h.tcpPort, `${get('P4')}\n`, 64);
      await waitFor('3 alerts', () => fileAlerts(h).length >= 3);
    });

    it('times a frame, not a newline, under tcp.lineTimeoutMs: whole frames go on, a stalled one is cut', async () => {
      h = await startApp({ 'tcp.lineTimeoutMs': 300 });
      const socket = await connect(h.tcpPort);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      const msg = `<13>1 2024-10-12T16:16:50Z h a - - - ${get('P3')}`;
      // Whole frames for three times the limit, none ending in a newline: the connection stays.
      for (let i = 0; i < 9; i++) {
        socket.write(frame(msg));
        await sleep(100);
      }
      await waitFor('9 alerts', () => fileAlerts(h).length >= 9);
      expect(socket.destroyed).to.equal(false);
      expect(await h.app.telemetry.value('tracehive_tcp_line_timeouts_total')).to.equal(0);
      // Half a frame, then silence: cut once the limit is over.
      socket.write(frame(msg).slice(0, 40));
      await closed;
      expect(await h.app.telemetry.value('tracehive_tcp_line_timeouts_total')).to.equal(1);
      expect(fileAlerts(h)).to.have.length(9);
    });
  });
});
