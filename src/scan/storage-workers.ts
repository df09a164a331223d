// The read side's threads. The mark phase hands repository names to a
// StorageWorkers and consumes each RepoScan as it arrives; the plan phase
// hands it the deletable blobs, shard by shard, to vet (vacuum.ts: each
// blob directory holds only what the layout allows, on the root's
// filesystem) and sum their sizes, and each repository's layer links to
// list. This is the one concurrency bound of the read side (-j): in-process for -j 1
// and on memfs; scan-pool.ts adds worker threads on the real filesystem.

import type { Algorithm, Digest } from '../model/digest.js';
import { type DeletionTarget, Vacuum, type VetDepth } from '../storage/vacuum.js';
import type { RepoScan } from '../model/repository.js';
import { type ScanOptions, listLayerLinksPacked, scanRepository } from './scan-repository.js';
import type { PlainDigestList } from '../model/digest-list.js';
import { hashBlob } from './hash-blob.js';
import type { TreeReader } from '../storage/tree-reader.js';

/** The blobs of one fan-out shard, blobs/<alg>/<prefix>/, as one vetting job. */
export interface BlobShard {
  algorithm: Algorithm;
  prefix: string;
  hexes: string[];
  /** mount points below v2 (storage/mount-points.ts): plain data for the threads. */
  mountPoints: readonly string[];
}

export interface StorageWorkers {
  /** `freshAfterMs`: the start of the grace window; `options`: what else to read (scan-repository.ts). */
  scanRepositories(names: readonly string[], onScan: (scan: RepoScan) => void, freshAfterMs?: number, options?: ScanOptions): Promise<void>;
  /** Vets every target of the jobs for deletion (vacuum.ts). */
  vet(jobs: Iterable<VetJob>): Promise<VetOutcome>;
  /** Lists the layer links of each batch's repositories (listLayerLinksPacked), each batch answered as one. */
  listLayerLinks(batches: Iterable<LayerListing[]>, onListed: (listed: ListedLayerLinks[]) => void): Promise<void>;
  /** Re-hashes the blobs of each batch against their digests (verify --content). */
  hash(batches: Iterable<Digest[]>, onHashed: (hashed: HashedBlob[]) => void): Promise<void>;
  /** The data size of each blob of each batch, 0 when it has none (ls). */
  size(batches: Iterable<Digest[]>, onSized: (sized: SizedBlob[]) => void): Promise<void>;
  /** Starts the worker threads before their first job: loading one takes ~0.2 s, which the caller's own reads can hide. */
  start(): void;
  close(): Promise<void>;
}

export interface SizedBlob {
  digest: Digest;
  bytes: number;
}

