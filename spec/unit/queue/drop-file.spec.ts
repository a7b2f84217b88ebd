/**
 * The drop file format: what `tracehive ingest` writes round-trips, and everything else — in a
 * directory the MTA's group can write — is refused with its reason (issue 11 items 6 and 7).
 */
import { expect } from 'chai';
import { decodeDrop, dropName, encodeDrop, isDropName, DROP_HEADER_MAX } from '../../../src/queue/drop-file.js';

const MAX = 65536;
const raw = Buffer.from('From: a@corp.example\r\nSubject: x\r\n\r\nbody \u00fc\r\n', 'utf8');
const header = (fields: Record<string, unknown>, version: string | number = 1): string =>
  `tracehive-drop/${version} ${JSON.stringify({ receivedAt: '2026-12-04T16:40:33.012Z', via: 'stdin', origin: 'stdin', bytes: raw.length, ...fields })}\n`;
const file = (head: string, body: Buffer = raw): Buffer => Buffer.concat([Buffer.from(head, 'utf8'), body]);

describe('queue/drop-file', () => {
  it('round-trips a mail, byte for byte, with when and where it came from', () => {
    const bytes = encodeDrop({ receivedAt: Date.parse('2026-12-04T16:40:33.012Z'), via: 'file', origin: '/var/mail/in box/a.eml', bytes: 0 }, raw);
    expect(bytes.toString('utf8', 0, 17)).to.equal('tracehive-drop/1 ');
    const decoded = decodeDrop(bytes, MAX);
    expect(decoded.ok).to.equal(true);
    if (!decoded.ok) return;
    expect(decoded.header).to.deep.equal({ receivedAt: Date.parse('2026-12-04T16:40:33.012Z'), via: 'file', origin: '/var/mail/in box/a.eml', bytes: raw.length });
    expect(decoded.mail.equals(raw)).to.equal(true);
  });

  it('names drop files so they sort by receive time, and knows them by name', () => {
    const name = dropName(1_796_402_432_429, 6411, 'e2143a5c7ecc');
    expect(name).to.equal('001796402432429-6411-e2143a5c7ecc.mail');
    expect(isDropName(name)).to.equal(true);
    for (const other of ['001796402432429-6411-e2143a5c7ecc.rec', '.001796402432429-6411-e2143a5c7ecc.mail.tmp', '1796402432429-6411-e2143a5c7ecc.mail', '001796402432429-6411-E2143A5C7ECC.mail', 'rejected']) {
      expect(isDropName(other), other).to.equal(false);
    }
  });

  const refused: [string, Buffer, RegExp][] = [
    ['0.1.0\'s record: a finished alert', Buffer.from('1796402432429\nA{"sourceRef":"mail-x","severity":4}'), /^ERR_DROP_INVALID: no "tracehive-drop\/N \{…\}" header line/],
    ['an empty file', Buffer.alloc(0), /^ERR_DROP_INVALID: no .*header line/],
    ['a header without an end of line within its bound', Buffer.from(`tracehive-drop/1 {"x":"${'y'.repeat(DROP_HEADER_MAX)}"}\n`), /^ERR_DROP_INVALID: no .*header line/],
    ['a newer format', file(header({}, 2)), /^ERR_FORMAT_NEWER: a drop file of format version 2, newer than this tracehive reads \(1\)/],
    ['version 0', file(header({}, 0)), /^ERR_DROP_INVALID: format version 0 does not exist/],
    ['a version that is no number', file(header({}, 'x')), /^ERR_DROP_INVALID: the header line is not/],
    ['a header that is not JSON', file('tracehive-drop/1 {nope}\n'), /^ERR_DROP_INVALID: the header is not JSON/],
    ['a field a drop never has', file(header({ severity: 4, caseTemplate: 'x' })), /^ERR_DROP_INVALID: the header has fields a drop never has: severity, caseTemplate/],
    ['a missing field', file(`tracehive-drop/1 ${JSON.stringify({ via: 'stdin', origin: 'stdin', bytes: raw.length })}\n`), /^ERR_DROP_INVALID: Expected `receivedAt`/],
    ['a receive time that is no ISO time', file(header({ receivedAt: 'yesterday' })), /^ERR_DROP_INVALID: Expected `receivedAt` to be an ISO time/],
    ['a transport ingest does not use', file(header({ via: 'smtp' })), /^ERR_DROP_INVALID: Expected `via` to be "stdin" or "file", got "smtp"/],
    ['an origin with control characters', file(header({ origin: 'a\u001b[31mb' })), /^ERR_DROP_INVALID: Expected `origin`/],
    ['a byte count over the mail size limit', file(header({ bytes: MAX + 1 }), Buffer.alloc(MAX + 1, 'x')), /^ERR_DROP_INVALID: Expected `bytes` to be an integer from 1 to 65536/],
    ['a byte count that is no integer', file(header({ bytes: 1.5 })), /^ERR_DROP_INVALID: Expected `bytes`/],
    ['a mail cut short', file(header({ bytes: raw.length + 5 })), /^ERR_DROP_INVALID: the header says \d+ bytes of mail, the file holds \d+: cut short or tampered with/],
    ['a mail with bytes appended', file(header({}), Buffer.concat([raw, Buffer.from('X-Injected: 1\r\n')])), /^ERR_DROP_INVALID: the header says/],
  ];
  for (const [what, bytes, reason] of refused) {
    it(`refuses ${what}`, () => {
      const decoded = decodeDrop(bytes, MAX);
      expect(decoded.ok).to.equal(false);
      if (!decoded.ok) expect(decoded.reason).to.match(reason);
    });
  }
});
