// gc: the mark-and-sweep, equivalent to `registry garbage-collect [-m]`.
//
// 1. inventory  list the blob fan-out buckets into the BlobIndex; find the
//               repositories. Nothing is deleted before step 4.
// 2. mark       scan every repository (revisions, manifests, tags); choose
//               its kept revisions (keep-rules.ts) and mark them and what
//               they reference. Any unreadable input aborts the run here.
// 3. plan       manifests to delete (-m), layer links whose blob is gone or
//               going, unmarked blobs and their sizes.
// 4. sweep      skipped for a dry run. Tag index entries and revision
//               directories, then layer links, then blobs: after a crash at
//               any point every kept tag still serves, and a rerun finishes.
// 5. verify     skipped for a dry run. Every kept tag still has its
//               revision link and manifest blob.

import type { BlobIndex } from '../blob-index.js';
import type { Digest } from '../digest.js';
import { JanitorError, isENOENT } from '../errors.js';
import type { FileSystem } from '../io/file-system.js';
import { findRepositories } from '../storage/find-repositories.js';
import { locateRoot } from '../storage/locate-root.js';
import { scanBlobs } from '../storage/scan-blobs.js';
import { type RepoScan, listLayerLinks } from '../storage/scan-repository.js';
import { type RepoScanner, InProcessScanner } from '../storage/repo-scanner.js';
import { TreeReader } from '../storage/tree-reader.js';
import { type DeletionTarget, Vacuum } from '../vacuum.js';
import { markRevision, selectKept } from './keep-rules.js';
import { timePhases } from './phases.js';

export interface GcOptions {
  dryRun: boolean;
  deleteUntagged: boolean;
  /** builds the repository scanner; defaults to scanning in-process on `fs`. */
  makeScanner?: (reader: TreeReader) => RepoScanner;
  onPhase?: (phase: string, ms: number) => void;
  onProgress?: (message: string) => void;
}

export interface RepoSummary {
  name: string;
  tags: number;
  revisions: number;
  manifestsDeleted: number;
  layerLinksDeleted: number;
}

export interface RepoDigest {
  repository: string;
  digest: Digest;
}

export interface GcResult {
  dryRun: boolean;
  deleteUntagged: boolean;
  root: string;
  v2: string | undefined;
  blobsMarked: number;
  blobsDeleted: Digest[];
  manifestsDeleted: RepoDigest[];
  layerLinksDeleted: RepoDigest[];
  tagIndexEntriesDeleted: number;
  bytesFreed: number;
  repositories: RepoSummary[];
  warnings: string[];
  phases: { name: string; ms: number }[];
}

/** The per-repository outcome of the mark phase that the plan needs. */
interface RepoPlan {
  summary: RepoSummary;
  manifestTargets: DeletionTarget[];
  keptTags: { tag: string; digest: Digest }[];
}

