#!/usr/bin/env node
// Runs every compiled spec with mocha and ends with the one line CI reads: "N passed, N failed".
// Usage: node scripts/run-tests.mjs [dir-or-file…]   (default: dist/spec)
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Mocha from 'mocha';

function specFiles(path) {
  if (statSync(path).isFile()) return [resolve(path)];
  return readdirSync(path, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? specFiles(join(path, e.name)) : e.name.endsWith('.spec.js') ? [resolve(path, e.name)] : []))
    .sort();
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['dist/spec']).flatMap(specFiles);
// forbidOnly: a stray .only must fail the run, not silently skip every other test.
const mocha = new Mocha({ reporter: 'spec', timeout: 30000, slow: 2000, forbidOnly: true });
for (const f of files) mocha.addFile(f);
await mocha.loadFilesAsync();

let passed = 0;
let failed = 0;
const runner = mocha.run(() => {
  console.log(`${passed} passed, ${failed} failed`);
  // No test at all is a broken build or a wrong path, not a success.
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
});
runner.on('pass', () => passed++);
runner.on('fail', () => failed++);
