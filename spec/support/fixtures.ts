/**
 * Test helpers for files under spec/fixtures. Tests always run from the repository root, so
 * paths resolve from process.cwd() and work the same from the TypeScript sources and from
 * the compiled output directory.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CyberTraceRecord, ParseResult } from '../../src/types.js';

/** Absolute path of a file under spec/fixtures, e.g. `fixturePath('cybertrace', 'samples.txt')`. */
export function fixturePath(...segments: string[]): string {
  return path.resolve(process.cwd(), 'spec', 'fixtures', ...segments);
}

/** The UTF-8 text of a file under spec/fixtures. */
export function readFixture(...segments: string[]): string {
  return readFileSync(fixturePath(...segments), 'utf8');
}

/** One sample of a line-sample file. */
export interface LineSample {
  readonly id: string;
  readonly description: string;
  readonly line: string;
}

/**
 * Reads a line-sample file (spec/fixtures/cybertrace/*.txt): `## …` lines are file comments;
 * every `# <id> <description>` line is followed by exactly one sample line, taken verbatim
 * (split on `\n` only, so a `\r` or trailing blank in the file reaches the parser).
 * Throws on an orphan line or a repeated id: a broken fixture must fail loudly.
 */
export function readLineSamples(...segments: string[]): LineSample[] {
  const lines = readFixture(...segments).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const samples: LineSample[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? '';
    if (text.startsWith('##')) continue;
    if (!text.startsWith('# ')) throw new Error(`${segments.join('/')}:${i + 1}: sample line without a "# <id>" line`);
    const rest = text.slice(2);
    const space = rest.indexOf(' ');
    const id = space < 0 ? rest : rest.slice(0, space);
    const line = lines[i + 1];
    if (id === '' || seen.has(id) || line === undefined) {
      throw new Error(`${segments.join('/')}:${i + 1}: empty, repeated or unfollowed id "${id}"`);
    }
    seen.add(id);
    samples.push({ id, description: space < 0 ? '' : rest.slice(space + 1), line });
    i++;
  }
  return samples;
}

/** A parse result as spec/fixtures/cybertrace/expected.json writes it: pairs as `[key, value]`. */
export type RecordView =
  | { readonly error: string }
  | {
      readonly kind: string;
      readonly format: string;
      readonly dateText: string | null;
      readonly pairs: readonly (readonly [string, string | null])[];
      readonly category?: string;
      readonly matchedIndicator?: string | null;
      readonly alert?: string;
    };

/** The comparable view of a parse result; fields that do not apply to its kind are left out. */
export function recordView(result: ParseResult<CyberTraceRecord>): RecordView {
  if (!result.ok) return { error: result.code };
  const r = result.value;
  const base = {
    kind: r.kind,
    format: r.format,
    dateText: r.dateText,
    pairs: r.pairs.map((p) => [p.key, p.value] as const),
  };
  if (r.kind === 'detection') return { ...base, category: r.category, matchedIndicator: r.matchedIndicator };
  if (r.kind === 'service') return { ...base, alert: r.alert };
  return base;
}
