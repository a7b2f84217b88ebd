/**
 * The notification keys (issue 12 point 5): a relay without recipients is a configuration error
 * naming notify.to, not mails sent to nobody.
 */
import { expect } from 'chai';
import { loadConfig } from '../../../src/config.js';

describe('configuration of notifications', () => {
  it('refuses notify.smtp.host without notify.to, naming the key and its variable', () => {
    let failure: unknown;
    try {
      loadConfig({ env: { TRACEHIVE_NOTIFY_SMTP_HOST: 'relay.example' }, useDefaultFile: false });
    } catch (err) {
      failure = err;
    }
    expect((failure as { code?: string }).code).to.equal('ERR_CONFIG_INVALID');
    expect(String(failure)).to.include('notify.to').and.include('TRACEHIVE_NOTIFY_TO');
  });

  it('takes a relay with recipients, and no relay at all', () => {
    expect(loadConfig({ env: { TRACEHIVE_NOTIFY_SMTP_HOST: 'relay.example', TRACEHIVE_NOTIFY_TO: 'soc@example.org' }, useDefaultFile: false }).notify.to).to.deep.equal(['soc@example.org']);
    expect(loadConfig({ env: {}, useDefaultFile: false }).notify.smtp.host).to.equal('');
  });
});
