// Named, timed phases for the orchestrators: each phase's wall time is kept
// for the report and announced as it ends.

export interface PhaseTimer {
  phases: { name: string; ms: number }[];
  run<T>(name: string, body: () => T): T;
  runAsync<T>(name: string, body: () => Promise<T>): Promise<T>;
}

export function timePhases(onPhase?: (phase: string, ms: number) => void): PhaseTimer {
  const phases: { name: string; ms: number }[] = [];
  const finish = (name: string, started: number): void => {
    const ms = performance.now() - started;
    phases.push({ name, ms });
    onPhase?.(name, ms);
  };
  return {
    phases,
    run(name, body) {
      const started = performance.now();
      const value = body();
      finish(name, started);
      return value;
    },
    async runAsync(name, body) {
      const started = performance.now();
      const value = await body();
      finish(name, started);
      return value;
    },
  };
}
