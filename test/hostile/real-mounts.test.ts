// On real directories, through the built CLI: mount points inside the tree
// (a tmpfs, and a bind mount of the same filesystem, which keeps st_dev),
// special files where links and manifests should be, and a manifest too
// large to read (the built CLI: `npm test` builds first). Each run must stop with one line naming the file and
// delete nothing, the mounted filesystem's files included.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/model/digest.js';
import { TreeBuilder } from '../support/tree-builder.js';
import { makeTempDir } from '../support/registry.js';
import { ageTree, runJanitor, snapshot, v2Of } from '../support/tree-files.js';

function buildTree() {
  const root = makeTempDir('hostile');
  const tree = new TreeBuilder(fs, v2Of(root));
  const kept = tree.pushImage('team/app', { layers: ['base', 'app'] });
  tree.tag('team/app', 'v1', kept.digest);
  const gone = tree.pushImage('team/app', { layers: ['old'] });
  tree.tag('team/old', 'v0', tree.pushImage('team/old', { layers: ['base', 'zero'] }).digest);
  const orphan = tree.putBlob('orphan');
  ageTree(root);
  return { root, tree, kept, gone, orphan };
}

const mounted: string[] = [];
/** Mounts (needs root); returns false where this machine cannot. */
function mount(args: string[], at: string): boolean {
  const run = spawnSync('mount', [...args, at], { encoding: 'utf8' });
  if (run.status !== 0) return false;
  mounted.push(at);
  return true;
}

afterAll(() => {
  for (const at of mounted.reverse()) spawnSync('umount', [at]);
});

/** Mount tests need root; under CI=true (root) they must run. */
function requireMount(ok: boolean): boolean {
  if (ok) return true;
  if (process.env.CI === 'true') throw new Error('mount failed: CI runs as root and must run the mount tests');
  process.stderr.write('\n!!! cannot mount here (not root?): mount-point tests NOT running\n\n');
  return false;
}

function expectRefusedOnDisk(root: string, args: string[], message: RegExp): void {
  const before = snapshot(root);
  const run = runJanitor([...args, '--root', root]);
  expect(run.status, run.stderr).toBe(1);
  const errors = run.stderr
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('phase '));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(message);
  expect(snapshot(root)).toEqual(before);
}

describe('mount points inside the tree', () => {
  it('a tmpfs mounted on an orphan blob directory: refused, its files stay', () => {
    const { root, tree, orphan } = buildTree();
    const dir = tree.pathOf({ kind: 'blobDir', digest: orphan });
    if (!requireMount(mount(['-t', 'tmpfs', 'none'], dir))) return;
    fs.writeFileSync(path.join(dir, 'data'), 'the mounted filesystem');
    expectRefusedOnDisk(root, ['gc'], new RegExp(`${dir} is a mount point inside the registry tree`));
    expect(fs.readFileSync(path.join(dir, 'data'), 'utf8')).toBe('the mounted filesystem');
  });

  it('a bind mount (same filesystem, same st_dev) on a repository -m sweeps: refused', () => {
    const { root, tree, gone } = buildTree();
    const repo = `${tree.v2}/repositories/team/app`;
    if (!requireMount(mount(['--bind', repo], repo))) return;
    expectRefusedOnDisk(root, ['gc', '-m'], /is a mount point inside the registry tree/);
    expect(fs.existsSync(tree.pathOf({ kind: 'revisionLink', name: 'team/app', digest: gone.digest }))).toBe(true);
  });

  it('a tmpfs over repositories/team hides its repositories: refused, their blobs stay (dry run too)', () => {
    const { root, tree } = buildTree();
    const team = `${tree.v2}/repositories/team`;
    if (!requireMount(mount(['-t', 'tmpfs', 'none'], team))) return;
    const blobs = fs.readdirSync(`${tree.v2}/blobs/sha256`).length;
    expectRefusedOnDisk(root, ['gc'], new RegExp(`${team} is a mount point inside the registry tree`));
    expectRefusedOnDisk(root, ['gc', '-m', '-d'], /is a mount point inside the registry tree/);
    expect(fs.readdirSync(`${tree.v2}/blobs/sha256`)).toHaveLength(blobs);
  });

  it('a tmpfs on a tag directory tags rm removes: refused', () => {
    const { root, tree } = buildTree();
    const dir = tree.pathOf({ kind: 'tagDir', name: 'team/old', tag: 'v0' });
    const saved = `${dir}.saved`;
    fs.renameSync(dir, saved);
    fs.mkdirSync(dir);
    if (!requireMount(mount(['-t', 'tmpfs', 'none'], dir))) return;
    fs.cpSync(saved, dir, { recursive: true });
    expectRefusedOnDisk(root, ['tags', 'rm', 'team/old:v0'], /is a mount point inside the registry tree/);
  });
});

describe('a read-only root', () => {
  it('allows dry runs (they take no lock and write nothing); a real run says it cannot take the lock', () => {
    const { root } = buildTree();
    if (!requireMount(mount(['--bind', root], root))) return;
    if (spawnSync('mount', ['-o', 'remount,ro,bind', root]).status !== 0) return;
    const dry = runJanitor(['gc', '-m', '-d', '--root', root]);
    expect(dry.status, dry.stderr).toBe(0);
    const real = runJanitor(['gc', '-m', '--root', root]);
    expect(real.status).toBe(1);
    expect(real.stderr).toMatch(/cannot take the lock .*\(a dry run needs no lock\)/);
  });
});

describe('special files where the registry keeps links and manifests', () => {
  it('a FIFO as a revision link is named as a FIFO and does not hang', () => {
    const { root, tree, gone } = buildTree();
    const link = tree.pathOf({ kind: 'revisionLink', name: 'team/app', digest: gone.digest });
    fs.unlinkSync(link);
    expect(spawnSync('mkfifo', [link]).status).toBe(0);
    expectRefusedOnDisk(root, ['gc', '-m'], new RegExp(`${link} is a FIFO`));
  });

  it('a character device as a manifest blob is named as a device', () => {
    const { root, tree, kept } = buildTree();
    const data = tree.pathOf({ kind: 'blobData', digest: kept.digest });
    fs.unlinkSync(data);
    const made = spawnSync('mknod', [data, 'c', '1', '3']).status === 0; // /dev/null's numbers
    if (!made && process.env.CI === 'true') throw new Error('mknod failed: CI runs as root');
    if (!made) return;
    expectRefusedOnDisk(root, ['gc'], new RegExp(`${data} is a character device`));
  });

  it('a FIFO as the data of an orphan blob stops the plan', () => {
    const { root, tree, orphan } = buildTree();
    const data = tree.pathOf({ kind: 'blobData', digest: orphan });
    fs.unlinkSync(data);
    expect(spawnSync('mkfifo', [data]).status).toBe(0);
    expectRefusedOnDisk(root, ['gc'], /unexpected FIFO in the registry tree/);
  });

  it('a 5 GiB manifest (sparse) is refused by its size, not a failed allocation', () => {
    const { root, tree } = buildTree();
    const digest = `sha256:${'ab'.repeat(32)}` as Digest;
    tree.write({ kind: 'revisionLink', name: 'team/app', digest }, digest);
    const data = tree.pathOf({ kind: 'blobData', digest });
    fs.mkdirSync(path.dirname(data), { recursive: true });
    fs.writeFileSync(data, '');
    fs.truncateSync(data, 5 * 2 ** 30);
    expectRefusedOnDisk(root, ['gc'], /is too large to read: 5368709120 bytes, over the 64 MiB limit/);
  });
});
