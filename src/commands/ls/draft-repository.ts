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
//
// What a draft holds never grows with tags times blobs (6,000 tags on one
// 20,000-layer image would be 120M entries): each revision's blobs once;
// the blobs each tag alone takes markers from, which come from the
// revisions only that tag reaches (a revision another tag or an untagged
// root also reaches loses nothing when one is removed, so no revision
// counts for two tags); and each distinct tagged digest's closure, as
// revision numbers shared by the tags on it. Those closures are what the
// per-tag work walks anyway: a closure is one revision, an index and its
// children, or those and their referrers, and only a repository that tags
// every link of a chain of referrers makes them grow with its revisions
// squared (5,000 links: 12.5M numbers, 50 MB, where ls spends a minute of
// CPU on that repository's per-tag keep decisions with or without them).

import type { Digest } from '../../model/digest.js';
import type { Platform } from '../../model/manifest.js';
import { KeepContext, closeOver, listRevisionMarks, selectKeptIn } from '../../model/reachability.js';
import type { RepoScan } from '../../model/repository.js';
import type { Warning } from '../../errors.js';
import type { BlobTally } from './blob-tally.js';

export interface DraftTag {
  tag: string;
  digest: Digest | undefined;
  pushedMs: number;
  mediaType: string | undefined;
  platforms: string[];
  /** the revision numbers of the tag's closure: `closureCount` of them from `closureAt` in RepoDraft.closures. */
  closureAt: number;
  closureCount: number;
  /**
   * From `lostAt` in RepoDraft.lost: the blobs that lose markers when this
   * tag alone is removed (`lostCount`), then how many each loses (same order).
   */
  lostAt: number;
  lostCount: number;
}

export interface RepoDraft {
  name: string;
  tags: DraftTag[];
  /** revisions no tag reaches, in scan order, with their own blob's slot. */
  untagged: { digest: Digest; mediaType: string | undefined; slot: number }[];
  /** each readable revision's distinct blobs, end to end: revision i's from markStarts[i] to markStarts[i + 1]. */
  marks: Uint32Array;
  markStarts: Uint32Array;
  closures: Uint32Array;
  lost: Uint32Array;
  warnings: Warning[];
}

/** A Uint32Array built by appending: 4 bytes an entry where a number[] takes 8, and no 112M-entry array limit. */
class Uint32Builder {
  private data = new Uint32Array(64);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  /** The entries appended, in an array of their own. */
  build(): Uint32Array {
    return this.data.slice(0, this.length);
  }
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
  // Each readable revision's number and distinct blobs as slots, once: the baseline's markers now, the draft's lists below.
  const numbers = new Map<Digest, number>();
  const marksBuilder = new Uint32Builder();
  const startsBuilder = new Uint32Builder();
  for (const revision of context.graph.byDigest.values()) {
    numbers.set(revision.digest, numbers.size);
    startsBuilder.push(marksBuilder.length);
    const counted = baseline.has(revision.digest);
    for (const digest of new Set(listRevisionMarks(revision))) {
      const slot = tally.slotOf(digest);
      // A digest with no blob on disk (slot -1) counts 0 bytes in every figure: left out.
      if (slot < 0) continue;
      marksBuilder.push(slot);
      if (counted) tally.countMarker(slot);
    }
  }
  startsBuilder.push(marksBuilder.length);
  if (!draft) return undefined;

  const marks = marksBuilder.build();
  const markStarts = startsBuilder.build();
  const closures = new Uint32Builder();
  const lost = new Uint32Builder();
  // Tags on one digest have one closure: stored once.
  const closureOf = new Map<Digest, { closureAt: number; closureCount: number }>();
  const storeClosure = (current: Digest): { closureAt: number; closureCount: number } => {
    const closureAt = closures.length;
    for (const digest of closeOver(context.graph, [current])) closures.push(numbers.get(digest) ?? 0);
    const closure = { closureAt, closureCount: closures.length - closureAt };
    closureOf.set(current, closure);
    return closure;
  };
  const tags: DraftTag[] = [];
  for (const tag of scan.tags) {
    const manifest = tag.current ? context.graph.byDigest.get(tag.current)?.manifest : undefined;
    const closure = tag.current ? (closureOf.get(tag.current) ?? storeClosure(tag.current)) : { closureAt: 0, closureCount: 0 };
    // What a `prune REPO:TAG` of this tag alone stops keeping, as prune decides.
    const kept = selectKeptIn(context, { deleteUntagged: false, removedTags: new Set([tag.tag]) });
    const lostUses = new Map<number, number>();
    for (const digest of baseline) {
      if (kept.has(digest)) continue;
      const i = numbers.get(digest) ?? 0;
      for (const slot of marks.subarray(markStarts[i], markStarts[i + 1])) lostUses.set(slot, (lostUses.get(slot) ?? 0) + 1);
    }
    const lostAt = lost.length;
    for (const slot of lostUses.keys()) lost.push(slot);
    for (const uses of lostUses.values()) lost.push(uses);
    tags.push({
      tag: tag.tag,
      digest: tag.current,
      pushedMs: tag.pushedMs,
      mediaType: manifest?.mediaType,
      platforms: manifest?.platforms.map(platformName) ?? [],
      ...closure,
      lostAt,
      lostCount: lostUses.size,
    });
  }
  const untagged: RepoDraft['untagged'] = [];
  for (const revision of scan.revisions) {
    if (context.tagged.has(revision.digest)) continue;
    // Its own blob's slot (-1: no blob, 0 bytes).
    untagged.push({ digest: revision.digest, mediaType: revision.manifest?.mediaType, slot: tally.slotOf(revision.digest) });
  }
  return { name: scan.name, tags, untagged, marks, markStarts, closures: closures.build(), lost: lost.build(), warnings: scan.warnings };
}
