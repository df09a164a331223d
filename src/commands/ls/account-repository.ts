// ls's account of one repository (phase 4 of ls/index.ts): its row, from
// its draft (draft-repository.ts) and the counts and sizes of every blob
// (BlobTally). CPU only: nothing is read again.

import type { Digest } from '../../model/digest.js';
import type { BlobTally } from './blob-tally.js';
import type { DraftTag, RepoDraft } from './draft-repository.js';

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

const compareTags = {
  name: (a: LsTag, b: LsTag) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0),
  size: (a: LsTag, b: LsTag) => b.size - a.size || (a.tag < b.tag ? -1 : 1),
  age: (a: LsTag, b: LsTag) => b.pushedMs - a.pushedMs || (a.tag < b.tag ? -1 : 1),
};

/**
 * Bytes no kept revision in any repository marks any more once `tag` alone
 * is removed: the blobs whose every marker it takes. Blobs already unmarked
 * (what a plain gc frees anyway) are not among them.
 */
function freedBy(tag: DraftTag, draft: RepoDraft, tally: BlobTally): number {
  const lost = draft.lost.subarray(tag.lostAt, tag.lostAt + tag.lostCount);
  const uses = draft.lost.subarray(tag.lostAt + tag.lostCount, tag.lostAt + 2 * tag.lostCount);
  let freed = 0;
  lost.forEach((slot, i) => {
    if (tally.markersOf(slot) === uses[i]) freed += tally.sizeOf(slot);
  });
  return freed;
}

/** The distinct blobs of the revisions numbered `revisions`. */
function blobsOf(draft: RepoDraft, revisions: Iterable<number>): Set<number> {
  const blobs = new Set<number>();
  for (const i of revisions) for (const slot of draft.marks.subarray(draft.markStarts[i], draft.markStarts[i + 1])) blobs.add(slot);
  return blobs;
}

/**
 * The repository's row, its tags in `sort` order; its blobs are added to
 * the tally's listed total. `tally` has every repository's markers, sized.
 */
export function accountRepository(draft: RepoDraft, tally: BlobTally, sort: LsSort): LsRepo {
  // Every readable revision's blobs: the repository's.
  const blobs = new Set(draft.marks);
  const repo: LsRepo = { name: draft.name, tags: [], untagged: [], size: tally.sumOf(blobs) };
  // Tags on one digest share a closure (one closureAt), so its size is summed once; an empty closure is 0 bytes.
  const sizeOf = new Map<number, number>();
  for (const tag of draft.tags) {
    const { tag: name, digest, pushedMs, mediaType, platforms } = tag;
    let size = 0;
    if (tag.closureCount > 0) {
      size = sizeOf.get(tag.closureAt) ?? tally.sumOf(blobsOf(draft, draft.closures.subarray(tag.closureAt, tag.closureAt + tag.closureCount)));
      sizeOf.set(tag.closureAt, size);
    }
    repo.tags.push({ tag: name, digest, pushedMs, mediaType, platforms, size, frees: freedBy(tag, draft, tally) });
  }
  for (const { digest, mediaType, slot } of draft.untagged) repo.untagged.push({ digest, mediaType, size: tally.sizeOf(slot) });
  tally.addListed(blobs);
  repo.tags.sort(compareTags[sort]);
  return repo;
}
