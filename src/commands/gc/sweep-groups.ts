// The sweep's groups (sweep-aside.ts): a list of deletions run
// concurrently, at most SWEEP_IN_FLIGHT under way (run-bounded.ts, the one
// bound of the deletion side), cut short by a signal; and, for what is
// still aside after the recheck, the same with a trash that takes each
// quarantine directory whole.

import type { AsideItem } from '../../storage/quarantine.js';
import { SWEEP_IN_FLIGHT, runBounded } from '../../storage/run-bounded.js';
import type { Vacuum } from '../../storage/vacuum.js';

/**
 * One group of the sweep, run concurrently. Returns whether every item was
 * done and, for cutting the reported lists to what was done, whether item
 * `i` (in the order given) was: the items start in order, so those done are
 * the first `started` but for the few that failed.
 */
export interface GroupOutcome {
  complete: boolean;
  done: (i: number) => boolean;
  failure: Error | undefined;
}

export async function group<T>(items: readonly T[], step: (item: T) => Promise<void>, stop: () => boolean): Promise<GroupOutcome> {
  let started = 0;
  const failed = new Set<number>();
  let complete = false;
  let failure: Error | undefined;
  try {
    complete = await runBounded(
      items.keys(),
      SWEEP_IN_FLIGHT,
      async (i) => {
        started = Math.max(started, i + 1);
        try {
          await step(items[i] as T);
        } catch (error) {
          failed.add(i);
          throw error;
        }
      },
      stop,
    );
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
  }
  return { complete, done: (i) => i < started && !failed.has(i), failure };
}

/**
 * `group` for what is still aside after the recheck: with a trash that
 * takes them whole (vacuum.takesAsideWhole), each quarantine directory
 * goes into it with one rename (`taken` counts each item moved so), and
 * only the items of one holding anything else go one by one (`step`).
 */
export async function groupAside<T>(
  vacuum: Vacuum,
  items: readonly T[],
  asideOf: (item: T) => AsideItem,
  step: (item: T) => Promise<void>,
  taken: (item: T, bytes: number) => void,
  stop: () => boolean,
): Promise<GroupOutcome> {
  if (!vacuum.takesAsideWhole) return group(items, step, stop);
  const byDir = new Map<string, number[]>();
  items.forEach((item, i) => {
    const dir = vacuum.asideDirOf(asideOf(item));
    const members = byDir.get(dir);
    if (members) members.push(i);
    else byDir.set(dir, [i]);
  });
  const whole = new Set<number>();
  const rest: number[] = [];
  try {
    for (const members of byDir.values()) {
      if (stop()) return { complete: false, done: (i) => whole.has(i), failure: undefined };
      const bytes = vacuum.takeAsideDir(members.map((i) => asideOf(items[i] as T)));
      if (bytes === undefined) rest.push(...members);
      else
        members.forEach((i, k) => {
          whole.add(i);
          taken(items[i] as T, bytes[k] ?? 0);
        });
    }
  } catch (error) {
    return { complete: false, done: (i) => whole.has(i), failure: error instanceof Error ? error : new Error(String(error)) };
  }
  const one = await group(
    rest.map((i) => items[i] as T),
    step,
    stop,
  );
  const position = new Map(rest.map((i, k) => [i, k]));
  return {
    complete: one.complete,
    done: (i) => {
      const k = position.get(i);
      return whole.has(i) || (k !== undefined && one.done(k));
    },
    failure: one.failure,
  };
}
