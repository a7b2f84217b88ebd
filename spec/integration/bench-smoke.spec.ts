/**
 * The benchmarks stay runnable: a few thousand lines through each, asserting only that they
 * finish and print their table (the figures themselves come from `make bench`).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('benchmarks (smoke)', function () {
  this.timeout(60000);

  it('bench-kv prints the parse+map table with the peer and a ratio', async () => {
    const { stdout } = await run(process.execPath, [resolve('dist/scripts/bench-kv.js'), '--lines', '3000']);
    expect(stdout).to.match(/\| tracehive parse\+map .* \| [\d,]+ \|/);
    expect(stdout).to.match(/\| naive regex glue \(peer\) \| [\d,]+ \|/);
    expect(stdout).to.match(/ratio tracehive\/peer: \d+\.\d\d/);
  });

  it('bench-tcp runs tracehive serve and the glue peer end to end and prints the table', async () => {
    const { stdout } = await run(process.execPath, [resolve('dist/scripts/bench-tcp.js'), '--lines', '3000', '--connections', '2']);
    expect(stdout).to.match(/\| tracehive serve .* \| [\d,]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/);
    expect(stdout).to.match(/\| glue script peer .* \| [\d,]+ \|/);
  });
});
