/**
 * Issue 11, "Network config" and "Config", as an operator meets them: the allowlist over a real
 * socket, `tracehive check-config` as a child process (exit 2, what stderr says and never says),
 * and the warnings serve logs at start for a setup that is open to the network.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sendChunked, startApp, waitFor, type Harness } from '../support/harness.js';
import { detectionLine } from '../support/lines.js';

const CLI = resolve('dist/src/cli.js');

function runCli(args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end();
  });
}

describe('strict configuration as operators meet it (issue 11)', function () {
  this.timeout(30000);
  let h: Harness | undefined;
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehive-config-it-'));
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('tcp.allow ::ffff:127.0.0.1 admits the IPv4 peer 127.0.0.1 over a real socket', async () => {
    h = await startApp({ 'tcp.allow': ['::ffff:127.0.0.1'] });
    await sendChunked(h.tcpPort, `${detectionLine(7)}\n`, 4096);
    const file = h.app.config.file.path;
    await waitFor('one alert in the file sink', () => existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').length === 1);
  });

  describe('check-config exits 2', () => {
    const cases: [string, (d: string) => Record<string, string>, RegExp[]][] = [
      ['for a directory as THEHIVE_CA_FILE', (d) => ({ THEHIVE_CA_FILE: join(d, 'certs') }), [/thehive\.caFile/, /THEHIVE_CA_FILE/, /not a regular file/]],
      ['for a file that is not PEM as THEHIVE_CA_FILE', () => ({ THEHIVE_CA_FILE: 'package.json' }), [/thehive\.caFile/, /PEM/]],
      ['for a misspelt TRACEHIVE_* variable, naming the closest', () => ({ TRACEHIVE_TCP_ALOW: '10.0.0.0/8' }), [/TRACEHIVE_TCP_ALOW/, /did you mean TRACEHIVE_TCP_ALLOW\?/]],
      ['for an empty TRACEHIVE_TCP_ALLOW', () => ({ TRACEHIVE_TCP_ALLOW: ' , ' }), [/TRACEHIVE_TCP_ALLOW/, /unset it to allow all peers/]],
      ['for a timeout setTimeout cannot hold', () => ({ THEHIVE_TIMEOUT_MS: '3000000000' }), [/thehive\.timeoutMs/, /THEHIVE_TIMEOUT_MS/]],
      ['for an octal-looking allowlist entry', () => ({ TRACEHIVE_TCP_ALLOW: '010.020.000.005/32' }), [/tcp\.allow/]],
    ];
    for (const [what, env, expected] of cases) {
      it(what, async () => {
        await mkdir(join(dir, 'certs'));
        const r = await runCli(['check-config'], env(dir), process.cwd());
        expect(r.code, r.stderr).to.equal(2);
        for (const re of expected) expect(r.stderr).to.match(re);
        expect(r.stdout).to.equal('');
      });
    }

    it('for an invalid THEHIVE_URL, without printing its password', async () => {
      const r = await runCli(['check-config'], { THEHIVE_URL: 'http://svc:Pa55-w0rd-XYZ@thehive example.org/', THEHIVE_API_KEY: 'k' }, dir);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('thehive.url');
      expect(r.stderr).to.not.include('Pa55-w0rd-XYZ');
    });
  });

  describe('start warnings', () => {
    it('warns once per open door: a listener on every address without an allowlist, and the admin port', async () => {
      h = await startApp({ 'tcp.host': '0.0.0.0', 'http.host': '0.0.0.0' });
      const warnings = h.logs.filter((l) => l['level'] === 40).map((l) => String(l['msg']));
      expect(warnings.filter((m) => m.includes('tcp.allow'))).to.have.length(1);
      expect(warnings.filter((m) => m.includes('http.host') && m.includes('metrics'))).to.have.length(1);
    });

    it('says nothing of the kind for the loopback defaults', async () => {
      h = await startApp();
      const warnings = h.logs.filter((l) => l['level'] === 40).map((l) => String(l['msg']));
      expect(warnings.filter((m) => /tcp\.allow|http\.host|tlsVerify|starttls/.test(m))).to.deep.equal([]);
    });
  });
});
