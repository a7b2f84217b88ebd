/**
 * TLP numbers per TheHive release (thehive-api §3.1). tracehive's alerts carry TheHive 5.2's numbers
 * (CLEAR 0, GREEN 1, AMBER 2, AMBER+STRICT 3, RED 4). TheHive 4, 5.0 and 5.1 have four levels (WHITE 0,
 * GREEN 1, AMBER 2, RED 3), so for them RED is sent as 3 and AMBER+STRICT as AMBER with the tag
 * `tlp:amber+strict` (on the alert and on each observable so marked): the nearest they can say
 * without calling it RED. PAP is 0–3 on every release: it is never converted.
 */
import type { Alert, Observable } from '../types.js';

/** The tag TheHive 4, 5.0 and 5.1 get for TheHive 5.2's AMBER+STRICT, which they have no number for. */
export const AMBER_STRICT_TAG = 'tlp:amber+strict';

type Marked = { tlp?: number; tags?: string[] };

/** TLP 3 (AMBER+STRICT) → 2 + {@link AMBER_STRICT_TAG}; 4 (RED) → 3; anything lower as it is. */
export function legacyTlp<T extends Marked>(x: T): T {
  if (x.tlp === undefined || x.tlp < 3) return x;
  if (x.tlp >= 4) return { ...x, tlp: 3 };
  return { ...x, tlp: 2, tags: [...(x.tags ?? []).filter((t) => t !== AMBER_STRICT_TAG), AMBER_STRICT_TAG] };
}

/** 3 (RED) → 4; 2 + {@link AMBER_STRICT_TAG} → 3: what {@link legacyTlp} made, back in TheHive 5.2's numbers. */
export function modernTlp<T extends Marked>(x: T): T {
  if (x.tlp === 3) return { ...x, tlp: 4 };
  if (x.tlp === 2 && x.tags?.includes(AMBER_STRICT_TAG)) return { ...x, tlp: 3, tags: x.tags.filter((t) => t !== AMBER_STRICT_TAG) };
  return x;
}

/** An observable in TheHive 4/5.0/5.1 numbers. */
export function legacyObservable<T extends Observable>(o: T): T {
  return legacyTlp(o);
}

/** A v1 alert body in TheHive 5.0/5.1 numbers: the alert and each of its observables. */
export function legacyAlert<T extends Omit<Alert, 'meta'>>(alert: T): T {
  return { ...legacyTlp(alert), observables: alert.observables.map(legacyObservable) };
}
