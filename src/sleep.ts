/** Waiting that an abort cuts short: the IMAP source's reconnect backoff, the request rate's turn. */

/** Resolves after `ms`, or at once when `signal` aborts (before or during the wait). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
