/**
 * The functions with the most self time in a V8 `.cpuprofile` (`node --cpu-prof`), as a share of
 * all samples: how issue 15's profiles of bench-kv and serve were read.
 *
 * Usage: node dist/scripts/profile-top.js FILE.cpuprofile [N]   (N rows, default 15)
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, rows = '15'] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node dist/scripts/profile-top.js FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const frame = byId.get(id)?.callFrame;
  const us = profile.timeDeltas[i] ?? 0;
  total += us;
  if (frame === undefined) return;
  // Paths from dist/ or node_modules/ on, so a row reads the same on every machine.
  const where = frame.url === '' ? '' : ` ${frame.url.replace(/^.*?\/(dist|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
  const name = `${frame.functionName || '(anonymous)'}${where}`;
  self.set(name, (self.get(name) ?? 0) + us);
});
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) {
  console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
}
