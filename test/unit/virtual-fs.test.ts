// The bench's procedural tree (tools/bench/virtual-fs.ts) behaves as the
// same tree written out: gc -m -d reports the same on both, and a real
// gc -m (its deletions and renames recorded in the virtual overlay) leaves
// the same tree as on memfs.
import { Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/storage/file-system.js';
import { VIRTUAL_ROOT, VirtualFileSystem, VirtualTree } from '../../tools/bench/virtual-fs.js';
import { runCliOn } from '../support/run-cli.js';

type Memfs = FileSystem & { mkdirSync(path: string, options: { recursive: true }): unknown; writeFileSync(path: string, data: Uint8Array): void };

/** Every file under `dir` with its content (a blob's data: its size), sorted. */
function snapshot(fs: FileSystem, dir: string, into: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      into.push(`${path}/`);
      snapshot(fs, path, into);
    } else if (entry.name === 'data') {
      into.push(`${path} ${fs.lstatSync(path).size}`);
    } else {
      into.push(`${path} ${fs.readFileSync(path, 'utf8')}`);
    }
  }
  return into.sort();
}

function materialise(from: VirtualFileSystem, to: Memfs, dir: string): void {
  to.mkdirSync(dir, { recursive: true });
  for (const entry of from.readdirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      materialise(from, to, path);
      continue;
    }
    const fd = from.openSync(path, 0);
    const size = from.fstatSync(fd).size;
    const bytes = new Uint8Array(size);
    from.readSync(fd, bytes, 0, size, 0);
    from.closeSync(fd);
    to.writeFileSync(path, bytes);
  }
}

const report = (json: Record<string, unknown>): Record<string, unknown> => {
  const sorted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (key === 'phasesMs' || key === 'startedAt' || key === 'finishedAt') continue;
    sorted[key] = Array.isArray(value) ? value.map((v) => JSON.stringify(v)).sort() : value;
  }
  return sorted;
};

describe('the virtual bench tree', () => {
  const blobs = 700; // 7 repositories
  const virtualTree = (): VirtualFileSystem => new VirtualFileSystem(new VirtualTree(blobs, 7, 3000));
  const memfsTree = (): Memfs => {
    const memfs = new Volume() as unknown as Memfs;
    materialise(virtualTree(), memfs, `${VIRTUAL_ROOT}/docker/registry/v2`);
    return memfs;
  };

  it('serves a consistent tree: ids come back from their digests, listings match lookups', () => {
    const tree = new VirtualTree(blobs, 7, 3000);
    for (const id of [0, 1, 255, 256, 511, tree.blobs - 1]) expect(tree.idOf(tree.hexOf(id))).toBe(id);
    expect(tree.idOf(tree.hexOf(5).replace(/.$/, 'f'))).toBe(-1);
    const files = snapshot(virtualTree(), `${VIRTUAL_ROOT}/docker/registry/v2`);
    expect(files.filter((f) => f.includes('/blobs/') && f.includes('/data '))).toHaveLength(tree.blobs);
  });

  it('gc -m -d reports the same on the virtual tree and on the tree written to memfs', async () => {
    const args = ['gc', '-m', '-d', '--json', '--grace', '0s', '--root', VIRTUAL_ROOT];
    const virtual = await runCliOn(virtualTree(), args);
    const written = await runCliOn(memfsTree(), args);
    expect(virtual.code).toBe(0);
    expect(written.code).toBe(0);
    const json = virtual.json as Record<string, unknown>;
    expect((json.blobsDeleted as unknown[]).length).toBeGreaterThan(100);
    expect((json.manifestsDeleted as unknown[]).length).toBeGreaterThan(20);
    expect(report(json)).toEqual(report(written.json as Record<string, unknown>));
  });

  it('a real gc -m leaves the same tree in the overlay as on memfs', async () => {
    const args = ['gc', '-m', '--json', '--grace', '0s', '--root', VIRTUAL_ROOT];
    const virtual = virtualTree();
    const memfs = memfsTree();
    const before = snapshot(virtual, VIRTUAL_ROOT).length;
    const a = await runCliOn(virtual, args);
    const b = await runCliOn(memfs, args);
    expect(a.stderr).toBe(b.stderr);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(report(a.json as Record<string, unknown>)).toEqual(report(b.json as Record<string, unknown>));
    const after = snapshot(virtual, VIRTUAL_ROOT);
    expect(after.length).toBeLessThan(before * 0.7);
    expect(after).toEqual(snapshot(memfs, VIRTUAL_ROOT));
    expect(virtual.counts.renames).toBeGreaterThan(0);
    // and a second run finds nothing left to do
    const again = await runCliOn(virtual, args);
    expect((again.json as { blobsDeleted: unknown[] }).blobsDeleted).toEqual([]);
  });
});
