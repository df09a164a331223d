// Which revisions of a repository are kept, and what a kept one marks.
//
// Plain gc: every revision whose manifest could be read is kept (the
// reference's rule). With -m: a revision is kept when a tag's current link
// names it, or it is reachable from a kept revision of the same repository
// through manifest list / OCI index children (any depth), or it is a
// referrer (OCI 1.1 `subject`) of a kept revision; to a fixpoint. This is
// the rule Distribution 2.8.2's -m lacks (issue 3178): there, index children
// count as untagged and lose their revision links and layers.

import type { Digest } from './digest.js';
import type { BlobIndex } from './blob-index.js';
import type { RepoScan, Revision } from './repository.js';

/** A repository's readable revisions, and who refers to whom by `subject`. */
export interface ReferenceGraph {
  byDigest: Map<Digest, Revision>;
  referrers: Map<Digest, Digest[]>;
}

/** Built once per repository; every closure over it is then linear in what it reaches. */
export function referenceGraph(scan: RepoScan): ReferenceGraph {
  const byDigest = new Map<Digest, Revision>();
  const referrers = new Map<Digest, Digest[]>();
  for (const revision of scan.revisions) {
    if (!revision.manifest) continue;
    byDigest.set(revision.digest, revision);
    // Every subject variant (see manifest.ts): a referrer of each is kept with it.
    for (const subject of revision.manifest.subjects) {
      const list = referrers.get(subject);
      if (list) list.push(revision.digest);
      else referrers.set(subject, [revision.digest]);
    }
  }
  return { byDigest, referrers };
}

/** Revisions reachable from `roots` by index children and referrers. */
export function closeOver({ byDigest, referrers }: ReferenceGraph, roots: Iterable<Digest>): Set<Digest> {
  const kept = new Set<Digest>();
  const queue: Digest[] = [];
  for (const root of roots) if (byDigest.has(root)) queue.push(root);
  for (let digest = queue.pop(); digest !== undefined; digest = queue.pop()) {
    if (kept.has(digest)) continue;
    kept.add(digest);
    // Only revisions with a readable manifest enter byDigest (referenceGraph).
    for (const child of byDigest.get(digest)?.manifest?.children ?? []) if (byDigest.has(child)) queue.push(child);
    for (const referrer of referrers.get(digest) ?? []) queue.push(referrer);
  }
  return kept;
}

/** The digests tag current links name, tags without one left out. */
export function taggedDigests(scan: RepoScan): Digest[] {
  const digests: Digest[] = [];
  for (const tag of scan.tags) if (tag.current) digests.push(tag.current);
  return digests;
}

export interface KeepOptions {
  deleteUntagged: boolean;
  /** tags being removed in this run (prune): they no longer keep anything. */
  removedTags?: ReadonlySet<string>;
}

/**
 * One repository prepared for several keep decisions (ls asks one per tag):
 * the reference graph and the closure of the tags are built once, on first
 * use, and shared by every selectKeptIn() call.
 */
export class KeepContext {
  private graphMemo: ReferenceGraph | undefined;
  private taggedMemo: Set<Digest> | undefined;
  private readableMemo: Digest[] | undefined;

  constructor(readonly scan: RepoScan) {}

  get graph(): ReferenceGraph {
    return (this.graphMemo ??= referenceGraph(this.scan));
  }

  /** revisions the tags reach before any removal. */
  get tagged(): Set<Digest> {
    return (this.taggedMemo ??= closeOver(this.graph, taggedDigests(this.scan)));
  }

  /** revisions whose manifest could be read. */
  get readable(): Digest[] {
    if (!this.readableMemo) {
      this.readableMemo = [];
      for (const revision of this.scan.revisions) if (revision.manifest) this.readableMemo.push(revision.digest);
    }
    return this.readableMemo;
  }
}

/**
 * The kept revisions of one repository: THE keep rule, which gc, prune and
 * ls all call (ls asks it once per tag, with that tag removed).
 * - gc: every readable revision; gc -m: the closure of the tags.
 * - prune -m: the closure of the tags that remain.
 * - prune: the closure of the remaining tags and of every revision no tag
 *   reached before the run: what only the removed tags kept is deleted
 *   ("lost its last tag"), manifests untagged before are left whole.
 */
export function selectKept(scan: RepoScan, options: KeepOptions): Set<Digest> {
  return selectKeptIn(new KeepContext(scan), options);
}

/** selectKept on a prepared repository. */
export function selectKeptIn(context: KeepContext, options: KeepOptions): Set<Digest> {
  const { scan } = context;
  const removed = options.removedTags;
  const remaining = removed ? { ...scan, tags: scan.tags.filter((t) => !removed.has(t.tag)) } : scan;
  if (options.deleteUntagged) return closeOver(context.graph, taggedDigests(remaining));
  if (!removed || removed.size === 0) return new Set(context.readable);
  // Roots: the remaining tags, and every manifest no tag reached before the
  // run. Their closure keeps, say, the child an untagged index shares with
  // an index whose tag is removed.
  const before = context.tagged;
  const untaggedBefore = context.readable.filter((d) => !before.has(d));
  return closeOver(context.graph, [...taggedDigests(remaining), ...untaggedBefore]);
}

/** What a kept revision marks: its own blob and everything References() lists. */
export function listRevisionMarks(revision: Revision): Digest[] {
  const manifest = revision.manifest;
  return manifest ? [revision.digest, ...manifest.blobs, ...manifest.children] : [revision.digest];
}

/** Marks a kept revision: its own blob and everything References() lists. */
export function markRevision(index: BlobIndex, revision: Revision): void {
  for (const digest of listRevisionMarks(revision)) index.mark(digest);
}
