/**
 * What this tracehive is: its version (package.json) and the commit it was built from, for
 * `tracehive --version` and the `tracehive_build_info` metric. `npm pack` stamps the commit into
 * `dist/src/build-info.json` (scripts/build-info.mjs, the prepack step), since an installed
 * package has no git history to ask; a build from a checkout asks git, anything else says
 * "unknown". Never a path: the answer goes into metrics and bug reports.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  readonly version: string;
  /** A git commit (short hash, `-dirty` when built from uncommitted changes), or "unknown". */
  readonly commit: string;
  /** The Node.js version running it (`process.versions.node`). */
  readonly node: string;
}

/** The package's root: dist/src/build-info.js → ../.. */
const ROOT = new URL('../../', import.meta.url);
/** Written next to this module by the prepack step. */
const STAMP = new URL('./build-info.json', import.meta.url);

let cached: BuildInfo | undefined;

/** The version, commit and Node version; read once. */
export function buildInfo(): BuildInfo {
  cached ??= {
    version: (JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { version: string }).version,
    commit: stampedCommit() ?? gitCommit() ?? 'unknown',
    node: process.versions.node,
  };
  return cached;
}

/** `tracehive --version`'s line. */
export function versionLine(info: BuildInfo = buildInfo()): string {
  return `tracehive ${info.version} (commit ${info.commit}, node ${info.node})`;
}

function stampedCommit(): string | undefined {
  try {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8')) as { commit?: unknown };
    return typeof stamp.commit === 'string' && COMMIT.test(stamp.commit) ? stamp.commit : undefined;
  } catch {
    return undefined;
  }
}

/** A short hash, optionally marked dirty: anything else in the stamp is not a commit. */
const COMMIT = /^[0-9a-f]{7,40}(-dirty)?$/;

/** Only a checkout of tracehive itself: an installed package inside someone's repository must not report that repository's commit. */
function gitCommit(): string | undefined {
  const root = fileURLToPath(ROOT);
  if (!existsSync(new URL('.git', ROOT))) return undefined;
  try {
    const hash = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim() !== '';
    const commit = `${hash}${dirty ? '-dirty' : ''}`;
    return COMMIT.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}
