// An append-only list of digests stored compactly: sha256 digests packed as
// 32 raw bytes (vs ~90 bytes for a JS string), others as strings. A sweep
// of a 1M-blob tree can plan ~750k layer links and ~240k manifests for
// deletion; as strings and objects those lists alone took ~400 MB.

import { type Digest, splitDigest } from './digest.js';

const SHA256_BYTES = 32;
// Most lists stay empty (a dry run of plain gc deletes no manifest and no
// layer link in most repositories): the buffer is allocated at the first
// push, and the array of other algorithms' digests at the first of them.
// Two 512-byte buffers allocated up front for each of the 14,000
// repositories of the many-small 1M tree were ~15 MB of the run's peak.
const FIRST_CAPACITY = SHA256_BYTES * 16;
const EMPTY = Buffer.alloc(0);

export class DigestList implements Iterable<Digest> {
  private packed: Buffer = EMPTY;
  private packedCount = 0;
  /** digests of other algorithms (rare): made at the first. */
  private others: Digest[] | undefined;

  get length(): number {
    return this.packedCount + (this.others?.length ?? 0);
  }

  push(digest: Digest): void {
    const { algorithm, hex } = splitDigest(digest);
    if (algorithm !== 'sha256') {
      (this.others ??= []).push(digest);
      return;
    }
    if ((this.packedCount + 1) * SHA256_BYTES > this.packed.length) {
      const grown = Buffer.alloc(Math.max(FIRST_CAPACITY, this.packed.length * 2));
      this.packed.copy(grown);
      this.packed = grown;
    }
    this.packed.write(hex, this.packedCount * SHA256_BYTES, 'hex');
    this.packedCount++;
  }

  *[Symbol.iterator](): Iterator<Digest> {
    for (let i = 0; i < this.packedCount; i++) {
      yield `sha256:${this.packed.toString('hex', i * SHA256_BYTES, (i + 1) * SHA256_BYTES)}` as Digest;
    }
    if (this.others) yield* this.others;
  }
}
