/** The error a configuration load throws (the test fails when it loads). */
export function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected a config error');
}
