// ls's account of one repository (phase 4 of ls/index.ts): its tags with
// their size and what removing each alone frees, its untagged revisions, its
// size. The repository's KeepContext and baseline are built here from its
// scan (CPU only: the tree is not read again) and dropped on return, so the
// account phase holds one repository's at a time.

import type { Digest } from '../../model/digest.js';
import type { Platform } from '../../model/manifest.js';
import { KeepContext, closeOver, listRevisionMarks, selectKeptIn } from '../../model/reachability.js';
import type { RepoScan, Revision } from '../../model/repository.js';
import type { BlobTally } from './blob-tally.js';

export type LsSort = 'name' | 'size' | 'age';

export interface LsTag {
  tag: string;
  digest: Digest | undefined;
  pushedMs: number;
  mediaType: string | undefined;
  platforms: string[];
  size: number;
  frees: number;
}

export interface LsRepo {
  name: string;
  tags: LsTag[];
  untagged: { digest: Digest; mediaType: string | undefined; size: number }[];
  /** distinct blobs of all the repository's revisions. */
  size: number;
}

/** What a revision marks when kept; nothing for one whose manifest is missing (never kept). */
function refsOf(revision: Revision | undefined): Digest[] {
  return revision?.manifest ? listRevisionMarks(revision) : [];
}

function platformName(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * Counts into `tally` what the repository's kept revisions mark when no tag
 * is removed (phase 3): the baseline every per-tag question starts from.
 */
export function countBaselineMarkers(scan: RepoScan, tally: BlobTally): void {
  const baseline = selectKeptIn(new KeepContext(scan), { deleteUntagged: false });
  for (const revision of scan.revisions) {
    if (!baseline.has(revision.digest)) continue;
    for (const digest of new Set(refsOf(revision))) tally.countMarker(digest);
  }
}

const compareTags = {
  name: (a: LsTag, b: LsTag) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0),
  size: (a: LsTag, b: LsTag) => b.size - a.size || (a.tag < b.tag ? -1 : 1),
  age: (a: LsTag, b: LsTag) => b.pushedMs - a.pushedMs || (a.tag < b.tag ? -1 : 1),
};

/**
 * The repository's row, its tags in `sort` order; its blobs are added to
 * the tally's listed total. `tally` has every repository's markers, sized.
 */
export function accountRepository(scan: RepoScan, tally: BlobTally, sort: LsSort): LsRepo {
  const context = new KeepContext(scan);
  const baseline = selectKeptIn(context, { deleteUntagged: false });
  const byDigest = new Map(scan.revisions.map((r) => [r.digest, r]));
  const blobsOf = (revisions: Iterable<Digest>): Set<Digest> => {
    const out = new Set<Digest>();
    for (const d of revisions) for (const b of refsOf(byDigest.get(d))) out.add(b);
    return out;
  };
  /** Bytes no kept revision marks any more once `tag` is removed, as prune decides. */
  const freedBy = (tag: string): number => {
    const kept = selectKeptIn(context, { deleteUntagged: false, removedTags: new Set([tag]) });
    const lostUses = new Map<Digest, number>();
    for (const digest of baseline) {
      if (kept.has(digest)) continue;
      for (const b of new Set(refsOf(byDigest.get(digest)))) lostUses.set(b, (lostUses.get(b) ?? 0) + 1);
    }
    let freed = 0;
    for (const [b, uses] of lostUses) if (tally.markersOf(b) === uses) freed += tally.sizeOf(b);
    return freed;
  };
  const repo: LsRepo = { name: scan.name, tags: [], untagged: [], size: 0 };
  for (const tag of scan.tags) {
    const revision = tag.current ? byDigest.get(tag.current) : undefined;
    const closure = tag.current ? closeOver(context.graph, [tag.current]) : new Set<Digest>();
    repo.tags.push({
      tag: tag.tag,
      digest: tag.current,
      pushedMs: tag.pushedMs,
      mediaType: revision?.manifest?.mediaType,
      platforms: revision?.manifest?.platforms.map(platformName) ?? [],
      size: tally.sumOf(blobsOf(closure)),
      frees: freedBy(tag.tag),
    });
  }
  for (const revision of scan.revisions) {
    if (context.tagged.has(revision.digest)) continue;
    repo.untagged.push({ digest: revision.digest, mediaType: revision.manifest?.mediaType, size: tally.sizeOf(revision.digest) });
  }
  const all = blobsOf(context.readable);
  repo.size = tally.sumOf(all);
  tally.addListed(all);
  repo.tags.sort(compareTags[sort]);
  return repo;
}
