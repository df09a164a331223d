// An append-only list of digests stored compactly: sha256 digests packed as
// 32 raw bytes (vs ~90 bytes for a JS string), others as strings. A sweep
// of a 1M-blob tree can plan ~750k layer links and ~240k manifests for
// deletion; as strings and objects those lists alone took ~400 MB.

import { type Digest, splitDigest } from './digest.js';

const SHA256_BYTES = 32;

export class DigestList implements Iterable<Digest> {
  private packed = Buffer.alloc(SHA256_BYTES * 16);
  private packedCount = 0;
  private readonly others: Digest[] = [];

  get length(): number {
    return this.packedCount + this.others.length;
  }

  push(digest: Digest): void {
    const { algorithm, hex } = splitDigest(digest);
    if (algorithm !== 'sha256') {
      this.others.push(digest);
      return;
    }
    if ((this.packedCount + 1) * SHA256_BYTES > this.packed.length) {
      const grown = Buffer.alloc(this.packed.length * 2);
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
    yield* this.others;
  }
}
