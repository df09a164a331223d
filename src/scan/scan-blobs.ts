// Inventory of blobs: one listing per fan-out shard (256 for sha256), never
// a walk of the 1M blob directories themselves. Anything under blobs/ that
// the layout does not allow is an error, as in the reference (issue 4443):
// an unknown entry there means the tree is not what the tool thinks it is.

import { isAlgorithm, isHexFor, shardOf } from '../model/digest.js';
import { BlobIndex } from '../model/blob-index.js';
import { JanitorError } from '../errors.js';
import { isShardName } from '../storage/layout.js';
import type { TreeReader } from '../storage/tree-reader.js';

export function scanBlobs(reader: TreeReader): BlobIndex {
  const index = new BlobIndex();
  // A brand-new registry has no blobs/ until its first push: nothing to index.
  const algorithms = reader.list({ kind: 'blobsRoot' }, { optional: true }) ?? [];
  for (const algEntry of algorithms) {
    const algorithm = algEntry.name;
    if (!isAlgorithm(algorithm) || !algEntry.isDirectory()) {
      throw stray(`${reader.pathOf({ kind: 'blobsRoot' })}/${algorithm}`);
    }
    const shards = reader.list({ kind: 'blobAlgorithm', algorithm }) ?? [];
    for (const shardEntry of shards) {
      const prefix = shardEntry.name;
      const shardPath = `${reader.pathOf({ kind: 'blobAlgorithm', algorithm })}/${prefix}`;
      if (!shardEntry.isDirectory() || !isShardName(prefix)) throw stray(shardPath);
      const entries = reader.list({ kind: 'blobShard', algorithm, prefix }) ?? [];
      const hexes: string[] = [];
      for (const entry of entries) {
        const hex = entry.name;
        if (!entry.isDirectory() || !isHexFor(algorithm, hex) || shardOf(hex) !== prefix) {
          throw stray(`${shardPath}/${hex}`);
        }
        hexes.push(hex);
      }
      index.addShard(algorithm, prefix, hexes);
    }
  }
  return index;
}

function stray(where: string): JanitorError {
  return new JanitorError('E_STRAY', `unexpected entry under blobs/: ${where}`, { path: where });
}
