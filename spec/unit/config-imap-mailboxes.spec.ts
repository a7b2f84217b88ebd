/**
 * Issue 14 point 2: `email.imap.mailboxes` as an operator sets it — what each entry inherits, the
 * sources it becomes, the targets it names, and the errors a wrong entry gets at load.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imapOptionsOf } from '../../src/app-options.js';
import { loadConfig, redactedConfig } from '../../src/config.js';
import { mailboxTargets } from '../../src/config-imap-mailboxes.js';
import { startWarnings } from '../../src/config-warnings.js';
import { failure } from '../support/config-failure.js';

// The targets the entries name exist in thehive.targets (config-targets.spec.ts tests a mailbox naming one that does not).
const BASE = { TRACEHIVE_IMAP_ENABLED: 'true', TRACEHIVE_IMAP_HOST: 'mail.corp.example', TRACEHIVE_IMAP_USER: 'soc', TRACEHIVE_IMAP_PASSWORD: 'base-secret', TRACEHIVE_SPOOL_DIR: 'spool', THEHIVE_URL: 'https://thehive.example:9000', THEHIVE_API_KEY: 'k', THEHIVE_TARGETS: JSON.stringify({ 'tenant-a': { organisation: 'a' }, 'tenant-b': { organisation: 'b' } }) };
const load = (mailboxes: unknown, env: Record<string, string> = {}) =>
  loadConfig({ env: { ...BASE, TRACEHIVE_IMAP_MAILBOXES: typeof mailboxes === 'string' ? mailboxes : JSON.stringify(mailboxes), ...env }, useDefaultFile: false });

describe('config: several IMAP mailboxes (email.imap.mailboxes, issue 14)', () => {
  it('none set: the one mailbox of email.imap.mailbox, as before (its state keyed as earlier releases read it)', () => {
    const [only, ...rest] = imapOptionsOf(loadConfig({ env: BASE, useDefaultFile: false }));
    expect(rest).to.deep.equal([]);
    expect(only).to.include({ host: 'mail.corp.example', user: 'soc', password: 'base-secret', mailbox: 'INBOX', doneMailbox: '', legacyState: true, configKey: 'email.imap' });
    expect(only).to.not.have.property('target');
    expect(only).to.not.have.property('role');
    expect(imapOptionsOf(loadConfig({ env: { ...BASE, TRACEHIVE_IMAP_ENABLED: 'false' }, useDefaultFile: false }))).to.deep.equal([]);
  });

  it('one source per entry: unset keys come from email.imap.*, its own role and target go on its mails', () => {
    const config = load([
      { mailbox: 'INBOX/tenant-a', target: 'tenant-a' },
      { name: 'b', mailbox: 'INBOX/tenant-b', doneMailbox: 'Done/b', role: 'notifications', target: 'tenant-b', port: 143, user: 'soc-b', password: 'b-secret' },
      { mailbox: 'INBOX', host: 'imap.tenant-c.example', user: 'c', password: 'c-secret' },
    ]);
    const [a, b, c] = imapOptionsOf(config);
    expect(a).to.include({ host: 'mail.corp.example', port: 993, user: 'soc', password: 'base-secret', mailbox: 'INBOX/tenant-a', doneMailbox: '', target: 'tenant-a', legacyState: true, configKey: 'email.imap.mailboxes[0]' });
    expect(a).to.not.have.property('role');
    expect(b).to.include({ port: 143, user: 'soc-b', password: 'b-secret', mailbox: 'INBOX/tenant-b', doneMailbox: 'Done/b', target: 'tenant-b', legacyState: false });
    expect(b?.role).to.deep.equal({ value: 'notifications', key: 'email.imap.mailboxes[1].role' });
    expect(c).to.include({ host: 'imap.tenant-c.example', user: 'c', password: 'c-secret', legacyState: false });
    // Every source shares one state file.
    expect(new Set([a, b, c].map((o) => o?.stateFile))).to.deep.equal(new Set([join('spool', 'imap-state.json')]));
    expect(mailboxTargets(config)).to.deep.equal([
      { key: 'email.imap.mailboxes[0].target', target: 'tenant-a' },
      { key: 'email.imap.mailboxes[1].target', target: 'tenant-b' },
    ]);
    // A notifications mailbox without trusted senders: anyone who can mail it can raise an incident.
    expect(startWarnings(config).join('\n')).to.include('email.imap.mailboxes[1].role is notifications');
  });

  it('reads an entry password from its passwordFile; check-config and errors never show it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracehive-mailboxes-'));
    try {
      writeFileSync(join(dir, 'b.pass'), 'file-secret-b\n');
      const config = load([{ mailbox: 'INBOX/b', user: 'b', passwordFile: join(dir, 'b.pass') }, { mailbox: 'INBOX/c', user: 'c', password: 'inline-secret-c' }]);
      expect(imapOptionsOf(config).map((o) => o.password)).to.deep.equal(['file-secret-b', 'inline-secret-c']);
      const shown = JSON.stringify(redactedConfig(config));
      expect(shown).to.not.include('file-secret-b').and.not.include('inline-secret-c').and.not.include('base-secret');
      expect(shown).to.include(join(dir, 'b.pass'));
      const both = failure(() => load([{ mailbox: 'INBOX/b', password: 'x-secret', passwordFile: join(dir, 'b.pass') }]));
      expect(both.code).to.equal('ERR_CONFIG_SECRET_BOTH');
      expect(both.message).to.include('email.imap.mailboxes[0].password and email.imap.mailboxes[0].passwordFile are both set');
      const missing = failure(() => load([{ mailbox: 'INBOX/b', passwordFile: join(dir, 'nope') }]));
      expect(missing.code).to.equal('ERR_CONFIG_SECRET_FILE');
      expect(missing.message).to.include('email.imap.mailboxes[0].passwordFile').and.include('cannot be read (ENOENT)');
      // Another entry's problem does not print a password given inline.
      const other = failure(() => load([{ mailbox: 'INBOX/c', password: 'inline-secret-c', role: 'inline-secret-c' }]));
      expect(other.message).to.not.include('inline-secret-c');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const table: Array<[string, unknown, string]> = [
    ['text that is not JSON', '[{mailbox:', 'email.imap.mailboxes: Expected a JSON list of mailboxes'],
    ['an entry that is no object', ['INBOX'], 'email.imap.mailboxes[0]: expected an object {mailbox'],
    ['an entry without its mailbox', [{ target: 'a' }], 'email.imap.mailboxes[0].mailbox: missing'],
    ['an unknown key', [{ mailbox: 'A' }, { mailbox: 'B', folder: 'x' }], 'email.imap.mailboxes[1].folder: unknown key; expected one of name, mailbox'],
    ['an unknown role', [{ mailbox: 'A', role: 'alerts' }], 'email.imap.mailboxes[0].role: expected one of notifications, reports, mixed, got "alerts"'],
    ['a port that is no port', [{ mailbox: 'A', port: '993' }], 'email.imap.mailboxes[0].port: expected an integer from 1 to 65535, got "993"'],
    ['a target that is no text', [{ mailbox: 'A', target: 2 }], 'email.imap.mailboxes[0].target: expected a non-empty text'],
    ['an empty mailbox', [{ mailbox: '' }], 'email.imap.mailboxes[0].mailbox: expected a non-empty text'],
    ['the same mailbox of the same account twice', [{ mailbox: 'INBOX/a' }, { mailbox: 'INBOX/b' }, { mailbox: 'INBOX/a', user: 'soc', host: 'MAIL.corp.example' }], 'email.imap.mailboxes[2].mailbox: "INBOX/a" of soc@mail.corp.example:993 is already polled by email.imap.mailboxes[0]'],
    ['a done mailbox that is the mailbox', [{ mailbox: 'A', doneMailbox: 'A' }], 'email.imap.mailboxes[0].doneMailbox: is the mailbox itself'],
    ['a done mailbox another entry polls', [{ mailbox: 'A', doneMailbox: 'B' }, { mailbox: 'B' }], 'email.imap.mailboxes[0].doneMailbox: is the mailbox email.imap.mailboxes[1] polls'],
    ['a name used twice', [{ name: 'x', mailbox: 'A' }, { name: 'x', mailbox: 'B' }], 'email.imap.mailboxes[1].name: "x" is already the name of email.imap.mailboxes[0]'],
    ['another host without its own password', [{ mailbox: 'A', host: 'imap.other.example' }], 'email.imap.mailboxes[0].password: the entry\'s host "imap.other.example" is not email.imap.host'],
  ];
  for (const [what, mailboxes, problem] of table) {
    it(`refuses ${what}, naming the entry and key`, () => {
      const err = failure(() => load(mailboxes));
      expect(err.code).to.equal('ERR_CONFIG_INVALID');
      expect(err.message).to.include(problem);
    });
  }

  it('an entry may bring the host and user email.imap leaves empty; without either, load says which entry lacks it', () => {
    const env = { TRACEHIVE_IMAP_HOST: '', TRACEHIVE_IMAP_USER: '' };
    const [only] = imapOptionsOf(load([{ mailbox: 'INBOX', host: 'imap.b.example', user: 'b', password: 'b-secret' }], env));
    expect(only).to.include({ host: 'imap.b.example', user: 'b', legacyState: false });
    expect(failure(() => load([{ mailbox: 'INBOX', host: 'imap.b.example', password: 'b-secret' }], env)).message).to.include('email.imap.mailboxes[0].user: IMAP is enabled but the entry has no user, and email.imap.user is empty too');
  });
});
