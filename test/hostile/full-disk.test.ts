// A volume at 100%, for real: a tmpfs filled to its last page (dd until
// ENOSPC), and one whose inodes are all used (tiny nr_inodes, then empty
// files until ENOSPC), through the built CLI. `gc --free SIZE -m` must free
// SIZE there: the lock it cannot write in the tree is taken host-locally,
// the quarantine it cannot make is skipped (deleted in place, in the safe
// order) unless --allow-live, and a prune that needs its journal is refused
// with one line and nothing deleted. Every kept tag keeps its files.
// Needs root and mount; under CI=true it fails rather than skips.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ImageDescriptor, TreeBuilder } from '../support/tree-builder.js';
import type { Digest } from '../../src/model/digest.js';
import { makeTempDir } from '../support/registry.js';
import { ageTree, blobsOn, runJanitor, snapshot, v2Of } from '../support/tree-files.js';

const KIB = 1024;

const mounted: string[] = [];
afterAll(() => {
  for (const at of mounted.reverse()) spawnSync('umount', [at]);
});

/** A fresh tmpfs (needs root); undefined where this machine cannot mount, which CI=true refuses. */
function tmpfs(options: string): string | undefined {
  const at = makeTempDir('full-disk');
  const run = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at], { encoding: 'utf8' });
  if (run.status !== 0) {
    if (process.env.CI === 'true') throw new Error(`mount failed: CI runs as root and must run the full-disk tests: ${run.stderr}`);
    process.stderr.write('\n!!! cannot mount here (not root?): full-disk tests NOT running\n\n');
    return undefined;
  }
  mounted.push(at);
  return at;
}

/** Layers of these sizes make the blobs --free chooses among. */
const bytes = (size: number, fill: string): string => fill.repeat(size);

function buildTree(root: string) {
  const tree = new TreeBuilder(fs, v2Of(root));
  const kept = tree.pushImage('team/app', { layers: [bytes(40 * KIB, 'k'), bytes(4 * KIB, 'b')] });
  tree.tag('team/app', 'v1', kept.digest);
  // Untagged: goes with -m. Its 300 KiB layer is the largest blob.
  const big = tree.pushImage('team/app', { layers: [bytes(300 * KIB, 'B'), bytes(4 * KIB, 'b')] });
  // Untagged, smaller: left for a later run by --free 200K.
  const small = tree.pushImage('team/old', { layers: [bytes(60 * KIB, 's')] });
  tree.tag('team/old', 'v0', tree.pushImage('team/old', { layers: [bytes(8 * KIB, 'o')] }).digest);
  const orphan = tree.putBlob(bytes(100 * KIB, 'x'));
  ageTree(root);
  return { tree, kept, big, small, orphan };
}

/** dd until ENOSPC: not one page left. */
function fillBlocks(root: string): void {
  spawnSync('dd', ['if=/dev/zero', `of=${path.join(root, 'fill')}`, 'bs=4k'], { encoding: 'utf8' });
  expect(fs.statfsSync(root).bavail).toBe(0);
  expect(() => fs.writeFileSync(path.join(root, 'probe'), 'x')).toThrow(/ENOSPC/);
}

/** Empty files until ENOSPC: not one inode left. */
function fillInodes(root: string): void {
  const dir = path.join(root, 'inodes');
  fs.mkdirSync(dir);
  for (let i = 0; ; i++) {
    try {
      fs.writeFileSync(path.join(dir, String(i)), '');
    } catch (cause) {
      expect(String(cause)).toMatch(/ENOSPC/);
      break;
    }
  }
  expect(fs.statfsSync(root).ffree).toBe(0);
}

/** The files a kept tag needs to pull: its current link, revision link, manifest, config and layers. */
function expectServes(tree: TreeBuilder, repository: string, tag: string, image: ImageDescriptor): void {
  expect(fs.readFileSync(tree.pathOf({ kind: 'tagCurrentLink', name: repository, tag }), 'utf8')).toBe(image.digest);
  expect(fs.readFileSync(tree.pathOf({ kind: 'revisionLink', name: repository, digest: image.digest }), 'utf8')).toBe(image.digest);
  for (const { digest } of [image, image.config, ...image.layers]) {
    expect(fs.existsSync(tree.pathOf({ kind: 'blobData', digest })), digest).toBe(true);
    if (digest !== image.digest) expect(fs.existsSync(tree.pathOf({ kind: 'layerLink', name: repository, digest })), digest).toBe(true);
  }
}

/** An image's first (largest) layer. */
function layerOf(image: ImageDescriptor): Digest {
  const layer = image.layers[0];
  if (!layer) throw new Error('no layer');
  return layer.digest;
}

function hostLockOf(root: string): string {
  const stats = fs.lstatSync(v2Of(root));
  return `/run/registry-janitor/${stats.dev}-${stats.ino}.lock`;
}

