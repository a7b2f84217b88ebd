/**
 * Format versions of what tracehive writes and later reads back (dead letters, rejected lines,
 * quarantine records, drop files): a record without a version is 0.1.0's and is read as before; a
 * record of a higher version than this release knows is refused with ERR_FORMAT_NEWER rather than
 * misread (a downgrade must not silently lose or mangle what a newer release kept). Pure.
 */

/** The outcome of {@link checkVersion}: the version (0 for 0.1.0's records) or why not. */
export type VersionCheck = { readonly ok: true; readonly version: number } | { readonly ok: false; readonly reason: string };

/**
 * Checks a record's `version` field against the `current` one this release writes.
 * @param what - what the record is, for the reason: `a dead letter`.
 */
export function checkVersion(value: unknown, current: number, what: string): VersionCheck {
  if (value === undefined) return { ok: true, version: 0 };
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) return { ok: false, reason: `${what} with the format version ${JSON.stringify(value)}, which is no positive integer` };
  if (value > current) return { ok: false, reason: `ERR_FORMAT_NEWER: ${what} of format version ${value}, newer than this tracehive reads (${current})` };
  return { ok: true, version: value };
}
