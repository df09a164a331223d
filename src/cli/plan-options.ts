// --plan FILE on gc and prune: the request the run gets (commands/gc/write-plan.ts),
// with the options that decided the selection resolved for the plan's header.

import path from 'node:path';
import type { Command } from 'commander';
import { JanitorError } from '../errors.js';
import type { PlanRequest } from '../commands/plan-file.js';
import type { TagSelector } from '../select/select-tags.js';

export interface PlanFlags {
  plan?: string;
}

export function addPlanOption(command: Command): Command {
  return command.option('--plan <file>', 'do everything a dry run does, then write the plan to FILE for `registry-janitor apply FILE` (nothing deleted)');
}

/** The plan a run writes, or undefined without --plan. A FILE inside the registry root is refused: a plan run writes nothing there. */
export function planRequestOf(
  flags: PlanFlags,
  root: string,
  command: PlanRequest['command'],
  commandLine: string,
  options: Omit<PlanRequest['options'], 'selection'>,
  selector: TagSelector | undefined,
): PlanRequest | undefined {
  if (flags.plan === undefined) return undefined;
  if (flags.plan === '') throw new JanitorError('E_USAGE', '--plan is empty (an unset shell variable?): give the file to write the plan to');
  const relative = path.relative(path.resolve(root), path.resolve(flags.plan));
  if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative)))
    throw new JanitorError(
      'E_USAGE',
      `--plan ${flags.plan} is inside the registry root ${root}: write the plan elsewhere (a plan run writes nothing under the root)`,
    );
  return { file: flags.plan, command, commandLine, options: { ...options, selection: selector ? selector.describe() : null } };
}
