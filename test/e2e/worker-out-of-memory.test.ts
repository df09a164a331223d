// A read-side worker whose capped heap (scan-pool.ts WORKER_OLD_GENERATION_MB)
// is too small for its job dies out of memory; that is not an error: its
// unanswered jobs run on the calling thread, and the run finds exactly what
// an in-process run finds. Here the cap is 1 MB, so every worker dies and
// every job it was given comes back. Runs the built code (dist/): the
// workers load dist/scan/scan-worker.js.
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

describe('a worker out of memory', () => {
  it('hands its jobs to the calling thread: every repository is scanned once, as in-process', async () => {
    const { ThreadPool } = (await import(DIST_POOL)) as { ThreadPool: PoolClass };
    const reader = new TreeReader(fs, v2Of(root));
    const names = findRepositories(reader, () => {});
    expect(names.length).toBeGreaterThan(40);
    const expected = await scanAll(new InProcessWorkers(reader), names);
    const pool = new ThreadPool(reader, 3, 1);
    try {
      const first = await scanAll(pool, names);
      expect(first.map((s) => s.name)).toEqual(names.slice().sort());
      expect(first).toEqual(expected);
      // The dead workers are dropped: the next run starts fresh ones (which die too) and still finishes.
      expect(await scanAll(pool, names)).toEqual(expected);
    } finally {
      await pool.close();
    }
  }, 120_000);
});
