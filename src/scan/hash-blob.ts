// Re-hashing a blob's data against its digest (verify --content): read in
// 1 MiB chunks through the injected filesystem into one reused buffer, so a
// multi-gigabyte layer costs 1 MiB of memory.

import { createHash } from 'node:crypto';
import { type Digest, splitDigest } from '../model/digest.js';
import type { TreeReader } from '../storage/tree-reader.js';

const CHUNK = 1 << 20;
const buffer = Buffer.allocUnsafe(CHUNK);

/** The digest the blob's data really has, in the algorithm of `digest`; undefined when the data is missing. */
export function hashBlob(reader: TreeReader, digest: Digest): { actual: Digest; bytes: number } | undefined {
  const { algorithm } = splitDigest(digest);
  const hash = createHash(algorithm);
  let bytes = 0;
  const found = reader.stream({ kind: 'blobData', digest }, buffer, (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  if (!found) return undefined;
  return { actual: `${algorithm}:${hash.digest('hex')}` as Digest, bytes };
}
