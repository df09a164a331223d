// What ls knows of every blob a readable revision marks, in all
// repositories: how many kept revisions mark it (with no tag removed), its
// size, and whether a listed repository has counted it in the total yet.
//
// One Map from digest to a slot, and typed arrays by slot: two
// Map<Digest, number> (markers, sizes) and a Set<Digest> (listed) cost three
// hash entries a blob; here it is one entry and 13 bytes. The Map's keys are
// the digest strings the scans already hold, so it adds no strings.

import type { Digest } from '../../model/digest.js';

export class BlobTally {
  private readonly slots = new Map<Digest, number>();
  private markers = new Uint32Array(1024);
  private sizes = new Float64Array(0);
  private listed = new Uint8Array(0);
  /** the sum of the sizes of the blobs listed so far. */
  listedBytes = 0;

  /** One more kept revision marks `digest` (call before sizing). */
  countMarker(digest: Digest): void {
    let slot = this.slots.get(digest);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(digest, slot);
      if (slot === this.markers.length) {
        const grown = new Uint32Array(this.markers.length * 2);
        grown.set(this.markers);
        this.markers = grown;
      }
    }
    this.markers[slot] = (this.markers[slot] ?? 0) + 1;
  }

  /** Every digest counted, sorted: what to size. Ends the counting. */
  sortedDigests(): Digest[] {
    this.markers = this.markers.slice(0, this.slots.size);
    this.sizes = new Float64Array(this.slots.size);
    this.listed = new Uint8Array(this.slots.size);
    return [...this.slots.keys()].sort();
  }

  setSize(digest: Digest, bytes: number): void {
    const slot = this.slots.get(digest);
    if (slot !== undefined) this.sizes[slot] = bytes;
  }

  /** Kept revisions that mark `digest` with no tag removed (0 for one never counted). */
  markersOf(digest: Digest): number {
    const slot = this.slots.get(digest);
    return slot === undefined ? 0 : (this.markers[slot] ?? 0);
  }

  /** Its size; 0 for a blob never counted or never sized (missing). */
  sizeOf(digest: Digest): number {
    const slot = this.slots.get(digest);
    return slot === undefined ? 0 : (this.sizes[slot] ?? 0);
  }

  /** The summed size of distinct `digests`. */
  sumOf(digests: Iterable<Digest>): number {
    let total = 0;
    for (const digest of digests) total += this.sizeOf(digest);
    return total;
  }

  /** Counts `digests` into listedBytes, each blob once however many repositories list it. */
  addListed(digests: Iterable<Digest>): void {
    for (const digest of digests) {
      const slot = this.slots.get(digest);
      if (slot === undefined || this.listed[slot] === 1) continue;
      this.listed[slot] = 1;
      this.listedBytes += this.sizes[slot] ?? 0;
    }
  }
}
