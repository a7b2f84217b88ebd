/**
 * RFC 6587 octet counting: which connections are told octet-counted from their first bytes, and
 * that the frames come out the same however the stream is split into reads (every byte boundary,
 * and random splits), with too-long, malformed and truncated frames reported in place.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { OctetFrameDecoder, sniffFraming, type FrameEvent } from '../../../src/sources/octet-frames.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const frame = (msg: string): string => `${Buffer.byteLength(msg)} ${msg}`;

/** Every event of `stream` fed to a decoder in the given chunks, then ended. */
function decode(stream: Buffer, cuts: readonly number[], max = 1000): FrameEvent[] {
  const d = new OctetFrameDecoder(max);
  const events: FrameEvent[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    events.push(...d.push(stream.subarray(from, cut)));
    from = cut;
  }
  events.push(...d.push(stream.subarray(from)), ...d.end());
  return events;
}

const MSG1 = '<13>Dec  5 10:00:00 ct-host cybertrace: category=KL_Malicious_URL matchedIndicator=bad.test url=http://bad.test/';
const MSG2 = '<13>1 2026-12-05T10:00:00Z ct-host cybertrace - - - category=KL_IP_Reputation matchedIndicator=10.0.0.1 ip=10.0.0.1 context=«ü»';

describe('sources/octet-frames', () => {
  describe('sniffFraming', () => {
    it('tells octet counting by digits, a blank and `<`, and waits while the head does not tell', () => {
      expect(sniffFraming(bytes('123 <13>Dec'))).to.equal('octet');
      expect(sniffFraming(bytes('1'))).to.equal(undefined);
      expect(sniffFraming(bytes('123'))).to.equal(undefined);
      expect(sniffFraming(bytes('123 '))).to.equal(undefined);
      expect(sniffFraming(bytes(''))).to.equal(undefined);
    });

    it('leaves every other start newline framed', () => {
      for (const head of ['category=KL_Malicious_URL', '<13>Dec  5', '2024-10-12 16:16:50 category=x', '12 Oct', '123x <', '12345678901 <13>', 'LEEF:1.0|', ' 12 <']) {
        expect(sniffFraming(bytes(head)), head).to.equal('newline');
      }
    });
  });

  describe('OctetFrameDecoder', () => {
    const stream = bytes(frame(MSG1) + frame(MSG2) + frame(`${MSG1}\n`));
    const expected: FrameEvent[] = [
      { kind: 'frame', text: MSG1 },
      { kind: 'frame', text: MSG2 },
      { kind: 'frame', text: MSG1 },
    ];

    it('gives the same frames with the stream split at every byte boundary', () => {
      for (let cut = 0; cut <= stream.length; cut++) expect(decode(stream, [cut]), `cut at ${cut}`).to.deep.equal(expected);
      // One byte per read: every boundary at once, a multi-byte character split too.
      expect(decode(stream, Array.from({ length: stream.length }, (_, i) => i))).to.deep.equal(expected);
    });

    it('gives the same frames for any split of any frames (property)', () => {
      const text = fc.string({ maxLength: 60, unit: 'grapheme' });
      fc.assert(
        fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (msgs, rawCuts) => {
          const whole = Buffer.concat(msgs.map((m) => bytes(frame(`<13>${m}`))));
          const cuts = rawCuts.map((c) => c % (whole.length + 1));
          const texts = decode(whole, cuts).map((e) => (e.kind === 'frame' ? e.text : e.kind));
          expect(texts).to.deep.equal(msgs.map((m) => `<13>${m}`.replace(/\r?\n$/, '')));
        }),
      );
    });

    it('skips a frame longer than the limit and reads the next one', () => {
      const long = `<13>${'x'.repeat(200)}`;
      const s = bytes(frame(MSG1) + frame(long) + frame(MSG2));
      for (let cut = 0; cut <= s.length; cut += 7) {
        expect(decode(s, [cut], 150)).to.deep.equal([{ kind: 'frame', text: MSG1 }, { kind: 'too_long', length: 204 }, { kind: 'frame', text: MSG2 }]);
      }
    });

    it('reads newlines between frames as no data, as some relays send them', () => {
      expect(decode(bytes(`${frame(MSG1)}\r\n${frame(MSG2)}\n`), [])).to.deep.equal([{ kind: 'frame', text: MSG1 }, { kind: 'frame', text: MSG2 }]);
    });

    it('stops at a malformed length, after handing on the frames before it', () => {
      const cases: [string, string][] = [
        ['x', 'byte 0x78 where MSG-LEN starts'],
        ['12x', 'byte 0x78 after MSG-LEN 12, not a blank'],
        ['12345678901 ', 'MSG-LEN has more than 10 digits'],
        ['0 ', 'MSG-LEN is 0'],
      ];
      for (const [bad, detail] of cases) {
        const events = decode(bytes(`${frame(MSG1)}${bad}${frame(MSG2)}`), []);
        expect(events, bad).to.deep.equal([{ kind: 'frame', text: MSG1 }, { kind: 'malformed', detail }]);
      }
    });

    it('reports a stream that ends inside a frame, and only then', () => {
      const s = bytes(frame(MSG1));
      expect(decode(s.subarray(0, 2), [])).to.deep.equal([{ kind: 'truncated', have: 2, length: null }]);
      expect(decode(s.subarray(0, 20), [])).to.deep.equal([{ kind: 'truncated', have: 16, length: Buffer.byteLength(MSG1) }]);
      expect(decode(s, [])).to.deep.equal([{ kind: 'frame', text: MSG1 }]);
    });

    it('is at a boundary only between frames', () => {
      const d = new OctetFrameDecoder(1000);
      expect(d.atBoundary).to.equal(true);
      d.push(bytes('3'));
      expect(d.atBoundary).to.equal(false);
      d.push(bytes(' <1'));
      expect(d.atBoundary).to.equal(false);
      d.push(bytes('>'));
      expect(d.atBoundary).to.equal(true);
    });
  });
});
