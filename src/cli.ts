// The command line. Thin: parse flags, pick the root, call an orchestrator,
// render, and return an exit code (0 ok, 1 failure, 2 usage). I/O comes in
// through `CliIo` so tests run it on memfs with captured output.

import { createHash } from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { rootFromConfigFile } from './storage/registry-config.js';
import { JanitorError, describeError } from './errors.js';
import { type GcOptions, runGc } from './commands/gc/index.js';
import { type FileSystem, readTextFileSync } from './storage/file-system.js';
import { type LsSort, runLs } from './commands/ls/index.js';
import { makePaint } from './report/paint.js';
import { progressLine, progressMode } from './report/progress.js';
import type { PhaseListener } from './commands/phases.js';
import { formatBytes, renderGcHuman, writeGcJson } from './report/render-gc.js';
import { parseSize } from './select/size.js';
import { renderLsHuman, renderLsJson } from './report/render-ls.js';
import { renderTagsRmHuman, renderTagsRmJson } from './report/render-tags-rm.js';
import { renderVerifyHuman, renderVerifyJson } from './report/render-verify.js';
import { runVerify } from './commands/verify/index.js';
import { parseDuration } from './select/duration.js';
import { DEFAULT_PREFETCH, MAX_PREFETCH } from './scan/prefetch.js';
import { checkLiveRegistry } from './storage/live-registry.js';
import { readRegistryFactsFile } from './storage/registry-facts.js';
import type { RegistryReport } from './commands/gc/index.js';
import { compileRepositoryGlobs } from './select/repository-glob.js';
import { type SelectionFlags, buildSelector } from './select/selection.js';
import type { StorageWorkers } from './scan/storage-workers.js';
import type { TreeReader } from './storage/tree-reader.js';
import { runTagsRm } from './commands/tags-rm/index.js';

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
  /** stderr (fd 2 of the process, main.ts) is a terminal: live progress lines. */
  stderrIsTty?: boolean;
  /** the signal the process received (main.ts), if any: a sweep then stops starting deletions. */
  signal?: () => 'SIGINT' | 'SIGTERM' | undefined;
  /** the run may delete from now on: a signal must let it finish what is under way (main.ts). */
  holdSignals?: () => void;
  /** the progress line's clock, in ms (tests pin it). */
  clock?: () => number;
}

export const DEFAULT_ROOT = '/var/lib/registry';
/** Entries a dry run lists per group (--list). */
const DEFAULT_LIST = 50;

interface CommonFlags {
  root?: string;
  config?: string;
  json?: boolean;
  concurrency: number;
  progress?: boolean;
  quiet?: boolean;
  /** --prefetch N: reads kept in flight ahead of the scan (scan/prefetch.ts). */
  prefetch: number;
}

interface SafetyFlags {
  wait?: string | true;
  grace: string;
  registryUrl?: string;
  allowLive?: boolean;
}

interface SweepFlags extends CommonFlags, SafetyFlags {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  skipRepo?: string[];
  /** --free SIZE (free-target.ts) and the dry run's --list N|all. */
  free?: string;
  list?: string;
}

/** --list: entries shown per group in a dry run's listing (all: every one). */
function parseList(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIST;
  if (value === 'all') return Number.POSITIVE_INFINITY;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new JanitorError('E_USAGE', `--list takes a whole number above 0 or "all", not ${JSON.stringify(value)}`);
  return Number(value);
}

function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new JanitorError('E_USAGE', `--concurrency takes a whole number from 1 to 64, not ${JSON.stringify(value)}`);
  }
  return n;
}

function parsePrefetch(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > MAX_PREFETCH) {
    throw new JanitorError('E_USAGE', `--prefetch takes a whole number from 0 to ${MAX_PREFETCH}, not ${JSON.stringify(value)}`);
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
    .option('--progress', 'progress lines on stderr even without a terminal (one every 5 s, for logs)')
    .option('-q, --quiet', 'print only errors on stderr (no phase or progress lines)')
    .addOption(new Option('-j, --concurrency <n>', 'reader threads (this one included)').argParser(parseConcurrency).default(2))
    .addOption(
      new Option('--prefetch <n>', 'reads kept in flight ahead of the scan, to warm a cold cache (0: none)').argParser(parsePrefetch).default(DEFAULT_PREFETCH),
    );
}

/** --wait[=DURATION]: without a value, wait as long as it takes. */
function parseWait(value: string | true | undefined): number {
  if (value === undefined) return 0;
  if (value === true) return Number.POSITIVE_INFINITY;
  return parseDuration(value, '--wait');
}

