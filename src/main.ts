// The process entry (bin/registry-janitor.js). The CLI runs in a worker
// thread created with a bounded young generation: V8's default on the main
// thread (16 MB semi-spaces, only settable by a flag at process start)
// cost ~40 MB of peak RSS on the 1M-blob bench tree (175 MB -> 134 MB for
// `gc -d -j 1`) and no speed. The main thread loads nothing else: it relays
// the exit code, tells whether stderr is a terminal (for the progress line),
// and relays SIGINT and SIGTERM.
//
// Signals arrive here, in the main thread. Until the CLI says it is about to
// delete (a real gc, prune or tags rm), the first one exits at once: nothing
// was written. After that, the first is written into a
// shared word the CLI thread reads between deletions (its sweep never yields
// long enough for a message): a sweep starts no new deletion, finishes the
// ones under way, puts back what it moved aside, reports what it did, and
// exits 130 (SIGINT) or 143 (SIGTERM) with its lock released. A second
// signal exits at once with the same status: deletions in flight are cut
// short where the kernel is, which leaves a tree a rerun finishes (see
// "Interrupted runs" in the README), and the lock is taken over as stale.

import { parentPort, workerData } from 'node:worker_threads';
import { currentRole, startThread } from './entry-points.js';

const CLI_YOUNG_GENERATION_MB = 6;

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;
type Stop = keyof typeof SIGNALS;

export function startCli(args: string[]): void {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const worker = startThread(
    'cli',
    () => new URL(import.meta.url),
    { args, signal, stderrIsTty: process.stderr.isTTY },
    { resourceLimits: { maxYoungGenerationSizeMb: CLI_YOUNG_GENERATION_MB } },
  );
  let deleting = false;
  const onSignal = (name: Stop): void => {
    if (!deleting || Atomics.load(signal, 0) !== 0) process.exit(128 + SIGNALS[name]); // nothing to finish, or the second: at once
    Atomics.store(signal, 0, SIGNALS[name]);
  };
  for (const name of Object.keys(SIGNALS) as Stop[]) process.on(name, onSignal);
  worker.on('exit', () => {
    for (const name of Object.keys(SIGNALS) as Stop[]) process.off(name, onSignal);
  });
  worker.on('message', (message: number | 'deleting') => {
    if (message === 'deleting') deleting = true;
    else process.exitCode = message;
  });
  worker.on('error', (error) => {
    process.stderr.write(`registry-janitor: error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}

interface CliData {
  args: string[];
  signal: Int32Array;
  stderrIsTty: boolean | undefined;
}

async function runInWorker({ args, signal, stderrIsTty }: CliData): Promise<number> {
  const [{ nodeFileSystem }, { default: tty }, { runCli }, { makeStorageWorkers }, { writeAllSync }, { colorWanted }] = await Promise.all([
    import('./storage/file-system.js'),
    import('node:tty'),
    import('./cli/index.js'),
    import('./scan/scan-pool.js'),
    import('./report/write-fd.js'),
    import('./report/paint.js'),
  ]);
  return runCli(args, {
    fs: nodeFileSystem,
    env: process.env,
    stdout: (text) => writeAllSync(1, text),
    stderr: (text) => writeAllSync(2, text),
    makeWorkers: makeStorageWorkers,
    color: colorWanted(process.env, tty.isatty(1)),
    stderrIsTty: stderrIsTty === true,
    holdSignals: () => parentPort?.postMessage('deleting'),
    signal: () => {
      const received = Atomics.load(signal, 0);
      return received === SIGNALS.SIGTERM ? 'SIGTERM' : received === SIGNALS.SIGINT ? 'SIGINT' : undefined;
    },
  });
}

// The CLI thread (entry-points.ts: this file compiled, or the bundle re-entered).
if (currentRole() === 'cli') {
  void runInWorker(workerData as CliData).then((code) => parentPort?.postMessage(code));
}
