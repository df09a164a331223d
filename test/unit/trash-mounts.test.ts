// --trash DIR on the same filesystem as v2 but another mount of it (a bind
// mount keeps st_dev; rename(2) across mounts fails with EXDEV): refused up
// front from the mount table (/proc/self/mountinfo, on memfs here), exit 2,
// nothing deleted; a DIR on v2's own mount is taken.
import { describe, expect, it } from 'vitest';
import { findMountOf } from '../../src/storage/mount-points.js';
import { type MemFs, ROOT, V2, exists, listFiles, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';

/** A tree with an orphan blob (gc would delete it), and a mount table. */
function build(table: string): MemFs {
  const mem = memTree();
  mem.tree.tag('app', 'v1', mem.tree.pushImage('app', { layers: ['base'] }).digest);
  mem.tree.putBlob('orphan');
  for (const dir of ['/srv/bind', '/srv/with space']) mem.fs.mkdirSync(dir, { recursive: true });
  mem.fs.mkdirSync('/proc/self', { recursive: true });
  mem.fs.writeFileSync('/proc/self/mountinfo', table);
  return mem.fs;
}

const ROOT_MOUNT = '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n';
// /srv/bind: a bind mount of /data of the same ext4 (same 8:1, same st_dev).
const BIND = '98 22 8:1 /data /srv/bind rw,relatime shared:1 - ext4 /dev/sda1 rw\n';
// The registry's volume at /srv/registry; its bind mount at "/srv/with space" (escaped as the kernel does).
const REGISTRY_VOLUME = `40 22 8:2 / ${ROOT} rw - ext4 /dev/sda2 rw\n41 22 8:2 /trash /srv/with\\040space rw - ext4 /dev/sda2 rw\n`;

describe('--trash DIR on another mount of the same filesystem', () => {
  it('findMountOf: the deepest mount point at or above the path, the last one listed at a path, octal escapes decoded', () => {
    const fs = build(ROOT_MOUNT + BIND + REGISTRY_VOLUME);
    expect(findMountOf(fs, '/srv/bind/trash')).toBe('/srv/bind');
    expect(findMountOf(fs, '/srv/bind')).toBe('/srv/bind');
    expect(findMountOf(fs, '/srv/bindery')).toBe('/');
    expect(findMountOf(fs, V2)).toBe(ROOT);
    expect(findMountOf(fs, '/srv/with space/t')).toBe('/srv/with space');
    // Stacked at one path: the one on top is listed last.
    const stacked = build(`${ROOT_MOUNT}50 22 0:5 / /srv/bind rw - tmpfs none rw\n${BIND}`);
    expect(findMountOf(stacked, '/srv/bind/x')).toBe('/srv/bind');
    fs.unlinkSync('/proc/self/mountinfo');
    expect(findMountOf(fs, V2)).toBeUndefined();
  });

  for (const [label, table, dir] of [
    ['a bind mount below /', ROOT_MOUNT + BIND, '/srv/bind/trash'],
    // (a real disk of its own has another st_dev too: refused before; memfs has one st_dev)
    ["outside the registry's volume", ROOT_MOUNT + REGISTRY_VOLUME, '/srv/trash'],
    ["a bind mount of the registry's volume", ROOT_MOUNT + REGISTRY_VOLUME, '/srv/with space/trash'],
  ] as const) {
    it(`refuses ${label}: exit 2, one line, nothing deleted, DIR not made`, async () => {
      const fs = build(table);
      const before = listFiles(fs, ROOT);
      for (const args of [
        ['gc', '-m', '--root', ROOT, '--trash', dir],
        ['tags', 'rm', 'app:v1', '--root', ROOT, '--trash', dir],
      ]) {
        const run = await runCliOn(fs, args);
        expect(run.code, run.stderr).toBe(2);
        expect(run.stderr).toMatch(/a rename cannot cross mounts/);
        expect(run.stderr.trim().split('\n')).toHaveLength(1);
      }
      expect(listFiles(fs, ROOT)).toEqual(before);
      expect(exists(fs, dir)).toBe(false);
    });
  }

  it('takes a DIR on the mount of v2, outside v2', async () => {
    const fs = build(ROOT_MOUNT + REGISTRY_VOLUME);
    const dir = `${ROOT}/trash`;
    const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--trash', dir, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.trash).toMatchObject({ dir, items: 1, byKind: { blob: 1 } });
    // With the same table everywhere (no bind mount), /srv/trash is on v2's mount too.
    const plain = build(ROOT_MOUNT);
    expect((await runCliOn(plain, ['gc', '-m', '--root', ROOT, '--trash', '/srv/trash'])).code).toBe(0);
  });
});
