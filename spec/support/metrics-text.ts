/**
 * Reading Prometheus text exposition (what `/metrics` serves) in tests: one sample's value, and
 * the names of every series exported.
 */

/** The sum of the samples of `name` whose labels include `labels` (NaN when there is none). */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = Number.NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const inBraces = line[name.length] === '{' ? line.slice(name.length + 1, line.lastIndexOf('}')) : '';
    if (!Object.entries(labels).every(([k, v]) => inBraces.includes(`${k}="${v}"`))) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Every series name the text declares (`# TYPE` lines), with `_bucket`, `_sum` and `_count` for a
 * histogram and `_sum`, `_count` for a summary: the names a PromQL query can use.
 */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!m) continue;
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}
