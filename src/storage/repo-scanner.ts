// The read side's threads. The mark phase hands repository names to a
// StorageWorkers and consumes each RepoScan as it arrives; the plan phase
// hands it the deletable blobs, bucket by bucket, to sum their sizes. This
// is the one concurrency bound of the read side (-j): in-process for -j 1
// and on memfs; scan-pool.ts adds worker threads on the real filesystem.

import type { Algorithm } from '../digest.js';
import { type RepoScan, scanRepository } from './scan-repository.js';
import type { TreeReader } from './tree-reader.js';

export interface BlobGroup {
  algorithm: Algorithm;
  prefix: string;
  hexes: string[];
}

export interface StorageWorkers {
  scanRepositories(names: readonly string[], onScan: (scan: RepoScan) => void): Promise<void>;
  /** Total size of the groups' blob data files (missing ones count 0). */
  sumBlobSizes(groups: readonly BlobGroup[]): Promise<number>;
  close(): Promise<void>;
}

/** Sum of one group's data file sizes; used in-process and in workers. */
export function sumGroupSize(reader: TreeReader, group: BlobGroup): number {
  let total = 0;
  const bucket = reader.pathOf({ kind: 'blobBucket', algorithm: group.algorithm, prefix: group.prefix });
  for (const hex of group.hexes) {
    // Paths built by hand from a validated bucket path and listed hex names:
    // ~1M of these on a mass deletion, where pathOf's checks cost ~1 µs each.
    total += reader.dataSize(`${bucket}/${hex}/data`);
  }
  return total;
}

export class InProcessWorkers implements StorageWorkers {
  private readonly reader: TreeReader;

  constructor(reader: TreeReader) {
    this.reader = reader;
  }

  async scanRepositories(names: readonly string[], onScan: (scan: RepoScan) => void): Promise<void> {
    for (const name of names) onScan(scanRepository(this.reader, name));
  }

  async sumBlobSizes(groups: readonly BlobGroup[]): Promise<number> {
    let total = 0;
    for (const group of groups) total += sumGroupSize(this.reader, group);
    return total;
  }

  async close(): Promise<void> {}
}
