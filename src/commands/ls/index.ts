// ls: the inventory. Per repository: tags (digest, push time, media type,
// platforms, size, and the bytes that removing that tag alone would free),
// untagged revisions, totals.
//
// 1. inventory  find the repositories; list the blob fan-out shards into a
//               BlobIndex (as gc does): each blob's ordinal there is its
//               slot in the BlobTally (blob-tally.ts), ~45 bytes a blob in
//               all and no Map of digest strings.
// 2. scan       every repository, matched or not: blobs are shared across
//               repositories, so what a tag frees depends on all of them.
//               As each scan arrives, what its repository's kept revisions
//               mark when no tag is removed (the baseline) is counted into
//               the tally, and a listed repository is drafted
//               (draft-repository.ts): per tag, its closure's distinct
//               blobs and the blobs that a `prune REPO:TAG` of that one tag
//               takes markers from (the keep rule itself,
//               model/reachability.ts selectKeptIn, asked with
//               removedTags = {that tag}). Then the scan is dropped: a
//               draft holds blobs as 4-byte slots, no manifest and no
//               digest string but its rows' own.
// 3. size       stat every blob some repository names, on the -j threads.
// 4. account    one listed repository at a time, in name order
//               (account-repository.ts): a tag frees the blobs whose every
//               marker, over all repositories, it takes. Blobs already
//               unmarked (what a plain gc frees anyway) are not counted.
//
// Output: with `onRepository`, each row goes to it as soon as it is made
// when sorting by name (the default: the repositories are accounted in name
// order), and is not kept. Sorting by size or age needs every row first:
// those rows (small: the contexts are gone) are held, sorted, then handed
// to onRepository in order at the end. Without onRepository the rows are
// returned in `repositories` (--json holds them: its totalSize comes before
// them). Totals and warnings are known only at the end, either way.

import { JanitorError, type Warning } from '../../errors.js';
import type { RepoScan } from '../../model/repository.js';
import { openTree } from '../skeleton.js';
import type { PhaseListener } from '../phases.js';
import type { FileSystem } from '../../storage/file-system.js';
import { findRepositories } from '../../scan/find-repositories.js';
import { type PrefetchSetting, Prefetcher } from '../../scan/prefetch.js';
import { scanBlobs } from '../../scan/scan-blobs.js';
import { InProcessWorkers, type StorageWorkers, batchesOf } from '../../scan/storage-workers.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import { compileRepositoryGlobs } from '../../select/repository-glob.js';
import { type LsRepo, type LsSort, accountRepository } from './account-repository.js';
import { BlobTally } from './blob-tally.js';
import { type RepoDraft, countRepository } from './draft-repository.js';

export type { LsRepo, LsSort } from './account-repository.js';

// Blobs per size job (an lstat each, ~10 µs warm): a message per few tens of milliseconds.
const SIZE_BATCH = 512;

export interface LsResult {
  root: string;
  v2: string | undefined;
  /** the rows, in order; empty when they went to onRepository. */
  repositories: LsRepo[];
  /** rows made (returned or handed to onRepository), and their tags. */
  repositoryCount: number;
  tagCount: number;
  /** distinct blobs referenced by the listed repositories. */
  totalSize: number;
  /** whether a prefetcher warmed the cache (--prefetch; auto: only on a cold one). */
  prefetched: boolean;
  warnings: Warning[];
}

export interface LsOptions {
  globs: string[];
  sort: LsSort;
  makeWorkers?: (reader: TreeReader) => StorageWorkers;
  /** reads kept in flight ahead of the inventory and the scan (scan/prefetch.ts); none by default. */
  prefetch?: PrefetchSetting;
  onPhase?: PhaseListener;
  /** takes each row instead of `repositories` (see the header: at once under --sort name). */
  onRepository?: (repo: LsRepo) => void;
  /** told a repository's account starts (tests: rows are handed on between accounts). */
  onAccount?: (name: string) => void;
}

const compareRepositories = {
  size: (a: LsRepo, b: LsRepo) => b.size - a.size || (a.name < b.name ? -1 : 1),
  age: (a: LsRepo, b: LsRepo) => newestPush(b) - newestPush(a) || (a.name < b.name ? -1 : 1),
};

