// The read side's threads. The mark phase hands repository names to a
// StorageWorkers and consumes each RepoScan as it arrives; the plan phase
// hands it the deletable blobs, bucket by bucket, to vet (vacuum.ts: each
// blob directory holds only what the layout allows, on the root's
// filesystem) and sum their sizes. This
// is the one concurrency bound of the read side (-j): in-process for -j 1
// and on memfs; scan-pool.ts adds worker threads on the real filesystem.

import type { Algorithm, Digest } from '../digest.js';
import { Vacuum } from '../vacuum.js';
import { type RepoScan, scanRepository } from './scan-repository.js';
import type { TreeReader } from './tree-reader.js';

export interface BlobGroup {
  algorithm: Algorithm;
  prefix: string;
  hexes: string[];
  /** mount points below v2 (storage/mount-points.ts): plain data for the threads. */
  mountPoints: readonly string[];
}

export interface StorageWorkers {
  scanRepositories(names: readonly string[], onScan: (scan: RepoScan) => void): Promise<void>;
  /** Vets every blob of the groups for deletion; their data files' total size (missing ones count 0). */
  vetBlobs(groups: readonly BlobGroup[]): Promise<number>;
  close(): Promise<void>;
}

/** Vets one group's blob directories for deletion and sums their sizes; in-process and in workers. */
export function vetBlobGroup(reader: TreeReader, group: BlobGroup): number {
  const vacuum = new Vacuum(reader.fs, reader.v2, group.mountPoints);
  let total = 0;
  for (const hex of group.hexes) total += vacuum.vet({ kind: 'blob', digest: `${group.algorithm}:${hex}` as Digest });
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

  async vetBlobs(groups: readonly BlobGroup[]): Promise<number> {
    let total = 0;
    for (const group of groups) total += vetBlobGroup(this.reader, group);
    return total;
  }

  async close(): Promise<void> {}
}
