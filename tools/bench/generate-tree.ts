// Synthetic registry trees for the benchmark, deterministic by seed, written
// through TreeBuilder (so through the production path functions).
//
// The mix, per repository: single-arch docker and OCI images and multi-arch
// indexes (children pushed by digest), a few version tags on the newest, older
// revisions left untagged by re-pushes of `latest` (their tag index entries remain),
// an occasional referrer, and layers drawn partly from a shared base pool.
// Repository names nest (team3/svc41 and team3/svc41/worker). About 3% of
// blobs are orphans. A blob target of N gives about N blobs.
//
// Two shapes:
// - few-large (the default, the original bench tree): ~2,000 blobs per
//   repository, 500 repositories per 1M blobs, a handful of tags each.
// - many-small (issue 10 item 1, as CI-heavy registries look): ~71 blobs per
//   repository, so 1,400 repositories and ~14k tags per 100k blobs (14k
//   repositories at 1M), ~10 tags per repository (6 to 14), and about half
//   of the top-level manifests untagged: every CI build pushes an image,
//   the rolling tag (latest) moves on, and only the newest builds keep a
//   tag. About 10% of builds are multi-arch indexes.
// - settled (issue 13: a registry swept on a schedule): many-small, but
//   every build has a tag except each repository's oldest (what was pushed
//   over since the last sweep), so `gc -m` finds little to delete (~9% of
//   the blobs with the orphans, against about half in many-small).

import fs from 'node:fs';
import type { Descriptor, WritableFileSystem } from '../../test/support/tree-builder.js';
import { TreeBuilder, forPlatform } from '../../test/support/tree-builder.js';

export type TreeShape = 'few-large' | 'many-small' | 'settled';
export const TREE_SHAPES: readonly TreeShape[] = ['few-large', 'many-small', 'settled'];

export interface GenerateOptions {
  blobs: number;
  seed: number;
  root: string;
  /** default few-large */
  shape?: TreeShape;
}

export interface GeneratedStats {
  blobs: number;
  repositories: number;
  revisions: number;
  tags: number;
}

/** mulberry32: a tiny deterministic PRNG. */
export function makeRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Blobs per repository: ~2,000, so 1M blobs make ~500 repositories.
const BLOBS_PER_REPOSITORY = 2000;
const SHARED_BASE_LAYERS = 64;

export function generateTree(options: GenerateOptions, filesystem: WritableFileSystem = fs): GeneratedStats {
  if (options.shape === 'many-small' || options.shape === 'settled') return generateManySmall(options, filesystem, options.shape === 'settled');
  const { random, pick, tree, stats, count, unique, repositoryCount, blobsPerRepository, now } = startTree(options, filesystem, BLOBS_PER_REPOSITORY);

  for (let r = 0; r < repositoryCount; r++) {
    const base = `team${r % 23}/svc${r}`;
    const name = r % 5 === 4 ? `team${r % 23}/svc${r - 1}/worker` : base;
    stats.repositories++;
    const pushed: Descriptor[] = [];
    const budget = stats.blobs + blobsPerRepository * 0.97;
    const image = (format: 'docker' | 'oci', arch = 'amd64'): Descriptor => {
      const layers = [`base-layer ${pick(SHARED_BASE_LAYERS)}`];
      for (let i = 0, n = 1 + pick(4); i < n; i++) layers.push(unique('layer'));
      const d = tree.pushImage(name, { layers, format, config: JSON.stringify({ architecture: arch, os: 'linux', id: unique('config') }) });
      for (const blob of [d.digest, d.config.digest, ...d.layers.map((l) => l.digest)]) count(blob);
      stats.revisions++;
      return d;
    };
    while (stats.blobs < budget) {
      const roll = random();
      if (roll < 0.2) {
        const children = ['amd64', 'arm64', 's390x'].slice(0, 2 + pick(2)).map((arch) => forPlatform(image('oci', arch), arch));
        const index = tree.pushIndex(name, children, random() < 0.5 ? 'oci' : 'docker');
        count(index.digest);
        stats.revisions++;
        pushed.push(index);
      } else if (roll < 0.25 && pushed.length > 0) {
        const subject = pushed[pick(pushed.length)]!;
        const ref = tree.pushImage(name, {
          layers: [unique('signature')],
          format: 'oci',
          subject,
          artifactType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        });
        for (const blob of [ref.digest, ref.config.digest, ...ref.layers.map((l) => l.digest)]) count(blob);
        stats.revisions++;
      } else {
        pushed.push(image(random() < 0.5 ? 'oci' : 'docker'));
      }
    }
    // Tags: a rolling tag re-pushed over older revisions (they become
    // untagged, with index history), then a few version tags on the newest.
    const rolling = Math.min(pushed.length, 1 + pick(6));
    for (let i = 0; i < rolling; i++) tree.tag(name, 'latest', pushed[i]!.digest, now - (rolling - i) * 3600_000);
    stats.tags++;
    // A few version tags on the newest (the reference tree has
    // "several tags per repo"; 2.8.2's -m reads every tag per revision).
    const versions = Math.min(pushed.length, 2 + pick(6));
    for (let v = 0; v < versions; v++) {
      tree.tag(name, `v1.${pushed.length - 1 - v}`, pushed[pushed.length - 1 - v]!.digest, now - v * 86_400_000);
      stats.tags++;
    }
    while (stats.blobs < (r + 1) * blobsPerRepository) count(tree.putBlob(unique('orphan')));
  }
  return stats;
}

