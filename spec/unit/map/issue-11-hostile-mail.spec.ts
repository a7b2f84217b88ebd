/**
 * Issue 11, hostile mails: text a sender controls never turns into markdown in the description,
 * mails without a Message-ID never share a sourceRef, and the SMTP envelope is recorded.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY } from '../../../src/map/alert.js';
import { alertFromMail } from '../../../src/map/mail-alert.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';
import { parseMail, type MailLimits } from '../../../src/parse/email.js';
import type { Alert } from '../../../src/types.js';
import { fixturePath } from '../../support/fixtures.js';

const RECEIVED = Date.UTC(2024, 2, 20, 6, 0, 0);
const HOSTILE = '[Click to verify](http://x.example) <img onerror=alert(1)>.eml';

async function alertOf(name: string, limits: Partial<MailLimits> = {}): Promise<Alert> {
  return alertFromMail(await parseMail(readFileSync(fixturePath('mail', name)), limits), DEFAULT_POLICY, DEFAULT_MAIL_POLICY, RECEIVED);
}

/**
 * Markdown that would render as a link, an image or raw HTML: an unescaped `](`, `<tag` or `![`
 * outside code (fenced blocks and code spans show their text literally).
 */
function liveMarkdown(description: string): string[] {
  const text = description.replace(/^(`{3,})\n[\s\S]*?\n\1$/gm, '').replace(/(`+)[\s\S]*?\1/g, '');
  return [...text.matchAll(/(?<!\\)\]\(|(?<!\\)<[A-Za-z/]|(?<!\\)!\[/g)].map((m) => text.slice(Math.max(0, m.index - 20), m.index + 20));
}

describe('issue 11: hostile mails', () => {
  describe('every text of a mail in the description is markdown-inert', () => {
    it('a parser warning quoting a forwarded attachment name is escaped', async () => {
      // email.maxDepth=0: the forwarded mail is not parsed, and the warning names it.
      const a = await alertOf('hostile-names.eml', { maxDepth: 0 });
      expect(a.description).to.include(
        '_A forwarded mail (\\[Click to verify\\](http://x.example) \\<img onerror=alert(1)\\>.eml) at depth 1 was not parsed (maxDepth 0)._',
      );
      expect(liveMarkdown(a.description)).to.deep.equal([]);
    });

    it('names and subjects of forwarded mails are escaped in the table', async () => {
      const a = await alertOf('hostile-names.eml');
      expect(a.description).to.include(`| Attachment | ${HOSTILE.replace(/[[\]<>]/g, '\\$&')} (message/rfc822, `);
      expect(a.description).to.include('\\[Verify now\\](http://verify-account.top/login) \\<b\\>today\\</b\\>');
      expect(liveMarkdown(a.description)).to.deep.equal([]);
    });
  });
});
