/**
 * How the IMAP source reports a failed connection (issue 11): a server refused for lacking the
 * required STARTTLS is an error naming email.imap.starttls; a certificate or network failure stays
 * a warning; the STARTTLS option itself is checked.
 */
import { expect } from 'chai';
import { describeFailure } from '../../../src/sources/imap-failure.js';
import { resolveImapOptions } from '../../../src/sources/imap-options.js';

const plain = { secure: false, starttls: 'required' } as const;

describe('sources/imap-failure', () => {
  it('names email.imap.starttls when the server offers no STARTTLS and it is required', () => {
    const err = Object.assign(new Error('Server does not support STARTTLS'), { tlsFailed: true });
    const report = describeFailure(err, plain);
    expect(report.level).to.equal('error');
    expect(report.msg).to.include('email.imap.starttls').and.include('password was not sent');
  });

  it('keeps a failed TLS handshake (a coded error) a warning', () => {
    const err = Object.assign(new Error('self-signed certificate'), { tlsFailed: true, code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(describeFailure(err, plain)).to.deep.equal({ level: 'warn', msg: 'The IMAP connection failed; reconnecting.' });
  });

  it('reports a refused login and a missing mailbox as errors, and a closed connection as a warning', () => {
    expect(describeFailure({ authenticationFailed: true }, plain).msg).to.include('email.imap.password');
    expect(describeFailure({ mailboxMissing: true }, plain).msg).to.include('email.imap.mailbox');
    expect(describeFailure(undefined, plain)).to.deep.equal({ level: 'warn', msg: 'The IMAP connection closed; reconnecting.' });
  });

  it('names the entry of email.imap.mailboxes whose login or mailbox fails', () => {
    const entry = { ...plain, configKey: 'email.imap.mailboxes[2]' };
    expect(describeFailure({ mailboxMissing: true }, entry).msg).to.equal('The IMAP mailbox does not exist: check email.imap.mailboxes[2].mailbox.');
    expect(describeFailure({ authenticationFailed: true }, entry).msg).to.include('the user and password of email.imap.mailboxes[2] (its own, or email.imap.user and email.imap.password');
  });
});

describe('sources/imap-options starttls', () => {
  const base = { host: 'imap.example.org', port: 143, user: 'soc', password: 'x' };
  it('defaults to required', () => {
    expect(resolveImapOptions(base).starttls).to.equal('required');
  });

  it('refuses a value that is not required, when-offered or off (a boolean of the old API too)', () => {
    expect(() => resolveImapOptions({ ...base, starttls: true as never })).to.throw(TypeError, /Expected `starttls` to be one of required, when-offered, off, got true/);
  });
});
