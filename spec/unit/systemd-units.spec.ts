/**
 * The systemd units in config/systemd/ say what the README promises of them (issue 17): their
 * own user, no capabilities, a read-only system, the spool in StateDirectory and the configuration
 * in ConfigurationDirectory, a stop timeout above tracehive's own shutdown deadline, the API key
 * as the credential tracehive reads, and only environment variables tracehive knows (an unknown
 * one stops serve at start). `systemd-analyze verify` runs in spec/integration/package.spec.ts.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { SECRET_FILES } from '../../src/config-secret-files.js';

/** cli.ts's SHUTDOWN_SLACK_MS: what serve allows its last steps beyond shutdown.timeoutMs. */
const SHUTDOWN_SLACK_MS = 5000;

/** The directives of a unit's [Service] section, each with every value it was given. */
function service(file: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  let section = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    if (section !== '[Service]') continue;
    const at = line.indexOf('=');
    const name = line.slice(0, at);
    directives.set(name, [...(directives.get(name) ?? []), line.slice(at + 1)]);
  }
  return directives;
}

const UNITS = [
  { file: 'config/systemd/tracehive.service', etc: '/etc/tracehive', state: '/var/lib/tracehive', dir: 'tracehive' },
  { file: 'config/systemd/tracehive@.service', etc: '/etc/tracehive/%i', state: '/var/lib/tracehive/%i', dir: 'tracehive/%i' },
];

describe('systemd units', () => {
  for (const unit of UNITS) {
    describe(unit.file, () => {
      const s = service(unit.file);
      const one = (name: string): string | undefined => s.get(name)?.at(-1);

      it('runs tracehive serve as its own user, without any privilege, on a read-only system', () => {
        expect(one('ExecStart')).to.match(/\/tracehive serve$/);
        expect(one('User')).to.equal('tracehive');
        expect(one('NoNewPrivileges')).to.equal('yes');
        expect(one('CapabilityBoundingSet')).to.equal('');
        expect(one('AmbientCapabilities')).to.equal('');
        expect(one('ProtectSystem')).to.equal('strict');
        expect(one('RestrictAddressFamilies')).to.equal('AF_INET AF_INET6 AF_UNIX');
        expect(one('Restart')).to.equal('on-failure');
        // A configuration error (exit 2) is not fixed by restarting.
        expect(one('RestartPreventExitStatus')).to.equal('2');
        expect(s.has('MemoryDenyWriteExecute'), 'V8 needs writable code pages').to.equal(false);
      });

      it('keeps the spool in StateDirectory and reads the configuration from ConfigurationDirectory', () => {
        expect(one('StateDirectory')).to.equal(unit.dir);
        expect(one('ConfigurationDirectory')).to.equal(unit.dir);
        const env = new Map((s.get('Environment') ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
        expect(env.get('TRACEHIVE_CONFIG')).to.equal(`${unit.etc}/config.json`);
        expect(env.get('TRACEHIVE_SPOOL_DIR')).to.equal(`${unit.state}/spool`);
        expect(one('WorkingDirectory')).to.equal(unit.state);
        // Every other variable is one tracehive knows, with a valid value.
        env.delete('TRACEHIVE_CONFIG');
        expect(() => loadConfig({ env: Object.fromEntries(env), useDefaultFile: false })).to.not.throw();
      });

      it('waits longer for a stop than tracehive takes with the default shutdown.timeoutMs', () => {
        const stopSec = /^(\d+)s$/.exec(one('TimeoutStopSec') ?? '');
        expect(stopSec, 'TimeoutStopSec in seconds').to.not.equal(null);
        const limitMs = loadConfig({ env: {}, useDefaultFile: false }).shutdown.timeoutMs + SHUTDOWN_SLACK_MS;
        expect(Number(stopSec?.[1]) * 1000).to.be.above(limitMs);
      });

      it('gives the API key as the credential tracehive reads, and reload is SIGHUP', () => {
        const credential = SECRET_FILES.find((f) => f.key === 'thehive.apiKey')?.credential;
        expect(s.get('LoadCredential')).to.deep.equal([`${credential}:${unit.etc}/thehive-api-key`]);
        expect(one('ExecReload')).to.equal('/bin/kill -HUP $MAINPID');
      });
    });
  }
});
