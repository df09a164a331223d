// The command line. Thin: parse flags, pick the root, call an orchestrator,
// render, and return an exit code (0 ok, 1 failure, 2 usage). I/O comes in
// through `CliIo` so tests run it on memfs with captured output.

import { Command, CommanderError, Option } from 'commander';
import { rootFromConfigFile } from './config.js';
import { JanitorError, describeError } from './errors.js';
import { type GcOptions, runGc } from './gc/run-gc.js';
import type { FileSystem } from './io/file-system.js';
import { type LsSort, runLs } from './ls/run-ls.js';
import { makePaint } from './paint.js';
import { renderGcHuman, writeGcJson } from './report.js';
import { renderLsHuman, renderLsJson, renderTagsRmHuman, renderTagsRmJson } from './report-tags.js';
import { compileRepositoryGlobs } from './select/repository-glob.js';
import { type SelectionFlags, buildSelector } from './select/selection.js';
import type { StorageWorkers } from './storage/repo-scanner.js';
import type { TreeReader } from './storage/tree-reader.js';
import { runTagsRm } from './tags/run-tags-rm.js';

export interface CliIo {
  fs: FileSystem;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** builds the read-side threads for -j N on the real filesystem; absent in tests (in-process). */
  makeWorkers?: (reader: TreeReader, threads: number) => StorageWorkers;
  /** the clock for --older-than (tests pin it). */
  now?: () => number;
  /** colour the human output (a terminal without NO_COLOR). */
  color?: boolean;
}

export const DEFAULT_ROOT = '/var/lib/registry';

interface CommonFlags {
  root?: string;
  config?: string;
  json?: boolean;
  concurrency: number;
}

interface SweepFlags extends CommonFlags {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  skipRepo?: string[];
}

function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new JanitorError('E_USAGE', `--concurrency takes a whole number from 1 to 64, not ${JSON.stringify(value)}`);
  }
  return n;
}

