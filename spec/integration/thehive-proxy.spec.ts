/**
 * Issue 17: TheHive behind an HTTP proxy and behind a gateway that wants a client certificate, as a
 * SOC network has them: a real tinyproxy on loopback tunnels (CONNECT) to an https stand-in
 * TheHive; NO_PROXY is honoured; a proxy that refuses says so instead of passing for TheHive; an
 * mTLS stand-in refuses a client without its certificate and takes one with it. The key check
 * behind /readyz/delivery goes the same way as the alerts.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { admin, sendChunked, startApp, waitFor, type Harness } from '../support/harness.js';
import { detectionLines } from '../support/lines.js';
import { startFakeTheHive, type FakeTheHive } from '../support/fake-thehive.js';
import { findBinary } from '../support/dovecot.js';
import { freePort } from '../support/free-port.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { startTinyproxy, tinyproxyMissing, type Tinyproxy } from '../support/tinyproxy.js';

const KEY = 'proxy-key-7a3c';
const TLS = resolve('spec/fixtures/tls');
const SERVER_TLS = { cert: join(TLS, 'test-cert.pem'), key: join(TLS, 'test-key.pem') };

async function delivery(port: number): Promise<{ status: number; reasons: string }> {
  const res = await admin(port, '/readyz/delivery');
  return { status: res.status, reasons: res.body };
}

describe('TheHive through a proxy, and with a client certificate', function () {
  this.timeout(30_000);
  let dir: string;
  let serverTls: { cert: string; key: string };
  let client: { cert: string; key: string };
  let hive: FakeTheHive | undefined;
  let proxy: Tinyproxy | undefined;
  let h: Harness | undefined;
  let serve: ServeProcess | undefined;

  before(async function () {
    const missing = tinyproxyMissing() ?? (findBinary('openssl') ? undefined : 'openssl is not installed');
    if (missing) {
      console.warn(`    Skipping the proxy and mTLS suite: ${missing}.`);
      this.skip();
    }
    dir = await mkdtemp(join(tmpdir(), 'tracehive-proxy-'));
    serverTls = { cert: await readFile(SERVER_TLS.cert, 'utf8'), key: await readFile(SERVER_TLS.key, 'utf8') };
    // The client's own identity, issued by nobody the server trusts unless told (its `ca`).
    const files = { cert: join(dir, 'client-cert.pem'), key: join(dir, 'client-key.pem') };
    await promisify(execFile)(findBinary('openssl') as string, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=tracehive-client', '-keyout', files.key, '-out', files.cert]);
    client = files;
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
    serve = undefined;
    await hive?.close();
    hive = undefined;
    await proxy?.stop();
    proxy = undefined;
  });

  const httpsHive = (extra: Record<string, unknown> = {}): Promise<FakeTheHive> => startFakeTheHive({ apiKey: KEY, tls: { ...serverTls, ...extra } });
  const settings = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    'thehive.url': hive!.url,
    'thehive.apiKey': KEY,
    'thehive.api': 'v1',
    'thehive.caFile': SERVER_TLS.cert,
    'thehive.timeoutMs': 2000,
    ...extra,
  });

  it('tunnels the key check and the alerts to an https TheHive through the proxy (CONNECT)', async () => {
    hive = await httpsHive();
    proxy = await startTinyproxy();
    h = await startApp(settings({ 'thehive.proxy': proxy.url }));
    await waitFor('the key check done', async () => (await delivery(h!.httpPort)).status === 200);
    const target = `127.0.0.1:${hive.port}`;
    expect(proxy.connects(), 'the key check went through the proxy').to.include(target);
    await sendChunked(h.tcpPort, detectionLines(5).join(''), 4096);
    await waitFor('5 alerts in TheHive', () => hive!.alerts.length === 5);
    expect(new Set(proxy.connects())).to.deep.equal(new Set([target]));
  });

  it('says the proxy refused the CONNECT (403), not that TheHive refused the key, and sends nothing', async () => {
    hive = await httpsHive();
    proxy = await startTinyproxy({ connectPorts: [443] });
    h = await startApp(settings({ 'thehive.proxy': proxy.url }));
    await waitFor('the refusal seen', async () => (await delivery(h!.httpPort)).reasons.includes('ERR_THEHIVE_PROXY'));
    const { status, reasons } = await delivery(h.httpPort);
    expect(status).to.equal(503);
    expect(reasons).to.include('answered 403 to CONNECT').and.include(`127.0.0.1:${hive.port}`).and.not.match(/API key/i);
    expect(hive.requests, 'TheHive saw nothing').to.have.length(0);
  });

  it('says the proxy is unreachable when nothing listens at thehive.proxy', async () => {
    hive = await httpsHive();
    const port = await freePort();
    h = await startApp(settings({ 'thehive.proxy': `http://127.0.0.1:${port}` }));
    await waitFor('the failure seen', async () => (await delivery(h!.httpPort)).reasons.includes('ERR_THEHIVE_PROXY'));
    expect((await delivery(h.httpPort)).reasons).to.include('unreachable').and.include('ECONNREFUSED');
  });

  describe('thehive.proxy=env', () => {
    const env = (extra: Record<string, string>): Record<string, string> => ({
      THEHIVE_URL: hive!.url,
      THEHIVE_API_KEY: KEY,
      THEHIVE_API: 'v1',
      THEHIVE_CA_FILE: SERVER_TLS.cert,
      THEHIVE_PROXY: 'env',
      ...extra,
    });

    it('goes through HTTPS_PROXY', async () => {
      hive = await httpsHive();
      proxy = await startTinyproxy();
      serve = await startServeProcess(env({ HTTPS_PROXY: proxy.url }), dir);
      await sendChunked(serve.tcpPort, detectionLines(2).join(''), 4096);
      await waitFor('2 alerts in TheHive', () => hive!.alerts.length === 2);
      expect(proxy.connects()).to.include(`127.0.0.1:${hive.port}`);
    });

    it('goes directly to a host in NO_PROXY', async () => {
      hive = await httpsHive();
      proxy = await startTinyproxy();
      serve = await startServeProcess(env({ HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' }), dir);
      await sendChunked(serve.tcpPort, detectionLines(2).join(''), 4096);
      await waitFor('2 alerts in TheHive', () => hive!.alerts.length === 2);
      expect(proxy.connects(), 'the proxy carried nothing').to.deep.equal([]);
    });
  });

  describe('a TheHive that wants a client certificate (mTLS)', () => {
    const mtls = async (): Promise<FakeTheHive> => httpsHive({ requestCert: true, rejectUnauthorized: true, ca: await readFile(client.cert, 'utf8') });

    it('is refused without thehive.clientCertFile, with a reason that names it', async () => {
      hive = await mtls();
      h = await startApp(settings());
      await waitFor('the refusal seen', async () => /TLS|certificate/i.test((await delivery(h!.httpPort)).reasons), 10_000);
      const { status, reasons } = await delivery(h.httpPort);
      expect(status).to.equal(503);
      expect(reasons).to.include('wants a client certificate').and.include('THEHIVE_CLIENT_CERT_FILE');
      expect(hive.alerts).to.have.length(0);
    });

    it('takes the alerts with thehive.clientCertFile and thehive.clientKeyFile, directly and through the proxy', async () => {
      hive = await mtls();
      h = await startApp(settings({ 'thehive.clientCertFile': client.cert, 'thehive.clientKeyFile': client.key }));
      await sendChunked(h.tcpPort, detectionLines(3).join(''), 4096);
      await waitFor('3 alerts in TheHive', () => hive!.alerts.length === 3);
      await h.stop();
      proxy = await startTinyproxy();
      h = await startApp(settings({ 'thehive.clientCertFile': client.cert, 'thehive.clientKeyFile': client.key, 'thehive.proxy': proxy.url }));
      await sendChunked(h.tcpPort, detectionLines(3, 100).join(''), 4096);
      await waitFor('3 more alerts in TheHive', () => hive!.alerts.length === 6);
      expect(proxy.connects()).to.include(`127.0.0.1:${hive.port}`);
    });
  });
});