/** `items` in batches of `size`, made (and `items` read) as the threads take them (hash and size jobs). */
export function* batchesOf<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = [];
  for (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** One size job: an lstat of each blob's data (TreeReader.dataSize). */
export function sizeBlobs(reader: TreeReader, digests: readonly Digest[]): SizedBlob[] {
  return digests.map((digest) => ({ digest, bytes: reader.dataSize(reader.pathOf({ kind: 'blobData', digest })) }));
}

/** A repository whose `_layers/<alg>` directories are to be listed (those its scan found: RepoScan.layers). */
export interface LayerListing {
  name: string;
  algorithms: Algorithm[];
}

/** Its layer links, as plain data: sha256 ones packed (DigestList.toPlain), ~4x smaller than strings to post. */
export interface ListedLayerLinks {
  name: string;
  links: PlainDigestList;
}

/** One layer-listing job, in-process and in workers. */
export function listLayerLinkBatch(reader: TreeReader, batch: readonly LayerListing[]): ListedLayerLinks[] {
  return batch.map(({ name, algorithms }) => ({ name, links: listLayerLinksPacked(reader, name, algorithms).toPlain() }));
}

/** A share of the plan phase's vetting: a shard of blobs, or a batch of other targets. */
export type VetJob = ({ shard: BlobShard } | { targets: DeletionTarget[]; mountPoints: readonly string[] }) & {
  depth: VetDepth;
  /** the grace window's start: a blob whose data was written after it is fresh. */
  freshAfterMs: number;
};

export interface VetOutcome {
  /** the size of the blob data to delete (fresh blobs and missing data count 0). */
  bytes: number;
  /** blobs written within the grace window: not to be deleted. */
  fresh: Digest[];
}

export function addVetOutcome(total: VetOutcome, part: VetOutcome): VetOutcome {
  total.bytes += part.bytes;
  for (const digest of part.fresh) total.fresh.push(digest);
  return total;
}

/**
 * Runs one vetting job (vacuum.ts) and sums the blob sizes; in-process and
 * in workers. A full vet reads every target's directory (~50 µs a layer
 * link on the bench tree, most of it the readdir), so it is spread over -j.
 */
export function runVetJob(reader: TreeReader, job: VetJob): VetOutcome {
  const vacuum = new Vacuum(reader.fs, reader.v2, 'shard' in job ? job.shard.mountPoints : job.mountPoints);
  const outcome: VetOutcome = { bytes: 0, fresh: [] };
  if ('shard' in job) {
    const { algorithm, prefix, hexes } = job.shard;
    const shard = reader.pathOf({ kind: 'blobShard', algorithm, prefix });
    for (const hex of hexes) {
      const digest = `${algorithm}:${hex}` as Digest;
      // A blob moved into the trash (`move`) is renamed whole: its data's lstat is the check (vacuum-shapes.ts checkMove says why).
      const { size, mtimeMs } = job.depth === 'full' ? vacuum.vet({ kind: 'blob', digest }, 'full') : vacuum.previewShardBlob(shard, hex);
      if (mtimeMs > job.freshAfterMs) outcome.fresh.push(digest);
      else outcome.bytes += size;
    }
  } else {
    for (const target of job.targets) vacuum.vet(target, job.depth);
  }
  return outcome;
}

export class InProcessWorkers implements StorageWorkers {
  private readonly reader: TreeReader;

  constructor(reader: TreeReader) {
    this.reader = reader;
  }

  // Both run at once, in the caller's turn, as an async body without an
  // await would; a throw rejects the promise.
  scanRepositories(names: readonly string[], onScan: (scan: RepoScan) => void, freshAfterMs?: number, options?: ScanOptions): Promise<void> {
    return new Promise((resolve) => {
      for (const name of names) onScan(scanRepository(this.reader, name, freshAfterMs, options));
      resolve();
    });
  }

  start(): void {}

  vet(jobs: Iterable<VetJob>): Promise<VetOutcome> {
    return new Promise((resolve) => {
      const total: VetOutcome = { bytes: 0, fresh: [] };
      for (const job of jobs) addVetOutcome(total, runVetJob(this.reader, job));
      resolve(total);
    });
  }

  listLayerLinks(batches: Iterable<LayerListing[]>, onListed: (listed: ListedLayerLinks[]) => void): Promise<void> {
    return new Promise((resolve) => {
      for (const batch of batches) onListed(listLayerLinkBatch(this.reader, batch));
      resolve();
    });
  }

  hash(batches: Iterable<Digest[]>, onHashed: (hashed: HashedBlob[]) => void): Promise<void> {
    return new Promise((resolve) => {
      for (const batch of batches) onHashed(hashBlobs(this.reader, batch));
      resolve();
    });
  }

  size(batches: Iterable<Digest[]>, onSized: (sized: SizedBlob[]) => void): Promise<void> {
    return new Promise((resolve) => {
      for (const batch of batches) onSized(sizeBlobs(this.reader, batch));
      resolve();
    });
  }

  async close(): Promise<void> {}
}

/** A blob re-hashed: the digest its data really has (undefined: no data), and its size. */
export interface HashedBlob {
  digest: Digest;
  actual: Digest | undefined;
  bytes: number;
}

/** One hash job: each blob of the batch read in full and hashed (hash-blob.ts). */
export function hashBlobs(reader: TreeReader, digests: readonly Digest[]): HashedBlob[] {
  return digests.map((digest) => {
    const hashed = hashBlob(reader, digest);
    return { digest, actual: hashed?.actual, bytes: hashed?.bytes ?? 0 };
  });
}
