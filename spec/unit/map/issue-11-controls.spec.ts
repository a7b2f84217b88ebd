/**
 * Issue 11, item 8: control characters (C0, DEL, C1) and bidi controls never reach titles, tags
 * or observables, of detections and of mails; the description shows them visibly, never raw.
 * NUL, ANSI escapes (`ESC[31m`) and a right-to-left override in a file name (`invoice<RLO>fdp.exe`,
 * shown by most viewers as `invoiceexe.pdf`) are the cases an attacker uses.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { alertFromDetection, DEFAULT_POLICY } from '../../../src/map/alert.js';
import { oneLine, percentEncodeControls, visibleControls } from '../../../src/map/controls.js';
import { cleanTags } from '../../../src/map/limits.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail } from '../../../src/parse/email.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { Alert, DetectionRecord } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

const RECEIVED = Date.UTC(2024, 2, 21, 3, 0, 0);
/** C0, DEL, C1, and the bidi embeddings, overrides, isolates and marks of the issue. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const codes = (text: string): string[] => [...text.matchAll(UNSAFE)].map((m) => `U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`);

/** Every unsafe character in a title, a tag or an observable (data and tags), with where it is. */
function unsafeInFields(a: Alert): string[] {
  const found: string[] = [];
  const check = (where: string, text: string): void => void codes(text).forEach((c) => found.push(`${where}: ${c}`));
  check('title', a.title);
  a.tags.forEach((t) => check('tag', t));
  for (const o of a.observables) {
    check(`${o.dataType} data`, o.data);
    (o.tags ?? []).forEach((t) => check(`${o.dataType} tag`, t));
  }
  return found;
}

function detection(line: string): DetectionRecord {
  const parsed = parseLine(line);
  if (!parsed.ok || parsed.value.kind !== 'detection') throw new Error(`Expected a detection, got ${JSON.stringify(parsed)}.`);
  return parsed.value;
}

