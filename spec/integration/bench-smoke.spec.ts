/**
 * The benchmarks stay runnable: a few thousand lines through each, asserting only that they
 * finish and print their table (the figures themselves come from `make bench`, never from here).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SYSLOG_NG_MISSING, syslogNgAvailable } from '../../scripts/peer-syslog-ng.js';

const run = promisify(execFile);
/** A table row of scripts/bench: row id, pipeline, then lines/s (digits and commas). */
const row = (id: string, pipeline: string): RegExp => new RegExp(`^\\| ${id} \\| ${pipeline}[^|]* \\| [\\d,]+ \\| `, 'm');

describe('benchmarks (smoke)', function () {
  this.timeout(60000);

  it('bench-kv prints the parse+map table with the peer and a ratio', async () => {
    const { stdout } = await run(process.execPath, [resolve('dist/scripts/bench-kv.js'), '--lines', '3000']);
    expect(stdout).to.match(/\| tracehive parse\+map .* \| [\d,]+ \|/);
    expect(stdout).to.match(/\| naive regex glue \(peer\) \| [\d,]+ \|/);
    expect(stdout).to.match(/ratio tracehive\/peer: \d+\.\d\d/);
  });

  it('bench-map-worker prints the inline peer, the worker and both ratios', async () => {
    const { stdout } = await run(process.execPath, [resolve('dist/scripts/bench-map-worker.js'), '--batches', '20', '--batch', '64', '--rounds', '1']);
    expect(stdout).to.match(/^\| inline \(calling thread\) \| \d+\.\d \| \d+\.\d \| /m);
    expect(stdout).to.match(/^\| map worker \(1 thread\) \| \d+\.\d \| \d+\.\d \| /m);
    expect(stdout).to.match(/worker throughput ÷ inline: \d+\.\d\d×; worker CPU ÷ inline CPU: \d+\.\d\d×/);
  });

  it('bench-map-worker refuses a size that is not a whole number, naming the option', async () => {
    const failed = await run(process.execPath, [resolve('dist/scripts/bench-map-worker.js'), '--batch', '0']).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).to.equal(2);
    expect(failed?.stderr).to.contain('`--batch`');
  });

  it('bench-stages times a stage of this build against another build, rounds alternated', async () => {
    // The other build: this one again, reached by its path (what `--against` of an older checkout reads).
    const { stdout } = await run(process.execPath, [resolve('dist/scripts/bench-stages.js'), '--stage', 'observables', '--rounds', '2', '--lines', '2000', '--against', resolve('.')]);
    expect(stdout).to.match(/^\| observables \| this build \| \d+\.\d\d \| \d+\.\d\d \|$/m);
    expect(stdout).to.match(new RegExp(`^\\| observables \\| ${resolve('.').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\| \\d+\\.\\d\\d \\| \\d+\\.\\d\\d \\|$`, 'm'));
    const failed = await run(process.execPath, [resolve('dist/scripts/bench-stages.js'), '--stage', 'titles']).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).to.equal(2);
    expect(failed?.stderr).to.contain("Unknown stage 'titles'");
  });

  it('every bench script prints its usage for --help and refuses an unknown option by name (exit 2), without a stack trace', async () => {
    for (const script of ['bench', 'bench-kv', 'bench-map-worker', 'bench-stages', 'bench-lifecycle', 'bench-http', 'bench-readme', 'peer-syslog-ng']) {
      const help = await run(process.execPath, [resolve(`dist/scripts/${script}.js`), '--help']);
      expect(help.stdout, script).to.match(new RegExp(`^Usage: node dist/scripts/${script}\\.js `));
      const failed = await run(process.execPath, [resolve(`dist/scripts/${script}.js`), '--rowz', 'a']).then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed?.code, script).to.equal(2);
      expect(failed?.stderr, script).to.contain(`${script}: Unknown option '--rowz'`);
      expect(failed?.stderr, script).not.to.match(/\n\s+at /);
    }
  });

  describe('scripts/bench, tiny sizes', () => {
    let dir: string;
    let stdout: string;
    let peer: boolean;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tracehive-bench-smoke-'));
      peer = await syslogNgAvailable();
      const args = ['--lines', '2000', '--http-lines', '500', '--backlog-lines', '2000', '--connections', '2', '--paced-seconds', '0.2', '--json', join(dir, 'bench.json')];
      ({ stdout } = await run(process.execPath, [resolve('dist/scripts/bench.js'), ...args]));
    });

    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('prints the table with every tracehive row and a target on each', () => {
      expect(stdout).to.match(/^\| row \| pipeline \| lines\/s \| alerts\/s \|/m);
      for (const id of ['a', 'b', 'c', 'd']) expect(stdout).to.match(row(id, 'tracehive: '));
      expect(stdout.match(/^\| [abcd] \| tracehive: .*\| (≥ [\d.]+× syslog-ng, peak RSS ≤ \d+ MiB|peak RSS ≤ \d+ MiB): /gm)).to.have.length(4);
    });

    it('prints Node’s own ceiling (split2 + key=value, count only) and the file rows’ share of it, from the same run', () => {
      expect(stdout).to.match(row('a', 'Node ceiling: '));
      expect(stdout).to.match(/^\| a \| tracehive: .* \| \d+\.\d\d× \| ≥ 1× syslog-ng/m);
      expect(stdout).to.match(/^\| b \| tracehive: .* \| \d+\.\d\d× \| ≥ 0\.8× syslog-ng/m);
    });

    it('prints the syslog-ng rows and a ratio when syslog-ng is installed, else how to install it', () => {
      if (peer) {
        expect(stdout).to.match(row('a', 'syslog-ng: '));
        expect(stdout).to.match(row('c', 'syslog-ng: '));
        expect(stdout).to.match(row('d', 'syslog-ng: '));
        expect(stdout).to.match(/^\| a \| tracehive: .* \| \d+\.\d\d× \| /m);
        expect(stdout).to.match(/^\| d \| tracehive: .* \| \d+\.\d\d× \| – \| peak RSS/m);
      } else {
        expect(stdout).to.include(SYSLOG_NG_MISSING);
      }
    });

    it('regenerates the README table from the JSON between the markers only', async () => {
      const readme = join(dir, 'README.md');
      await writeFile(readme, '# x\n\n<!-- bench:start -->\nold table\n<!-- bench:end -->\n\nafter\n');
      await run(process.execPath, [resolve('dist/scripts/bench-readme.js'), '--results', dir, '--readme', readme]);
      const text = await readFile(readme, 'utf8');
      expect(text).to.not.include('old table');
      expect(text).to.match(/<!-- bench:start -->\n[\s\S]*\| d \| tracehive: [\s\S]*<!-- bench:end -->\n\nafter\n$/);
    });
  });
});
