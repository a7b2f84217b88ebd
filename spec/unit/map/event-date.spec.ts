import { expect } from 'chai';
import fc from 'fast-check';
import { parseEventDate } from '../../../src/map/event-date.js';

// Expected values come from local-time Date constructors, so these pass in every TZ.
const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number =>
  new Date(y, mo - 1, d, h, mi, s, ms).getTime();

describe('map/event-date', () => {
  describe('Mon DD HH:MM:SS (local time, year inferred)', () => {
    const received = local(2024, 10, 12, 16, 20, 0);
    const table: Array<[string, number, number | null]> = [
      ['Oct 12 16:14:02', received, local(2024, 10, 12, 16, 14, 2)],
      ['Apr  6 09:05:41', received, local(2024, 4, 6, 9, 5, 41)], // syslog space-padded day
      ['Apr 6 09:05:41', received, local(2024, 4, 6, 9, 5, 41)],
      ['oct 12 16:14:02', received, local(2024, 10, 12, 16, 14, 2)],
      ['  Oct 12 16:14:02  ', received, local(2024, 10, 12, 16, 14, 2)],
      ['Oct 12 16:14:02.250', received, local(2024, 10, 12, 16, 14, 2)],
      // Dec 31 received on Jan 1 is last year's
      ['Dec 31 23:59:50', local(2025, 1, 1, 0, 0, 5), local(2024, 12, 31, 23, 59, 50)],
      // CyberTrace's clock a little ahead across New Year: next year's, within the day of tolerance
      ['Jan  1 00:00:05', local(2024, 12, 31, 23, 59, 58), local(2025, 1, 1, 0, 0, 5)],
      // up to one day ahead is clock skew and stays this year
      ['Oct 13 16:00:00', received, local(2024, 10, 13, 16, 0, 0)],
      // more than one day ahead: last year's date
      ['Oct 13 16:20:01', received, local(2023, 10, 13, 16, 20, 1)],
      ['Nov  1 00:00:00', received, local(2023, 11, 1, 0, 0, 0)],
      // Feb 29 exists in 2024 only; in 2025 it is last year's if ahead, else no date at all
      ['Feb 29 12:00:00', local(2024, 3, 1, 0, 0, 0), local(2024, 2, 29, 12, 0, 0)],
      ['Feb 29 12:00:00', local(2025, 1, 10, 0, 0, 0), local(2024, 2, 29, 12, 0, 0)],
      ['Feb 29 12:00:00', local(2025, 3, 5, 0, 0, 0), null],
      ['Feb 30 12:00:00', received, null],
      ['Foo 12 16:14:02', received, null],
      ['Oct 12 24:00:00', received, null],
      ['Oct 12 16:60:00', received, null],
      ['Oct 12 15:59:60', received, local(2024, 10, 12, 15, 59, 59)], // leap second stays in its minute
      ['Oct 12 16:14:61', received, null],
      ['Oct 32 16:14:02', received, null],
    ];
    for (const [text, at, expected] of table) {
      it(`${JSON.stringify(text)} received ${new Date(at).toString()} → ${expected === null ? 'null' : new Date(expected).toString()}`, () => {
        expect(parseEventDate(text, at)).to.equal(expected);
      });
    }
  });

  describe('ISO-8601 and DD.MM.YYYY', () => {
    const received = local(2024, 10, 12, 16, 20, 0);
    const table: Array<[string, number | null]> = [
      ['2024-10-12T16:14:02Z', Date.UTC(2024, 9, 12, 16, 14, 2)],
      ['2024-10-12T16:14:02.123Z', Date.UTC(2024, 9, 12, 16, 14, 2, 123)],
      ['2024-10-12 16:14:02,5z', Date.UTC(2024, 9, 12, 16, 14, 2, 500)],
      ['2024-10-12T16:14:02+03:00', Date.UTC(2024, 9, 12, 13, 14, 2)],
      ['2024-10-12T16:14:02-0530', Date.UTC(2024, 9, 12, 21, 44, 2)],
      ['2024-10-12T16:14+03', Date.UTC(2024, 9, 12, 13, 14, 0)],
      ['2024-10-12T16:14:02', local(2024, 10, 12, 16, 14, 2)], // no zone: local time
      ['2024-10-12t16:14:02', local(2024, 10, 12, 16, 14, 2)],
      ['2024-10-12  16:14:02', local(2024, 10, 12, 16, 14, 2)], // a blank run instead of T
      ['2024-10-12', local(2024, 10, 12)],
      ['12.10.2024 16:14', local(2024, 10, 12, 16, 14)],
      ['12.10.2024 16:14:02', local(2024, 10, 12, 16, 14, 2)],
      ['1.2.2024', local(2024, 2, 1)],
      ['2024-02-30T00:00:00Z', null],
      ['2024-13-01T00:00:00', null],
      ['31.04.2024 10:00', null],
      ['2024-10-12T16:14:02+25:00', null],
      ['1969-12-31T23:59:59Z', null],
      // an explicit year cannot be moved back: more than a day ahead is unusable
      ['2024-10-16T00:00:00Z', null],
      ['01.01.2030 00:00', null],
      ['', null],
      ['-', null],
      ['yesterday', null],
      ['1728749642', null],
    ];
    for (const [text, expected] of table) {
      it(`${JSON.stringify(text)} → ${expected === null ? 'null' : new Date(expected).toISOString()}`, () => {
        expect(parseEventDate(text, received)).to.equal(expected);
      });
    }
  });

  it('reads a time without an offset at the offset it is given (the zone of a mail\'s Date:); an explicit zone wins', () => {
    const received = Date.UTC(2024, 2, 20);
    expect(parseEventDate('14.03.2024 13:55:00', received, 300)).to.equal(Date.UTC(2024, 2, 14, 8, 55, 0));
    expect(parseEventDate('2024-03-14 13:55:00', received, 300)).to.equal(Date.UTC(2024, 2, 14, 8, 55, 0));
    expect(parseEventDate('2024-03-14T13:55:00Z', received, 300)).to.equal(Date.UTC(2024, 2, 14, 13, 55, 0));
    expect(parseEventDate('2024-03-14T13:55:00-02:00', received, 300)).to.equal(Date.UTC(2024, 2, 14, 15, 55, 0));
    expect(parseEventDate('14.03.2024 13:55:00', received, -210)).to.equal(Date.UTC(2024, 2, 14, 17, 25, 0));
  });

  it('is null without a date text', () => {
    expect(parseEventDate(null, Date.now())).to.equal(null);
  });

  // The last syslog stamp's answer is kept for the next line that has the same stamp (issue 15):
  // asked again at any receive time, it must answer as a first reading does.
  it('answers a syslog stamp asked again, at another receive time, as it answers it the first time', () => {
    const stamps = ['Dec 31 23:59:50', 'Jan  1 00:00:05', 'Feb 29 12:00:00', 'Oct 13 16:20:01', 'Mar  1 00:00:00', 'Feb 30 12:00:00'];
    // Receive times around the turns that change the answer: New Year, a day after each stamp, Feb 29.
    const turns = [local(2024, 1, 1), local(2024, 12, 31), local(2025, 1, 1), local(2024, 10, 12, 16, 20, 1), local(2024, 2, 28, 12), local(2025, 2, 28, 12), local(2023, 12, 30, 23, 59, 50)];
    const at = fc.tuple(fc.constantFrom(...turns), fc.integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 })).map(([t, d]) => t + d);
    const fresh = (text: string, receivedAt: number): number | null => {
      parseEventDate('2001-02-03T04:05:06Z', receivedAt); // another text: nothing kept is reused
      parseEventDate('Jun  6 06:06:06', receivedAt);
      return parseEventDate(text, receivedAt);
    };
    fc.assert(
      fc.property(fc.constantFrom(...stamps), fc.array(at, { minLength: 2, maxLength: 8 }), (text, times) => {
        const first = fresh(text, times[0] as number);
        for (const t of times) expect(parseEventDate(text, t), `${text} at ${new Date(t).toString()}`).to.equal(fresh(text, t));
        expect(first).to.equal(fresh(text, times[0] as number));
      }),
      { numRuns: 2000 },
    );
  });
});
