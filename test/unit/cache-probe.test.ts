// The cold-cache probe (scan/cache-probe.ts) that decides whether the
// prefetcher starts: slow reads (a disk) say cold, fast ones (the page
// cache) say warm, and an outlier either way decides nothing.
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

/** Busy-waits `ms` in each call of `slow` for the first `count` calls (the rest are fast). */
function slowed(fs: FileSystem, slow: 'lstatSync' | 'openSync', ms: number, count = Number.POSITIVE_INFINITY): FileSystem {
  let calls = 0;
  const original = fs[slow].bind(fs) as (...args: unknown[]) => unknown;
  return new Proxy(fs, {
    get(target, key, receiver) {
      if (key !== slow) return Reflect.get(target, key, receiver) as unknown;
      return (...args: unknown[]) => {
        if (calls++ < count) for (const until = performance.now() + ms; performance.now() < until;);
        return original(...args);
      };
    },
  });
}

describe('cache probe', () => {
  it('finds a fast tree warm and a slow one cold, for the blobs and for the repositories', () => {
    const { fs } = builtTree();
    expect(isBlobCacheCold(new TreeReader(fs, V2))).toBe(false);
    expect(isRepositoryCacheCold(new TreeReader(fs, V2), REPOSITORIES)).toBe(false);
    expect(isBlobCacheCold(new TreeReader(slowed(fs, 'lstatSync', 1), V2))).toBe(true);
    expect(isRepositoryCacheCold(new TreeReader(slowed(fs, 'openSync', 1), V2), REPOSITORIES)).toBe(true);
  });

  it('one slow read among fast ones (a first call, a busy moment) does not make the cache cold, nor one fast among slow warm', () => {
    const { fs } = builtTree();
    expect(isRepositoryCacheCold(new TreeReader(slowed(fs, 'openSync', 2, 1), V2), REPOSITORIES)).toBe(false);
    let calls = 0;
    const fastFirst = new Proxy(fs, {
      get(target, key, receiver) {
        if (key !== 'openSync') return Reflect.get(target, key, receiver) as unknown;
        return (...args: unknown[]) => {
          if (calls++ > 0) for (const until = performance.now() + 1; performance.now() < until;);
          return (fs.openSync as (...a: unknown[]) => unknown)(...args);
        };
      },
    });
    expect(isRepositoryCacheCold(new TreeReader(fastFirst, V2), REPOSITORIES)).toBe(true);
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
