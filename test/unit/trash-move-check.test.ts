// With --trash, the plan phase checks each target for a move, not for a
// deletion (vacuum.ts vet 'move'): a blob's data is lstat'ed, each link is
// read and must name its digest, and no directory is listed, since the
// rename takes it whole. On a real temporary directory (Node's fs, the
// concurrent sweep's path):
// - what the listing would have refused (an unknown file in a blob's or a
//   layer link's directory) moves into the trash with its target, `trash
//   empty` refuses those items, `trash restore` gives them back whole, and a
//   run without --trash still stops before deleting anything;
// - a link naming another digest, or a symbolic link in place of a link
//   (opened without following it), still stops the run before anything
//   moves.
import nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { runCliOn } from '../support/run-cli.js';
import { TreeBuilder } from '../support/tree-builder.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) nodeFs.rmSync(dir, { recursive: true, force: true });
});

/** A tagged image (kept) and an untagged one (gc -m moves it, its layer and its layer link). */
function setUp() {
  const base = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'rj-trash-move-'));
  dirs.push(base);
  const root = path.join(base, 'registry');
  const v2 = path.join(root, 'docker/registry/v2');
  const tree = new TreeBuilder(nodeFs, v2);
  const kept = tree.pushImage('app', { layers: ['kept layer'] });
  tree.tag('app', 'v1', kept.digest);
  const gone = tree.pushImage('app', { layers: ['gone layer'] });
  const layer = gone.layers[0]?.digest ?? '';
  const hex = layer.slice('sha256:'.length);
  return {
    root,
    v2,
    kept,
    gone,
    layer,
    trashDir: path.join(base, 'trash'),
    blobDir: `${v2}/blobs/sha256/${hex.slice(0, 2)}/${hex}`,
    layerDir: `${v2}/repositories/app/_layers/sha256/${hex}`,
  };
}

/** Every file and directory under `dir` with its content (files), sorted. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of nodeFs.readdirSync(at, { withFileTypes: true })) {
      const full = `${at}/${entry.name}`;
      if (entry.isDirectory()) {
        out.push(`${full}/`);
        walk(full);
      } else out.push(`${full} ${entry.isSymbolicLink() ? `-> ${nodeFs.readlinkSync(full)}` : nodeFs.readFileSync(full, 'hex')}`);
    }
  };
  walk(dir);
  return out.sort();
}

describe('gc -m --trash checks each target for a move', () => {
  it('moves an unknown file in a blob and a layer link directory with them; trash empty refuses those items, trash restore gives them back', async () => {
    const { root, v2, layer, trashDir, blobDir, layerDir } = setUp();
    nodeFs.writeFileSync(`${blobDir}/unknown`, 'in the blob directory');
    nodeFs.writeFileSync(`${layerDir}/unknown`, 'in the layer link directory');
    const before = snapshot(v2);

    // Without --trash the listing refuses it, and nothing is deleted.
    const direct = await runCliOn(nodeFileSystem, ['gc', '-m', '--root', root, '--grace', '0s', '--json']);
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toContain(`unexpected regular file in the registry tree: ${blobDir}/unknown`);
    expect(snapshot(v2).filter((line) => !line.includes('/_janitor/'))).toEqual(before);

    const moved = await runCliOn(nodeFileSystem, ['gc', '-m', '--root', root, '--grace', '0s', '--trash', trashDir, '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.json.blobsDeleted).toContain(layer);
    expect(nodeFs.existsSync(blobDir)).toBe(false);
    expect(nodeFs.existsSync(layerDir)).toBe(false);
    const inTrash = snapshot(trashDir).filter((line) => line.includes('/unknown '));
    expect(inTrash).toHaveLength(2);

    const emptied = await runCliOn(nodeFileSystem, ['trash', 'empty', trashDir, '--json']);
    expect(emptied.code).toBe(1);
    expect(emptied.json.refused).toHaveLength(2);
    expect(snapshot(trashDir).filter((line) => line.includes('/unknown '))).toEqual(inTrash);

    const restored = await runCliOn(nodeFileSystem, ['trash', 'restore', trashDir, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(nodeFs.readFileSync(`${blobDir}/unknown`, 'utf8')).toBe('in the blob directory');
    expect(nodeFs.readFileSync(`${layerDir}/unknown`, 'utf8')).toBe('in the layer link directory');
    expect(nodeFs.readFileSync(`${layerDir}/link`, 'utf8')).toBe(layer);
  });

  it('stops at a layer link naming another digest (an alias of a kept layer), nothing moved', async () => {
    const { root, v2, kept, trashDir, layerDir } = setUp();
    nodeFs.writeFileSync(`${layerDir}/link`, kept.layers[0]?.digest ?? '');
    const before = snapshot(v2);
    const run = await runCliOn(nodeFileSystem, ['gc', '-m', '--root', root, '--grace', '0s', '--trash', trashDir, '--json']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`link ${layerDir}/link names ${kept.layers[0]?.digest ?? ''}`);
    expect(snapshot(v2).filter((line) => !line.includes('/_janitor/'))).toEqual(before);
  });

  it('stops at a symbolic link in place of a layer link (to a file naming the right digest), nothing moved', async () => {
    const { root, v2, layer, trashDir, layerDir } = setUp();
    const outside = path.join(path.dirname(root), 'outside-link');
    nodeFs.writeFileSync(outside, layer);
    nodeFs.rmSync(`${layerDir}/link`);
    nodeFs.symlinkSync(outside, `${layerDir}/link`);
    const before = snapshot(v2);
    const run = await runCliOn(nodeFileSystem, ['gc', '-m', '--root', root, '--grace', '0s', '--trash', trashDir, '--json']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`symbolic link inside the registry tree: ${layerDir}/link`);
    expect(snapshot(v2).filter((line) => !line.includes('/_janitor/'))).toEqual(before);
    expect(nodeFs.readFileSync(outside, 'utf8')).toBe(layer);
  });
});
