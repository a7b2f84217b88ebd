/**
 * Which way requests to TheHive go (`thehive.proxy`): directly, the proxy given, or what
 * HTTPS_PROXY/HTTP_PROXY and NO_PROXY say for thehive.url.
 */
import { expect } from 'chai';
import { proxyFor } from '../../../src/sinks/proxy-route.js';
import { failure } from '../../support/config-failure.js';

const VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'];

describe('proxyFor (thehive.proxy)', () => {
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = Object.fromEntries(VARIABLES.map((v) => [v, process.env[v]]));
    for (const v of VARIABLES) delete process.env[v];
  });
  afterEach(() => {
    for (const [v, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[v];
      else process.env[v] = value;
    }
  });

  it('goes directly when off, even with HTTPS_PROXY set', () => {
    process.env['HTTPS_PROXY'] = 'http://proxy.example:3128';
    expect(proxyFor('', 'https://thehive.example:9000')).to.equal(undefined);
  });

  it('takes the URL given, whatever the environment says', () => {
    process.env['NO_PROXY'] = '*';
    expect(proxyFor('http://p.example:8080', 'https://thehive.example:9000')).to.equal('http://p.example:8080');
  });

  it('with env, takes HTTPS_PROXY for an https TheHive and HTTP_PROXY for an http one', () => {
    process.env['HTTPS_PROXY'] = 'http://secure-proxy.example:3128';
    process.env['HTTP_PROXY'] = 'http://plain-proxy.example:3128';
    expect(proxyFor('env', 'https://thehive.example:9000')).to.equal('http://secure-proxy.example:3128');
    expect(proxyFor('env', 'http://thehive.example:9000')).to.equal('http://plain-proxy.example:3128');
  });

  it('with env, goes directly to a host NO_PROXY names (a domain suffix, a host:port) and when nothing is set', () => {
    expect(proxyFor('env', 'https://thehive.soc.example:9000')).to.equal(undefined);
    process.env['HTTPS_PROXY'] = 'http://proxy.example:3128';
    process.env['NO_PROXY'] = '.soc.example';
    expect(proxyFor('env', 'https://thehive.soc.example:9000')).to.equal(undefined);
    process.env['NO_PROXY'] = 'thehive.other.example:9000';
    expect(proxyFor('env', 'https://thehive.other.example:9000')).to.equal(undefined);
    expect(proxyFor('env', 'https://thehive.other.example:443')).to.equal('http://proxy.example:3128');
  });

  it('with env, refuses a proxy that is no http(s) URL, naming the variable and hiding its password', () => {
    process.env['HTTPS_PROXY'] = 'socks5://user:s3cret@proxy.example:1080';
    const err = failure(() => proxyFor('env', 'https://thehive.example:9000'));
    expect(err.code).to.equal('ERR_CONFIG_INVALID');
    expect(err.message).to.include('HTTPS_PROXY').and.include('NO_PROXY').and.not.include('s3cret');
  });
});
