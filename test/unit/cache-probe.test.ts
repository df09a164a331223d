// The probe (scan/cache-probe.ts) that decides whether the prefetcher
// starts: reads at page-cache speed say cached (never), slow ones (a
// seeking disk) say slow (at once), those between say quick (the scan's
// pace decides), and an outlier either way decides nothing. The clock is
// a fake one that each probed call advances, so a busy machine cannot
// change the answer.
import { describe, expect, it } from 'vitest';
import { applyStartOf, isApplyLong, isScanLong, medianBlobRead, probeBlobReads, probeRepositoryReads } from '../../src/scan/cache-probe.js';
import type { FileSystem } from '../../src/storage/file-system.js';
import { TreeReader } from '../../src/storage/tree-reader.js';
import { V2, memTree } from '../support/memfs-tree.js';

const REPOSITORIES = Array.from({ length: 12 }, (_, i) => `team/app${String(i).padStart(2, '0')}`);

function builtTree() {
  const m = memTree();
  for (const name of REPOSITORIES) {
    const image = m.tree.pushImage(name, { layers: [`layer of ${name}`, 'shared layer'] });
    m.tree.tag(name, 'latest', image.digest);
  }
  return m;
}

/**
 * The filesystem with a fake clock: the nth call of `probed` (lstatSync or
 * openSync) takes `micros(n)` microseconds on it; every other call none.
 */
function timed(fs: FileSystem, probed: 'lstatSync' | 'openSync', micros: (call: number) => number) {
  let nowMs = 0;
  let calls = 0;
  const original = fs[probed].bind(fs) as (...args: unknown[]) => unknown;
  const wrapped = new Proxy(fs, {
    get(target, key, receiver) {
      if (key !== probed) return Reflect.get(target, key, receiver) as unknown;
      return (...args: unknown[]) => {
        nowMs += micros(calls++) / 1000;
        return original(...args);
      };
    },
  });
  return { reader: new TreeReader(wrapped, V2), clock: () => nowMs };
}

