import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  it('reads every flag after `env -S node`', () => {
    expect(flagsOf('#!/usr/bin/env -S node --max-old-space-size=96 --max-semi-space-size=4')).to.deep.equal(['--max-old-space-size=96', '--max-semi-space-size=4']);
  });

  it('gives none for a plain `env node` line or a file without a shebang', () => {
    expect(flagsOf('#!/usr/bin/env node')).to.deep.equal([]);
    expect(flagsOf("import x from 'y';")).to.deep.equal([]);
  });
});