/** The options of every command that can delete: the lock, the grace window, the live-registry guard. */
function addSafetyOptions(command: Command, defaultGrace: string): Command {
  return command
    .option('--wait [duration]', "wait for another run's lock (as long as it takes, or DURATION: 10m) instead of refusing")
    .option('--grace <duration>', `never delete what was written within this window (blobs, revisions, layer links; default ${defaultGrace})`, defaultGrace)
    .option('--registry-url <url>', 'also probe this registry URL before deleting (refused if a registry answers)')
    .option('--allow-live', 'delete even if a registry answers (the grace window and revalidation protect fresh writes)');
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

/** Exit status of a run whose deletions completed but whose report could not be written. */
export const EXIT_REPORT_LOST = 3;
/** Exit status of a --free run whose SIZE the whole plan could not reach (it freed what there was). */
export const EXIT_FREE_SHORT = 4;

export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  // Diagnostics never stop the work: a full or closed stderr loses the
  // progress line, not the sweep.
  const say = (text: string): void => {
    try {
      io.stderr(text);
    } catch {
      // nowhere left to say it
    }
  };
  let line: ReturnType<typeof progressLine> | undefined;
  const diagnose = (text: string): void => {
    line?.close();
    say(text);
  };
  const progress = (flags: CommonFlags) => (phase: string, ms: number) => {
    if (!flags.json && !flags.quiet) diagnose(`phase ${phase} done in ${(ms / 1000).toFixed(2)} s\n`);
  };
  /** gc's phases: a live line on a terminal, lines every 5 s with --progress, none with -q (report/progress.ts). */
  const progressOf = (flags: CommonFlags): PhaseListener => (line = progressLine(progressMode(flags, io.stderrIsTty === true), say, io.clock));
  const commandLine = `registry-janitor ${args.join(' ')}`;
  // The journal recognises a rerun of the same command by what it selects:
  // REPO:TAGs, selection flags, the policy's content (not its path), -m and
  // --grace; not how the root is spelled, -d (a dry run shows what the
  // rerun would do), --json, -j or the guard flags.
  const journalOf = (command: string, tags: string[], flags: object): { fingerprint: string; command: string } => {
    const ignored = new Set(['root', 'config', 'dryRun', 'json', 'concurrency', 'prefetch', 'wait', 'allowLive', 'registryUrl', 'policy', 'free', 'list']);
    const selection = Object.entries(flags as Record<string, unknown>).filter(([key]) => !ignored.has(key));
    const policyFile = (flags as SelectionFlags).policy;
    const policy = policyFile === undefined ? null : createHash('sha256').update(readTextFileSync(io.fs, policyFile)).digest('hex');
    return { fingerprint: JSON.stringify({ command, tags: [...tags].sort(), selection: selection.sort(), policy }), command: commandLine };
  };
  /**
   * Writes the report. A report that cannot be written after deletions
   * must not read as "nothing deleted" (exit 1): one line says what was
   * done, and the exit status is EXIT_REPORT_LOST.
   */
  const report = (write: () => void, deleted: string | undefined): void => {
    try {
      write();
    } catch (cause) {
      if (deleted === undefined) throw cause;
      diagnose(`registry-janitor: error: the run completed (${deleted}) but its report could not be written: ${describeError(cause)}\n`);
      exitCode = EXIT_REPORT_LOST;
    }
  };
  const workersFor = (flags: CommonFlags): GcOptions['makeWorkers'] => {
    const make = io.makeWorkers;
    return make && ((reader) => make(reader, flags.concurrency));
  };
  /**
   * The live-registry guard (storage/live-registry.ts), before anything is
   * read for deletion: with the registry's config (or --registry-url), a
   * registry that answers and is not read-only refuses the run unless
   * --allow-live. Dry runs only report the config's read-only setting.
   */
  const guardLive = async (configFile: string | undefined, flags: SafetyFlags & { dryRun?: boolean }): Promise<RegistryReport | undefined> => {
    const facts = configFile === undefined ? undefined : readRegistryFactsFile(io.fs, configFile, io.env);
    const report: RegistryReport = { config: configFile ?? null, readOnly: facts ? facts.readOnly : null, live: null };
    if (flags.dryRun || (facts === undefined && flags.registryUrl === undefined)) return facts ? report : undefined;
    const check = await checkLiveRegistry(facts, flags.registryUrl);
    report.live = check.live?.url ?? false;
    if (check.refusal && !flags.allowLive) throw new JanitorError('E_LIVE', check.refusal);
    if (check.live)
      diagnose(
        `registry-janitor: warning: a registry answers at ${check.live.url}${facts?.readOnly ? ' (configured read-only)' : ''}; going on (${flags.allowLive ? '--allow-live' : 'read-only'}): the grace window and revalidation protect fresh writes\n`,
      );
    return report;
  };
  const sweep = async (root: string, flags: SweepFlags, extra: Partial<GcOptions> = {}, command = 'gc', configFile = flags.config): Promise<void> => {
    const free = flags.free === undefined ? undefined : parseSize(flags.free, '--free');
    const list = parseList(flags.list);
    if (flags.dryRun !== true) io.holdSignals?.();
    const registry = await guardLive(configFile, flags);
    const skip = flags.skipRepo?.length ? compileRepositoryGlobs(flags.skipRepo, '--skip-repo') : undefined;
    const result = await runGc(io.fs, root, {
      dryRun: flags.dryRun === true,
      deleteUntagged: flags.deleteUntagged === true,
      ...(skip ? { skipRepository: (name: string) => skip(name) } : {}),
      makeWorkers: workersFor(flags),
      prefetch: flags.prefetch,
      onPhase: progressOf(flags),
      ...(io.signal ? { stopRequested: io.signal } : {}),
      command: commandLine,
      waitMs: parseWait(flags.wait),
      graceMs: parseDuration(flags.grace, '--grace'),
      free,
      sizeBlobs: flags.dryRun === true && flags.json !== true,
      allowLive: flags.allowLive === true,
      ...extra,
    }).finally(() => line?.close());
    result.registry = registry;
    const swept = result.swept;
    const deleted =
      swept && `deleted ${swept.tags} tags, ${swept.manifests} manifests, ${swept.layerLinks} layer links, ${swept.blobs} blobs, ${swept.bytes} bytes`;
    report(() => (flags.json ? writeGcJson(result, io.stdout) : io.stdout(renderGcHuman(result, command, paint, { list }))), deleted);
    if (result.free && !result.free.reached && !result.sweepError) {
      diagnose(
        `registry-janitor: --free ${flags.free ?? ''} not reached: ${result.dryRun ? 'the whole plan would free' : 'freed everything reclaimable,'} ${formatBytes(result.free.freed)}\n`,
      );
      exitCode = EXIT_FREE_SHORT;
    }
    if (result.sweepError?.code === 'E_INTERRUPTED') {
      // 128 + the signal's number, as a shell reports a process a signal stopped.
      diagnose(`registry-janitor: ${result.sweepError.message}; it ${deleted} (rerun the same command to finish)\n`);
      exitCode = io.signal?.() === 'SIGTERM' ? 143 : 130;
    } else if (result.sweepError) {
      diagnose(`registry-janitor: error: ${result.sweepError.message}; the sweep stopped part-way after it ${deleted} (rerun the same command to finish)\n`);
      exitCode = 1;
    }
  };
  const now = io.now ?? Date.now;
  const paint = makePaint(io.color === true);

  const program = new Command('registry-janitor')
    .description('Reclaim disk space in a Distribution registry storage tree (run it with the registry stopped or read-only).')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  addSafetyOptions(addRootOptions(program.command('gc')), '1h')
    .description('mark and sweep unreferenced blobs, like `registry garbage-collect`')
    .option('-d, --dry-run', 'report what would be deleted; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests no tag needs (multi-arch children and referrers of kept images are kept)')
    .option('--skip-repo <glob>', 'do not read these repositories; keep everything they link (repeatable)', collect)
    .option('--free <size>', 'delete the largest unreferenced blobs until SIZE is freed (500M, 50G, 1.5T; 1024-based); leave the rest')
    .option('--list <n>', 'a dry run lists the N largest of each group (default 50), or all')
    .action((flags: SweepFlags) => sweep(resolveRoot(io.fs, flags, io.env), flags));

  addSafetyOptions(addRootOptions(program.command('garbage-collect')), '0s')
    .description('drop-in for `registry garbage-collect [-d] [-m] CONFIG`')
    .argument('<config>', "the registry's config.yml")
    .option('-d, --dry-run', 'report what would be deleted; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests no tag needs (multi-arch safe)')
    .action((config: string, flags: SweepFlags) => {
      if (flags.root !== undefined || flags.config !== undefined)
        throw new JanitorError('E_USAGE', 'garbage-collect takes the config file as its argument, not --root or --config');
      if (config === '') throw new JanitorError('E_USAGE', 'garbage-collect: the config file argument is empty (an unset shell variable?)');
      return sweep(rootFromConfigFile(io.fs, config, io.env), flags, {}, 'gc', config);
    });

  addSafetyOptions(addSelectionOptions(addRootOptions(program.command('prune'))), '1h')
    .description('remove the selected tags and sweep in one run')
    .option('-d, --dry-run', 'show what would be removed and freed; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests that were untagged before')
    .option('--skip-repo <glob>', 'do not read these repositories; keep everything they link (repeatable)', collect)
    .option('--free <size>', 'delete the largest unreferenced blobs until SIZE is freed (500M, 50G, 1.5T; 1024-based); leave the rest')
    .option('--list <n>', 'a dry run lists the N largest of each group (default 50), or all')
    .action((tags: string[], flags: SweepFlags & SelectionFlags) =>
      sweep(
        resolveRoot(io.fs, flags, io.env),
        flags,
        { selector: buildSelector(io.fs, tags, flags, now()), journal: journalOf('prune', tags, flags) },
        'prune',
      ),
    );

  type TagsRmFlags = CommonFlags & SelectionFlags & SafetyFlags & { dryRun?: boolean };
  const tagsRm = async (tags: string[], flags: TagsRmFlags): Promise<void> => {
    const selector = buildSelector(io.fs, tags, flags, now());
    const root = resolveRoot(io.fs, flags, io.env);
    await guardLive(flags.config, flags);
    const result = await runTagsRm(io.fs, root, {
      dryRun: flags.dryRun === true,
      selector,
      onPhase: progress(flags),
      journal: journalOf('tags rm', tags, flags),
      command: commandLine,
      waitMs: parseWait(flags.wait),
      graceMs: parseDuration(flags.grace, '--grace'),
    });
    const deleted = result.dryRun ? undefined : `removed ${result.removed} tags`;
    report(() => io.stdout(flags.json ? renderTagsRmJson(result) : renderTagsRmHuman(result, paint)), deleted);
    if (result.sweepError) {
      diagnose(`registry-janitor: error: ${result.sweepError.message}; stopped part-way after it ${deleted} (rerun the same command to finish)\n`);
      exitCode = 1;
    }
  };
  const tagsCommand = program.command('tags').description('tag operations');
  // `tags rm`, also spelled `tags untag` and, top-level, `untag`.
  for (const command of [tagsCommand.command('rm').alias('untag'), program.command('untag')]) {
    addSafetyOptions(addSelectionOptions(addRootOptions(command)), '1h')
      .description('remove the selected tag directories and nothing else (sibling tags on the same digest stay)')
      .option('-d, --dry-run', 'show what would be removed; change nothing')
      .action(tagsRm);
  }

  addRootOptions(program.command('ls'))
    .description('inventory: tags, sizes, what each tag alone would free, untagged revisions')
    .argument('[REPO-GLOB...]', 'only repositories matching')
    .addOption(new Option('--sort <key>', 'order of tags (and repositories)').choices(['name', 'size', 'age']).default('name'))
    .action(async (globs: string[], flags: CommonFlags & { sort: LsSort }) => {
      const result = await runLs(io.fs, resolveRoot(io.fs, flags, io.env), {
        globs,
        sort: flags.sort,
        makeWorkers: workersFor(flags),
        onPhase: progress(flags),
      });
      io.stdout(flags.json ? renderLsJson(result) : renderLsHuman(result, paint));
    });

  addRootOptions(program.command('verify'))
    .description('offline fsck: would every tag pull? (reads only; safe on a read-only mount while the registry serves)')
    .option('--repo <glob>', 'only repositories matching (repeatable)', collect)
    .option('--content', 're-hash every blob a tag needs against its digest (reads every byte; -j threads)')
    .action(async (flags: CommonFlags & { repo?: string[]; content?: boolean }) => {
      const result = await runVerify(io.fs, resolveRoot(io.fs, flags, io.env), {
        globs: flags.repo ?? [],
        content: flags.content === true,
        makeWorkers: workersFor(flags),
        onPhase: progress(flags),
      });
      io.stdout(flags.json ? renderVerifyJson(result) : renderVerifyHuman(result, paint));
      // 1 when a tag would not pull; findings that break no tag leave it 0.
      if (result.tagsBroken > 0) exitCode = 1;
    });

  try {
    if (args.length === 0) {
      io.stderr(program.helpInformation());
      return 2;
    }
    await program.parseAsync([...args], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help exits 0; a missing subcommand shows help with exit code 1: a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    diagnose(`registry-janitor: error: ${describeError(error)}\n`);
    return error instanceof JanitorError ? error.exitCode : 1;
  }
}
