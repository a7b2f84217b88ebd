/**
 * The PromQL of the shipped monitoring files, as tests read it: every expression of the alert
 * rules and of the Grafana dashboard (its variables replaced by what Grafana would put there),
 * and the tracehive metric names they use.
 */
import { readFileSync } from 'node:fs';

/** Grafana's variables in the dashboard's queries, and a PromQL value that stands for each. */
const GRAFANA_VARIABLES: Record<string, string> = {
  $__rate_interval: '5m',
  $__interval: '1m',
  $__range: '1h',
  $instance: '.*',
};

/** Every `expr` of the dashboard's panels, with Grafana's variables replaced. */
export function dashboardExpressions(file: string): string[] {
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { panels?: { targets?: { expr?: string }[] }[] };
  const out: string[] = [];
  for (const panel of dashboard.panels ?? []) {
    for (const target of panel.targets ?? []) {
      if (typeof target.expr !== 'string') continue;
      out.push(target.expr.replace(/\$__rate_interval|\$__interval|\$__range|\$instance/g, (v) => GRAFANA_VARIABLES[v] ?? v));
    }
  }
  return out;
}

/** Every `expr:` of a rules file (single-line, or a folded `>` block). */
export function ruleExpressions(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i] as string);
    if (!m) continue;
    const [, indent, rest] = m as unknown as [string, string, string];
    if (rest !== '>' && rest !== '|') {
      out.push(rest);
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length && ((lines[i + 1] as string).startsWith(`${indent}  `) || (lines[i + 1] as string).trim() === '')) block.push((lines[++i] as string).trim());
    out.push(block.join(' ').trim());
  }
  return out;
}

/** The tracehive metric names an expression selects (label values and names never start with `tracehive_`). */
export function tracehiveMetricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(withoutStrings.match(/\btracehive_[a-zA-Z0-9_:]+/g) ?? [])];
}

/** A rules file with one recording rule per expression, for `promtool check rules` to parse them as PromQL. */
export function recordingRules(exprs: readonly string[]): string {
  const rules = exprs.map((e, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(e)}`);
  return ['groups:', '  - name: dashboard', '    rules:', ...rules, ''].join('\n');
}
