// `tags rm` (also `tags untag` and top-level `untag`): a tag-only delete
// (commands/tags-rm).

import type { Command } from 'commander';
import { runTagsRm } from '../commands/tags-rm/index.js';
import { TagsRmApplication } from '../commands/tags-rm/tags-plan.js';
import { renderTagsRmHuman, renderTagsRmJson } from '../report/render-tags-rm.js';
import { renderApplied, renderPlanWritten } from '../report/render-plan.js';
import { parseDuration } from '../select/duration.js';
import { type SelectionFlags, buildSelector } from '../select/selection.js';
import { count } from '../report/format.js';
import type { CliRun } from './cli-run.js';
import { type PlanFlags, addPlanOption, planRequestOf } from './plan-options.js';
import {
  type CommonFlags,
  type SafetyFlags,
  type TrashFlags,
  addRootOptions,
  addSafetyOptions,
  addSelectionOptions,
  addTrashOption,
  parseWait,
  resolveRoot,
  trashNote,
} from './options.js';

type TagsRmFlags = CommonFlags & SelectionFlags & SafetyFlags & TrashFlags & PlanFlags & { dryRun?: boolean };

async function removeTags(run: CliRun, tags: string[], flags: TagsRmFlags, root = resolveRoot(run.io.fs, flags, run.io.env), file?: string): Promise<void> {
  const { io } = run;
  // apply FILE of a tags rm plan: the plan decides, as planned (commands/tags-rm/tags-plan.ts).
  const apply = file === undefined ? undefined : new TagsRmApplication(io.fs, file);
  const selector = apply ? undefined : buildSelector(io.fs, tags, flags, run.now());
  const graceMs = apply ? 0 : parseDuration(flags.grace, '--grace');
  // --plan: a dry run that writes the plan (plan-options.ts); it runs while the registry serves.
  const plan = planRequestOf(
    flags,
    root,
    'tags rm',
    run.commandLine,
    { deleteUntagged: false, graceMs, skipRepositories: [], purgeUploadsMs: null, removeEmptyRepos: false, free: null },
    selector,
  );
  if (plan) flags = { ...flags, dryRun: true };
  await run.guardLive(flags.config, flags);
  const result = await runTagsRm(io.fs, root, {
    dryRun: flags.dryRun === true,
    selector,
    onPhase: run.telemetry.phases(run.phaseLines(flags)),
    journal: apply
      ? { fingerprint: JSON.stringify({ apply: apply.header.commandLine, createdMs: apply.header.createdMs }), command: run.commandLine }
      : run.journalOf('tags rm', tags, flags),
    command: run.commandLine,
    waitMs: parseWait(flags.wait),
    graceMs,
    trash: flags.trash,
    plan,
    apply,
  });
  const deleted = result.dryRun ? undefined : `removed ${count(result.removed, 'tag')}`;
  run.report(() => {
    io.stdout(flags.json ? renderTagsRmJson(result, run.stamp()) : renderTagsRmHuman(result, run.paint));
    if (!flags.json && result.planWritten) io.stdout(renderPlanWritten(result.planWritten));
    if (!flags.json && result.applied) io.stdout(renderApplied(result.applied, run.paint));
  }, deleted);
  if (flags.trash !== undefined && !result.dryRun && result.v2 !== undefined && flags.quiet !== true) run.diagnose(trashNote(flags.trash));
  if (result.sweepError) {
    run.diagnose(`registry-janitor: error: ${result.sweepError.message}; stopped part-way after it ${deleted} (rerun the same command to finish)\n`);
    run.exitCode = 1;
  }
}

/** apply FILE of a tags rm plan (plan-commands.ts reads the header and hands it here). */
export function applyTagsRmPlan(run: CliRun, root: string, file: string, flags: TagsRmFlags): Promise<void> {
  return removeTags(run, [], flags, root, file);
}

export function registerTagCommands(program: Command, run: CliRun): void {
  const tagsCommand = program.command('tags').description('tag operations');
  for (const command of [tagsCommand.command('rm').alias('untag'), program.command('untag')]) {
    addPlanOption(addTrashOption(addSafetyOptions(addSelectionOptions(addRootOptions(command)), '1h')))
      .description('remove the selected tag directories and nothing else (sibling tags on the same digest stay)')
      .option('-d, --dry-run', 'show what would be removed; change nothing')
      .action((tags: string[], flags: TagsRmFlags) => removeTags(run, tags, flags));
  }
}
