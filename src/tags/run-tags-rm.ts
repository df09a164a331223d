// tags rm: remove the selected tag directories and nothing else; a later
// `gc -m` (or `prune`) reclaims the space. Sibling tags on the same digest
// stay: on disk a tag is its own directory.
//
// 1. inventory  find the repositories
// 2. select     read each repository's tags (current link, push time) and
//               decide; explicit REPO:TAGs that do not exist are errors
// 3. remove     skipped for a dry run: the selected tag directories

import type { FileSystem } from '../io/file-system.js';
import { timePhases } from '../gc/phases.js';
import { type TagDecision, type TagSelector, allTagsRemovedWarning } from '../select/select-tags.js';
import { findRepositories } from '../storage/find-repositories.js';
import { locateRoot } from '../storage/locate-root.js';
import { scanTags } from '../storage/scan-repository.js';
import { TreeReader } from '../storage/tree-reader.js';
import { Vacuum } from '../vacuum.js';

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
}

export function runTagsRm(
  fs: FileSystem,
  rootNamed: string,
  options: { dryRun: boolean; selector: TagSelector; onPhase?: (phase: string, ms: number) => void },
): TagsRmResult {
  const timer = timePhases(options.onPhase);
  const located = locateRoot(fs, rootNamed);
  const result: TagsRmResult = { dryRun: options.dryRun, root: located.root, v2: located.v2, repositories: [], warnings: [], phases: timer.phases };
  const warn = (message: string): void => void result.warnings.push(message);
  if (!located.v2) {
    options.selector.assertExplicitFound();
    return result;
  }
  const v2 = located.v2;
  const reader = new TreeReader(fs, v2);

  // 1. inventory
  const names = timer.run('inventory', () => findRepositories(reader, warn));

  // 2. select
  timer.run('select', () => {
    for (const name of names) {
      const tags = scanTags(reader, name, []);
      const decisions = options.selector.decide(name, tags);
      const tagsRemoved = decisions.filter((d) => d.remove);
      const loud = allTagsRemovedWarning(name, tagsRemoved.length, tags.length);
      if (loud) warn(loud);
      if (decisions.length > 0) result.repositories.push({ name, tags: tags.length, tagsRemoved, tagsKept: decisions.filter((d) => !d.remove) });
    }
    options.selector.assertExplicitFound();
    for (const rule of options.selector.unmatchedRules()) warn(`${rule.origin} matches no repository`);
  });
  if (options.dryRun) return result;

  // 3. remove
  const vacuum = new Vacuum(fs, v2);
  timer.run('remove', () => {
    for (const repo of result.repositories) {
      for (const { tag } of repo.tagsRemoved) vacuum.remove({ kind: 'tag', repository: repo.name, tag });
    }
  });
  return result;
}


