/**
 * The Node flags `tracehive` runs with are on the first line of the CLI (`#!/usr/bin/env -S node …`):
 * the one place they are written. `make run`, the tests that start serve as a process and the
 * benchmark read them from there, so each runs what an operator runs.
 */
import { readFileSync } from 'node:fs';

/** The flags after `node` on the shebang line of `cliFile`; none when it has no such line. */
export function cliNodeFlags(cliFile: string): string[] {
  const first = readFileSync(cliFile, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\S*env -S node((?:\s+--\S+)*)\s*$/.exec(first);
  return match?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}
