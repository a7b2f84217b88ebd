/**
 * Issue 13, point 6: the keys that say who may send SIEM notifications and what each mail source
 * is for, as an operator sets them, and the errors a wrong value gets.
 */
import { expect } from 'chai';
import { mailTrustOf } from '../../src/app-options.js';
import { loadConfig } from '../../src/config.js';
import { startWarnings } from '../../src/config-warnings.js';
import { failure } from '../support/config-failure.js';

const load = (env: Record<string, string> = {}) => loadConfig({ env, useDefaultFile: false });


describe('config: trusted senders and mail source roles (issue 13)', () => {
  it('trusts everyone on every source by default: nothing changes for existing users', () => {
    expect(mailTrustOf(load())).to.deep.equal({
      policy: { senders: [], ips: [], authservId: '', relays: [] },
      roles: { imap: 'mixed', smtp: 'mixed', ingest: 'mixed' },
    });
  });

  it('reads the senders, IPs, authserv-id and roles from the environment', () => {
    const trust = mailTrustOf(
      load({
        TRACEHIVE_EMAIL_TRUSTED_SENDERS: 'siem@alerts.example.org, @kuma.example.org',
        TRACEHIVE_EMAIL_TRUSTED_SENDER_IPS: '192.0.2.0/28,2001:db8::/48',
        TRACEHIVE_EMAIL_AUTHSERV_ID: 'mx.example.com',
        TRACEHIVE_EMAIL_INTERNAL_RELAYS: '192.0.2.200/32',
        TRACEHIVE_SMTP_ROLE: 'notifications',
        TRACEHIVE_IMAP_ROLE: 'reports',
        TRACEHIVE_INGEST_ROLE: 'notifications',
      }),
    );
    expect(trust).to.deep.equal({
      policy: { senders: ['siem@alerts.example.org', '@kuma.example.org'], ips: ['192.0.2.0/28', '2001:db8::/48'], authservId: 'mx.example.com', relays: ['192.0.2.200/32'] },
      roles: { imap: 'reports', smtp: 'notifications', ingest: 'notifications' },
    });
  });

  it('refuses a sender entry that is no address nor @domain, pointing an IP to trustedSenderIps', () => {
    const err = failure(() => load({ TRACEHIVE_EMAIL_TRUSTED_SENDERS: '192.0.2.10' }));
    expect(err.code).to.equal('ERR_CONFIG_INVALID');
    expect(err.message).to.include('email.trustedSenders').and.include('email.trustedSenderIps');
    expect(failure(() => load({ TRACEHIVE_EMAIL_TRUSTED_SENDERS: 'example.org' })).message).to.include('@domain');
  });

  it('refuses a bad CIDR, an empty list and an unknown role, naming the key', () => {
    expect(failure(() => load({ TRACEHIVE_EMAIL_TRUSTED_SENDER_IPS: '192.0.2.0/33' })).message).to.include('email.trustedSenderIps');
    expect(failure(() => load({ TRACEHIVE_EMAIL_TRUSTED_SENDERS: ' , ' })).message).to.include('TRACEHIVE_EMAIL_TRUSTED_SENDERS').and.include('lists nothing');
    expect(failure(() => load({ TRACEHIVE_SMTP_ROLE: 'siem' })).message).to.include('email.smtp.role');
  });

  it('warns at start about a notifications source that trusts everyone, and about a sender list alone', () => {
    expect(startWarnings(load())).to.deep.equal([]);
    const open = startWarnings(load({ TRACEHIVE_INGEST_ROLE: 'notifications' }));
    expect(open).to.have.length(1);
    expect(open[0]).to.include('ingest.role is notifications').and.include('anyone who can mail');
    const fromOnly = startWarnings(load({ TRACEHIVE_INGEST_ROLE: 'notifications', TRACEHIVE_EMAIL_TRUSTED_SENDERS: '@alerts.example.org' }));
    expect(fromOnly).to.have.length(1);
    expect(fromOnly[0]).to.include('checks only the From: header');
    expect(startWarnings(load({ TRACEHIVE_INGEST_ROLE: 'notifications', TRACEHIVE_EMAIL_TRUSTED_SENDERS: '@alerts.example.org', TRACEHIVE_EMAIL_AUTHSERV_ID: 'mx.example.com' }))).to.deep.equal([]);
  });
});
