/**
 * The spool's error codes and the helpers that build its error messages. A file of its own because
 * the spool, its lock and its directory scan all throw these: kept here, none of them imports another
 * just for an error (no import cycle with spool.ts).
 */

/** Error codes the spool throws (as `err.code` on a plain Error). */
export type SpoolErrorCode = 'ERR_SPOOL_LOCKED' | 'ERR_SPOOL_CLOSED' | 'ERR_SPOOL_DIR' | 'ERR_SPOOL_FORMAT';

/** A plain Error with a {@link SpoolErrorCode} as `code`, and `cause` when given. */
export function spoolError(code: SpoolErrorCode, message: string, cause?: unknown): Error & { code: SpoolErrorCode } {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as Error & { code: SpoolErrorCode };
  err.code = code;
  return err;
}

/** An error as short text for a message: its errno code (`EACCES`) when it has one, else its message. */
export function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (err instanceof Error ? err.message : String(err));
}
