// tags rm: remove the selected tag directories and nothing else; a later
// `gc -m` (or `prune`) reclaims the space. Sibling tags on the same digest
// stay: on disk a tag is its own directory.
//
// 1. inventory  find the repositories
// 2. select     read each repository's tags (current link, push time) and
//               decide; explicit REPO:TAGs that do not exist are errors.
//               Rerunning an interrupted `tags rm`, the journal's tags
//               count as present and removed (commands/journal.ts).
// 3. plan       the deletion module vets every selected tag directory:
//               anything unexpected stops the run, nothing deleted
// 4. remove     skipped for a dry run: the journal, the selected tag
//               directories, then the journal goes. A failure part-way
//               is reported with the tags already removed.
//
// --plan FILE (a dry run): after 3, the plan file. `apply FILE` of a tags
// rm plan (options.apply): in 2 the plan decides in place of the selector,
// and only its tags whose current link is as planned go (tags-plan.ts).

import { JanitorError, type Warning, makeWarning } from '../../errors.js';
import { findRepositories } from '../../scan/find-repositories.js';
import { scanTags } from '../../scan/scan-repository.js';
import { type TagDecision, type TagSelector, allTagsRemovedWarning, spareFreshTags } from '../../select/select-tags.js';
import type { FileSystem } from '../../storage/file-system.js';
import type { DeletionTarget } from '../../storage/vacuum.js';
import type { TrashReport } from '../../storage/trash.js';
import { forceJournalDecisions, journalTagsOf, withJournalTags, writeJournal } from '../journal.js';
import { openTree, runDeleting } from '../skeleton.js';
import type { PhaseListener } from '../phases.js';
import type { PlanRequest, PlanWritten } from '../plan-file.js';
import { type TagsApplyReport, type TagsRmApplication, writeTagsRmPlan } from './tags-plan.js';

export interface TagsRmRepo {
  name: string;
  tags: number;
  tagsRemoved: TagDecision[];
  tagsKept: TagDecision[];
}

export interface TagsRmResult {
  dryRun: boolean;
  root: string;
  v2: string | undefined;
  repositories: TagsRmRepo[];
  warnings: Warning[];
  phases: { name: string; ms: number }[];
  /** tag directories removed (real run); all selected unless `sweepError`. */
  removed: number;
  /** the failure that stopped the removal part-way. */
  sweepError: JanitorError | undefined;
  /** --plan FILE: what was written. */
  planWritten?: PlanWritten | undefined;
  /** apply FILE of a tags rm plan: what it left and why. */
  applied?: TagsApplyReport | undefined;
  /** --trash DIR: what the run moved into DIR instead of deleting it. */
  trash?: TrashReport | undefined;
}

export async function runTagsRm(
  fs: FileSystem,
  rootNamed: string,
  options: {
    dryRun: boolean;
    /** undefined only with `apply` (the plan decides). */
    selector: TagSelector | undefined;
    onPhase?: PhaseListener;
    journal?: { fingerprint: string; command: string };
    command?: string;
    waitMs?: number;
    /** --grace: a rule-selected tag pushed within this many ms stays (default 0). */
    graceMs?: number;
    /** --trash DIR: the tag directories are moved into DIR (storage/trash.ts). */
    trash?: string | undefined;
    /** --plan FILE: a dry run that writes the plan. */
    plan?: PlanRequest | undefined;
    /** apply FILE: the plan's tags, each as it was planned. */
    apply?: TagsRmApplication | undefined;
  },
): Promise<TagsRmResult> {
  const graceMs = options.graceMs ?? 0;
  const freshAfterMs = graceMs > 0 ? Date.now() - graceMs : Number.POSITIVE_INFINITY;
  const { root, v2, reader, warnings, warn, timer } = openTree(fs, rootNamed, options.onPhase);
  const result: TagsRmResult = {
    dryRun: options.dryRun,
    root,
    v2,
    repositories: [],
    warnings,
    phases: timer.phases,
    removed: 0,
    sweepError: undefined,
  };
  const { apply } = options;
  if (apply && apply.header.v2 !== v2)
    throw new JanitorError('E_PLAN_ROOT', `the plan was made for ${apply.header.v2}, not ${v2 ?? root}: refusing to apply it here; nothing was deleted`, {
      path: v2 ?? root,
    });
  if (!reader) {
    options.selector?.assertExplicitFound();
    return result;
  }
  const startedMs = Date.now();
  return runDeleting(fs, reader, options, warn, ({ vacuum, resumed, complete, trash }) => {
    result.trash = trash;
    // 1. inventory
    const names = timer.run('inventory', () => findRepositories(reader, warn));

    // 2. select
    timer.run('select', () => {
      for (const name of names) {
        const { tags, forced } = withJournalTags(
          scanTags(reader, name, []),
          (resumed?.tags ?? []).filter((t) => t.repository === name),
        );
        const decisions = apply ? apply.decide(name, tags) : (options.selector?.decide(name, tags) ?? []);
        forceJournalDecisions(name, decisions, forced);
        spareFreshTags(decisions, new Set(forced.keys()), freshAfterMs);
        const tagsRemoved = decisions.filter((d) => d.remove);
        const loud = allTagsRemovedWarning(name, tagsRemoved.length, tags.length);
        if (loud) warn(loud);
        if (decisions.length > 0) result.repositories.push({ name, tags: tags.length, tagsRemoved, tagsKept: decisions.filter((d) => !d.remove) });
      }
      if (apply) result.applied = apply.settle();
      options.selector?.assertExplicitFound();
      for (const rule of options.selector?.unmatchedRules() ?? []) warn(makeWarning('W_RULE_UNMATCHED', `${rule.origin} matches no repository`));
    });
    // 3. plan
    const targets: DeletionTarget[] = result.repositories.flatMap((repo) =>
      repo.tagsRemoved.map(({ tag }) => ({ kind: 'tag' as const, repository: repo.name, tag })),
    );
    timer.run('plan', () => {
      // Tag directories are few: even a dry run vets them fully.
      for (const target of targets) vacuum.vet(target);
    });
    const plan = options.plan;
    if (plan && v2 !== undefined) result.planWritten = timer.run('write-plan', () => writeTagsRmPlan(fs, plan, { root, v2, startedMs }, result.repositories));
    if (options.dryRun) return result;

    // 4. remove
    if (targets.length > 0 && options.journal) {
      writeJournal(reader, options.journal, journalTagsOf(result.repositories.map((r) => r.tagsRemoved)), resumed);
    }
    try {
      timer.run('remove', () => {
        for (const target of targets) {
          vacuum.remove(target);
          result.removed++;
        }
      });
      if (targets.length > 0 || resumed !== undefined) complete();
    } catch (error) {
      if (!(error instanceof JanitorError)) throw error;
      result.sweepError = error;
    }
    return result;
  });
}
