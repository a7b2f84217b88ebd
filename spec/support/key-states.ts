/** Lifecycle key states for tests of the state store and the `alerts` command. */
import { STATE_VERSION, type KeyState } from '../../src/lifecycle/state.js';

export const T0 = Date.parse('2026-11-20T10:00:00Z');

/** A key's state: `count` sightings one second apart from T0, created as `alertId` (null: not yet). */
export function keyState(key: string, count: number, alertId: string | null = `~${key.slice(0, 6)}`, extra: Partial<KeyState> = {}): KeyState {
  return {
    v: STATE_VERSION,
    key,
    generation: 1,
    sourceRef: `ct-k${key}`,
    alertId,
    count,
    first: T0,
    last: T0 + count * 1000,
    lastReceived: T0 + count * 1000,
    severity: 3,
    tags: [`key:${key}`, 'Malicious URL'],
    observables: ['url\u0000http://bad.example/x'],
    observablesLeftOut: 0,
    rows: [],
    ids: [],
    base: { type: 'cybertrace', source: 'kaspersky-cybertrace', title: 'Malicious URL: bad.example', description: 'x', tlp: 2, pap: 2, indicator: 'bad.example', category: 'KL_Malicious_URL' },
    previous: null,
    ...extra,
  };
}
