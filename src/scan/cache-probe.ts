// Is the tree's metadata in the page cache? The prefetcher (prefetch.ts)
// pays on a cold cache and costs on a warm one: its 32 reads in flight
// duplicate every read of the scan, and on the 100k-blob many-small bench
// tree, warm, they made `gc -d` 3.2 s -> 4.9 s (-j 2) and 3.4 s -> 6.0 s
// (-j 1). So it starts only where a probe finds the cache cold.
//
// A probe times a few reads the run makes anyway, spread over the tree: a
// blob's `data` lstat (before the inventory) or a revision link read (before
// the scan). Measured on this machine (virtio disk): warm 5-40 µs, cold
// 400-7,000 µs; the median of PROBES is taken against COLD_MICROSECONDS,
// so an outlier either way (a first call, a busy host) decides nothing.
// A probe that fails (a missing directory, a stray file) is dropped: the
// run's own reads report what is wrong.

import { isAlgorithm, isHexFor, makeDigest } from '../model/digest.js';
import type { PathSpec } from '../storage/layout.js';
import type { TreeReader } from '../storage/tree-reader.js';

const PROBES = 8;
const COLD_MICROSECONDS = 200;

/** The median of the timings, against the threshold; no timing at all (an empty tree) counts as warm. */
function isCold(microseconds: number[]): boolean {
  if (microseconds.length === 0) return false;
  const sorted = [...microseconds].sort((a, b) => a - b);
  return (sorted[Math.floor(sorted.length / 2)] ?? 0) > COLD_MICROSECONDS;
}

/** Up to `count` items spread evenly over `items`. */
function pickSpread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor(((i + 0.5) * items.length) / count)]).filter((item) => item !== undefined);
}

function listNames(reader: TreeReader, spec: PathSpec): string[] {
  try {
    return reader.list(spec, { optional: true })?.map((entry) => entry.name) ?? [];
  } catch {
    return []; // the run's own listing reports it
  }
}

/** A clock in milliseconds (tests inject one that the probed calls advance). */
export type Clock = () => number;

/** Times one call in microseconds; undefined when it throws (absent, unreadable: the run's reads say so). */
function timeMicroseconds(clock: Clock, call: () => unknown): number | undefined {
  const started = clock();
  try {
    call();
  } catch {
    return undefined;
  }
  return (clock() - started) * 1000;
}

/** Before the inventory: the lstat of a blob's data in PROBES shards spread over blobs/<alg>/. */
export function isBlobCacheCold(reader: TreeReader, clock: Clock = () => performance.now()): boolean {
  const timings: number[] = [];
  for (const algorithm of listNames(reader, { kind: 'blobsRoot' }).filter(isAlgorithm)) {
    for (const prefix of pickSpread(listNames(reader, { kind: 'blobAlgorithm', algorithm }), PROBES)) {
      const hexes = listNames(reader, { kind: 'blobShard', algorithm, prefix });
      const hex = hexes[Math.floor(hexes.length / 2)];
      const digest = hex === undefined || !isHexFor(algorithm, hex) ? undefined : makeDigest(algorithm, hex);
      if (!digest) continue;
      const data = reader.pathOf({ kind: 'blobData', digest });
      const took = timeMicroseconds(clock, () => reader.fs.lstatSync(data));
      if (took !== undefined) timings.push(took);
    }
    if (timings.length > 0) break;
  }
  return isCold(timings);
}

/** Before the scan: one revision link read in each of PROBES repositories spread over `names`. */
export function isRepositoryCacheCold(reader: TreeReader, names: readonly string[], clock: Clock = () => performance.now()): boolean {
  const timings: number[] = [];
  for (const name of pickSpread(names, PROBES)) {
    const algorithm = listNames(reader, { kind: 'revisionsRoot', name }).find(isAlgorithm);
    if (algorithm === undefined) continue;
    const hexes = listNames(reader, { kind: 'revisionsAlgorithm', name, algorithm });
    const hex = hexes[Math.floor(hexes.length / 2)];
    const digest = hex === undefined || !isHexFor(algorithm, hex) ? undefined : makeDigest(algorithm, hex);
    if (!digest) continue;
    const took = timeMicroseconds(clock, () => reader.read({ kind: 'revisionLink', name, digest }));
    if (took !== undefined) timings.push(took);
  }
  return isCold(timings);
}
