#!/usr/bin/env node
// The prepack step: stamps the commit being packed into dist/src/build-info.json, so an installed
// tracehive (which has no git history) can say what it was built from. `--remove` (postpack)
// deletes it again, so a later build of the checkout asks git instead of reporting a stale stamp.
// Usage: node scripts/build-info.mjs [--remove]
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const STAMP = 'dist/src/build-info.json';

if (process.argv.includes('--remove')) {
  rmSync(STAMP, { force: true });
} else {
  const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let commit = 'unknown';
  try {
    commit = git('rev-parse', '--short=12', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') === '' ? '' : '-dirty');
  } catch {
    // Packed from a tree without git (a source tarball): the version alone says what it is.
  }
  const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
  writeFileSync(STAMP, `${JSON.stringify({ version, commit })}\n`);
  process.stdout.write(`build-info: tracehive ${version}, commit ${commit}\n`);
}