// many-small: 1,400 repositories per 100k blobs.
const MANY_SMALL_BLOBS_PER_REPOSITORY = 100_000 / 1_400;

function generateManySmall(options: GenerateOptions, filesystem: WritableFileSystem, settled: boolean): GeneratedStats {
  const { random, pick, tree, stats, count, unique, repositoryCount, blobsPerRepository, now } = startTree(
    options,
    filesystem,
    MANY_SMALL_BLOBS_PER_REPOSITORY,
  );

  for (let r = 0; r < repositoryCount; r++) {
    const group = `ci/group${r % 97}`;
    const name = r % 7 === 6 ? `${group}/app${r - 1}/tests` : `${group}/app${r}`;
    stats.repositories++;
    const pushed: Descriptor[] = [];
    const budget = (r + 1) * blobsPerRepository - 2;
    const image = (format: 'docker' | 'oci', arch = 'amd64'): Descriptor => {
      const layers = [`base-layer ${pick(SHARED_BASE_LAYERS)}`];
      for (let i = 0, n = 1 + pick(2); i < n; i++) layers.push(unique('layer'));
      const d = tree.pushImage(name, { layers, format, config: JSON.stringify({ architecture: arch, os: 'linux', id: unique('config') }) });
      for (const blob of [d.digest, d.config.digest, ...d.layers.map((l) => l.digest)]) count(blob);
      stats.revisions++;
      return d;
    };
    while (stats.blobs < budget) {
      if (random() < 0.1) {
        const children = ['amd64', 'arm64'].map((arch) => forPlatform(image('oci', arch), arch));
        const index = tree.pushIndex(name, children, 'oci');
        count(index.digest);
        stats.revisions++;
        pushed.push(index);
      } else {
        pushed.push(image(random() < 0.5 ? 'oci' : 'docker'));
      }
    }
    // Tags: `latest` re-pushed on every one of the last builds (its index
    // keeps them all), then per-build tags on the newest; older builds stay
    // untagged, as in a CI registry.
    // Settled: every build but the oldest (pushed over since the last sweep).
    const wanted = settled ? Math.max(1, pushed.length - 1) : Math.min(pushed.length, 6 + pick(9));
    const rolling = Math.min(pushed.length, 4 + pick(8));
    for (let i = pushed.length - rolling; i < pushed.length; i++) tree.tag(name, 'latest', pushed[i]!.digest, now - (pushed.length - i) * 3600_000);
    stats.tags++;
    for (let t = 1; t < wanted; t++) {
      const build = pushed.length - t;
      tree.tag(name, t % 3 === 0 ? `v1.${build}` : `build-${build}`, pushed[build]!.digest, now - t * 86_400_000);
      stats.tags++;
    }
    // ~3% orphans: a repository's builds overshoot its share by a few
    // blobs, so they are counted apart rather than filling up to it.
    for (let o = 0, n = 1 + pick(3); o < n; o++) count(tree.putBlob(unique('orphan')));
  }
  return stats;
}

/** What both shapes start from: the seeded random source, the builder, the counts, and the repository count for the shape's blobs per repository. */
function startTree(options: GenerateOptions, filesystem: WritableFileSystem, blobsPerRepositoryTarget: number) {
  const random = makeRandom(options.seed);
  const pick = (n: number): number => Math.floor(random() * n);
  const tree = new TreeBuilder(filesystem, `${options.root}/docker/registry/v2`);
  const stats: GeneratedStats = { blobs: 0, repositories: 0, revisions: 0, tags: 0 };
  const seen = new Set<string>();
  const count = (digest: string): void => {
    if (!seen.has(digest)) {
      seen.add(digest);
      stats.blobs++;
    }
  };
  let serial = 0;
  const unique = (label: string): string => `${label} ${options.seed} ${serial++} ${random().toString(36)}`;
  const repositoryCount = Math.max(1, Math.round(options.blobs / blobsPerRepositoryTarget));
  return { random, pick, tree, stats, count, unique, repositoryCount, blobsPerRepository: options.blobs / repositoryCount, now: Date.UTC(2026, 10, 1) };
}
