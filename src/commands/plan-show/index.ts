// plan show: a plan file (commands/plan-file.ts) summed up for review.
//
// 1. read     the whole file through, checked (a truncated or edited plan
//             is refused), summing each target into its repository and
//             kind, and keeping the largest targets
// Nothing under the registry root is read: the plan says it all.

import type { FileSystem } from '../../storage/file-system.js';
import { type PlanHeader, type PlanTarget, type PlanTargetKind, readPlan } from '../plan-file.js';
import { type PhaseListener, timePhases } from '../phases.js';

/** A repository's targets of one kind: how many, and their bytes (blobs: data; others 0). */
export interface PlanGroup {
  /** null: blobs, which belong to no repository. */
  repository: string | null;
  kind: PlanTargetKind;
  count: number;
  bytes: number;
}

export interface PlanSummary {
  file: string;
  header: PlanHeader;
  /** by repository (blobs first), then kind. */
  groups: PlanGroup[];
  /** the largest targets, largest first (equal sizes in file order). */
  largest: PlanTarget[];
  /** repositories the plan fingerprinted. */
  repositories: number;
  phases: { name: string; ms: number }[];
}

export function summarizePlan(fs: FileSystem, file: string, options: { largest: number; onPhase?: PhaseListener }): PlanSummary {
  const timer = timePhases(options.onPhase);
  const groups = new Map<string, PlanGroup>();
  let largest: PlanTarget[] = [];
  let repositories = 0;
  const header = timer.run('read', () =>
    readPlan(fs, file, {
      target: (target) => {
        const key = `${target.repository ?? ''}\n${target.kind}`;
        const group = groups.get(key);
        if (group) {
          group.count++;
          group.bytes += target.size;
        } else groups.set(key, { repository: target.repository, kind: target.kind, count: 1, bytes: target.size });
        // Bounded: sorted and cut back whenever it holds twice what is shown.
        if (options.largest > 0) {
          largest.push(target);
          if (largest.length >= 2 * options.largest) largest = cut(largest, options.largest);
        }
      },
      repository: () => {
        repositories++;
      },
    }),
  );
  const ordered = [...groups.values()].sort(
    (a, b) => (a.repository ?? '').localeCompare(b.repository ?? '') || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind),
  );
  return { file, header, groups: ordered, largest: cut(largest, options.largest), repositories, phases: timer.phases };
}

const KIND_ORDER: readonly PlanTargetKind[] = ['blob', 'tag', 'tagIndexEntry', 'revision', 'linklessRevision', 'layerLink'];

function cut(targets: PlanTarget[], n: number): PlanTarget[] {
  return targets
    .map((target, at) => ({ target, at }))
    .sort((a, b) => b.target.size - a.target.size || a.at - b.at)
    .slice(0, n)
    .map((t) => t.target);
}
