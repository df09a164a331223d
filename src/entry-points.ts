// Where the tool's other threads and processes start. Three roles besides
// the process entry: the CLI thread (main.ts), the read-side threads
// (scan/scan-worker.ts) and the prefetcher's child process
// (scan/prefetch-child.ts). Compiled to dist/, each role's entry is its own
// file, found next to the module that starts it. In the bundle (`npm run
// package`: one .cjs file) there are no such files: every role is the
// bundle itself, which re-enters at bundle.ts and dispatches on the role it
// is handed (workerData.role for a thread, REGISTRY_JANITOR_ROLE for the
// child). The single executable built from the bundle has no script file at
// all: its threads run the bundle's source (kept in the executable as an
// asset), and its child is the executable run again.

import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import { Worker, type WorkerOptions, workerData } from 'node:worker_threads';

export type ThreadRole = 'cli' | 'scan-worker';
type ChildRole = 'prefetch-child';
type Role = ThreadRole | ChildRole;

/** The name of the bundle's source inside the single executable (an SEA asset). */
export const BUNDLE_ASSET = 'registry-janitor.cjs';

/** The child's role travels in its environment: a forked process has no workerData. */
export const ROLE_VARIABLE = 'REGISTRY_JANITOR_ROLE';

/** The bundle, once bundle.ts has said where it runs from. */
interface Bundle {
  /** the .cjs file (`node registry-janitor.cjs`); undefined in the single executable. */
  file: string | undefined;
  /** the bundle's source, for threads of the single executable (which has no file to start them from). */
  source: (() => string) | undefined;
}

let bundle: Bundle | undefined;

/** Called first by bundle.ts, in every thread and process of the bundle. */
export function enterBundle(where: Bundle): void {
  bundle = where;
}

/** The role this thread or process was started for; undefined for the process entry. */
export function currentRole(): Role | undefined {
  const data = workerData as { role?: unknown } | null;
  if (typeof data?.role === 'string') return data.role as Role;
  // The variable alone is not enough: only a child forked with an IPC channel is the prefetcher.
  if (process.env[ROLE_VARIABLE] === 'prefetch-child' && typeof process.send === 'function') return 'prefetch-child';
  return undefined;
}

/**
 * Starts a thread of `role`. `beside` is the compiled entry next to the
 * caller (`new URL('./scan-worker.js', import.meta.url)`), only evaluated
 * outside the bundle. `data` reaches the thread as workerData, with the role.
 */
export function startThread(role: ThreadRole, beside: () => URL, data: object, options: Omit<WorkerOptions, 'workerData' | 'eval'> = {}): Worker {
  const workerOptions: WorkerOptions = { ...options, workerData: { ...data, role } };
  if (bundle === undefined) return new Worker(beside(), workerOptions);
  if (bundle.file !== undefined) return new Worker(bundle.file, workerOptions);
  return new Worker(bundle.source?.() ?? '', { ...workerOptions, eval: true });
}

/** Forks the child process of `role`, with an IPC channel (see startThread for `beside`). */
export function forkChild(role: ChildRole, beside: () => URL, options: ForkOptions): ChildProcess {
  const env = { ...(options.env ?? process.env), [ROLE_VARIABLE]: role };
  if (bundle === undefined) return fork(beside(), [], { ...options, env });
  // The single executable runs its own bundle whatever its arguments: the path is only what ps shows.
  return fork(bundle.file ?? process.execPath, [], { ...options, env });
}
