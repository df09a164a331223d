// gc --free SIZE: reclaim a target, not everything.
//
// After the plan (and its revalidation), the deletable blobs are sized and
// taken largest first until SIZE is reached: that prefix is the chosen set.
// Everything else the plan holds stays for a later run, and the tree stays
// one in which nothing kept loses anything:
//
// - a blob not chosen is marked: the sweep keeps it;
// - a manifest to delete goes only when it touches a chosen blob (its own
//   blob, its config, a layer, a child), and then with every manifest to
//   delete it is tied to in its repository by an index child or an OCI
//   `subject`: a kept index never loses a child, and a later `prune` never
//   finds half of what one removed tag kept ("untagged before the run");
// - a tag index entry goes with its manifest; a removed tag (prune) goes
//   only when its manifest goes, or when the journal of an interrupted run
//   of the same command names it (that run may have removed it already);
// - a layer link goes only when its blob is chosen; dangling layer links
//   and empty revision directories stay for a later run.
//
// When SIZE is more than the whole plan frees, the whole plan is done (every
// byte helps on a full disk) and the report says the target is not
// reachable; the CLI exits 4 (README "Exit codes").

import type { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';
import { DigestList } from '../../model/digest-list.js';
import type { TagDecision } from '../../select/select-tags.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { JournalTag } from '../journal.js';
import type { DeletedLinks, RepoOutcome } from './mark-repository.js';

export interface FreeReport {
  /** SIZE, in bytes. */
  target: number;
  /** what the chosen blobs hold (a dry run), or what the sweep freed. */
  freed: number;
  /** the whole plan frees at least SIZE. */
  reachable: boolean;
  /** `freed` is at least SIZE. */
  reached: boolean;
  /** bytes of the blobs planned but left for a later run. */
  leftReclaimable: number;
  /** blobs chosen / left for a later run. */
  blobsChosen: number;
  blobsLeft: number;
}

/** The size of every deletable (unmarked) blob's data: one lstat each, 0 for a blob directory without data. */
export function sizeDeletableBlobs(reader: TreeReader, index: BlobIndex): Map<Digest, number> {
  const sizes = new Map<Digest, number>();
  index.forEachUnmarkedShard((algorithm, prefix, hexes) => {
    const shard = reader.pathOf({ kind: 'blobShard', algorithm, prefix });
    for (const hex of hexes) sizes.set(`${algorithm}:${hex}` as Digest, reader.dataSize(`${shard}/${hex}/data`));
  });
  return sizes;
}

/** Largest first; equal sizes in digest order (deterministic: the dry run lists what the real run deletes). */
export function bySizeDescending(sizes: ReadonlyMap<Digest, number>): [Digest, number][] {
  return [...sizes].sort(([da, a], [db, b]) => b - a || (da < db ? -1 : da > db ? 1 : 0));
}

/** The shortest largest-first prefix of the deletable blobs that holds `target` bytes (all of them when none does). */
export function chooseLargestFirst(sizes: ReadonlyMap<Digest, number>, target: number): { chosen: Set<Digest>; bytes: number } {
  const chosen = new Set<Digest>();
  let bytes = 0;
  for (const [digest, size] of bySizeDescending(sizes)) {
    if (bytes >= target) break;
    chosen.add(digest);
    bytes += size;
  }
  return { chosen, bytes };
}

const LEFT_FOR_LATER = 'left for a later run (--free: its manifest holds none of the blobs chosen to reach the target)';

/**
 * Restricts the plan to what reaching `target` needs (see the header).
 * `sizes` are the deletable blobs' (sizeDeletableBlobs); `journalTags` the
 * tags an interrupted run of this command removed. Marks every deletable
 * blob not chosen, so the sweep and the lists see only the chosen ones.
 */
export function restrictToTarget(
  target: number,
  sizes: ReadonlyMap<Digest, number>,
  index: BlobIndex,
  outcomes: readonly RepoOutcome[],
  journalTags: readonly JournalTag[] = [],
): FreeReport {
  let planned = 0;
  for (const size of sizes.values()) planned += size;
  const report: FreeReport = {
    target,
    freed: planned,
    reachable: planned >= target,
    reached: planned >= target,
    leftReclaimable: 0,
    blobsChosen: sizes.size,
    blobsLeft: 0,
  };
  if (!report.reachable) return report; // the whole plan: every byte there is
  const { chosen, bytes } = chooseLargestFirst(sizes, target);
  Object.assign(report, { freed: bytes, leftReclaimable: planned - bytes, blobsChosen: chosen.size, blobsLeft: sizes.size - chosen.size });
  const forced = new Set(journalTags.map((t) => `${t.repository}:${t.tag}`));
  for (const outcome of outcomes) restrictOutcome(outcome, chosen, forced);
  for (const digest of sizes.keys()) if (!chosen.has(digest)) index.mark(digest);
  return report;
}

function restrictOutcome(outcome: RepoOutcome, chosen: ReadonlySet<Digest>, forcedTags: ReadonlySet<string>): void {
  const links = outcome.deletedLinks ?? new Map<Digest, DeletedLinks>();
  const planned = [...outcome.manifestsDeleted];
  const inPlan = new Set(planned);
  const forcedTagged = outcome.tagsRemoved.filter((d) => forcedTags.has(`${outcome.name}:${d.tag}`) && d.digest).map((d) => d.digest as Digest);
  // Manifests tied by an index child or a subject, both planned: one component.
  const parent = new Map<Digest, Digest>(planned.map((d) => [d, d]));
  const find = (d: Digest): Digest => {
    let root = d;
    while (parent.get(root) !== root) root = parent.get(root) ?? root;
    for (let at = d; at !== root;) {
      const next = parent.get(at) ?? root;
      parent.set(at, root);
      at = next;
    }
    return root;
  };
  for (const digest of planned) {
    for (const other of links.get(digest)?.tied ?? []) if (inPlan.has(other)) parent.set(find(other), find(digest));
  }
  const touched = new Set<Digest>();
  for (const digest of planned) {
    const marks = links.get(digest)?.marks ?? [digest];
    if (marks.some((m) => chosen.has(m))) touched.add(find(digest));
  }
  for (const digest of forcedTagged) if (inPlan.has(digest)) touched.add(find(digest));
  const going = new Set(planned.filter((d) => touched.has(find(d))));

  const manifests = new DigestList();
  for (const digest of planned) if (going.has(digest)) manifests.push(digest);
  outcome.manifestsDeleted = manifests;
  const entries = new Map<string, DigestList>();
  for (const [tag, digests] of outcome.tagIndexEntries) {
    const kept = new DigestList();
    for (const digest of digests) if (going.has(digest)) kept.push(digest);
    if (kept.length > 0) entries.set(tag, kept);
  }
  outcome.tagIndexEntries = entries;
  const removed: TagDecision[] = [];
  const leftForLater: TagDecision[] = [];
  for (const decision of outcome.tagsRemoved) {
    if (forcedTags.has(`${outcome.name}:${decision.tag}`) || (decision.digest && going.has(decision.digest))) removed.push(decision);
    else leftForLater.push({ ...decision, remove: false, reason: LEFT_FOR_LATER });
  }
  outcome.tagsRemoved = removed;
  if (leftForLater.length > 0) outcome.tagsKept = [...outcome.tagsKept, ...leftForLater];
  const layerLinks = new DigestList();
  for (const digest of outcome.layerLinksDeleted) if (chosen.has(digest)) layerLinks.push(digest);
  outcome.layerLinksDeleted = layerLinks;
  outcome.linklessRevisions = [];
  outcome.deletedLinks = undefined;
}
