// The command line. Thin: parse flags, pick the root, call an orchestrator,
// render, and return an exit code (0 ok, 1 failure, 2 usage). I/O comes in
// through `CliIo` so tests run it on memfs with captured output.

import { Command, CommanderError, Option } from 'commander';
import { rootFromConfigFile } from './config.js';
import { JanitorError, describeError } from './errors.js';
import type { FileSystem } from './io/file-system.js';
import { type GcResult, runGc } from './gc/run-gc.js';
import { renderGcHuman, writeGcJson } from './report.js';
import type { StorageWorkers } from './storage/repo-scanner.js';
import type { TreeReader } from './storage/tree-reader.js';

export interface CliIo {
  fs: FileSystem;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** builds the read-side threads for -j N on the real filesystem; absent in tests (in-process). */
  makeWorkers?: (reader: TreeReader, threads: number) => StorageWorkers;
  /** whether stderr is a terminal (progress lines). */
  interactive?: boolean;
}

export const DEFAULT_ROOT = '/var/lib/registry';

interface GcFlags {
  root?: string;
  config?: string;
  dryRun?: boolean;
  deleteUntagged?: boolean;
  json?: boolean;
  concurrency: number;
}

function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new JanitorError('E_USAGE', `--concurrency takes a whole number from 1 to 64, not ${JSON.stringify(value)}`);
  }
  return n;
}

function resolveRoot(flags: GcFlags, env: NodeJS.ProcessEnv): string {
  if (flags.root !== undefined && flags.config !== undefined) {
    throw new JanitorError('E_USAGE', '--root and --config name the same thing: give one of them');
  }
  if (flags.config !== undefined) return rootFromConfigFile(flags.config, env);
  return flags.root ?? DEFAULT_ROOT;
}

async function gcAction(io: CliIo, root: string, flags: GcFlags): Promise<void> {
  const dryRun = flags.dryRun === true;
  const deleteUntagged = flags.deleteUntagged === true;
  const progress = (line: string): void => {
    if (!flags.json) io.stderr(`${line}\n`);
  };
  const makeWorkers = io.makeWorkers;
  const result: GcResult = await runGc(io.fs, root, {
    dryRun,
    deleteUntagged,
    makeWorkers: makeWorkers && ((reader) => makeWorkers(reader, flags.concurrency)),
    onPhase: (phase, ms) => progress(`phase ${phase} done in ${(ms / 1000).toFixed(2)} s`),
    onProgress: progress,
  });
  if (flags.json) writeGcJson(result, io.stdout);
  else io.stdout(renderGcHuman(result));
}

function buildProgram(io: CliIo): Command {
  const program = new Command('registry-janitor')
    .description('Reclaim disk space in a Distribution registry storage tree (run it with the registry stopped or read-only).')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(text) })
    .showHelpAfterError(false);

  const concurrency = new Option('-j, --concurrency <n>', 'reader threads for the repository scan').argParser(parseConcurrency).default(2);

  program
    .command('gc')
    .description('mark and sweep unreferenced blobs, like `registry garbage-collect`')
    .option('--root <dir>', `the filesystem driver's rootdirectory, or its docker/registry/v2 (default ${DEFAULT_ROOT})`)
    .option('--config <file>', "read the rootdirectory from the registry's config.yml")
    .option('-d, --dry-run', 'report what would be deleted; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests no tag needs (multi-arch children and referrers of kept images are kept)')
    .option('--json', 'print exactly one JSON object on stdout')
    .addOption(concurrency)
    .action((flags: GcFlags) => gcAction(io, resolveRoot(flags, io.env), flags));

  program
    .command('garbage-collect')
    .description('drop-in for `registry garbage-collect [-d] [-m] CONFIG`')
    .argument('<config>', "the registry's config.yml")
    .option('-d, --dry-run', 'report what would be deleted; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests no tag needs (multi-arch safe)')
    .option('--json', 'print exactly one JSON object on stdout')
    .addOption(concurrency)
    .action((config: string, flags: GcFlags) => gcAction(io, rootFromConfigFile(config, io.env), flags));

  return program;
}

/** Runs the CLI on `args` (without node and script) and returns the exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    if (args.length === 0) {
      io.stderr(program.helpInformation());
      return 2;
    }
    await program.parseAsync([...args], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return 0;
      return 2;
    }
    io.stderr(`registry-janitor: error: ${describeError(error)}\n`);
    return error instanceof JanitorError ? error.exitCode : 1;
  }
}
