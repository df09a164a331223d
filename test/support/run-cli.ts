// The CLI in-process on a test filesystem (memfs, or a wrapped one): its
// exit code, everything it wrote to stdout and stderr, and the report of a
// --json run parsed.
import { runCli } from '../../src/cli/index.js';
import type { FileSystem } from '../../src/storage/file-system.js';

export interface RunCliOptions {
  /** the environment the run sees ({} when absent). */
  env?: NodeJS.ProcessEnv;
  /** the clock for --older-than, pinned (the real one when absent). */
  now?: number;
}

/** Runs `args`; `json` is the parsed stdout of a --json run that printed one, else undefined. */
export async function runCliOn(fs: FileSystem, args: string[], options: RunCliOptions = {}) {
  let stdout = '';
  let stderr = '';
  const { env = {}, now } = options;
  const code = await runCli(args, {
    fs,
    env,
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    ...(now === undefined ? {} : { now: () => now }),
  });
  return { code, stdout, stderr, json: args.includes('--json') && stdout !== '' ? JSON.parse(stdout) : undefined };
}
