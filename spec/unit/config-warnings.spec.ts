/**
 * The start warnings (issue 11): one sentence per open door of a valid configuration, each naming
 * what to set; none for the defaults.
 */
import { expect } from 'chai';
import { loadConfig, startWarnings } from '../../src/config.js';
import { isLoopbackHost } from '../../src/config-warnings.js';
import { nest } from '../support/harness.js';

const warningsFor = (overrides: Record<string, unknown>, env: Record<string, string> = {}): string[] =>
  startWarnings(loadConfig({ env, useDefaultFile: false, overrides: nest(overrides) }));

const imap = { 'email.imap.enabled': true, 'email.imap.host': 'imap.example.org', 'email.imap.user': 'soc' };

describe('startWarnings', () => {
  it('says nothing for the defaults (everything on loopback)', () => {
    expect(warningsFor({})).to.deep.equal([]);
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['the listener on every address without tcp.allow', { 'tcp.host': '0.0.0.0' }, /tcp\.allow \(TRACEHIVE_TCP_ALLOW\)/],
    ['the listener on an IPv6 wildcard without tcp.allow', { 'tcp.host': '::' }, /tcp\.allow/],
    ['the listener on a host name without tcp.allow', { 'tcp.host': 'bridge.example.org' }, /tcp\.allow/],
    ['SMTP on every address without allowPeers', { 'email.smtp.enabled': true, 'email.smtp.host': '0.0.0.0' }, /email\.smtp\.allowPeers \(TRACEHIVE_SMTP_ALLOW_PEERS\)/],
    ['the admin port on every address', { 'http.host': '0.0.0.0' }, /serves \/metrics .* http\.host \(TRACEHIVE_HTTP_HOST\)/],
    ['TheHive TLS verification off', { 'thehive.url': 'https://thehive.example.org', 'thehive.apiKey': 'k', 'thehive.tlsVerify': false }, /thehive\.tlsVerify=false.*THEHIVE_CA_FILE/],
    ['TheHive over plain http to another host', { 'thehive.url': 'http://thehive.example.org:9000', 'thehive.apiKey': 'k' }, /plain http.*https:\/\//],
    ['IMAP TLS verification off', { ...imap, 'email.imap.tlsVerify': false }, /email\.imap\.tlsVerify=false.*TRACEHIVE_IMAP_CA_FILE/],
    ['IMAP in clear (starttls off)', { ...imap, 'email.imap.secure': false, 'email.imap.starttls': 'off' }, /email\.imap\.starttls is off.*always cross the network in clear.*email\.imap\.starttls=required/],
    ['notification relay TLS verification off', { 'notify.smtp.host': 'relay.example.org', 'notify.to': ['soc@example.org'], 'notify.smtp.tlsVerify': false }, /notify\.smtp\.tlsVerify=false.*TRACEHIVE_NOTIFY_SMTP_CA_FILE/],
    ['IMAP STARTTLS only when offered', { ...imap, 'email.imap.secure': false, 'email.imap.starttls': 'when-offered' }, /email\.imap\.starttls is when-offered.*strip/],
  ];
  for (const [what, overrides, expected] of cases) {
    it(`warns of ${what}, once, as a sentence`, () => {
      const warnings = warningsFor(overrides);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(expected).and.match(/^[A-Z].*\.$/);
    });
  }

  it('does not warn where the door is shut', () => {
    expect(warningsFor({ 'tcp.host': '0.0.0.0', 'tcp.allow': ['10.0.0.0/8'] })).to.deep.equal([]);
    expect(warningsFor({ 'email.smtp.enabled': true, 'email.smtp.host': '0.0.0.0', 'email.smtp.allowPeers': ['10.0.0.5'] })).to.deep.equal([]);
    expect(warningsFor({ 'tcp.enabled': false, 'tcp.host': '0.0.0.0', 'http.enabled': false, 'http.host': '0.0.0.0' })).to.deep.equal([]);
    expect(warningsFor({ 'thehive.url': 'http://127.0.0.1:9000', 'thehive.apiKey': 'k' })).to.deep.equal([]);
    expect(warningsFor({ 'thehive.url': 'http://[::1]:9000', 'thehive.apiKey': 'k' })).to.deep.equal([]);
    expect(warningsFor({ 'thehive.url': 'https://h.example.org', 'thehive.apiKey': 'k', 'thehive.caFile': '' })).to.deep.equal([]);
    expect(warningsFor({ ...imap, 'email.imap.secure': false })).to.deep.equal([]);
    // Verification of a TLS never started is moot: the clear-text warning says it all.
    expect(warningsFor({ ...imap, 'email.imap.secure': false, 'email.imap.starttls': 'off', 'email.imap.tlsVerify': false })).to.have.length(1);
  });

  it('reads loopback as 127.0.0.0/8, ::1 (bracketed or mapped) and localhost', () => {
    for (const host of ['127.0.0.1', '127.10.0.1', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'bridge.localhost']) expect(isLoopbackHost(host), host).to.equal(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.org', 'localhost.example.org']) expect(isLoopbackHost(host), host).to.equal(false);
  });
});
