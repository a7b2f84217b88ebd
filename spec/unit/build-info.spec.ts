/**
 * What runs, as an operator asks it: `tracehive --version` and the `tracehive_build_info` series
 * on /metrics name the version, the commit and Node. (The commit stamped by `npm pack` into an
 * installed package is checked in spec/integration/package.spec.ts.)
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { buildInfo, versionLine } from '../../src/build-info.js';
import { Telemetry } from '../../src/telemetry.js';

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

describe('build info', () => {
  it('names the version of package.json, the commit of this checkout and the running Node', () => {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    const info = buildInfo();
    expect(info.version).to.equal(version);
    expect(info.commit).to.match(new RegExp(`^${head}(-dirty)?$`));
    expect(info.node).to.equal(process.versions.node);
    expect(versionLine(info)).to.equal(`tracehive ${version} (commit ${info.commit}, node ${process.versions.node})`);
  });

  it('serves tracehive_build_info{version,commit,node} 1 on /metrics', async () => {
    const telemetry = new Telemetry(pino({ level: 'silent' }), () => 0);
    const text = await telemetry.registry.metrics();
    const info = buildInfo();
    expect(text).to.include(`tracehive_build_info{version="${version}",commit="${info.commit}",node="${info.node}"} 1\n`);
  });
});
