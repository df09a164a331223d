// The one command skeleton. Every command opens the tree the same way, and
// every command that can delete runs inside the same frame:
//
//   openTree     locate the root (storage/locate-root.ts); a root with no
//                registry data yet is a warning for every command
//                (W_EMPTY_ROOT), with nothing else to do
//   runDeleting  refuse a mount point below v2 (dry runs too: a volume
//                mounted over part of the tree hides data the mark needs);
//                take the run lock (real runs only); hand the body the one
//                deleter and the journal of an interrupted run of the same
//                command; at the end release the lock and, once the body
//                says it completed, remove the journal (journal.ts
//                removeJournalIfOurs says why in that order). With --trash
//                DIR, DIR is checked first (a dry run's too) and, in a real
//                run, opened: the deleter moves into it (storage/trash.ts)
//
// Each command's index.ts then reads as its numbered phases, timed by
// phases.ts.

import { type Warn, type Warning, describeError, makeWarning } from '../errors.js';
import type { FileSystem } from '../storage/file-system.js';
import { locateRoot } from '../storage/locate-root.js';
import { assertNoMountInside } from '../storage/mount-points.js';
import { acquireRunLock } from '../storage/run-lock.js';
import { TreeReader } from '../storage/tree-reader.js';
import { Vacuum } from '../storage/vacuum.js';
import { TrashBin, type TrashReport, checkTrashDir, emptyTrashReport } from '../storage/trash.js';
import { type Journal, removeJournalIfOurs, resumeJournal } from './journal.js';
import { type PhaseListener, type PhaseTimer, timePhases } from './phases.js';

export interface CommandStart {
  root: string;
  /** undefined when the root holds no registry data yet. */
  v2: string | undefined;
  /** undefined when the root holds no registry data yet. */
  reader: TreeReader | undefined;
  warnings: Warning[];
  warn: Warn;
  timer: PhaseTimer;
}

export function openTree(fs: FileSystem, rootNamed: string, onPhase?: PhaseListener): CommandStart {
  const located = locateRoot(fs, rootNamed);
  const warnings: Warning[] = [];
  const warn: Warn = (warning) => void warnings.push(warning);
  if (!located.v2) {
    warn(makeWarning('W_EMPTY_ROOT', `${located.root} holds no registry data yet: nothing to do`, { path: located.root }));
  }
  return {
    root: located.root,
    v2: located.v2,
    reader: located.v2 === undefined ? undefined : new TreeReader(fs, located.v2),
    warnings,
    warn,
    timer: timePhases(onPhase),
  };
}

export interface DeletingOptions {
  dryRun: boolean;
  /** the command line, recorded in the lock. */
  command?: string;
  /** --wait: how long to wait for another run's lock (default 0: refuse at once). */
  waitMs?: number;
  /** what identifies this command in the journal (journal.ts); absent for commands that remove no tags. */
  journal?: { fingerprint: string; command: string };
  /** --trash DIR: what the run would delete for good is moved into DIR (storage/trash.ts). */
  trash?: string | undefined;
}

export interface DeletingRun {
  /** the one deleter (storage/vacuum.ts). */
  vacuum: Vacuum;
  /** mount points below v2, for the read side's vetting (none, or the run was refused). */
  mountPoints: readonly string[];
  /** the journal of an interrupted run of this same command, to finish. */
  resumed: Journal | undefined;
  /** the body's work is done and verified: the journal may go. */
  complete: () => void;
  /** --trash DIR: what the run moved into DIR, counted as it goes (a dry run: nothing). */
  trash: TrashReport | undefined;
}

export async function runDeleting<T>(
  fs: FileSystem,
  reader: TreeReader,
  options: DeletingOptions,
  warn: Warn,
  body: (run: DeletingRun) => T | Promise<T>,
): Promise<T> {
  const mountPoints = assertNoMountInside(fs, reader.v2);
  const trashDir = options.trash === undefined ? undefined : checkTrashDir(fs, options.trash, reader.v2);
  let vacuum = new Vacuum(fs, reader.v2, mountPoints);
  // One destructive run per tree (storage/run-lock.ts), held to the end.
  const lock = options.dryRun ? undefined : await acquireRunLock(reader, { command: options.command ?? 'registry-janitor', waitMs: options.waitMs ?? 0, warn });
  const state = { completed: false };
  let trash: TrashBin | undefined;
  try {
    if (trashDir && !options.dryRun) {
      trash = new TrashBin(fs, trashDir, reader.v2);
      vacuum = new Vacuum(fs, reader.v2, mountPoints, trash);
    }
    const resumed = resumeJournal(reader, options.journal?.fingerprint, warn);
    const report = trash?.report ?? (trashDir ? emptyTrashReport(trashDir.dir) : undefined);
    return await body({ vacuum, mountPoints, resumed, complete: () => void (state.completed = true), trash: report });
  } finally {
    // A failure here must not hide the run's own outcome: a lock left
    // behind is taken over as stale, a journal left behind is finished by
    // a rerun; it is reported as a warning.
    try {
      trash?.close();
      lock?.release(() => vacuum.remove({ kind: 'lock' }));
      if (state.completed) removeJournalIfOurs(reader, options.journal?.fingerprint, () => vacuum.remove({ kind: 'journal' }));
    } catch (error) {
      const path = reader.pathOf({ kind: 'janitorDir' });
      warn(makeWarning('W_CLEANUP_FAILED', `cannot clean up ${path}: ${describeError(error)}`, { path }));
    }
  }
}
