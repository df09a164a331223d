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

import { JanitorError, type Warning, makeWarning } from '../../errors.js';
import { findRepositories } from '../../scan/find-repositories.js';
import { scanTags } from '../../scan/scan-repository.js';
import { type TagDecision, type TagSelector, allTagsRemovedWarning, spareFreshTags } from '../../select/select-tags.js';
import type { FileSystem } from '../../storage/file-system.js';
import type { DeletionTarget } from '../../storage/vacuum.js';
import { forceJournalDecisions, journalTagsOf, withJournalTags, writeJournal } from '../journal.js';
import { openTree, runDeleting } from '../skeleton.js';
import type { PhaseListener } from '../phases.js';

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
}

export async function runTagsRm(
  fs: FileSystem,
  rootNamed: string,
  options: {
    dryRun: boolean;
    selector: TagSelector;
    onPhase?: PhaseListener;
    journal?: { fingerprint: string; command: string };
    command?: string;
    waitMs?: number;
    /** --grace: a rule-selected tag pushed within this many ms stays (default 0). */
    graceMs?: number;
    /** --trash DIR: the tag directories are moved into DIR (storage/trash.ts). */
    trash?: string | undefined;
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
  if (!reader) {
    options.selector.assertExplicitFound();
    return result;
  }
  return runDeleting(fs, reader, options, warn, ({ vacuum, resumed, complete }) => {
    // 1. inventory
    const names = timer.run('inventory', () => findRepositories(reader, warn));

    // 2. select
    timer.run('select', () => {
      for (const name of names) {
        const { tags, forced } = withJournalTags(
          scanTags(reader, name, []),
          (resumed?.tags ?? []).filter((t) => t.repository === name),
        );
        const decisions = options.selector.decide(name, tags);
        forceJournalDecisions(name, decisions, forced);
        spareFreshTags(decisions, new Set(forced.keys()), freshAfterMs);
        const tagsRemoved = decisions.filter((d) => d.remove);
        const loud = allTagsRemovedWarning(name, tagsRemoved.length, tags.length);
        if (loud) warn(loud);
        if (decisions.length > 0) result.repositories.push({ name, tags: tags.length, tagsRemoved, tagsKept: decisions.filter((d) => !d.remove) });
      }
      options.selector.assertExplicitFound();
      for (const rule of options.selector.unmatchedRules()) warn(makeWarning('W_RULE_UNMATCHED', `${rule.origin} matches no repository`));
    });
    // 3. plan
    const targets: DeletionTarget[] = result.repositories.flatMap((repo) =>
      repo.tagsRemoved.map(({ tag }) => ({ kind: 'tag' as const, repository: repo.name, tag })),
    );
    timer.run('plan', () => {
      // Tag directories are few: even a dry run vets them fully.
      for (const target of targets) vacuum.vet(target);
    });
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
