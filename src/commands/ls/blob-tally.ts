// What ls knows of every blob the scanned revisions name, in all
// repositories, by slot: how many kept revisions mark it (with no tag
// removed), its size, and whether a listed repository has counted it in the
// total yet.
//
// One Map from digest to a slot, and typed arrays by slot: two
// Map<Digest, number> (markers, sizes) and a Set<Digest> (listed) cost three
// hash entries a blob; here it is one entry and 13 bytes. The drafts
// (draft-repository.ts) hold slots, not digests, so once the blobs are sized
// the Map and its digest strings are let go (forgetDigests): the account
// phase reads only the typed arrays.

import type { Digest } from '../../model/digest.js';

export class BlobTally {
  private slots: Map<Digest, number> | undefined = new Map();
  private markers = new Uint32Array(1024);
  private sizes = new Float64Array(0);
  private listed = new Uint8Array(0);
  /** the sum of the sizes of the blobs listed so far. */
  listedBytes = 0;

  /** `digest`'s slot, made on first sight (call before sizing). */
  slotOf(digest: Digest): number {
    const slots = this.counting();
    let slot = slots.get(digest);
    if (slot === undefined) {
      slot = slots.size;
      slots.set(digest, slot);
      if (slot === this.markers.length) {
        const grown = new Uint32Array(this.markers.length * 2);
        grown.set(this.markers);
        this.markers = grown;
      }
    }
    return slot;
  }

  /** One more kept revision marks the blob in `slot` (call before sizing). */
  countMarker(slot: number): void {
    this.markers[slot] = (this.markers[slot] ?? 0) + 1;
  }

  /** Every digest given a slot, sorted: what to size. Ends the counting. */
  sortedDigests(): Digest[] {
    const slots = this.counting();
    this.markers = this.markers.slice(0, slots.size);
    this.sizes = new Float64Array(slots.size);
    this.listed = new Uint8Array(slots.size);
    return [...slots.keys()].sort();
  }

  setSize(digest: Digest, bytes: number): void {
    const slot = this.counting().get(digest);
    if (slot !== undefined) this.sizes[slot] = bytes;
  }

  /** Ends the sizing: the digests are let go, the slots stay. */
  forgetDigests(): void {
    this.slots = undefined;
  }

  /** Kept revisions that mark the blob in `slot` with no tag removed. */
  markersOf(slot: number): number {
    return this.markers[slot] ?? 0;
  }

  /** Its size; 0 for a blob never sized (missing). */
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
      if (this.listed[slot] === 1) continue;
      this.listed[slot] = 1;
      this.listedBytes += this.sizes[slot] ?? 0;
    }
  }

  private counting(): Map<Digest, number> {
    if (!this.slots) throw new Error('BlobTally: the digests were let go after sizing');
    return this.slots;
  }
}
