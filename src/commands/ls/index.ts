// ls: the inventory. Per repository: tags (digest, push time, media type,
// platforms, size, and the bytes that removing that tag alone would free),
// untagged revisions, totals.
//
// 1. inventory  find the repositories
// 2. scan       every repository, matched or not: blobs are shared across
//               repositories, so what a tag frees depends on all of them
// 3. size       stat every blob a kept manifest references, on the -j threads
// 4. account    per tag: its closure's distinct blobs (size), and what a
//               `prune REPO:TAG` of that one tag would free (frees): the keep
//               rule itself (model/reachability.ts selectKeptIn, the function gc and
//               prune call) is asked with removedTags = {that tag}, and the
//               blobs every repository then marks are compared with those
//               it marks with no tag removed. Blobs already unmarked (what a
//               plain gc frees anyway) are not counted.

import type { Digest } from '../../model/digest.js';
import { JanitorError, type Warning } from '../../errors.js';
import type { RepoScan, Revision } from '../../model/repository.js';
import { openTree } from '../skeleton.js';
import type { PhaseListener } from '../phases.js';
import { KeepContext, closeOver, listRevisionMarks, selectKeptIn } from '../../model/reachability.js';
import type { FileSystem } from '../../storage/file-system.js';
import type { Platform } from '../../model/manifest.js';
import { findRepositories } from '../../scan/find-repositories.js';
import { InProcessWorkers, type StorageWorkers, batchesOf } from '../../scan/storage-workers.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import { compileRepositoryGlobs } from '../../select/repository-glob.js';

export type LsSort = 'name' | 'size' | 'age';

// Blobs per size job (an lstat each, ~10 µs warm): a message per few tens of milliseconds.
const SIZE_BATCH = 4096;

export interface LsTag {
  tag: string;
  digest: Digest | undefined;
  pushedMs: number;
  mediaType: string | undefined;
  platforms: string[];
  size: number;
  frees: number;
}

export interface LsRepo {
  name: string;
  tags: LsTag[];
  untagged: { digest: Digest; mediaType: string | undefined; size: number }[];
  /** distinct blobs of all the repository's revisions. */
  size: number;
}

export interface LsResult {
  root: string;
  v2: string | undefined;
  repositories: LsRepo[];
  /** distinct blobs referenced by the listed repositories. */
  totalSize: number;
  warnings: Warning[];
}

/** What a revision marks when kept; nothing for one whose manifest is missing (never kept). */
function refsOf(revision: Revision | undefined): Digest[] {
  return revision?.manifest ? listRevisionMarks(revision) : [];
}

