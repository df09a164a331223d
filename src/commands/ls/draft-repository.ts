// ls's draft of one repository (phase 2 of ls/index.ts): everything its row
// needs that its own scan decides, made as the scan arrives so that the
// scan is dropped at once. What a tag frees also depends on every other
// repository (how many kept revisions mark each blob), so the draft keeps,
// per tag, the blobs that removing it takes a marker from and how many: the
// account (account-repository.ts) compares them with the counts once every
// repository is drafted.
//
// Blobs are BlobTally slots in typed arrays (4 bytes each), not digest
// strings: on the many-small 1M tree, holding the scans until their
// account took ls to 726 MB; the digests of a repository's rows (its tags'
// and untagged revisions') are all a draft keeps as strings.

import type { Digest } from '../../model/digest.js';
import type { Platform } from '../../model/manifest.js';
import { KeepContext, closeOver, listRevisionMarks, selectKeptIn } from '../../model/reachability.js';
import type { RepoScan, Revision } from '../../model/repository.js';
import type { Warning } from '../../errors.js';
import type { BlobTally } from './blob-tally.js';

export interface DraftTag {
  tag: string;
  digest: Digest | undefined;
  pushedMs: number;
  mediaType: string | undefined;
  platforms: string[];
  /**
   * Where its lists start in the draft's `slots`: the distinct blobs of the
   * tag's closure (its size, `blobCount` of them), then the blobs that lose
   * markers when this tag alone is removed (`lostCount`), then how many
   * markers each loses (`lostCount`, same order).
   */
  at: number;
  blobCount: number;
  lostCount: number;
}

export interface RepoDraft {
  name: string;
  tags: DraftTag[];
  /** revisions no tag reaches, in scan order, with their own blob's slot. */
  untagged: { digest: Digest; mediaType: string | undefined; slot: number }[];
  /**
   * Every list of the draft end to end: first the distinct blobs of all the
   * repository's readable revisions (`blobCount`), then each tag's. One
   * array a repository: a typed array costs ~250 bytes besides its data, and
   * three a tag came to ~100 MB on the many-small 1M tree (140k tags).
   */
  slots: Uint32Array;
  blobCount: number;
  warnings: Warning[];
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
 * is removed (the baseline every per-tag question starts from); with
 * `draft`, also returns the repository's draft (a listed repository).
 */
export function countRepository(scan: RepoScan, tally: BlobTally, draft: true): RepoDraft;
export function countRepository(scan: RepoScan, tally: BlobTally, draft: false): undefined;
export function countRepository(scan: RepoScan, tally: BlobTally, draft: boolean): RepoDraft | undefined {
  const context = new KeepContext(scan);
  const baseline = selectKeptIn(context, { deleteUntagged: false });
  const byDigest = new Map(scan.revisions.map((r) => [r.digest, r]));
  // Each revision's distinct blobs as slots, once: the baseline's markers now, the draft's sets below.
  const marks = new Map<Digest, Uint32Array>();
  for (const revision of scan.revisions) {
    if (!revision.manifest) continue;
    // A digest with no blob on disk (slot -1) counts 0 bytes in every figure: left out.
    const slots = Uint32Array.from([...new Set(refsOf(revision))].map((digest) => tally.slotOf(digest)).filter((slot) => slot >= 0));
    marks.set(revision.digest, slots);
    if (baseline.has(revision.digest)) for (const slot of slots) tally.countMarker(slot);
  }
  if (!draft) return undefined;

  // The draft's lists, appended in the order RepoDraft.slots has them.
  const slots: number[] = [];
  const appendBlobsOf = (revisions: Iterable<Digest>): number => {
    const distinct = new Set<number>();
    for (const d of revisions) for (const slot of marks.get(d) ?? []) distinct.add(slot);
    for (const slot of distinct) slots.push(slot);
    return distinct.size;
  };
  const blobCount = appendBlobsOf(context.readable);
  const tags: DraftTag[] = [];
  for (const tag of scan.tags) {
    const revision = tag.current ? byDigest.get(tag.current) : undefined;
    const closure = tag.current ? closeOver(context.graph, [tag.current]) : new Set<Digest>();
    const at = slots.length;
    const tagBlobCount = appendBlobsOf(closure);
    // What a `prune REPO:TAG` of this tag alone stops keeping, as prune decides.
    const kept = selectKeptIn(context, { deleteUntagged: false, removedTags: new Set([tag.tag]) });
    const lostUses = new Map<number, number>();
    for (const digest of baseline) {
      if (kept.has(digest)) continue;
      for (const slot of marks.get(digest) ?? []) lostUses.set(slot, (lostUses.get(slot) ?? 0) + 1);
    }
    // One at a time: a spread of a large repository's lists would overflow the call's arguments.
    for (const slot of lostUses.keys()) slots.push(slot);
    for (const uses of lostUses.values()) slots.push(uses);
    tags.push({
      tag: tag.tag,
      digest: tag.current,
      pushedMs: tag.pushedMs,
      mediaType: revision?.manifest?.mediaType,
      platforms: revision?.manifest?.platforms.map(platformName) ?? [],
      at,
      blobCount: tagBlobCount,
      lostCount: lostUses.size,
    });
  }
  const untagged: RepoDraft['untagged'] = [];
  for (const revision of scan.revisions) {
    if (context.tagged.has(revision.digest)) continue;
    // Its own blob's slot (-1: no blob, 0 bytes).
    untagged.push({ digest: revision.digest, mediaType: revision.manifest?.mediaType, slot: tally.slotOf(revision.digest) });
  }
  return { name: scan.name, tags, untagged, slots: Uint32Array.from(slots), blobCount, warnings: scan.warnings };
}