export async function runGc(fs: FileSystem, rootNamed: string, options: GcOptions): Promise<GcResult> {
  const timer = timePhases(options.onPhase);
  const located = locateRoot(fs, rootNamed);
  const result: GcResult = {
    dryRun: options.dryRun,
    deleteUntagged: options.deleteUntagged,
    root: located.root,
    v2: located.v2,
    blobsMarked: 0,
    blobsDeleted: [],
    manifestsDeleted: [],
    layerLinksDeleted: [],
    tagIndexEntriesDeleted: 0,
    bytesFreed: 0,
    repositories: [],
    warnings: [],
    phases: timer.phases,
  };
  if (!located.v2) {
    result.warnings.push(`${located.root} holds no registry data yet: nothing to do`);
    return result;
  }
  const reader = new TreeReader(fs, located.v2);
  const warn = (message: string): void => void result.warnings.push(message);

  // 1. inventory
  const { index, names } = timer.run('inventory', () => ({
    index: scanBlobs(reader),
    names: findRepositories(reader, warn),
  }));
  options.onProgress?.(`${index.blobCount} blobs, ${names.length} repositories`);

  // 2. mark
  const plans: RepoPlan[] = [];
  const scanner = options.makeScanner?.(reader) ?? new InProcessScanner(reader);
  await timer.runAsync('mark', () =>
    scanner.scan(names, (scan) => plans.push(markRepository(scan, options.deleteUntagged, index, warn))),
  );
  result.blobsMarked = index.markedCount;

  // 3. plan
  const layerTargets: DeletionTarget[] = [];
  const blobTargets: DeletionTarget[] = [];
  timer.run('plan', () => {
    plans.sort((a, b) => (a.summary.name < b.summary.name ? -1 : 1));
    for (const plan of plans) {
      for (const digest of listLayerLinks(reader, plan.summary.name)) {
        if (index.survives(digest)) continue;
        layerTargets.push({ kind: 'layerLink', repository: plan.summary.name, digest });
        result.layerLinksDeleted.push({ repository: plan.summary.name, digest });
        plan.summary.layerLinksDeleted++;
      }
      for (const target of plan.manifestTargets) {
        if (target.kind === 'revision') result.manifestsDeleted.push({ repository: target.repository, digest: target.digest });
        else result.tagIndexEntriesDeleted++;
      }
      result.repositories.push(plan.summary);
    }
    index.forEachUnmarked((digest) => {
      blobTargets.push({ kind: 'blob', digest });
      result.blobsDeleted.push(digest);
      result.bytesFreed += blobSize(fs, reader.pathOf({ kind: 'blobData', digest }));
    });
    result.blobsDeleted.sort();
  });

  if (options.dryRun) return result;

  // 4. sweep
  const vacuum = new Vacuum(fs, located.v2);
  timer.run('sweep', () => {
    for (const plan of plans) for (const target of plan.manifestTargets) vacuum.remove(target);
    for (const target of layerTargets) vacuum.remove(target);
    for (const target of blobTargets) vacuum.remove(target);
  });

  // 5. verify
  timer.run('verify', () => verifyKeptTags(reader, plans));
  return result;
}

function markRepository(scan: RepoScan, deleteUntagged: boolean, index: BlobIndex, warn: (m: string) => void): RepoPlan {
  for (const warning of scan.warnings) warn(warning);
  const kept = selectKept(scan, deleteUntagged);
  const summary: RepoSummary = {
    name: scan.name,
    tags: scan.tags.length,
    revisions: scan.revisions.length,
    manifestsDeleted: 0,
    layerLinksDeleted: 0,
  };
  const manifestTargets: DeletionTarget[] = [];
  for (const revision of scan.revisions) {
    if (kept.has(revision.digest)) {
      markRevision(index, revision);
      continue;
    }
    // Not kept: only reachable with -m. A revision whose manifest is missing
    // is neither kept nor deleted (the reference never enumerates it).
    if (!revision.manifest) continue;
    for (const tag of scan.tags) {
      if (tag.index.includes(revision.digest)) {
        manifestTargets.push({ kind: 'tagIndexEntry', repository: scan.name, tag: tag.tag, digest: revision.digest });
      }
    }
    manifestTargets.push({ kind: 'revision', repository: scan.name, digest: revision.digest });
    summary.manifestsDeleted++;
  }
  const keptTags: RepoPlan['keptTags'] = [];
  for (const tag of scan.tags) {
    if (tag.current && kept.has(tag.current)) keptTags.push({ tag: tag.tag, digest: tag.current });
    else if (tag.current) warn(`${scan.name}: tag ${tag.tag} names ${tag.current}, which has no readable revision in this repository`);
  }
  return { summary, manifestTargets, keptTags };
}

function blobSize(fs: FileSystem, dataPath: string): number {
  try {
    return fs.lstatSync(dataPath).size;
  } catch (cause) {
    // A blob directory without data is what a crash between unlinking data
    // and removing the directory leaves: it still gets removed, frees nothing.
    if (isENOENT(cause)) return 0;
    throw new JanitorError('E_UNREADABLE', `cannot stat ${dataPath}`, { path: dataPath, cause });
  }
}

function verifyKeptTags(reader: TreeReader, plans: RepoPlan[]): void {
  for (const plan of plans) {
    for (const { tag, digest } of plan.keptTags) {
      const name = plan.summary.name;
      reader.readLink({ kind: 'revisionLink', name, digest }, digest);
      if (!reader.read({ kind: 'blobData', digest }, { optional: true })) {
        throw new JanitorError('E_UNREADABLE', `verify failed: ${name}:${tag} lost its manifest blob ${digest}`);
      }
    }
  }
}