function platformName(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export async function runLs(
  fs: FileSystem,
  rootNamed: string,
  options: { globs: string[]; sort: LsSort; makeWorkers?: (reader: TreeReader) => StorageWorkers; onPhase?: PhaseListener },
): Promise<LsResult> {
  const { root, v2, reader, warnings, warn, timer } = openTree(fs, rootNamed, options.onPhase);
  const result: LsResult = { root, v2, repositories: [], totalSize: 0, warnings };
  if (!reader) return result;
  const match = options.globs.length > 0 ? compileRepositoryGlobs(options.globs, 'ls') : () => true;

  // 1. inventory
  const names = timer.run('inventory', () => findRepositories(reader, warn));
  const matched = names.filter((n) => match(n));
  if (options.globs.length > 0 && matched.length === 0) {
    throw new JanitorError('E_NOT_FOUND', `no repository matches ${options.globs.join(' ')}`);
  }

  // 2. scan, 3. size: on the read-side threads (-j).
  const scans: RepoScan[] = [];
  const sizes = new Map<Digest, number>();
  const markers = new Map<Digest, number>();
  const contexts = new Map<string, { context: KeepContext; baseline: Set<Digest> }>();
  const workers = options.makeWorkers?.(reader) ?? new InProcessWorkers(reader);
  try {
    // No tag index: ls asks what removing a tag frees, which its index does not change.
    await timer.runAsync('scan', () => workers.scanRepositories(names, (scan) => void scans.push(scan), undefined, { tagIndex: false }));
    scans.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const scan of scans) if (match(scan.name)) result.warnings.push(...scan.warnings);

    // 3. size, and how many kept revisions (all repositories) mark each blob
    // when no tag is removed: the baseline every per-tag question starts from.
    await timer.runAsync('size', () => {
      for (const scan of scans) {
        const context = new KeepContext(scan);
        const baseline = selectKeptIn(context, { deleteUntagged: false });
        contexts.set(scan.name, { context, baseline });
        for (const revision of scan.revisions) {
          if (!baseline.has(revision.digest)) continue;
          for (const digest of new Set(refsOf(revision))) markers.set(digest, (markers.get(digest) ?? 0) + 1);
        }
      }
      return workers.size(batchesOf([...markers.keys()].sort(), SIZE_BATCH), (sized) => {
        for (const { digest, bytes } of sized) sizes.set(digest, bytes);
      });
    });
  } finally {
    await workers.close();
  }
  const sizeOf = (digests: Iterable<Digest>): number => {
    let total = 0;
    for (const d of digests) total += sizes.get(d) ?? 0;
    return total;
  };

  // 4. account
  timer.run('account', () => {
    const listed = new Set<Digest>();
    for (const scan of scans) {
      if (!match(scan.name)) continue;
      const prepared = contexts.get(scan.name);
      if (!prepared) continue; // every scan was prepared in step 3
      const { context, baseline } = prepared;
      const byDigest = new Map(scan.revisions.map((r) => [r.digest, r]));
      const blobsOf = (revisions: Iterable<Digest>): Set<Digest> => {
        const out = new Set<Digest>();
        for (const d of revisions) for (const b of refsOf(byDigest.get(d))) out.add(b);
        return out;
      };
      /** Bytes no kept revision marks any more once `tag` is removed, as prune decides. */
      const freedBy = (tag: string): number => {
        const kept = selectKeptIn(context, { deleteUntagged: false, removedTags: new Set([tag]) });
        const lostUses = new Map<Digest, number>();
        for (const digest of baseline) {
          if (kept.has(digest)) continue;
          for (const b of new Set(refsOf(byDigest.get(digest)))) lostUses.set(b, (lostUses.get(b) ?? 0) + 1);
        }
        let freed = 0;
        for (const [b, uses] of lostUses) if (markers.get(b) === uses) freed += sizes.get(b) ?? 0;
        return freed;
      };
      const repo: LsRepo = { name: scan.name, tags: [], untagged: [], size: 0 };
      for (const tag of scan.tags) {
        const revision = tag.current ? byDigest.get(tag.current) : undefined;
        const closure = tag.current ? closeOver(context.graph, [tag.current]) : new Set<Digest>();
        repo.tags.push({
          tag: tag.tag,
          digest: tag.current,
          pushedMs: tag.pushedMs,
          mediaType: revision?.manifest?.mediaType,
          platforms: revision?.manifest?.platforms.map(platformName) ?? [],
          size: sizeOf(blobsOf(closure)),
          frees: freedBy(tag.tag),
        });
      }
      for (const revision of scan.revisions) {
        if (context.tagged.has(revision.digest)) continue;
        repo.untagged.push({ digest: revision.digest, mediaType: revision.manifest?.mediaType, size: sizes.get(revision.digest) ?? 0 });
      }
      const all = blobsOf(context.readable);
      repo.size = sizeOf(all);
      for (const b of all) listed.add(b);
      result.repositories.push(repo);
    }
    result.totalSize = sizeOf(listed);
  });

  const compare = {
    name: (a: { tag: string }, b: { tag: string }) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0),
    size: (a: LsTag, b: LsTag) => b.size - a.size || (a.tag < b.tag ? -1 : 1),
    age: (a: LsTag, b: LsTag) => b.pushedMs - a.pushedMs || (a.tag < b.tag ? -1 : 1),
  }[options.sort];
  for (const repo of result.repositories) repo.tags.sort(compare);
  if (options.sort === 'size') result.repositories.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1));
  if (options.sort === 'age') {
    const newest = (r: LsRepo): number => Math.max(0, ...r.tags.map((t) => t.pushedMs));
    result.repositories.sort((a, b) => newest(b) - newest(a) || (a.name < b.name ? -1 : 1));
  }
  return result;
}
