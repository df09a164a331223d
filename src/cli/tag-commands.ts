// `tags rm` (also `tags untag` and top-level `untag`): a tag-only delete
// (commands/tags-rm).

import type { Command } from 'commander';
import { runTagsRm } from '../commands/tags-rm/index.js';
import { renderTagsRmHuman, renderTagsRmJson } from '../report/render-tags-rm.js';
import { parseDuration } from '../select/duration.js';
import { type SelectionFlags, buildSelector } from '../select/selection.js';
import { count } from '../report/format.js';
import type { CliRun } from './cli-run.js';
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

type TagsRmFlags = CommonFlags & SelectionFlags & SafetyFlags & TrashFlags & { dryRun?: boolean };

async function removeTags(run: CliRun, tags: string[], flags: TagsRmFlags): Promise<void> {
  const { io } = run;
  const selector = buildSelector(io.fs, tags, flags, run.now());
  const root = resolveRoot(io.fs, flags, io.env);
  await run.guardLive(flags.config, flags);
  const result = await runTagsRm(io.fs, root, {
    dryRun: flags.dryRun === true,
    selector,
    onPhase: run.telemetry.phases(run.phaseLines(flags)),
    journal: run.journalOf('tags rm', tags, flags),
    command: run.commandLine,
    waitMs: parseWait(flags.wait),
    graceMs: parseDuration(flags.grace, '--grace'),
    trash: flags.trash,
  });
  const deleted = result.dryRun ? undefined : `removed ${count(result.removed, 'tag')}`;
  run.report(() => {
    io.stdout(flags.json ? renderTagsRmJson(result, run.stamp()) : renderTagsRmHuman(result, run.paint));
  }, deleted);
  if (flags.trash !== undefined && !result.dryRun && result.v2 !== undefined && flags.quiet !== true) run.diagnose(trashNote(flags.trash));
  if (result.sweepError) {
    run.diagnose(`registry-janitor: error: ${result.sweepError.message}; stopped part-way after it ${deleted} (rerun the same command to finish)\n`);
    run.exitCode = 1;
  }
}

export function registerTagCommands(program: Command, run: CliRun): void {
  const tagsCommand = program.command('tags').description('tag operations');
  for (const command of [tagsCommand.command('rm').alias('untag'), program.command('untag')]) {
    addTrashOption(addSafetyOptions(addSelectionOptions(addRootOptions(command)), '1h'))
      .description('remove the selected tag directories and nothing else (sibling tags on the same digest stay)')
      .option('-d, --dry-run', 'show what would be removed; change nothing')
      .action((tags: string[], flags: TagsRmFlags) => removeTags(run, tags, flags));
  }
}
