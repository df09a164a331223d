// An append-only list of digests stored compactly: sha256 digests packed as
// 32 raw bytes (vs ~90 bytes for a JS string), others as strings. A sweep
// of a 1M-blob tree can plan ~750k layer links and ~240k manifests for
// deletion; as strings and objects those lists alone took ~400 MB.

import { type Algorithm, type Digest, splitDigest } from './digest.js';

export const SHA256_BYTES = 32;

/** A DigestList as plain data: its sha256 digests' bytes end to end, and the rest as strings. */
export interface PlainDigestList {
  packed: Uint8Array;
  others: Digest[];
}

/** The sha256 digest whose 32 bytes start at `offset` in `bytes`. */
export function sha256DigestAt(bytes: Uint8Array, offset: number): Digest {
  return `sha256:${Buffer.from(bytes.buffer, bytes.byteOffset + offset, SHA256_BYTES).toString('hex')}` as Digest;
}
// Most lists stay empty (a dry run of plain gc deletes no manifest and no
// layer link in most repositories): the buffer is allocated at the first
// push, and the array of other algorithms' digests at the first of them.
// Two 512-byte buffers allocated up front for each of the 14,000
// repositories of the many-small 1M tree were ~15 MB of the run's peak.
const FIRST_CAPACITY = SHA256_BYTES * 16;
const EMPTY = Buffer.alloc(0);

export class DigestList implements Iterable<Digest> {
  /** A list of `digests`, in their order (sha256 first, as iteration gives them back). */
  static of(digests: Iterable<Digest>): DigestList {
    const list = new DigestList();
    for (const digest of digests) list.push(digest);
    return list;
  }

  private packed: Buffer = EMPTY;
  private packedCount = 0;
  /** digests of other algorithms (rare): made at the first. */
  private others: Digest[] | undefined;

  get length(): number {
    return this.packedCount + (this.others?.length ?? 0);
  }

  push(digest: Digest): void {
    const { algorithm, hex } = splitDigest(digest);
    this.pushHex(algorithm, hex);
  }

  /** Appends the digest `algorithm:hex` (hex checked by the caller: a listed name, isHexFor). */
  pushHex(algorithm: Algorithm, hex: string): void {
    if (algorithm !== 'sha256') {
      (this.others ??= []).push(`${algorithm}:${hex}` as Digest);
      return;
    }
    this.reserve();
    this.packed.write(hex, this.packedCount * SHA256_BYTES, 'hex');
    this.packedCount++;
  }

  /** Room for one more packed digest. */
  private reserve(): void {
    if ((this.packedCount + 1) * SHA256_BYTES > this.packed.length) {
      const grown = Buffer.alloc(Math.max(FIRST_CAPACITY, this.packed.length * 2));
      this.packed.copy(grown);
      this.packed = grown;
    }
  }

  /** Appends the sha256 digest whose 32 bytes start at `offset` in `bytes` (a PlainDigestList's packed). */
  pushSha256Bytes(bytes: Uint8Array, offset: number): void {
    this.reserve();
    this.packed.set(bytes.subarray(offset, offset + SHA256_BYTES), this.packedCount * SHA256_BYTES);
    this.packedCount++;
  }

  /** The list as plain data for another thread (postMessage copies it whole: the bytes are a compact copy). */
  toPlain(): PlainDigestList {
    return { packed: new Uint8Array(this.packed.subarray(0, this.packedCount * SHA256_BYTES)), others: this.others ?? [] };
  }

  *[Symbol.iterator](): Iterator<Digest> {
    for (let i = 0; i < this.packedCount; i++) {
      yield sha256DigestAt(this.packed, i * SHA256_BYTES);
    }
    if (this.others) yield* this.others;
  }
}
