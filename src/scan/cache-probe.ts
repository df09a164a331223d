// Will the prefetcher (prefetch.ts) pay? Its 32 reads in flight duplicate
// every read of the scan, and its fs.promises reads cost ~100 µs of CPU each
// on this 2-core machine, taken from the scan's threads: on a warm cache
// they made `gc -d` on the many-small 100k tree 3.2 s -> 4.9 s (-j 2). It
// pays only where the scan waits on the disk long enough.
//
// A probe times a few reads the run makes anyway, spread over the tree: a
// blob's `data` lstat (before the inventory) or a revision link read (before
// the scan), and takes their median (an outlier either way, a first call or
// a busy moment, decides nothing) against two thresholds:
// - cached, at most CACHED_MICROSECONDS: page-cache reads take 5-40 µs here.
//   No prefetcher.
// - slow, over SLOW_MICROSECONDS: a disk that seeks (reads of 400-7,000 µs
//   on the machine of 2026-12-02, where the prefetcher took the 100k tree's
//   cold `gc -d` from 41 s to 25 s). The prefetcher starts at once, to warm
//   the inventory too.
// - quick, between: a cold cache on a quick device. Whether the prefetcher
//   pays there depends on the tree more than on these reads, so the scan's
//   own pace decides (isScanLong). On 2026-12-04, caches dropped, one host:
//   the many-small 100k tree's `gc -d` took 8.6 s without the prefetcher
//   (its mark 7.3 s) and 11.4-12.0 s with it, the 1M tree's 320 s without it
//   and 131 s with it, while the blob probes' medians were 250-400 µs on the
//   100k tree and 360-520 µs on the 1M tree, moving with the host's load
//   within the hour: no threshold between them held.
// A probe that fails (a missing directory, a stray file) is dropped: the
// run's own reads report what is wrong.

import { isAlgorithm, isHexFor, makeDigest } from '../model/digest.js';
import type { PathSpec } from '../storage/layout.js';
import type { TreeReader } from '../storage/tree-reader.js';

const PROBES = 8;
const CACHED_MICROSECONDS = 200;
const SLOW_MICROSECONDS = 1_000;
// The pace rule: judged once the scan has run this long (the 100k tree's
// mark, 7.3 s cold without the prefetcher, is then about a quarter done)...
const PACE_AFTER_MS = 2_000;
// ...the prefetcher starts if the rest is projected to take longer than this
// (the 100k tree: ~5 s, where it cost 1.35x; the 1M tree: ~300 s, where it
// gained 2.4x).
const PACE_REST_MS = 15_000;
// apply: the many-small trees after `drop_caches`, apply --trash, 2026-12-04.
// 100k: 20,958 fingerprint reads in at most 3.2-5.1 s (the whole inventory;
// <= 245 µs each), 111,472 left (<= 27 s by this count): a child started at
// once made the run 20 s -> 25 s (its reads' CPU, on 2 cores). 1M: 209,642
// in at most 37.7 s (<= 180 µs), 1.11M left (<= 200 s): a child started
// after the inventory took the run 332 s -> 306 s (README). Between.
const APPLY_REST_MS = 60_000;
const MIN_PACED_READS = 1_000;

/** What the probed reads say of the tree's metadata (see above). */
export type ReadSpeed = 'cached' | 'quick' | 'slow';

function medianOf(microseconds: number[]): number {
  const sorted = [...microseconds].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The median of the timings, against the thresholds; no timing at all (an empty tree) counts as cached. */
function judge(microseconds: number[]): ReadSpeed {
  return microseconds.length === 0 ? 'cached' : judgeMedian(medianOf(microseconds));
}

/** A probe's median against the thresholds. */
function judgeMedian(median: number): ReadSpeed {
  return median <= CACHED_MICROSECONDS ? 'cached' : median <= SLOW_MICROSECONDS ? 'quick' : 'slow';
}

/**
 * The pace rule, for reads judged quick: undefined until the scan has run
 * PACE_AFTER_MS, then whether the rest of it, at its pace so far, would take
 * longer than PACE_REST_MS.
 */
export function isScanLong(elapsedMs: number, scanned: number, total: number): boolean | undefined {
  if (elapsedMs < PACE_AFTER_MS) return undefined;
  if (scanned <= 0) return true;
  return (elapsedMs / scanned) * Math.max(0, total - scanned) > PACE_REST_MS;
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
export function probeBlobReads(reader: TreeReader, clock: Clock = () => performance.now()): ReadSpeed {
  return judge(timeBlobReads(reader, clock));
}

/**
 * An apply's rule (prefetch.ts), judged once its inventory is over. It
 * reads little but what the plan names, and the plan says how much: the
 * inventory's fingerprints (`readsDone`, in `elapsedMs`), then every target
 * and kept tag (`readsLeft`). The child starts if those would take longer
 * than APPLY_REST_MS at the inventory's pace (the blob probe's median
 * where the inventory read too little to say, under MIN_PACED_READS).
 */
export function isApplyLong(elapsedMs: number, readsDone: number, readsLeft: number, probedMicroseconds: number): boolean {
  const microsecondsEach = readsDone >= MIN_PACED_READS ? (elapsedMs * 1000) / readsDone : probedMicroseconds;
  return (readsLeft * microsecondsEach) / 1000 > APPLY_REST_MS;
}

/** When an apply's child starts (prefetch.ts): now, never, or after its inventory if isApplyLong says so. */
export type ApplyStart = { at: 'now' } | { at: 'never' } | { at: 'inventory'; probedMicroseconds: number };

/**
 * An apply's start, from the blob probe's median (medianBlobRead; not
 * probed: --prefetch N, now): slow reads now; cached ones, or none timed
 * (an empty tree), never; quick ones after the inventory.
 */
export function applyStartOf(probe: boolean, median: number | undefined): ApplyStart {
  if (!probe) return { at: 'now' };
  const speed = median === undefined ? 'cached' : judgeMedian(median);
  if (speed === 'slow') return { at: 'now' };
  return speed === 'quick' && median !== undefined ? { at: 'inventory', probedMicroseconds: median } : { at: 'never' };
}

/** The median of the blob probe's reads (probeBlobReads), undefined when none could be timed. */
export function medianBlobRead(reader: TreeReader, clock: Clock = () => performance.now()): number | undefined {
  const timings = timeBlobReads(reader, clock);
  return timings.length === 0 ? undefined : medianOf(timings);
}

function timeBlobReads(reader: TreeReader, clock: Clock): number[] {
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
  return timings;
}

/** Before the scan: one revision link read in each of PROBES repositories spread over `names`. */
export function probeRepositoryReads(reader: TreeReader, names: readonly string[], clock: Clock = () => performance.now()): ReadSpeed {
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
  return judge(timings);
}
