// The mark phase for one repository: apply the tag selection (prune), choose
// the kept revisions, mark them, and record what the repository loses.
// Only compact records outlive the RepoScan.

import { type Warn, makeWarning } from '../../errors.js';
import type { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';
import { DigestList } from '../../model/digest-list.js';
import { type TagDecision, type TagSelector, allTagsRemovedWarning, spareFreshTags } from '../../select/select-tags.js';
import type { LayerDirectory, RepoScan } from '../../model/repository.js';
import { type JournalTag, forceJournalDecisions, withJournalTags } from '../journal.js';
import { findDanglingTags } from './dangling-tags.js';
import { closeOver, listRevisionMarks, markRevision, referenceGraph, selectKept, taggedDigests } from '../../model/reachability.js';

export interface RepoOutcome {
  name: string;
  tags: number;
  revisions: number;
  // The lists and the map below are read-only: when empty (in most
  // repositories) they are one shared empty value (NONE, NO_ENTRIES), and a
  // step that changes one assigns a new one.
  /** tag directories removed (prune), with the decision behind each. */
  tagsRemoved: readonly TagDecision[];
  /** candidates a keep rule protected (prune), with the reason. */
  tagsKept: readonly TagDecision[];
  manifestsDeleted: DigestList;
  /** tags/<tag>/index/<digest> entries of deleted manifests, by remaining tag. */
  tagIndexEntries: ReadonlyMap<string, DigestList>;
  layerLinksDeleted: DigestList;
  /** revision directories left without their link by an interrupted removal. */
  linklessRevisions: readonly Digest[];
  /** candidates the grace window spared: rule-selected tags pushed, and manifests written, within it. */
  keptByGrace: { tags: number; manifests: number };
  /** the repository's watch when it was read (scan-repository.ts watchRepository); empty in a dry run. */
  watch: string;
  /** its _layers/<alg> directories when it was read, each fresh or not (RepoScan.layers). */
  layers: LayerDirectory[];
  /** tags that stay, with their target: what the verify phase checks (empty in a dry run, which has none). */
  keptTags: readonly { tag: string; digest: Digest }[];
  /** --free: what each manifest to delete marks and is tied to (gc/free-target.ts). */
  deletedLinks?: Map<Digest, DeletedLinks> | undefined;
  /** remaining tags that do not pull: a revision, manifest or blob they need is missing (dangling-tags.ts). */
  danglingTags?: string[] | undefined;
  /**
   * The revisions its decision was made on, kept where the sweep moves
   * revisions out of it and every one was read whole (listRevisionNames):
   * the recheck compares them with what is there after its own moves
   * (sweep-aside.ts).
   */
  revisionNames?: DigestList | undefined;
}

/**
 * The revisions a scan read, when each had its link and its manifest:
 * undefined otherwise. A linkless one may be a push under way whose link
 * comes later, and a manifest missing may come back (pushed again by
 * digest), each changing what the repository references with no stamp of
 * its watch changed: such a repository is always read again.
 */
export function listRevisionNames(scan: RepoScan): DigestList | undefined {
  if (scan.linklessRevisions.length > 0) return undefined;
  const names = new DigestList();
  for (const revision of scan.revisions) {
    if (!revision.manifest) return undefined;
    names.push(revision.digest);
  }
  return names;
}

// One empty list and one empty map for every repository that has nothing in
// them: ~14,000 repositories on the many-small 1M tree, whose five empty
// arrays and map each were ~3 MB of the calling thread's live heap.
const NONE: readonly never[] = Object.freeze([]);
const NO_ENTRIES: ReadonlyMap<string, DigestList> = new Map();

/** What a manifest to delete is tied to (recorded by the mark phase under --free, read by free-target.ts). */
export interface DeletedLinks {
  /** what it marks when kept: its own blob, config and layers, children (model/reachability.ts listRevisionMarks). */
  marks: Digest[];
  /** its index children and subjects: manifests it must not be split from. */
  tied: Digest[];
}

export function markRepository(
  scan: RepoScan,
  options: {
    deleteUntagged: boolean;
    selector?: TagSelector | undefined;
    journalTags?: readonly JournalTag[];
    freshAfterMs?: number | undefined;
    /** --free: record what each manifest to delete marks and is tied to. */
    recordLinks?: boolean | undefined;
    /**
     * a dry run: no verify phase, so no keptTags (a tag name and digest each:
     * ~240 MB on a 20M-blob tree), and no revalidation, so no watch (~300
     * bytes a repository, 4 MB of the many-small 1M tree's 14,000).
     */
    dryRun?: boolean | undefined;
    /** whether a config or layer blob is on disk, for the tags that do not pull (undefined: not checked). */
    blobExists?: ((digest: Digest) => boolean) | undefined;
  },
  index: BlobIndex,
  warn: Warn,
): RepoOutcome {
  const freshAfterMs = options.freshAfterMs ?? Number.POSITIVE_INFINITY;
  for (const warning of scan.warnings) warn(warning);
  for (const digest of scan.linklessRevisions) {
    warn(
      makeWarning('W_LINKLESS_REVISION', `${scan.name}: revision ${digest} has no link file (left by an interrupted removal); its directory is removed`, {
        repository: scan.name,
      }),
    );
  }
  // Resuming an interrupted prune: its removed tags count as present and removed.
  const resumed = withJournalTags(scan.tags, options.journalTags ?? []);
  const tags = resumed.tags;
  const decisions = options.selector?.decide(scan.name, tags) ?? [];
  forceJournalDecisions(scan.name, decisions, resumed.forced);
  const keptByGrace = { tags: spareFreshTags(decisions, new Set(resumed.forced.keys()), freshAfterMs), manifests: 0 };
  const removedTags = new Set(decisions.filter((d) => d.remove).map((d) => d.tag));
  const loud = allTagsRemovedWarning(scan.name, removedTags.size, tags.length);
  if (loud) warn(loud);
  let kept = selectKept({ ...scan, tags }, { deleteUntagged: options.deleteUntagged, removedTags });
  // The grace window: a manifest pushed within it is kept with all it reaches.
  const fresh = scan.revisions.filter((r) => r.fresh && r.manifest && !kept.has(r.digest)).map((r) => r.digest);
  if (fresh.length > 0) {
    const before = kept.size;
    kept = closeOver(referenceGraph(scan), [...kept, ...fresh]);
    keptByGrace.manifests = kept.size - before;
  }
  const keptTags: { tag: string; digest: Digest }[] = [];
  const tagIndexEntries = new Map<string, DigestList>();
  const outcome: RepoOutcome = {
    name: scan.name,
    tags: tags.length,
    revisions: scan.revisions.length,
    tagsRemoved: decisions.length > 0 ? decisions.filter((d) => d.remove) : NONE,
    tagsKept: decisions.length > 0 ? decisions.filter((d) => !d.remove) : NONE,
    manifestsDeleted: new DigestList(),
    tagIndexEntries: NO_ENTRIES,
    layerLinksDeleted: new DigestList(),
    linklessRevisions: scan.linklessRevisions.length > 0 ? scan.linklessRevisions : NONE,
    keptTags: NONE,
    keptByGrace,
    watch: options.dryRun ? '' : scan.watch,
    layers: scan.layers,
  };
  const remainingTags = tags.filter((t) => !removedTags.has(t.tag));
  const indexed = new Map<Digest, string[]>();
  for (const tag of remainingTags) {
    for (const digest of tag.index) {
      const list = indexed.get(digest);
      if (list) list.push(tag.tag);
      else indexed.set(digest, [tag.tag]);
    }
  }
  const deleted: Digest[] = [];
  for (const revision of scan.revisions) {
    if (kept.has(revision.digest)) {
      markRevision(index, revision);
      continue;
    }
    // A revision whose manifest is missing is neither kept nor deleted: the
    // reference never enumerates it.
    if (revision.manifest) deleted.push(revision.digest);
    if (revision.manifest && options.recordLinks) {
      outcome.deletedLinks ??= new Map();
      outcome.deletedLinks.set(revision.digest, { marks: listRevisionMarks(revision), tied: [...revision.manifest.children, ...revision.manifest.subjects] });
    }
  }
  for (const digest of orderForDeletion({ ...scan, tags }, deleted)) {
    outcome.manifestsDeleted.push(digest);
    for (const tag of indexed.get(digest) ?? []) {
      let list = tagIndexEntries.get(tag);
      if (!list) tagIndexEntries.set(tag, (list = new DigestList()));
      list.push(digest);
    }
  }
  if (tagIndexEntries.size > 0) outcome.tagIndexEntries = tagIndexEntries;
  if (!options.dryRun && outcome.manifestsDeleted.length > 0) outcome.revisionNames = listRevisionNames(scan);
  for (const tag of options.dryRun ? [] : remainingTags) {
    if (tag.current && kept.has(tag.current)) keptTags.push({ tag: tag.tag, digest: tag.current });
  }
  if (keptTags.length > 0) outcome.keptTags = keptTags;
  // What verify would report, seen on the way: warnings, never a failure.
  const dangling = findDanglingTags(scan, remainingTags, options.blobExists);
  for (const warning of dangling.warnings) warn(warning);
  if (dangling.tags.length > 0) outcome.danglingTags = dangling.tags;
  return outcome;
}

/**
 * The order in which a repository's manifests are deleted: every manifest
 * before the one through which a tag reached it (children before their
 * index, referrers before their subject). A run killed part-way then leaves
 * each remaining one still reachable from the tag that reached it, so the
 * rerun (whose journal brings back the removed tags) finds exactly the rest:
 * deleting an index first would turn its children into "untagged before the
 * run", which `prune` keeps. The closure's insertion order has each
 * manifest after the one that reached it; the order is its reverse.
 */
function orderForDeletion(scan: RepoScan, deleted: Digest[]): Digest[] {
  if (deleted.length < 2) return deleted;
  const position = new Map<Digest, number>();
  for (const digest of closeOver(referenceGraph(scan), taggedDigests(scan))) position.set(digest, position.size);
  const rank = (digest: Digest): number => position.get(digest) ?? -1;
  return [...deleted].sort((a, b) => rank(b) - rank(a));
}