describe('cache probe', () => {
  it('judges reads cached, quick or slow by their median, for the blobs and for the repositories', () => {
    const { fs } = builtTree();
    for (const [micros, speed] of [
      [20, 'cached'],
      [150, 'cached'],
      [200, 'cached'],
      // a cold cache on a quick device (2026-12-04: 250-400 µs on the 100k tree, 360-520 µs on the 1M tree)
      [250, 'quick'],
      [520, 'quick'],
      [990, 'quick'],
      [1100, 'slow'],
      [5000, 'slow'],
    ] as const) {
      const blobs = timed(fs, 'lstatSync', () => micros);
      expect(probeBlobReads(blobs.reader, blobs.clock), `blobs at ${micros} µs`).toBe(speed);
      const repositories = timed(fs, 'openSync', () => micros);
      expect(probeRepositoryReads(repositories.reader, REPOSITORIES, repositories.clock), `repositories at ${micros} µs`).toBe(speed);
    }
  });

  it('one slow read among fast ones (a first call, a busy moment) does not make the reads slow, nor one fast among slow cached', () => {
    const { fs } = builtTree();
    const firstSlow = timed(fs, 'openSync', (call) => (call === 0 ? 50_000 : 20));
    expect(probeRepositoryReads(firstSlow.reader, REPOSITORIES, firstSlow.clock)).toBe('cached');
    const firstFast = timed(fs, 'openSync', (call) => (call === 0 ? 5 : 3000));
    expect(probeRepositoryReads(firstFast.reader, REPOSITORIES, firstFast.clock)).toBe('slow');
  });

  it('on quick reads, the pace rule waits 2 s, then starts the prefetcher only if the rest of the scan would take over 15 s', () => {
    // not judged yet, however slow the start
    expect(isScanLong(1_999, 0, 14_000)).toBeUndefined();
    expect(isScanLong(0, 1, 1)).toBeUndefined();
    // the many-small 100k tree cold: 1,400 repositories, ~380 scanned in 2 s -> ~5.4 s to go
    expect(isScanLong(2_000, 380, 1_400)).toBe(false);
    // the 1M tree: 14,000 repositories, ~90 in 2 s -> ~309 s to go
    expect(isScanLong(2_000, 90, 14_000)).toBe(true);
    // at the boundary: 15 s to go is not long, 15.1 s is
    expect(isScanLong(3_000, 100, 600)).toBe(false);
    expect(isScanLong(3_020, 100, 600)).toBe(true);
    // nothing scanned in 2 s: long; everything scanned: not
    expect(isScanLong(2_000, 0, 10)).toBe(true);
    expect(isScanLong(9_000, 10, 10)).toBe(false);
  });

  it("apply's rule: the reads its plan names left, at its inventory's pace (the probe's median if it read under 1,000), over 60 s", () => {
    // the many-small 100k tree cold: 20,958 reads in 5.1 s (~245 µs; 3.2 s on a quiet machine), 111,472 left -> ~27 s
    expect(isApplyLong(5_146, 20_958, 111_472, 658)).toBe(false);
    // the 1M tree: 209,642 reads in 37.7 s (~180 µs), 1.11M left -> ~200 s
    expect(isApplyLong(37_700, 209_642, 1_114_427, 553)).toBe(true);
    // the boundary: 60 s left is not long, 60.01 s is
    expect(isApplyLong(1_000, 1_000, 60_000, 5)).toBe(false);
    expect(isApplyLong(1_000, 1_000, 60_010, 5)).toBe(true);
    // an inventory of 999 reads says too little: the probe's median decides, however long they took
    expect(isApplyLong(60_000, 999, 1_000, 500)).toBe(false);
    expect(isApplyLong(0, 999, 200_000, 500)).toBe(true);
    // nothing left: never
    expect(isApplyLong(600_000, 1_000, 0, 10_000)).toBe(false);
  });

  it("applyStartOf: an apply's child starts now on slow reads or when told N, never on cached ones or none timed, else after the inventory", () => {
    expect(applyStartOf(false, undefined)).toEqual({ at: 'now' });
    expect(applyStartOf(false, 20)).toEqual({ at: 'now' });
    expect(applyStartOf(true, 1_100)).toEqual({ at: 'now' });
    expect(applyStartOf(true, 1_000)).toEqual({ at: 'inventory', probedMicroseconds: 1_000 });
    expect(applyStartOf(true, 553)).toEqual({ at: 'inventory', probedMicroseconds: 553 });
    expect(applyStartOf(true, 201)).toEqual({ at: 'inventory', probedMicroseconds: 201 });
    expect(applyStartOf(true, 200)).toEqual({ at: 'never' });
    expect(applyStartOf(true, 20)).toEqual({ at: 'never' });
    expect(applyStartOf(true, undefined)).toEqual({ at: 'never' });
  });

  it('medianBlobRead: the median of the blob probe, undefined with nothing to time', () => {
    const { fs } = builtTree();
    for (const micros of [50, 700, 4_000]) {
      // one outlier each way among the probe's 8 reads: the median is the common value
      const blobs = timed(fs, 'lstatSync', (call) => (call === 0 ? 90_000 : call === 1 ? 1 : micros));
      expect(medianBlobRead(blobs.reader, blobs.clock)).toBeCloseTo(micros, 6);
    }
    expect(medianBlobRead(new TreeReader(memTree().fs, V2))).toBeUndefined();
  });

  it('an empty tree, repositories without revisions and unreadable probes count as cached (nothing to warm), and never throw', () => {
    const empty = memTree();
    expect(probeBlobReads(new TreeReader(empty.fs, V2))).toBe('cached');
    expect(probeRepositoryReads(new TreeReader(empty.fs, V2), ['no/such', 'other'])).toBe('cached');
    const { fs } = builtTree();
    const failing = new Proxy(fs, {
      get(target, key, receiver) {
        if (key === 'openSync' || key === 'lstatSync') {
          return () => {
            throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
          };
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    expect(probeBlobReads(new TreeReader(failing, V2))).toBe('cached');
    expect(probeRepositoryReads(new TreeReader(failing, V2), REPOSITORIES)).toBe('cached');
  });
});