function resolveRoot(fs: FileSystem, flags: CommonFlags, env: NodeJS.ProcessEnv): string {
  if (flags.root !== undefined && flags.config !== undefined) {
    throw new JanitorError('E_USAGE', '--root and --config name the same thing: give one of them');
  }
  // An unset shell variable (--root "$ROOT") must not mean the current directory.
  if (flags.root === '') throw new JanitorError('E_USAGE', '--root is empty (an unset shell variable?): give the registry root directory');
  if (flags.config === '') throw new JanitorError('E_USAGE', "--config is empty (an unset shell variable?): give the registry's config.yml");
  if (flags.config !== undefined) return rootFromConfigFile(fs, flags.config, env);
  return flags.root ?? DEFAULT_ROOT;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function addRootOptions(command: Command): Command {
  return command
    .option('--root <dir>', `the filesystem driver's rootdirectory, or its docker/registry/v2 (default ${DEFAULT_ROOT})`)
    .option('--config <file>', "read the rootdirectory from the registry's config.yml")
    .option('--json', 'print exactly one JSON object on stdout')
    .addOption(new Option('-j, --concurrency <n>', 'reader threads (this one included)').argParser(parseConcurrency).default(2));
}

function addSelectionOptions(command: Command): Command {
  return command
    .argument('[REPO:TAG...]', 'tags to remove, by name')
    .option('--repo <glob>', 'only repositories matching (repeatable; * within a path component, ** across)', collect)
    .option('--exclude-repo <glob>', 'never these repositories (repeatable)', collect)
    .option('--tag <regex>', 'candidates: tags whose name matches')
    .option('--keep-tag <regex>', 'keep candidates whose name matches (repeatable)', collect)
    .option('--keep-latest <n>', 'keep the N most recently pushed candidates of each repository')
    .option('--older-than <duration>', 'keep candidates pushed more recently than this (30d, 12h, 90m)')
    .option('--policy <file>', 'rules from a YAML or JSON policy file');
}

export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const progress = (flags: CommonFlags) => (phase: string, ms: number) => {
    if (!flags.json) io.stderr(`phase ${phase} done in ${(ms / 1000).toFixed(2)} s\n`);
  };
  const workersFor = (flags: CommonFlags): GcOptions['makeWorkers'] => {
    const make = io.makeWorkers;
    return make && ((reader) => make(reader, flags.concurrency));
  };
  const sweep = async (root: string, flags: SweepFlags, extra: Partial<GcOptions> = {}, command = 'gc'): Promise<void> => {
    const skip = flags.skipRepo?.length ? compileRepositoryGlobs(flags.skipRepo, '--skip-repo') : undefined;
    const result = await runGc(io.fs, root, {
      dryRun: flags.dryRun === true,
      deleteUntagged: flags.deleteUntagged === true,
      ...(skip ? { skipRepository: (name: string) => skip(name) } : {}),
      makeWorkers: workersFor(flags),
      onPhase: progress(flags),
      ...extra,
    });
    if (flags.json) writeGcJson(result, io.stdout);
    else io.stdout(renderGcHuman(result, command, paint));
  };
  const now = io.now ?? Date.now;
  const paint = makePaint(io.color === true);

  const program = new Command('registry-janitor')
    .description('Reclaim disk space in a Distribution registry storage tree (run it with the registry stopped or read-only).')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  addRootOptions(program.command('gc'))
    .description('mark and sweep unreferenced blobs, like `registry garbage-collect`')
    .option('-d, --dry-run', 'report what would be deleted; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests no tag needs (multi-arch children and referrers of kept images are kept)')
    .option('--skip-repo <glob>', 'do not read these repositories; keep everything they link (repeatable)', collect)
    .action((flags: SweepFlags) => sweep(resolveRoot(io.fs, flags, io.env), flags));

  addRootOptions(program.command('garbage-collect'))
    .description('drop-in for `registry garbage-collect [-d] [-m] CONFIG`')
    .argument('<config>', "the registry's config.yml")
    .option('-d, --dry-run', 'report what would be deleted; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests no tag needs (multi-arch safe)')
    .action((config: string, flags: SweepFlags) => {
      if (flags.root !== undefined || flags.config !== undefined) throw new JanitorError('E_USAGE', 'garbage-collect takes the config file as its argument, not --root or --config');
      if (config === '') throw new JanitorError('E_USAGE', "garbage-collect: the config file argument is empty (an unset shell variable?)");
      return sweep(rootFromConfigFile(io.fs, config, io.env), flags);
    });

  addSelectionOptions(addRootOptions(program.command('prune')))
    .description('remove the selected tags and sweep in one run')
    .option('-d, --dry-run', 'show what would be removed and freed; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests that were untagged before')
    .option('--skip-repo <glob>', 'do not read these repositories; keep everything they link (repeatable)', collect)
    .action((tags: string[], flags: SweepFlags & SelectionFlags) =>
      sweep(resolveRoot(io.fs, flags, io.env), flags, { selector: buildSelector(io.fs, tags, flags, now()) }, 'prune'),
    );

  type TagsRmFlags = CommonFlags & SelectionFlags & { dryRun?: boolean };
  const tagsRm = (tags: string[], flags: TagsRmFlags): void => {
    const selector = buildSelector(io.fs, tags, flags, now());
    const result = runTagsRm(io.fs, resolveRoot(io.fs, flags, io.env), { dryRun: flags.dryRun === true, selector, onPhase: progress(flags) });
    io.stdout(flags.json ? renderTagsRmJson(result) : renderTagsRmHuman(result, paint));
  };
  const tagsCommand = program.command('tags').description('tag operations');
  // `tags rm`, also spelled `tags untag` and, top-level, `untag`.
  for (const command of [tagsCommand.command('rm').alias('untag'), program.command('untag')]) {
    addSelectionOptions(addRootOptions(command))
      .description('remove the selected tag directories and nothing else (sibling tags on the same digest stay)')
      .option('-d, --dry-run', 'show what would be removed; change nothing')
      .action(tagsRm);
  }

  addRootOptions(program.command('ls'))
    .description('inventory: tags, sizes, what each tag alone would free, untagged revisions')
    .argument('[REPO-GLOB...]', 'only repositories matching')
    .addOption(new Option('--sort <key>', 'order of tags (and repositories)').choices(['name', 'size', 'age']).default('name'))
    .action(async (globs: string[], flags: CommonFlags & { sort: LsSort }) => {
      const result = await runLs(io.fs, resolveRoot(io.fs, flags, io.env), { globs, sort: flags.sort, makeWorkers: workersFor(flags), onPhase: progress(flags) });
      io.stdout(flags.json ? renderLsJson(result) : renderLsHuman(result, paint));
    });

  try {
    if (args.length === 0) {
      io.stderr(program.helpInformation());
      return 2;
    }
    await program.parseAsync([...args], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; a missing subcommand shows help with exit code 1: a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    io.stderr(`registry-janitor: error: ${describeError(error)}\n`);
    return error instanceof JanitorError ? error.exitCode : 1;
  }
}
