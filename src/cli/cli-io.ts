// What the command line gets from the process (main.ts) or a test: the
// filesystem, the environment, the two output streams, and the optional
// hooks for threads, clocks, colour and signals.

import type { FileSystem } from '../storage/file-system.js';
import type { StorageWorkers } from '../scan/storage-workers.js';
import type { TreeReader } from '../storage/tree-reader.js';

export interface CliIo {
  fs: FileSystem;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** builds the read-side threads for -j N on the real filesystem; absent in tests (in-process). */
  makeWorkers?: (reader: TreeReader, threads: number) => StorageWorkers;
  /** the clock for --older-than (tests pin it). */
  now?: () => number;
  /** colour the human output (main.ts decides: report/paint.ts colorWanted, FORCE_COLOR, NO_COLOR, TERM=dumb, a terminal). */
  color?: boolean;
  /** stderr (fd 2 of the process, main.ts) is a terminal: live progress lines. */
  stderrIsTty?: boolean;
  /** the signal the process received (main.ts), if any: a sweep then stops starting deletions. */
  signal?: () => 'SIGINT' | 'SIGTERM' | undefined;
  /** the run may delete from now on: a signal must let it finish what is under way (main.ts). */
  holdSignals?: () => void;
  /** the progress line's clock, in ms (tests pin it). */
  clock?: () => number;
}

/** Exit status of a run whose deletions completed but whose report could not be written. */
export const EXIT_REPORT_LOST = 3;
/** Exit status of a --free run whose SIZE the whole plan could not reach (it freed what there was). */
export const EXIT_FREE_SHORT = 4;
