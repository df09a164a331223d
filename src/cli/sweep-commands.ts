// gc, its `garbage-collect` drop-in, and prune: the commands that mark and
// sweep (commands/gc). One action runs them all; it renders the report and
// turns a short --free, an interruption or a failed sweep into the exit code.

import type { Command } from 'commander';
import { JanitorError } from '../errors.js';
import { type GcOptions, runGc } from '../commands/gc/index.js';
import { rootFromConfigFile } from '../storage/registry-config.js';
import { formatBytes, renderGcHuman, writeGcJson } from '../report/render-gc.js';
import { count } from '../report/format.js';
import { parseSize } from '../select/size.js';
import { parseDuration } from '../select/duration.js';
import { compileRepositoryGlobs } from '../select/repository-glob.js';
import { type SelectionFlags, buildSelector } from '../select/selection.js';
import { EXIT_FREE_SHORT } from './cli-io.js';
import { type PlanFlags, planRequestOf } from './plan-options.js';
import { renderApplied, renderPlanWritten } from '../report/render-plan.js';
import { dropInConfig, reportDropIn, showOnlyReferenceFlags } from './drop-in.js';
import type { CliRun } from './cli-run.js';
import {
  type SweepFlags,
  addHousekeepingOptions,
  addPrefetchOption,
  addRootOptions,
  addSafetyOptions,
  addSelectionOptions,
  addTrashOption,
  collect,
  parseList,
  parsePurgeUploads,
  parseWait,
  resolveRoot,
  trashNote,
} from './options.js';

export async function sweep(
  run: CliRun,
  root: string,
  flags: SweepFlags & PlanFlags,
  extra: Partial<GcOptions> = {},
  command = 'gc',
  configFile = flags.config,
): Promise<void> {
  const { io } = run;
  // --plan: a dry run that writes the plan (plan-options.ts); it runs while the registry serves.
  const plan = planRequestOf(
    flags,
    root,
    command === 'prune' ? 'prune' : 'gc',
    run.commandLine,
    {
      deleteUntagged: flags.deleteUntagged === true,
      graceMs: parseDuration(flags.grace, '--grace'),
      skipRepositories: flags.skipRepo ?? [],
      purgeUploadsMs: parsePurgeUploads(flags.purgeUploads) ?? null,
      removeEmptyRepos: flags.removeEmptyRepos === true,
      free: flags.free === undefined ? null : parseSize(flags.free, '--free'),
    },
    extra.selector,
  );
  if (plan) flags = { ...flags, dryRun: true };
  const free = flags.free === undefined ? undefined : parseSize(flags.free, '--free');
  // --free is for a full volume; the trash frees nothing until emptied.
  if (free !== undefined && flags.trash !== undefined)
    throw new JanitorError(
      'E_USAGE',
      '--free and --trash: the trash frees no space until `trash empty`, so it cannot reach a --free target; use one or the other',
    );
  const list = parseList(flags.list);
  const purgeUploadsMs = parsePurgeUploads(flags.purgeUploads);
  if (flags.dryRun !== true) io.holdSignals?.();
  const registry = await run.guardLive(configFile, flags);
  const skip = flags.skipRepo?.length ? compileRepositoryGlobs(flags.skipRepo, '--skip-repo') : undefined;
  const result = await runGc(io.fs, root, {
    dryRun: flags.dryRun === true,
    deleteUntagged: flags.deleteUntagged === true,
    ...(skip ? { skipRepository: (name: string) => skip(name) } : {}),
    makeWorkers: run.workersFor(flags),
    prefetch: flags.prefetch,
    onPhase: run.telemetry.phases(run.progressOf(flags)),
    ...(io.signal ? { stopRequested: io.signal } : {}),
    command: run.commandLine,
    waitMs: parseWait(flags.wait),
    graceMs: parseDuration(flags.grace, '--grace'),
    free,
    sizeBlobs: flags.dryRun === true && flags.json !== true,
    allowLive: flags.allowLive === true,
    purgeUploadsMs,
    removeEmptyRepos: flags.removeEmptyRepos === true,
    plan,
    trash: flags.trash,
    ...extra,
  }).finally(() => {
    run.closeProgress();
  });
  result.registry = registry;
  run.telemetry.recordGc(result);
  const swept = result.swept;
  const deleted =
    swept &&
    `deleted ${count(swept.tags, 'tag')}, ${count(swept.manifests, 'manifest')}, ${count(swept.layerLinks, 'layer link')}, ${count(swept.blobs, 'blob')}, ${count(swept.bytes, 'byte')}`;
  run.report(() => {
    if (flags.json) writeGcJson(result, io.stdout, run.stamp());
    else if (command === 'garbage-collect') reportDropIn(run, result, flags.quiet === true);
    else io.stdout(renderGcHuman(result, command, run.paint, { list, verbose: flags.verbose === true }));
    if (!flags.json && result.planWritten) io.stdout(renderPlanWritten(result.planWritten));
    if (!flags.json && result.applied) io.stdout(renderApplied(result.applied, run.paint));
  }, deleted);
  if (flags.trash !== undefined && result.swept && flags.quiet !== true) run.diagnose(trashNote(flags.trash));
  if (result.free && !result.free.reached && !result.sweepError) {
    run.diagnose(
      `registry-janitor: --free ${flags.free ?? ''} not reached: ${result.dryRun ? 'the whole plan would free' : 'freed everything reclaimable,'} ${formatBytes(result.free.freed)}\n`,
    );
    run.exitCode = EXIT_FREE_SHORT;
  }
  if (result.sweepError?.code === 'E_INTERRUPTED') {
    // 128 + the signal's number, as a shell reports a process a signal stopped.
    run.diagnose(`registry-janitor: ${result.sweepError.message}; it ${deleted} (rerun the same command to finish)\n`);
    run.exitCode = io.signal?.() === 'SIGTERM' ? 143 : 130;
  } else if (result.sweepError) {
    run.diagnose(`registry-janitor: error: ${result.sweepError.message}; the sweep stopped part-way after it ${deleted} (rerun the same command to finish)\n`);
    run.exitCode = 1;
  }
}

