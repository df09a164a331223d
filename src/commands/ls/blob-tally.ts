// What ls knows of every blob on disk, by its ordinal in the run's
// BlobIndex (model/blob-index.ts): how many kept revisions mark it (with no
// tag removed), its size, whether some repository names it (to be sized),
// and whether a listed repository has counted it in the total yet.
//
// Typed arrays by ordinal, 13 bytes a blob beside the index's 32: a Map
// from digest string to a slot cost ~150 bytes a blob (the key string, a
// slice header, the entry), ~190 MB on the many-small 1M tree, and V8 caps
// a Map at 2^24 (16.7M) entries, short of the 20M blobs the tool must
// handle. A digest with no blob on disk has slot -1: it counts 0 bytes in
// every figure, as a missing blob's size did before.

import type { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';

const WANTED = 1;
const LISTED = 2;

export class BlobTally {
  private readonly markers: Uint32Array;
  private readonly sizes: Float64Array;
  private readonly flags: Uint8Array;
  /** the sum of the sizes of the blobs listed so far. */
  listedBytes = 0;

  /** `index`: every blob on disk, listed before the scan (no shard is added after). */
  constructor(private readonly index: BlobIndex) {
    this.markers = new Uint32Array(index.blobCount);
    this.sizes = new Float64Array(index.blobCount);
    this.flags = new Uint8Array(index.blobCount);
  }

  /** `digest`'s slot, its blob then to be sized; -1 when it has no blob on disk. */
  slotOf(digest: Digest): number {
    const slot = this.index.ordinalOf(digest);
    if (slot >= 0) this.flags[slot] = (this.flags[slot] ?? 0) | WANTED;
    return slot;
  }

  /** One more kept revision marks the blob in `slot` (call before sizing). */
  countMarker(slot: number): void {
    if (slot >= 0) this.markers[slot] = (this.markers[slot] ?? 0) + 1;
  }

  /** The blobs some repository names, in digest order, made as they are taken: what to size. */
  wantedDigests(): Generator<Digest> {
    return this.index.existingDigests((slot) => ((this.flags[slot] ?? 0) & WANTED) !== 0);
  }

  setSize(digest: Digest, bytes: number): void {
    const slot = this.index.ordinalOf(digest);
    if (slot >= 0) this.sizes[slot] = bytes;
  }

  /** Kept revisions that mark the blob in `slot` with no tag removed. */
  markersOf(slot: number): number {
    return this.markers[slot] ?? 0;
  }

  /** Its size; 0 for a blob with no data (never sized, or missing). */
  sizeOf(slot: number): number {
    return this.sizes[slot] ?? 0;
  }

  /** The summed size of distinct `slots`. */
  sumOf(slots: Iterable<number>): number {
    let total = 0;
    for (const slot of slots) total += this.sizeOf(slot);
    return total;
  }

  /** Counts `slots` into listedBytes, each blob once however many repositories list it. */
  addListed(slots: Iterable<number>): void {
    for (const slot of slots) {
      const flags = this.flags[slot] ?? LISTED;
      if ((flags & LISTED) !== 0) continue;
      this.flags[slot] = flags | LISTED;
      this.listedBytes += this.sizes[slot] ?? 0;
    }
  }
}
