import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliNodeFlags } from '../../../src/tools/node-flags.js';

describe('tools/node-flags', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tracehive-flags-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function flagsOf(firstLine: string): string[] {
    const file = join(dir, 'cli.js');
    writeFileSync(file, `${firstLine}\nconsole.log(1);\n`);
    return cliNodeFlags(file);
  }

  it('the built tracehive command caps its heap on its first line', () => {
    expect(cliNodeFlags('dist/src/cli.js').some((f) => /^--max-old-space-size=\d+$/.test(f))).to.equal(true);
  });

  it('the first line runs here as the kernel runs it: interpreter, its one argument, the file', () => {
    const first = readFileSync('dist/src/cli.js', 'utf8').split('\n', 1)[0] ?? '';
    const [interpreter, ...rest] = first.slice(2).split(' ');
    const out = execFileSync(interpreter as string, [rest.join(' '), 'dist/src/cli.js', '--version'], { encoding: 'utf8' });
    expect(out.trim()).to.match(new RegExp(`^tracehive ${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version.replace(/\./g, '\\.')} \\(commit `));
  });

  it('reads every flag after `env -S node`', () => {
    expect(flagsOf('#!/usr/bin/env -S node --max-old-space-size=96 --max-semi-space-size=4')).to.deep.equal(['--max-old-space-size=96', '--max-semi-space-size=4']);
  });

  it('gives none for a plain `env node` line or a file without a shebang', () => {
    expect(flagsOf('#!/usr/bin/env node')).to.deep.equal([]);
    expect(flagsOf("import x from 'y';")).to.deep.equal([]);
  });
});
