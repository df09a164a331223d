// tags rm --plan FILE and `apply FILE` of such a plan (the format:
// commands/plan-file.ts and plan-writer.ts, shared with gc and prune).
//
// A tags rm plan lists its tags, each with the digest its current link
// named and that link's mtime (its last push): that pair is the tag's
// fingerprint, all the decision rests on. Apply removes a planned tag only
// if both are as the plan recorded them; a tag moved (pushed again, to the
// same digest or another) is left and reported `repushed`, a tag removed
// since is `gone`. Nothing outside the plan is touched; an apply
// interrupted part-way is finished by applying the same plan again (the
// tags it removed are gone, the rest still match).

import { JanitorError } from '../../errors.js';
import type { TagEntry } from '../../model/repository.js';
import type { TagDecision } from '../../select/select-tags.js';
import type { FileSystem } from '../../storage/file-system.js';
import {
  type ApplyReportBase,
  type PlanHeader,
  type PlanRequest,
  type PlanTarget,
  type PlanTotals,
  type PlanWritten,
  readPlan,
  startApplyReport,
} from '../plan-file.js';
import { writePlan } from '../plan-writer.js';

/** Why a planned tag is not removed. */
type TagDropReason = 'gone' | 'repushed';

/**
 * What `apply` of a tags rm plan reports beside the run's result (the shape gc's apply reports: render-plan.ts).
 * Its repositories read again: those where a planned tag was moved or removed since the plan.
 */
export interface TagsApplyReport extends ApplyReportBase {
  /** planned tags left alone, but those already gone (counted in droppedCounts). */
  dropped: { kind: 'tag'; repository: string; digest: string | null; tag: string; reason: TagDropReason }[];
  droppedCounts: { kind: 'tag'; reason: TagDropReason; count: number }[];
}

const emptyTotals = { tagIndexEntries: 0, manifests: 0, linklessRevisions: 0, layerLinks: 0, blobs: 0, bytes: 0 };

export function writeTagsRmPlan(
  fs: FileSystem,
  request: PlanRequest,
  located: { root: string; v2: string; startedMs: number },
  repos: readonly { name: string; tagsRemoved: readonly TagDecision[] }[],
): PlanWritten {
  const totals: PlanTotals = {
    ...emptyTotals,
    repositories: repos.filter((r) => r.tagsRemoved.length > 0).length,
    tags: repos.reduce((n, r) => n + r.tagsRemoved.length, 0),
  };
  return writePlan(fs, request, located, totals, (writer) => {
    for (const repo of repos)
      for (const d of repo.tagsRemoved)
        writer.target({ kind: 'tag', repository: repo.name, tag: d.tag, digest: d.digest ?? null, pushedMs: d.pushedMs, size: 0, reason: d.reason });
  });
}

export class TagsRmApplication {
  readonly header: PlanHeader;
  readonly report: TagsApplyReport;
  private readonly planned = new Map<string, PlanTarget[]>();
  private readonly seen = new Set<string>();

  /** Reads the whole plan (refusing a damaged one, or one of gc or prune) before anything is decided. */
  constructor(fs: FileSystem, file: string) {
    this.header = readPlan(fs, file, {
      target: (t) => {
        const list = this.planned.get(t.repository ?? '');
        if (list) list.push(t);
        else this.planned.set(t.repository ?? '', [t]);
      },
    });
    if (this.header.command !== 'tags rm')
      throw new JanitorError('E_USAGE', `${file} is a ${this.header.command} plan, not a tags rm plan; nothing was deleted`, { path: file });
    this.report = startApplyReport(file, this.header);
  }

  /** The decisions for a repository's tags now: each planned tag whose current link is as the plan recorded it goes. */
  decide(name: string, tags: readonly TagEntry[]): TagDecision[] {
    this.seen.add(name);
    const now = new Map(tags.map((t) => [t.tag, t]));
    const decisions: TagDecision[] = [];
    for (const target of this.planned.get(name) ?? []) {
      const tag = target.tag ?? '';
      const entry = now.get(tag);
      const digest = target.digest ?? undefined;
      // A tag directory without its current link is no tag to the registry: gone too.
      if (entry?.current === undefined) this.drop(name, tag, target.digest, 'gone');
      else if (entry.current !== digest || entry.pushedMs !== target.pushedMs) this.drop(name, tag, target.digest, 'repushed');
      else decisions.push({ repository: name, tag, digest, pushedMs: entry.pushedMs, remove: true, reason: target.reason });
    }
    return decisions;
  }

  /** After the select phase: the planned tags of repositories no longer there are gone; the counts. */
  settle(): TagsApplyReport {
    for (const [name, targets] of this.planned) if (!this.seen.has(name)) for (const t of targets) this.drop(name, t.tag ?? '', t.digest, 'gone');
    const counts = new Map<TagDropReason, number>();
    const changed = new Set<string>();
    for (const d of this.report.dropped) {
      counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
      changed.add(d.repository);
    }
    this.report.droppedCounts = [...counts].map(([reason, count]) => ({ kind: 'tag', reason, count }));
    this.report.reread = [...changed].sort();
    this.report.repositoriesReread = changed.size;
    // Those already gone are counted, not listed (an earlier apply of the same plan removed them).
    this.report.dropped = this.report.dropped.filter((d) => d.reason !== 'gone');
    return this.report;
  }

  private drop(repository: string, tag: string, digest: string | null, reason: TagDropReason): void {
    this.report.dropped.push({ kind: 'tag', repository, digest, tag, reason });
  }
}
