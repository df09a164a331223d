// `plan show FILE` (commands/plan-show) and `apply FILE`: a plan that gc
// --plan or prune --plan wrote (or tags rm --plan: tag-commands.ts applies it), reviewed, then applied as a mode of gc
// (commands/gc/apply-plan.ts), through the same sweep and report.

import type { Command } from 'commander';
import { PlanApplication } from '../commands/gc/apply-plan.js';
import { readPlanHeader } from '../commands/plan-file.js';
import { summarizePlan } from '../commands/plan-show/index.js';
import { renderPlanShowHuman, renderPlanShowJson } from '../report/render-plan.js';
import { compileRepositoryGlobs } from '../select/repository-glob.js';
import type { CliRun } from './cli-run.js';
import { type CommonFlags, type SweepFlags, addPrefetchOption, addRootOptions, addTrashOption, parseList, resolveRoot } from './options.js';
import { sweep } from './sweep-commands.js';
import { applyTagsRmPlan } from './tag-commands.js';
import { addPlanOption } from './plan-options.js';

export function registerPlanCommands(program: Command, run: CliRun): void {
  const { io } = run;
  // --plan on gc and prune (registered by sweep-commands.ts, before this).
  for (const command of program.commands.filter((c) => c.name() === 'gc' || c.name() === 'prune')) addPlanOption(command);
  const plan = program.command('plan').description('plan files (gc --plan, prune --plan, tags rm --plan)');
  plan
    .command('show')
    .description('print a plan for review: totals per repository and kind, the largest targets first')
    .argument('<file>', 'the plan file')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--list <n>', 'the N largest targets (default 50), or all')
    .action((file: string, flags: { json?: boolean; list?: string }) => {
      const summary = summarizePlan(io.fs, file, { largest: parseList(flags.list) });
      io.stdout(flags.json ? renderPlanShowJson(summary, run.stamp()) : renderPlanShowHuman(summary, run.paint));
    });

  addTrashOption(addPrefetchOption(addRootOptions(program.command('apply'))))
    .description('apply a plan (gc --plan, prune --plan, tags rm --plan): read again only what changed since, drop what is now needed, delete the rest')
    .argument('<file>', 'the plan file')
    .option('--wait [duration]', "wait for another run's lock (as long as it takes, or DURATION: 10m) instead of refusing")
    .option('--registry-url <url>', 'also probe this registry URL before deleting (refused if a registry answers)')
    .option('--allow-live', 'delete even if a registry answers (the grace window and revalidation protect fresh writes)')
    .action((file: string, flags: CommonFlags & Omit<SweepFlags, 'grace'>) => {
      const header = readPlanHeader(io.fs, file);
      // The plan names its root; --root or --config, when given, must name the same (runGc and runTagsRm check).
      const root = flags.root === undefined && flags.config === undefined ? header.root : resolveRoot(io.fs, flags, io.env);
      if (header.command === 'tags rm') return applyTagsRmPlan(run, root, file, { ...flags, grace: '0s' });
      const application = new PlanApplication(io.fs, file);
      const { options } = header;
      const skip = options.skipRepositories.length > 0 ? compileRepositoryGlobs(options.skipRepositories, 'the plan') : undefined;
      return sweep(
        run,
        root,
        { ...flags, grace: '0s', deleteUntagged: options.deleteUntagged },
        {
          apply: application,
          graceMs: options.graceMs,
          purgeUploadsMs: options.purgeUploadsMs ?? undefined,
          removeEmptyRepos: options.removeEmptyRepos,
          ...(skip ? { skipRepository: (name: string) => skip(name) } : {}),
          // A plan that removes tags keeps a journal while it applies, as prune does (commands/journal.ts): another command leaves the tree alone until it is finished.
          ...(header.totals.tags > 0
            ? { journal: { fingerprint: JSON.stringify({ apply: header.commandLine, createdMs: header.createdMs }), command: run.commandLine } }
            : {}),
        },
        'apply',
      );
    });
}