function newestPush(repo: LsRepo): number {
  // A loop, not Math.max(...): a spread of 125k tags overflows the call's arguments.
  let newest = 0;
  for (const tag of repo.tags) newest = Math.max(newest, tag.pushedMs);
  return newest;
}

export async function runLs(fs: FileSystem, rootNamed: string, options: LsOptions): Promise<LsResult> {
  const { root, v2, reader, warnings, warn, timer } = openTree(fs, rootNamed, options.onPhase);
  const result: LsResult = { root, v2, repositories: [], repositoryCount: 0, tagCount: 0, totalSize: 0, prefetched: false, warnings };
  if (!reader) return result;
  const match = options.globs.length > 0 ? compileRepositoryGlobs(options.globs, 'ls') : () => true;

  // Warms the page cache ahead of the inventory and the scan (--prefetch); it decides nothing.
  const prefetch = Prefetcher.start(reader, options.prefetch ?? { width: 0, probe: false });

  // The read-side threads (-j) of 2. scan and 3. size, started before the
  // inventory as gc's are: a worker takes ~0.2 s to load (gc/index.ts).
  // Closed, and the prefetcher stopped, however 1 to 3 end.
  const workers = options.makeWorkers?.(reader) ?? new InProcessWorkers(reader);
  const drafts: RepoDraft[] = [];
  let tally: BlobTally;
  try {
    workers.start();

    // 1. inventory
    const { names, blobs } = timer.run('inventory', () => {
      const found = findRepositories(reader, warn);
      // Before the blobs are listed: a glob that matches nothing says so, whatever blobs/ holds.
      if (options.globs.length > 0 && !found.some((n) => match(n))) {
        throw new JanitorError('E_NOT_FOUND', `no repository matches ${options.globs.join(' ')}`);
      }
      return { names: found, blobs: scanBlobs(reader) };
    });
    // No tag index: ls asks what removing a tag frees, which its index does not change.
    prefetch?.repositories(names, false);

    // 2. scan, 3. size: on the read-side threads (-j).
    tally = new BlobTally(blobs);
    const takeScan = (scan: RepoScan): void => {
      prefetch?.scannedOne();
      if (match(scan.name)) drafts.push(countRepository(scan, tally, true));
      else countRepository(scan, tally, false);
    };
    await timer.runAsync('scan', () => workers.scanRepositories(names, takeScan, undefined, { tagIndex: false }));
    // The sizes are lstats of blobs' data, which it does not make. (A quick cold cache may start it during the scan.)
    result.prefetched = prefetch?.running ?? false;
    prefetch?.stop();
    // Last name first: popped as accounted, so each draft goes with its row.
    drafts.sort((a, b) => (a.name < b.name ? 1 : -1));
    for (let i = drafts.length - 1; i >= 0; i--) result.warnings.push(...(drafts[i]?.warnings ?? []));

    await timer.runAsync('size', () =>
      workers.size(batchesOf(tally.wantedDigests(), SIZE_BATCH), (sized) => {
        for (const { digest, bytes } of sized) tally.setSize(digest, bytes);
      }),
    );
  } finally {
    prefetch?.stop();
    await workers.close();
  }

  // 4. account
  const held: LsRepo[] = [];
  const emitAtOnce = options.sort === 'name' && options.onRepository !== undefined;
  timer.run('account', () => {
    for (let draft = drafts.pop(); draft !== undefined; draft = drafts.pop()) {
      options.onAccount?.(draft.name);
      const repo = accountRepository(draft, tally, options.sort);
      result.repositoryCount++;
      result.tagCount += repo.tags.length;
      if (emitAtOnce) options.onRepository?.(repo);
      else held.push(repo);
    }
    result.totalSize = tally.listedBytes;
  });

  if (options.sort !== 'name') held.sort(compareRepositories[options.sort]);
  if (options.onRepository) for (const repo of held) options.onRepository(repo);
  else result.repositories = held;
  return result;
}