export function registerSweepCommands(program: Command, run: CliRun): void {
  const { io } = run;
  addTrashOption(addHousekeepingOptions(addSafetyOptions(addPrefetchOption(addRootOptions(program.command('gc'))), '1h'), '168h'))
    .description('mark and sweep unreferenced blobs, like `registry garbage-collect`')
    .option('-d, --dry-run', 'report what would be deleted; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests no tag needs (multi-arch children and referrers of kept images are kept)')
    .option('--skip-repo <glob>', 'do not read these repositories; keep everything they link (repeatable)', collect)
    .option('--free <size>', 'delete the largest unreferenced blobs until SIZE is freed (500M, 50G, 1.5T; 1024-based); leave the rest')
    .option('--list <n>', 'a dry run lists the N largest of each group (default 50), or all')
    .option('--verbose', 'a row for every repository in the report, not only those where something changes')
    .action((flags: SweepFlags) => sweep(run, resolveRoot(io.fs, flags, io.env), flags));

  // The drop-in (drop-in.ts): the reference's flags in Go's spellings, its summary line on stdout.
  // Like the reference, it purges no upload unless asked (--purge-uploads, hidden with gc's other options).
  showOnlyReferenceFlags(addHousekeepingOptions(addSafetyOptions(addPrefetchOption(addRootOptions(program.command('garbage-collect'))), '0s'), 'off'))
    .description('drop-in for `registry garbage-collect [-d] [-m] [-q] CONFIG`: its summary line on stdout, the report on stderr')
    .argument('[config]', "the registry's config.yml (default: $REGISTRY_CONFIGURATION_PATH)")
    .option('-d, --dry-run', 'report what would be deleted; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests no tag needs (multi-arch safe)')
    .action((positional: string | undefined, flags: SweepFlags) => {
      if (flags.root !== undefined || flags.config !== undefined)
        throw new JanitorError('E_USAGE', 'garbage-collect takes the config file as its argument, not --root or --config');
      const config = dropInConfig(positional, io.env);
      return sweep(run, rootFromConfigFile(io.fs, config, io.env), flags, {}, 'garbage-collect', config);
    });

  addTrashOption(addHousekeepingOptions(addSafetyOptions(addSelectionOptions(addPrefetchOption(addRootOptions(program.command('prune')))), '1h'), '168h'))
    .description('remove the selected tags and sweep in one run')
    .option('-d, --dry-run', 'show what would be removed and freed; change nothing')
    .option('-m, --delete-untagged', 'also delete manifests that were untagged before')
    .option('--skip-repo <glob>', 'do not read these repositories; keep everything they link (repeatable)', collect)
    .option('--free <size>', 'delete the largest unreferenced blobs until SIZE is freed (500M, 50G, 1.5T; 1024-based); leave the rest')
    .option('--list <n>', 'a dry run lists the N largest of each group (default 50), or all')
    .option('--verbose', 'a row for every repository in the report, not only those where something changes')
    .action((tags: string[], flags: SweepFlags & SelectionFlags) =>
      sweep(
        run,
        resolveRoot(io.fs, flags, io.env),
        flags,
        { selector: buildSelector(io.fs, tags, flags, run.now()), journal: run.journalOf('prune', tags, flags) },
        'prune',
      ),
    );
}
