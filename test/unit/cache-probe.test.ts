// The cold-cache probe (scan/cache-probe.ts) that decides whether the
// prefetcher starts: slow reads (a disk) say cold, fast ones (the page
// cache) say warm, and an outlier either way decides nothing. The clock is
// a fake one that each probed call advances, so a busy machine cannot
// change the answer.
import { describe, expect, it } from 'vitest';
import { isBlobCacheCold, isRepositoryCacheCold } from '../../src/scan/cache-probe.js';
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
  it('finds reads at page-cache speed warm and at disk speed cold, for the blobs and for the repositories', () => {
    const { fs } = builtTree();
    for (const [micros, cold] of [
      [20, false],
      [150, false],
      [400, true],
      [5000, true],
    ] as const) {
      const blobs = timed(fs, 'lstatSync', () => micros);
      expect(isBlobCacheCold(blobs.reader, blobs.clock), `blobs at ${micros} µs`).toBe(cold);
      const repositories = timed(fs, 'openSync', () => micros);
      expect(isRepositoryCacheCold(repositories.reader, REPOSITORIES, repositories.clock), `repositories at ${micros} µs`).toBe(cold);
    }
  });

  it('one slow read among fast ones (a first call, a busy moment) does not make the cache cold, nor one fast among slow warm', () => {
    const { fs } = builtTree();
    const firstSlow = timed(fs, 'openSync', (call) => (call === 0 ? 50_000 : 20));
    expect(isRepositoryCacheCold(firstSlow.reader, REPOSITORIES, firstSlow.clock)).toBe(false);
    const firstFast = timed(fs, 'openSync', (call) => (call === 0 ? 5 : 3000));
    expect(isRepositoryCacheCold(firstFast.reader, REPOSITORIES, firstFast.clock)).toBe(true);
  });

  it('an empty tree, repositories without revisions and unreadable probes count as warm (nothing to warm), and never throw', () => {
    const empty = memTree();
    expect(isBlobCacheCold(new TreeReader(empty.fs, V2))).toBe(false);
    expect(isRepositoryCacheCold(new TreeReader(empty.fs, V2), ['no/such', 'other'])).toBe(false);
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
    expect(isBlobCacheCold(new TreeReader(failing, V2))).toBe(false);
    expect(isRepositoryCacheCold(new TreeReader(failing, V2), REPOSITORIES)).toBe(false);
  });
});
