// A read-side worker whose capped heap (scan-pool.ts WORKER_OLD_GENERATION_MB)
// is too small for its job dies out of memory; that is not an error: its
// unanswered jobs run on the calling thread, and the run finds exactly what
// an in-process run finds. Here the cap is 1 MB, so every worker dies and
// every job it was given comes back. Runs the built code (dist/): the
// workers load dist/scan/scan-worker.js.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepoScan } from '../../src/model/repository.js';
import type { StorageWorkers } from '../../src/scan/storage-workers.js';
import { InProcessWorkers } from '../../src/scan/storage-workers.js';
import { TreeReader } from '../../src/storage/tree-reader.js';
import { findRepositories } from '../../src/scan/find-repositories.js';
import { generateTree } from '../../tools/bench/generate-tree.js';
import { makeTempDir } from '../support/registry.js';
import { TreeBuilder } from '../support/tree-builder.js';
import { v2Of } from '../support/tree-files.js';

const DIST_POOL = path.resolve(import.meta.dirname, '../../dist/scan/scan-pool.js');
type PoolClass = new (reader: TreeReader, threads: number, oldGenerationMb?: number) => StorageWorkers;

const work = makeTempDir('worker-oom');
const root = path.join(work, 'tree');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
beforeAll(() => generateTree({ blobs: 3000, seed: 11, root, shape: 'many-small' }), 120_000);

async function scanAll(workers: StorageWorkers, names: readonly string[]): Promise<RepoScan[]> {
  const scans: RepoScan[] = [];
  await workers.scanRepositories(names, (scan) => scans.push(scan));
  return scans.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Scans `names` `runs` times on one ThreadPool of the built code: each time every repository once, each scan as in-process. */
async function expectScansAsInProcess(
  reader: TreeReader,
  names: readonly string[],
  { threads, oldGenerationMb, runs }: { threads: number; oldGenerationMb: number; runs: number },
): Promise<void> {
  const { ThreadPool } = (await import(DIST_POOL)) as { ThreadPool: PoolClass };
  const expected = await scanAll(new InProcessWorkers(reader), names);
  const pool = new ThreadPool(reader, threads, oldGenerationMb);
  try {
    for (let run = 0; run < runs; run++) {
      const got = await scanAll(pool, names);
      expect(got.map((s) => s.name)).toEqual(names.slice().sort());
      expect(got).toEqual(expected);
    }
  } finally {
    await pool.close();
  }
}

describe('a worker out of memory', () => {
  it('hands its jobs to the calling thread: every repository is scanned once, as in-process', async () => {
    const reader = new TreeReader(fs, v2Of(root));
    const names = findRepositories(reader, () => {});
    expect(names.length).toBeGreaterThan(40);
    // Twice on one pool: the dead workers are dropped, and the second run starts fresh ones (which die too) and still finishes.
    await expectScansAsInProcess(reader, names, { threads: 3, oldGenerationMb: 1, runs: 2 });
  }, 120_000);

  it('mid-job: the repositories it had already sent are not scanned again', async () => {
    // 20,000 blobs: 280 repositories, so with -j 2 a job is 8 of them and
    // the worker takes the first two jobs. One repository, fourth in the
    // name order, holds a manifest of 25,000 layers (~3.5 MB, under the
    // registry's 4 MiB cap): a worker capped at 8 MB of heap scans the
    // three before it, sends them, and dies on it.
    const big = makeTempDir('worker-oom-mid');
    try {
      const bigRoot = path.join(big, 'tree');
      generateTree({ blobs: 20000, seed: 11, root: bigRoot, shape: 'many-small' });
      const reader = new TreeReader(fs, v2Of(bigRoot));
      const before = findRepositories(reader, () => {});
      const huge = `${before[2]}-huge`;
      const layers = Array.from({ length: 25_000 }, (_, i) => ({
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        digest: `sha256:${createHash('sha256').update(String(i)).digest('hex')}`,
        size: i,
      }));
      const tree = new TreeBuilder(fs, v2Of(bigRoot));
      const config = tree.pushBlob(huge, '{}', 'application/vnd.docker.container.image.v1+json');
      const schema2 = 'application/vnd.docker.distribution.manifest.v2+json';
      tree.tag(huge, 'v1', tree.pushManifest(huge, { schemaVersion: 2, mediaType: schema2, config, layers }, schema2).digest);
      const names = findRepositories(reader, () => {});
      expect(names.indexOf(huge)).toBe(3);
      await expectScansAsInProcess(reader, names, { threads: 2, oldGenerationMb: 8, runs: 1 });
    } finally {
      fs.rmSync(big, { recursive: true, force: true });
    }
  }, 120_000);
});
