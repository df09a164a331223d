// The process entry (bin/registry-janitor.js). The CLI runs in a worker
// thread created with a bounded young generation: V8's default on the main
// thread (16 MB semi-spaces, only settable by a flag at process start)
// cost ~40 MB of peak RSS on the 1M-blob bench tree (175 MB -> 134 MB for
// `gc -d -j 1`) and no speed. The main thread loads nothing else and only
// relays the exit code.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const CLI_YOUNG_GENERATION_MB = 6;

export function startCli(args: string[]): void {
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { args },
    resourceLimits: { maxYoungGenerationSizeMb: CLI_YOUNG_GENERATION_MB },
  });
  worker.on('message', (code: number) => (process.exitCode = code));
  worker.on('error', (error) => {
    process.stderr.write(`registry-janitor: error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}

async function runInWorker(args: string[]): Promise<number> {
  const [{ nodeFileSystem }, { default: tty }, { runCli }, { makeStorageWorkers }, { writeAllSync }] = await Promise.all([
    import('./storage/file-system.js'),
    import('node:tty'),
    import('./cli.js'),
    import('./scan/scan-pool.js'),
    import('./report/write-fd.js'),
  ]);
  return runCli(args, {
    fs: nodeFileSystem,
    env: process.env,
    stdout: (text) => writeAllSync(1, text),
    stderr: (text) => writeAllSync(2, text),
    makeWorkers: makeStorageWorkers,
    color: tty.isatty(1) && !process.env.NO_COLOR,
  });
}

if (!isMainThread && (workerData as { args?: unknown } | null)?.args) {
  parentPort?.postMessage(await runInWorker((workerData as { args: string[] }).args));
}