describe('a volume filled to the last byte', () => {
  it('gc --free 200K -m: frees the largest blobs first under a host-local lock, keeps v1 whole, leaves the rest', () => {
    const root = tmpfs('size=8m');
    if (!root) return;
    const { tree, kept, big, small, orphan } = buildTree(root);
    fillBlocks(root);
    const before = blobsOn(root);
    const run = runJanitor(['gc', '--free', '200K', '-m', '--root', root, '--json']);
    expect(run.status, run.stderr).toBe(0);
    // The 300 KiB layer alone reaches 200 KiB: it goes, with the manifest using it and its layer link.
    expect(run.json.free).toMatchObject({ target: 200 * KIB, freed: 300 * KIB, reachable: true, reached: true });
    expect(run.json.free.leftReclaimable).toBeGreaterThan(160 * KIB);
    const after = blobsOn(root);
    expect([...before].filter((d) => !after.has(d))).toEqual([layerOf(big)]);
    expect(fs.existsSync(tree.pathOf({ kind: 'revisionDir', name: 'team/app', digest: big.digest }))).toBe(false);
    expect(fs.existsSync(tree.pathOf({ kind: 'layerDir', name: 'team/app', digest: layerOf(big) }))).toBe(false);
    // Left for a later run: the orphan, the smaller untagged image (its revision too).
    expect(after.has(orphan)).toBe(true);
    expect(fs.existsSync(tree.pathOf({ kind: 'revisionLink', name: 'team/old', digest: small.digest }))).toBe(true);
    expectServes(tree, 'team/app', 'v1', kept);
    expect(fs.statfsSync(root).bavail * fs.statfsSync(root).bsize).toBeGreaterThanOrEqual(300 * KIB);
    // The lock: no room for its bytes in the tree, so host-local; neither left behind.
    expect(run.json.warnings.map((w: { code: string }) => w.code)).toContain('W_LOCK_HOST_LOCAL');
    expect(fs.readdirSync(path.join(v2Of(root), '_janitor'))).toEqual([]);
    expect(fs.existsSync(hostLockOf(root))).toBe(false);
    // The rest goes on a later run without --free.
    const rest = runJanitor(['gc', '-m', '--root', root, '--json']);
    expect(rest.status, rest.stderr).toBe(0);
    expect(blobsOn(root).has(orphan)).toBe(false);
    expectServes(tree, 'team/app', 'v1', kept);
  });

  it('the dry run lists exactly what the real run then deletes, and says whether SIZE is reachable', () => {
    const root = tmpfs('size=8m');
    if (!root) return;
    const { tree, kept } = buildTree(root);
    fillBlocks(root);
    const dry = runJanitor(['gc', '--free', '350K', '-m', '-d', '--root', root, '--json']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.json.free).toMatchObject({ reachable: true, reached: true });
    const human = runJanitor(['gc', '--free', '350K', '-m', '-d', '--root', root]);
    expect(human.stdout).toMatch(/--free 350\.0 KiB: reached: 400\.0 KiB would be freed \(the 2 largest blobs\)/);
    const unreachable = runJanitor(['gc', '--free', '2G', '-m', '-d', '--root', root]);
    expect(unreachable.status).toBe(4);
    expect(unreachable.stdout).toMatch(/--free 2\.0 GiB: NOT reachable/);
    const real = runJanitor(['gc', '--free', '350K', '-m', '--root', root, '--json']);
    expect(real.status, real.stderr).toBe(0);
    for (const list of ['blobsDeleted', 'manifestsDeleted', 'layerLinksDeleted']) expect(real.json[list]).toEqual(dry.json[list]);
    expect(real.json.bytesFreed).toBe(dry.json.bytesFreed);
    expectServes(tree, 'team/app', 'v1', kept);
  });

  it('prune on a full volume: the journal cannot be written, so one line, exit 1, nothing deleted, nothing left behind', () => {
    const root = tmpfs('size=8m');
    if (!root) return;
    buildTree(root);
    fillBlocks(root);
    const before = snapshot(v2Of(root));
    const run = runJanitor(['prune', 'team/old:v0', '--root', root]);
    expect(run.status).toBe(1);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('registry-janitor:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/cannot write the journal .*no space or inode left on the volume; free space first with `registry-janitor gc --free SIZE -m`/);
    expect(snapshot(v2Of(root))).toEqual(before);
    expect(fs.existsSync(hostLockOf(root))).toBe(false);
  });
});

describe('a volume with no inode left', () => {
  const fullOfInodes = () => {
    const root = tmpfs('size=8m,nr_inodes=200');
    if (!root) return undefined;
    const built = buildTree(root);
    fillInodes(root);
    return { root, ...built };
  };

  it('gc --free -m: no _janitor/ can be made: host-local lock, no quarantine, deleted in place; v1 whole', () => {
    const full = fullOfInodes();
    if (!full) return;
    const { root, tree, kept, big, orphan } = full;
    // _janitor/ was never made on this volume, and cannot be now.
    expect(fs.existsSync(path.join(v2Of(root), '_janitor'))).toBe(false);
    const run = runJanitor(['gc', '--free', '350K', '-m', '--root', root, '--json']);
    expect(run.status, run.stderr).toBe(0);
    const codes = run.json.warnings.map((w: { code: string }) => w.code);
    expect(codes).toContain('W_LOCK_HOST_LOCAL');
    expect(codes).toContain('W_QUARANTINE_NO_SPACE');
    expect(run.json.free).toMatchObject({ freed: 400 * KIB, reached: true });
    const after = blobsOn(root);
    expect(after.has(orphan)).toBe(false);
    expect(after.has(layerOf(big))).toBe(false);
    expect(fs.existsSync(tree.pathOf({ kind: 'revisionDir', name: 'team/app', digest: big.digest }))).toBe(false);
    expectServes(tree, 'team/app', 'v1', kept);
    expect(fs.existsSync(hostLockOf(root))).toBe(false);
  });

  it('with --allow-live the quarantine is required: refused with one line, nothing deleted', () => {
    const full = fullOfInodes();
    if (!full) return;
    const before = snapshot(v2Of(full.root));
    const run = runJanitor(['gc', '--free', '350K', '-m', '--allow-live', '--root', full.root]);
    expect(run.status).toBe(1);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('registry-janitor:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/no space or inode left for the quarantine .*--allow-live.*nothing was deleted/);
    expect(snapshot(v2Of(full.root))).toEqual(before);
    expect(fs.existsSync(hostLockOf(full.root))).toBe(false);
  });
});
