/**
 * A memo for what the mapper reads from a value a feed has few of (a category: a few dozen), kept
 * so that each line does not work it out again (issue 15). Bounded: past `max` keys it starts
 * over, so a sender that makes up a new category a line costs the work, never the memory. Pure
 * as far as callers can tell: `compute` must be a function of the key alone.
 */
export function keptPerKey<V>(compute: (key: string) => V, max = 1024): (key: string) => V {
  const kept = new Map<string, V>();
  return (key) => {
    const hit = kept.get(key);
    // `has` only for a kept `undefined` (no rule matched), which `get` cannot tell from a miss.
    if (hit !== undefined || kept.has(key)) return hit as V;
    const value = compute(key);
    if (kept.size >= max) kept.clear();
    kept.set(key, value);
    return value;
  };
}
