// gc --free SIZE on memfs: the largest deletable blobs first, only the
// manifests and layer links that touch them, a tree in which nothing kept
// loses anything, the dry run listing exactly what the real run deletes,
// SIZE out of reach (exit 4), the host-local lock when the tree is full.
//
// Mutants checked by hand (2026-12-02): sorting smallest first in
// free-target.ts bySizeDescending fails "takes the largest blobs first" (and
// three more); deleting no planned manifest while the chosen blobs go fails
// "leaves every remaining revision servable"; not tying an index to its
// children fails it too, and "deletes only the manifests touching a chosen
// blob".
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/model/digest.js';
import { acquireRunLock } from '../../src/storage/run-lock.js';
import { TreeReader } from '../../src/storage/tree-reader.js';
import { type MemFs, ROOT, V2, exists, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { type TreeBuilder, forPlatform } from '../support/tree-builder.js';

const KIB = 1024;
const layer = (size: number, fill: string): string => fill.repeat(size);

function build() {
  const mem = memTree();
  const t = mem.tree;
  const kept = t.pushImage('app', { layers: ['base', layer(10 * KIB, 'k')] });
  t.tag('app', 'v1', kept.digest);
  const big = t.pushImage('app', { layers: ['base', layer(300 * KIB, 'B')] }); // untagged
  const kids = [layer(200 * KIB, 'c'), layer(5 * KIB, 'd')].map((data, i) => forPlatform(t.pushImage('app', { layers: [data], format: 'oci' }), `arch${i}`));
  const index = t.pushIndex('app', kids); // untagged index: its children go with it or stay with it
  const lib = t.pushImage('lib', { layers: [layer(50 * KIB, 'l')] }); // untagged
  t.tag('lib', 'latest', t.pushImage('lib', { layers: ['lib'] }).digest);
  const orphan = t.putBlob(layer(100 * KIB, 'o'));
  return { ...mem, kept, big, kids, index, lib, orphan };
}

const free = (fs: MemFs, ...args: string[]) => runCliOn(fs, ['gc', '-m', '--root', ROOT, '--json', ...args]);
const blobOf = (t: TreeBuilder, data: string): Digest => t.putBlob(data); // same bytes, same digest (already there)

/** Every revision left in a repository is servable: manifest blob, children's revisions, config and layers with their links. */
function assertEveryRevisionServable(fs: MemFs, t: TreeBuilder, repositories: string[]): void {
  for (const repo of repositories) {
    const dir = t.pathOf({ kind: 'revisionsAlgorithm', name: repo, algorithm: 'sha256' });
    for (const { name: hex } of fs.readdirSync(dir, { withFileTypes: true })) {
      const digest = `sha256:${hex}` as Digest;
      if (!exists(fs, t.pathOf({ kind: 'revisionLink', name: repo, digest }))) continue;
      const doc = JSON.parse(Buffer.from(fs.readFileSync(t.pathOf({ kind: 'blobData', digest }))).toString());
      for (const child of doc.manifests ?? [])
        expect(exists(fs, t.pathOf({ kind: 'revisionLink', name: repo, digest: child.digest })), `${repo} child ${child.digest}`).toBe(true);
      for (const blob of [doc.config, ...(doc.layers ?? [])].filter(Boolean)) {
        expect(exists(fs, t.pathOf({ kind: 'blobData', digest: blob.digest })), `${repo} blob ${blob.digest}`).toBe(true);
        expect(exists(fs, t.pathOf({ kind: 'layerLink', name: repo, digest: blob.digest })), `${repo} link ${blob.digest}`).toBe(true);
      }
    }
  }
}

describe('gc --free SIZE', () => {
  it('takes the largest blobs first, just enough of them', async () => {
    const m = build();
    const run = await free(m.fs, '--free', '350K', '-d');
    expect(run.code, run.stderr).toBe(0);
    // 300 KiB alone is short of 350 KiB; the next largest is the 200 KiB layer of a child.
    expect(run.json.blobsDeleted).toEqual([blobOf(m.tree, layer(300 * KIB, 'B')), blobOf(m.tree, layer(200 * KIB, 'c'))].sort());
    expect(run.json.free).toMatchObject({ target: 350 * KIB, freed: 500 * KIB, reachable: true, reached: true });
    expect(run.json.bytesFreed).toBe(500 * KIB);
    const all = await free(build().fs, '-d');
    expect(run.json.free.leftReclaimable).toBe(all.json.bytesFreed - 500 * KIB);
  });

  it('deletes only the manifests touching a chosen blob, an index with its children; the rest keeps its revision and layer links', async () => {
    const m = build();
    const run = await free(m.fs, '--free', '350K');
    expect(run.code, run.stderr).toBe(0);
    const gone = (repo: string, digest: Digest) => !exists(m.fs, m.tree.pathOf({ kind: 'revisionDir', name: repo, digest }));
    expect(gone('app', m.big.digest)).toBe(true);
    // The 200 KiB layer is the first child's: the index and both children go (the second child's 5 KiB layer stays, unreferenced).
    expect([m.index.digest, ...m.kids.map((k) => k.digest)].every((d) => gone('app', d))).toBe(true);
    expect(exists(m.fs, m.tree.pathOf({ kind: 'blobData', digest: blobOf(m.tree, layer(5 * KIB, 'd')) }))).toBe(true);
    // lib's untagged image: none of its blobs chosen, so its revision link, layer link and blobs stay.
    expect(gone('lib', m.lib.digest)).toBe(false);
    const libLayer = m.lib.layers[0]?.digest ?? ('' as Digest);
    expect(exists(m.fs, m.tree.pathOf({ kind: 'layerLink', name: 'lib', digest: libLayer }))).toBe(true);
    expect(exists(m.fs, m.tree.pathOf({ kind: 'blobData', digest: libLayer }))).toBe(true);
    expect(exists(m.fs, m.tree.pathOf({ kind: 'blobData', digest: m.orphan }))).toBe(true);
    assertEveryRevisionServable(m.fs, m.tree, ['app', 'lib']);
  });

  it('leaves every remaining revision servable at every SIZE, and kept tags whole', async () => {
    for (const size of ['1B', '250K', '350K', '420K', '560K', '600K', '1M']) {
      const m = build();
      const run = await free(m.fs, '--free', size);
      expect(run.code, `${size}: ${run.stderr}`).toBe(size === '1M' ? 4 : 0); // 1M: more than the whole plan
      assertEveryRevisionServable(m.fs, m.tree, ['app', 'lib']);
      expect(exists(m.fs, m.tree.pathOf({ kind: 'revisionLink', name: 'app', digest: m.kept.digest }))).toBe(true);
    }
  });

  it('the dry run lists exactly what the real run then deletes', async () => {
    const m = build();
    const dry = await free(m.fs, '--free', '420K', '-d');
    const human = await runCliOn(m.fs, ['gc', '-m', '-d', '--root', ROOT, '--free', '420K']);
    const real = await free(m.fs, '--free', '420K');
    expect(real.code, real.stderr).toBe(0);
    for (const list of ['blobsDeleted', 'manifestsDeleted', 'layerLinksDeleted', 'tagsRemoved']) expect(real.json[list], list).toEqual(dry.json[list]);
    expect(real.json.bytesFreed).toBe(dry.json.bytesFreed);
    for (const digest of dry.json.blobsDeleted) expect(human.stdout).toContain(digest);
    expect(human.stdout).toMatch(/--free 420\.0 KiB: reached: 500\.0 KiB would be freed \(the 2 largest blobs\)/);
  });

  it('SIZE out of reach: the dry run says so, the real run frees the whole plan; both exit 4', async () => {
    const m = build();
    const whole = await free(build().fs, '-d');
    const dry = await free(m.fs, '--free', '10G', '-d');
    expect(dry.code).toBe(4);
    expect(dry.stderr).toMatch(/--free 10G not reached: the whole plan would free/);
    expect(dry.json.free).toMatchObject({ reachable: false, reached: false, leftReclaimable: 0, freed: whole.json.bytesFreed });
    expect(dry.json.blobsDeleted).toEqual(whole.json.blobsDeleted);
    const real = await free(m.fs, '--free', '10G');
    expect(real.code).toBe(4);
    expect(real.json?.blobsDeleted ?? JSON.parse(real.stdout).blobsDeleted).toEqual(whole.json.blobsDeleted);
  });

  it('prune --free: a removed tag goes only with its manifest', async () => {
    const m = build();
    m.tree.tag('app', 'old', m.big.digest);
    m.tree.tag('lib', 'old', m.lib.digest);
    const run = await runCliOn(m.fs, ['prune', 'app:old', 'lib:old', '--root', ROOT, '--json', '--free', '250K']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.tagsRemoved.map((t: { repository: string; tag: string }) => `${t.repository}:${t.tag}`)).toEqual(['app:old']);
    expect(run.json.tagsKept.find((t: { tag: string }) => t.tag === 'old').reason).toMatch(/left for a later run/);
    expect(exists(m.fs, m.tree.pathOf({ kind: 'tagDir', name: 'lib', tag: 'old' }))).toBe(true);
    assertEveryRevisionServable(m.fs, m.tree, ['app', 'lib']);
  });

  it('bad sizes are usage errors: one line, exit 2', async () => {
    for (const bad of ['50', '50GB', '0G', '-1G', '1e3G', 'G', '']) {
      const run = await runCliOn(build().fs, ['gc', '--root', ROOT, '--free', bad]);
      expect(run.code, bad).toBe(2);
      expect(run.stderr.trim().split('\n'), bad).toHaveLength(1);
    }
  });

  it('bad --list values are usage errors on a real run too: one line, exit 2, nothing deleted', async () => {
    const { fs, files } = build();
    const before = files();
    for (const bad of ['0', '-1', 'ALL', '1.5', '10k', '']) {
      const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--list', bad]);
      expect(run.code, bad).toBe(2);
      expect(run.stderr.trim().split('\n'), bad).toHaveLength(1);
    }
    expect(files()).toEqual(before);
  });
});

describe('the run lock on a full tree', () => {
  /** Writes into v2/_janitor fail as on a full disk: the file is created, its bytes find no block. */
  const fullTree = (fs: MemFs): MemFs =>
    new Proxy(fs, {
      get(target, prop, receiver) {
        if (prop === 'writeSync') {
          return (fd: number, data: string) => {
            if (fdPaths.get(fd)?.startsWith(`${V2}/_janitor`)) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
            return target.writeSync(fd, data);
          };
        }
        if (prop === 'openSync') {
          return (path: string, flags: number) => {
            const fd = target.openSync(path, flags);
            fdPaths.set(fd, path);
            return fd;
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const fdPaths = new Map<number, string>();

  it('is taken host-locally, leaves no empty lock in the tree, and a second run sees it from either place', async () => {
    const m = build();
    const hostDir = '/run/registry-janitor';
    const warnings: string[] = [];
    const full = new TreeReader(fullTree(m.fs), V2);
    const lock = await acquireRunLock(full, { command: 'first', waitMs: 0, warn: (w) => void warnings.push(w.code), hostDir });
    expect(lock.file).toMatch(/^\/run\/registry-janitor\/\d+-\d+\.lock$/);
    expect(warnings).toEqual(['W_LOCK_HOST_LOCAL']);
    expect(exists(m.fs, `${V2}/_janitor/lock`)).toBe(false);
    // Space again: the tree lock is created, then the host lock's live holder wins.
    const other = new TreeReader(m.fs, V2);
    await expect(acquireRunLock(other, { command: 'second', waitMs: 0, warn: () => {}, hostDir })).rejects.toMatchObject({ code: 'E_LOCKED' });
    expect(exists(m.fs, `${V2}/_janitor/lock`)).toBe(false);
    // Still full: the host lock itself is held.
    await expect(acquireRunLock(full, { command: 'third', waitMs: 0, warn: () => {}, hostDir })).rejects.toMatchObject({ code: 'E_LOCKED' });
    lock.release(() => {});
    expect(exists(m.fs, lock.file)).toBe(false);
    const again = await acquireRunLock(other, { command: 'fourth', waitMs: 0, warn: () => {}, hostDir });
    expect(again.file).toBe(`${V2}/_janitor/lock`);
  });
});