describe('issue 11: control and bidi characters', () => {
  describe('in a detection', () => {
    const line =
      'category=KL_Malicious_URL\u001b[31m matchedIndicator=evil.top/invoice\u202Efdp.exe threat=HEUR:Trojan\u0000.Win32 ' +
      'src=10.0.0.1 usrName=ad\u2066min\u2069 hostname=ws\u0007-01\u0085 url=http://evil.top/a\u202Eb\u0009c';
    const a = alertFromDetection(detection(line), DEFAULT_POLICY, RECEIVED);

    it('never reach the title, the tags or the observables', () => {
      expect(unsafeInFields(a)).to.deep.equal([]);
    });

    it('are shown as <U+XXXX> there, so the analyst sees the trick; URLs are percent-encoded instead', () => {
      expect(a.title).to.equal('Malicious URL<U+001B>[31m: evil.top/invoice<U+202E>fdp.exe');
      expect(a.tags).to.deep.equal(['cybertrace', 'category:KL_Malicious_URL<U+001B>[31m', 'threat:HEUR:Trojan<U+0000>.Win32']);
      expect(a.observables.map((o) => [o.dataType, o.data])).to.deep.equal([
        // No scheme and no absolute URL of it in the event: `other` (issue 14), so <U+XXXX>, not %-encoded.
        ['other', 'evil.top/invoice<U+202E>fdp.exe'],
        ['ip', '10.0.0.1'],
        ['other', 'ad<U+2066>min<U+2069>'],
        ['hostname', 'ws<U+0007>-01<U+0085>'],
        ['url', 'http://evil.top/a%E2%80%AEb%09c'],
      ]);
    });

    it('are shown visibly in the description, never raw', () => {
      expect(codes(a.description.replaceAll('\n', ''))).to.deep.equal([]);
      expect(a.description).to.include('| matchedIndicator | evil.top/invoice\\<U+202E\\>fdp.exe |');
      expect(a.description).to.include('| threat | HEUR:Trojan\\<U+0000\\>.Win32 |');
      expect(a.description).to.include('threat `HEUR:Trojan<U+0000>.Win32`');
    });
  });

  describe('in a mail', () => {
    const alertOf = async (): Promise<Alert> =>
      alertFromMail(await parseMail(readFileSync(fixturePath('mail', 'controls.eml'))), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);

    it('never reach the title, the tags or the observables', async () => {
      expect(unsafeInFields(await alertOf())).to.deep.equal([]);
    });

    it('the subject, the RLO file name and the URL are made visible', async () => {
      const a = await alertOf();
      expect(a.title).to.equal('<U+001B>[31mURGENT<U+001B>[0m payment<U+009B> due<U+200F>');
      const data = a.observables.map((o) => [o.dataType, o.data, ...(o.tags ?? [])]);
      expect(data).to.deep.include(['mail-subject', '<U+001B>[31mURGENT<U+001B>[0m payment<U+009B> due<U+200F>']);
      expect(data).to.deep.include(['url', 'https://pay-invoice.top/%E2%80%AEkz/0321']);
      expect(data).to.deep.include(['filename', 'invoice<U+202E>fdp.exe']);
      expect(data).to.deep.include(['hash', '18075b2c9f0f300bee209744a8bec353', 'attachment:invoice<U+202E>fdp.exe']);
    });

    it('the description shows them visibly: table, summary and text excerpt', async () => {
      const a = await alertOf();
      expect(codes(a.description.replaceAll('\n', ''))).to.deep.equal([]);
      expect(a.description).to.include('Mail from `Billing<U+202E> <billing@pay-invoice.top>`');
      expect(a.description).to.include('| Attachment | invoice\\<U+202E\\>fdp.exe (application/x-msdownload, 32 bytes,');
      expect(a.description).to.include('| Subject | \\<U+001B\\>\\[31mURGENT\\<U+001B\\>\\[0m payment\\<U+009B\\> due\\<U+200F\\> |');
      expect(a.description).to.include('Pay now: https://pay-invoice.top/<U+202E>kz/0321 or the terminal will beep<U+0007><U+001B>[5m.');
    });
  });

  describe('controls.ts', () => {
    const ONE_LINE: Array<[string, string]> = [
      ['plain', 'plain'],
      ['a\u0000b', 'a<U+0000>b'],
      ['tab\there\r\nnext', 'tab here  next'],
      ['\u001b[31mred\u001b[0m', '<U+001B>[31mred<U+001B>[0m'],
      ['del\u007f c1\u0085\u009f', 'del<U+007F> c1<U+0085><U+009F>'],
      ['\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069', '<U+061C><U+200E><U+200F><U+202A><U+202B><U+202C><U+202D><U+202E><U+2066><U+2067><U+2068><U+2069>'],
      // Not controls: no-break space, zero-width joiner (emoji), Arabic and Hebrew letters.
      ['a\u00a0b \u200d \u0627 \u05d0', 'a\u00a0b \u200d \u0627 \u05d0'],
    ];
    for (const [input, output] of ONE_LINE) it(`oneLine(${JSON.stringify(input)}) = ${JSON.stringify(output)}`, () => expect(oneLine(input)).to.equal(output));

    it('percentEncodeControls encodes as UTF-8, as a browser sends it; visibleControls keeps what it is told to', () => {
      expect(percentEncodeControls('http://x.top/a\u202eb\tc\u0000')).to.equal('http://x.top/a%E2%80%AEb%09c%00');
      expect(visibleControls('a\tb\r\nc\u0007', '\t\r\n')).to.equal('a\tb\r\nc<U+0007>');
    });

    it('cleanTags: a tag that differs only by a control character stays distinct, and visible', () => {
      expect(cleanTags(['threat:x', 'threat:x\u202e', ' \u0000 '])).to.deep.equal(['threat:x', 'threat:x<U+202E>', '<U+0000>']);
    });
  });
});
