// tags rm: remove the selected tag directories and nothing else; a later
// `gc -m` (or `prune`) reclaims the space. Sibling tags on the same digest
// stay: on disk a tag is its own directory.
//
// 1. inventory  find the repositories
// 2. select     read each repository's tags (current link, push time) and
//               decide; explicit REPO:TAGs that do not exist are errors.
//               Rerunning an interrupted `tags rm`, the journal's tags
//               count as present and removed (storage/journal.ts).
// 3. plan       the deletion module vets every selected tag directory:
//               anything unexpected stops the run, nothing deleted
// 4. remove     skipped for a dry run: the journal, the selected tag
//               directories, then the journal goes. A failure part-way
//               is reported with the tags already removed.

import type { FileSystem } from '../../storage/file-system.js';
import { timePhases } from '../phases.js';
import { type TagDecision, type TagSelector, allTagsRemovedWarning, spareFreshTags } from '../../select/select-tags.js';
import { findRepositories } from '../../scan/find-repositories.js';
import { locateRoot } from '../../storage/locate-root.js';
import { scanTags } from '../../scan/scan-repository.js';
import { TreeReader } from '../../storage/tree-reader.js';
import { JanitorError } from '../../errors.js';
import { forceJournalDecisions, journalTagsOf, resumeJournal, withJournalTags, writeJournal } from '../../storage/journal.js';
import { assertNoMountInside } from '../../storage/mount-points.js';
import { acquireRunLock, endRun } from '../../storage/run-lock.js';
import { type DeletionTarget, Vacuum } from '../../storage/vacuum.js';

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
  warnings: string[];
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
    onPhase?: (phase: string, ms: number) => void;
    journal?: { fingerprint: string; command: string };
    command?: string;
    waitMs?: number;
    /** --grace: a rule-selected tag pushed within this many ms stays (default 0). */
    graceMs?: number;
  },
): Promise<TagsRmResult> {
  const freshAfterMs = (options.graceMs ?? 0) > 0 ? Date.now() - options.graceMs! : Number.POSITIVE_INFINITY;
  const timer = timePhases(options.onPhase);
  const located = locateRoot(fs, rootNamed);
  const result: TagsRmResult = {
    dryRun: options.dryRun,
    root: located.root,
    v2: located.v2,
    repositories: [],
    warnings: [],
    phases: timer.phases,
    removed: 0,
    sweepError: undefined,
  };
  const warn = (message: string): void => void result.warnings.push(message);
  if (!located.v2) {
    options.selector.assertExplicitFound();
    return result;
  }
  const v2 = located.v2;
  const reader = new TreeReader(fs, v2);

  const vacuum = new Vacuum(fs, v2, assertNoMountInside(fs, v2));
  // One destructive run per tree (storage/run-lock.ts), held to the end.
  const lock = options.dryRun ? undefined : await acquireRunLock(reader, { command: options.command ?? 'registry-janitor', waitMs: options.waitMs ?? 0, warn });
  let journalDone = false;
  try {
    // 1. inventory
    const resumed = resumeJournal(reader, options.journal?.fingerprint, warn);
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
      for (const rule of options.selector.unmatchedRules()) warn(`${rule.origin} matches no repository`);
    });
    // 3. plan
    const targets: DeletionTarget[] = result.repositories.flatMap((repo) => repo.tagsRemoved.map(({ tag }) => ({ kind: 'tag' as const, repository: repo.name, tag })));
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
      journalDone = targets.length > 0 || resumed !== undefined;
    } catch (error) {
      if (!(error instanceof JanitorError)) throw error;
      result.sweepError = error;
    }
    return result;
  } finally {
    endRun(reader, lock, { done: journalDone, fingerprint: options.journal?.fingerprint }, (kind) => vacuum.remove({ kind }), warn);
  }
}
