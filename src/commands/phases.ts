// Named, timed phases for the orchestrators: each phase's wall time is kept
// for the report and announced as it ends. A phase that counts its work
// (the mark's repositories, the sweep's deletions) tells `progress`, which
// a progress line (report/progress.ts) draws while the phase runs.

/** What a phase reports as it goes. */
export interface PhaseProgress {
  /** the items this phase will do, once known. */
  total(items: number): void;
  /** `items` more done, freeing `bytes`. */
  advance(items: number, bytes?: number): void;
}

/** Who listens to the phases: a function told of each phase's end, or a progress line told of everything. */
/** A progress line: told of each phase's start, progress and end. */
export interface ProgressListener extends PhaseProgress {
  begin(phase: string): void;
  end(phase: string, ms: number): void;
}

export type PhaseListener = ((phase: string, ms: number) => void) | ProgressListener;

export interface PhaseTimer {
  phases: { name: string; ms: number }[];
  run<T>(name: string, body: () => T): T;
  runAsync<T>(name: string, body: () => Promise<T>): Promise<T>;
  /** the running phase's progress (nothing listens without a progress line). */
  progress: PhaseProgress;
}

export function timePhases(listener?: PhaseListener): PhaseTimer {
  const phases: { name: string; ms: number }[] = [];
  const line = typeof listener === 'object' ? listener : undefined;
  const start = (name: string): number => {
    line?.begin(name);
    return performance.now();
  };
  const finish = (name: string, started: number): void => {
    const ms = performance.now() - started;
    phases.push({ name, ms });
    if (typeof listener === 'function') listener(name, ms);
    else line?.end(name, ms);
  };
  return {
    phases,
    run(name, body) {
      const started = start(name);
      const value = body();
      finish(name, started);
      return value;
    },
    async runAsync(name, body) {
      const started = start(name);
      const value = await body();
      finish(name, started);
      return value;
    },
    progress: {
      total: (items) => line?.total(items),
      advance: (items, bytes = 0) => line?.advance(items, bytes),
    },
  };
}
