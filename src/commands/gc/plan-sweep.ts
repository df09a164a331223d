// The plan phase of gc and prune: what the sweep will delete, vetted.
//
// a. fresh layer links   in a repository whose _layers/<alg> changed within
//                        the grace window, each link written within it keeps
//                        its blob (a push or a cross-repository mount under
//                        way reuses an old blob under a new link)
// b. blobs               every unmarked blob is vetted (vacuum.ts) and sized;
//                        one whose data was written within the window stays
// c. layer links         whose blob is gone or going; a blob missing from the
//                        inventory counts as gone only if it is still missing
//                        now, never because an earlier listing lacked it.
//                        Listed on the -j threads, judged here from the
//                        packed digests (it was ~0.3 s of the 100k
//                        many-small gc -m -d's ~2.9 s on this thread alone,
//                        the others idle)
// d. other targets       tags, tag index entries, revisions, layer links:
//                        vetted, fully in a real run, each link read with
//                        --trash (moved whole, never walked: vacuum.ts),
//                        lightly in a dry run

import type { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';
import { DigestList, type PlainDigestList, SHA256_BYTES, sha256DigestAt } from '../../model/digest-list.js';
import { type StorageWorkers, type VetJob, batchesOf } from '../../scan/storage-workers.js';
import { listLayerLinksIn } from '../../scan/scan-repository.js';
import type { LayerDirectory } from '../../model/repository.js';
import { type LinkGroup, type Prefetcher, linkGroupOf } from '../../scan/prefetch.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { DeletionTarget, VetDepth } from '../../storage/vacuum.js';
import type { RepoOutcome } from './mark-repository.js';

/** What the sweep adds each target to, in gc's SweepCounts (index.ts). */
export type Counted = 'tags' | 'tagIndexEntries' | 'manifests' | 'linklessRevisions' | 'layerLinks';

// Non-blob targets are vetted in batches of this many, one job each: small
// enough to spread 150k layer links over the -j threads, large enough that
// a job's message costs nothing next to its ~50 µs-a-target reads.
const VET_BATCH = 2048;
// Repositories whose layer links are listed in one job: the many-small
// trees have ~70 links a repository, so a job is ~2,000 links (~0.1 s).
const LAYER_BATCH = 32;

export interface PlanContext {
  reader: TreeReader;
  index: BlobIndex;
  workers: StorageWorkers;
  mountPoints: readonly string[];
  depth: VetDepth;
  /** the grace window's start (+Infinity: no window). */
  freshAfterMs: number;
  /** told the links a real run's vetting reads (full, or a move's), in its order, as soon as they are known. */
  prefetch?: Pick<Prefetcher, 'links'> | undefined;
  /** apply (apply-plan.ts): the layer links that may go in a repository, in place of its listing. */
  layerLinkCandidates?: (name: string) => readonly Digest[];
}

export interface PlanTotals {
  bytesFreed: number;
  /** blobs the grace window kept (fresh data, or a fresh layer link to them). */
  blobsKeptByGrace: number;
  /** the data bytes of those blobs. */
  bytesKeptByGrace: number;
  /** layer links the grace window kept. */
  layerLinksKeptByGrace: number;
}

export async function planSweep(context: PlanContext, outcomes: readonly RepoOutcome[]): Promise<PlanTotals> {
  const { reader, index, workers, mountPoints, depth, freshAfterMs } = context;
  const totals: PlanTotals = { bytesFreed: 0, blobsKeptByGrace: 0, bytesKeptByGrace: 0, layerLinksKeptByGrace: 0 };
  const spared: Digest[] = [];
  const spare = (digest: Digest): void => {
    if (index.has(digest) && !index.isMarked(digest)) {
      index.mark(digest);
      totals.blobsKeptByGrace++;
      spared.push(digest);
    }
  };

  // a. fresh layer links
  const freshLinks = new Map<string, Set<Digest>>();
  for (const { name, layers } of outcomes) {
    const fresh = findFreshLayerLinks(reader, name, layers, freshAfterMs);
    if (fresh.size === 0) continue;
    freshLinks.set(name, fresh);
    for (const digest of fresh) spare(digest);
  }

  // b. blobs
  const vetted = await workers.vet(blobJobs(index, mountPoints, depth, freshAfterMs));
  totals.bytesFreed = vetted.bytes;
  for (const digest of vetted.fresh) spare(digest);

  // The bytes the window keeps: one lstat a spared blob (what was pushed within the window: few).
  for (const digest of spared) totals.bytesKeptByGrace += reader.dataSize(reader.pathOf({ kind: 'blobData', digest }));

  // c. layer links
  const judge = new LayerLinkJudge(reader, index, freshLinks, totals);
  if (context.layerLinkCandidates) {
    for (const outcome of outcomes) outcome.layerLinksDeleted = judge.judge(outcome.name, DigestList.of(context.layerLinkCandidates(outcome.name)).toPlain());
  } else {
    for (const outcome of outcomes) outcome.layerLinksDeleted = new DigestList();
    const byName = new Map(outcomes.map((outcome) => [outcome.name, outcome]));
    // A repository without _layers/ (no blob ever pushed to it) has nothing to list.
    const listings = outcomes.filter(({ layers }) => layers.length > 0).map(({ name, layers }) => ({ name, algorithms: layers.map((l) => l.algorithm) }));
    await workers.listLayerLinks(batchesOf(listings, LAYER_BATCH), (listed) => {
      for (const { name, links } of listed) {
        const outcome = byName.get(name);
        if (outcome) outcome.layerLinksDeleted = judge.judge(name, links);
      }
    });
  }

  if (depth !== 'light') context.prefetch?.links(linkGroupsOf(outcomes));
  // d. other targets: a light look at them is the mount table alone, and a
  // tree with a mount inside was refused before it was read.
  if (depth !== 'light' || mountPoints.length > 0) await workers.vet(targetJobs(outcomes, mountPoints, depth, freshAfterMs));
  return totals;
}

/** c. which of a repository's layer links go: those whose blob goes or is gone. */
class LayerLinkJudge {
  constructor(
    private readonly reader: TreeReader,
    private readonly index: BlobIndex,
    private readonly freshLinks: ReadonlyMap<string, ReadonlySet<Digest>>,
    private readonly totals: PlanTotals,
  ) {}

  judge(name: string, links: PlainDigestList): DigestList {
    const going = new DigestList();
    const fresh = this.freshLinks.get(name);
    const { packed, others } = links;
    for (let at = 0; at < packed.length; at += SHA256_BYTES) {
      const fate = this.index.sha256Fate(packed, at);
      if (fate === 'stays') continue;
      // The common case without a digest string: a link to a blob that goes, in a repository with no fresh link.
      if (fate === 'goes' && fresh === undefined) going.pushSha256Bytes(packed, at);
      else if (this.goes(sha256DigestAt(packed, at), fresh)) going.pushSha256Bytes(packed, at);
    }
    for (const digest of others) if (!this.index.survives(digest) && this.goes(digest, fresh)) going.push(digest);
    return going;
  }

  /** A link to a blob that does not stay: kept if fresh, or if its blob, missing from the inventory, is there now. */
  private goes(digest: Digest, fresh: ReadonlySet<Digest> | undefined): boolean {
    if (fresh?.has(digest)) {
      this.totals.layerLinksKeptByGrace++;
      return false;
    }
    // Not in the inventory: gone only if it is still missing now (a blob
    // pushed after the inventory is a new blob, not a dangling link).
    return this.index.has(digest) || this.reader.mtimeOf({ kind: 'blobData', digest }) === undefined;
  }
}

/**
 * A repository's layer links written after `freshAfterMs`; only read in the
 * _layers/<alg> directories the scan found changed since (RepoScan.layers:
 * one written to after the scan changes the repository's watch, and the
 * revalidation reads it again).
 */
function findFreshLayerLinks(reader: TreeReader, name: string, layers: readonly LayerDirectory[], freshAfterMs: number): Set<Digest> {
  const fresh = new Set<Digest>();
  const changed = layers.filter((l) => l.fresh).map((l) => l.algorithm);
  if (!Number.isFinite(freshAfterMs) || changed.length === 0) return fresh;
  for (const digest of listLayerLinksIn(reader, name, changed)) {
    // A directory without its link holds nothing (as in scan-repository.ts).
    if ((reader.mtimeOf({ kind: 'layerLink', name, digest }) ?? 0) > freshAfterMs) fresh.add(digest);
  }
  return fresh;
}

/**
 * Every non-blob target of the sweep, in the order it deletes them (the
 * order of the report's lists too, so a sweep stopped part-way reports
 * the first `swept[counter]` of each), with the count it adds to.
 */
export function* targetsOf(outcomes: readonly RepoOutcome[], layerLinks = true): Generator<[DeletionTarget, Counted]> {
  for (const { name, tagsRemoved } of outcomes) {
    for (const { tag } of tagsRemoved) yield [{ kind: 'tag', repository: name, tag }, 'tags'];
  }
  for (const { name, tagIndexEntries, manifestsDeleted, linklessRevisions } of outcomes) {
    for (const [tag, digests] of tagIndexEntries) {
      for (const digest of digests) yield [{ kind: 'tagIndexEntry', repository: name, tag, digest }, 'tagIndexEntries'];
    }
    for (const digest of manifestsDeleted) yield [{ kind: 'revision', repository: name, digest }, 'manifests'];
    for (const digest of linklessRevisions) yield [{ kind: 'revision', repository: name, digest }, 'linklessRevisions'];
  }
  if (!layerLinks) return;
  for (const { name, layerLinksDeleted } of outcomes) {
    for (const digest of layerLinksDeleted) yield [{ kind: 'layerLink', repository: name, digest }, 'layerLinks'];
  }
}

/** The sha256 links a real run's vetting of the targets reads (full or move), in its order: the revisions, then the layer links. */
function* linkGroupsOf(outcomes: readonly RepoOutcome[]): Generator<LinkGroup> {
  for (const { name, manifestsDeleted } of outcomes) {
    const group = linkGroupOf(name, 'revisionLink', manifestsDeleted);
    if (group) yield group;
  }
  for (const { name, layerLinksDeleted } of outcomes) {
    const group = linkGroupOf(name, 'layerLink', layerLinksDeleted);
    if (group) yield group;
  }
}

/** Target batches, produced as the threads take them. */
function* targetJobs(outcomes: readonly RepoOutcome[], mountPoints: readonly string[], depth: VetDepth, freshAfterMs: number): Generator<VetJob> {
  let batch: DeletionTarget[] = [];
  for (const [target] of targetsOf(outcomes)) {
    batch.push(target);
    if (batch.length === VET_BATCH) {
      yield { targets: batch, mountPoints, depth, freshAfterMs };
      batch = [];
    }
  }
  if (batch.length > 0) yield { targets: batch, mountPoints, depth, freshAfterMs };
}

/** The unmarked blobs, a fan-out shard a job, each made as a thread takes it. */
function* blobJobs(index: BlobIndex, mountPoints: readonly string[], depth: VetDepth, freshAfterMs: number): Generator<VetJob> {
  for (const [algorithm, prefix, hexes] of index.unmarkedShards()) yield { shard: { algorithm, prefix, hexes, mountPoints }, depth, freshAfterMs };
}
