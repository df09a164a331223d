// The bound of the deletion side: the concurrent sweep runs its steps
// through runBounded with SWEEP_IN_FLIGHT under way.

/**
 * Deletions in flight at once in the concurrent sweep (removeAll): the one
 * bound of the deletion side. Each is one unlink, rmdir or rename on
 * libuv's 4 threads; 16 keeps them busy without a queue worth the name.
 */
export const SWEEP_IN_FLIGHT = 16;

/**
 * Runs `step` over `items` with at most `inFlight` under way, in order of
 * start. Once `stop()` is true or a step failed, no new step starts; the
 * ones in flight finish; then the first failure is thrown. Returns false
 * when it stopped early (a signal), true when every item was done.
 */
export async function runBounded<T>(items: Iterable<T>, inFlight: number, step: (item: T) => Promise<void> | void, stop: () => boolean): Promise<boolean> {
  const source = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  let stopped = false;
  const lane = async (): Promise<void> => {
    for (;;) {
      if (failure) return;
      if (stop()) {
        stopped = true;
        return;
      }
      const next = source.next();
      if (next.done === true) return;
      try {
        await step(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, inFlight) }, lane));
  if (failure) throw failure.error;
  return !stopped;
}
