// gc's housekeeping, swept (index.ts phase 7), after everything else in the
// sweep: the uploads planned (plan-housekeeping.ts), then the emptied
// repositories, deepest first. Each is checked again just before it goes:
//
// - an upload is walked again (vacuum.ts): anything written in it since the
//   run began, or within the grace window, keeps it, whatever its start (an
//   empty one: written since the run began)
// - a repository: its tags/, every revisions/<alg> and its _uploads/ still
//   empty, its shape still the registry's, and every layer link left in it
//   written before the run began and before the grace window; then those
//   layer links go (each checked as every layer link is), then its
//   directories, with rmdir only, and its parents while they are empty
//
// A signal (stopRequested, read between deletions) stops the start of the
// next one; the report's lists then say what was done.

import type { Digest } from '../../model/digest.js';
import { isAlgorithm } from '../../model/digest.js';
import { listLayerLinks } from '../../scan/scan-repository.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { Vacuum } from '../../storage/vacuum.js';
import type { PhaseProgress } from '../phases.js';
import type { EmptyKeptReason, HousekeepingReport } from './gc-types.js';

export interface HousekeepingSweep {
  reader: TreeReader;
  vacuum: Vacuum;
  progress: PhaseProgress;
  stopRequested: () => boolean;
  /** the run's start: anything written since is in use. */
  startedMs: number;
  /** the grace window's start (+Infinity: no window). */
  freshAfterMs: number;
}

/** Deletes what the plan lists; the lists are cut to what was done. Returns whether a signal stopped it. */
export function sweepHousekeeping(context: HousekeepingSweep, report: HousekeepingReport): boolean {
  const { vacuum, progress } = context;
  const stop = context.stopRequested;
  // Written after this instant: under way (the grace window's start, or the run's).
  const cutoff = Math.min(context.freshAfterMs, context.startedMs);
  const uploads = report.uploadsPurged;
  const repositories = report.repositoriesRemoved;
  report.uploadsPurged = [];
  report.repositoriesRemoved = [];
  progress.total(uploads.length + repositories.length);
  for (const [i, upload] of uploads.entries()) {
    if (stop()) {
      leaveUploads(report, uploads.slice(i));
      return true;
    }
    const target = { kind: 'upload', repository: upload.repository, id: upload.id } as const;
    const now = vacuum.vet(target);
    // An empty one (a killed run's, model/upload-age.ts) stays only if written during this run.
    if (now.mtimeMs > (now.empty === true ? context.startedMs : cutoff)) {
      leaveUploads(report, [{ ...upload, bytes: now.size }]);
      continue;
    }
    const bytes = vacuum.remove(target);
    report.uploadsPurged.push({ ...upload, bytes });
    progress.advance(1, bytes);
  }
  for (const { name } of repositories) {
    if (stop()) return true;
    // Its shape first: anything unexpected since the plan stops the run before a link of it goes.
    vacuum.vet({ kind: 'emptyRepository', repository: name });
    const reason = findWhyKept(context.reader, name, cutoff);
    if (reason !== undefined) {
      report.repositoriesKept.push({ name, reason });
      continue;
    }
    const links = listLayerLinks(context.reader, name);
    for (const digest of links) vacuum.remove({ kind: 'layerLink', repository: name, digest });
    if (vacuum.remove({ kind: 'emptyRepository', repository: name }) === 0) {
      report.repositoriesKept.push({ name, reason: 'written-since' });
      continue;
    }
    report.repositoriesRemoved.push({ name, layerLinks: links.length });
    progress.advance(1);
  }
  return false;
}

/** Planned uploads not purged (a signal, a write since the plan, or a sweep that stopped before): counted as left. */
export function leaveUploads(report: HousekeepingReport, uploads: readonly { bytes: number }[]): void {
  report.uploadsLeft.count += uploads.length;
  report.uploadsLeft.bytes += uploads.reduce((sum, u) => sum + u.bytes, 0);
}

/** The sweep stopped before the housekeeping: nothing of it was done. */
export function abandonHousekeeping(report: HousekeepingReport): void {
  leaveUploads(report, report.uploadsPurged);
  report.uploadsPurged = [];
  report.repositoriesRemoved = [];
}

/**
 * Why an emptied repository must stay after all, read now: a tag or a
 * revision (a push since the plan), an upload, a layer link written since
 * `cutoff`; undefined when it may go.
 */
function findWhyKept(reader: TreeReader, name: string, cutoff: number): EmptyKeptReason | undefined {
  // Every "optional": a repository may lack any of these directories.
  if ((reader.list({ kind: 'tagsRoot', name }, { optional: true }) ?? []).length > 0) return 'written-since';
  for (const entry of reader.list({ kind: 'revisionsRoot', name }, { optional: true }) ?? []) {
    if (!isAlgorithm(entry.name) || (reader.list({ kind: 'revisionsAlgorithm', name, algorithm: entry.name }) ?? []).length > 0) return 'written-since';
  }
  if ((reader.list({ kind: 'uploadsRoot', name }, { optional: true }) ?? []).length > 0) return 'upload-left';
  const written = (digest: Digest): boolean => (reader.mtimeOf({ kind: 'layerLink', name, digest }) ?? 0) > cutoff;
  return listLayerLinks(reader, name).some(written) ? 'fresh-layer-link' : undefined;
}
