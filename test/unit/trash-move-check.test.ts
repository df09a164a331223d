// With --trash, the plan phase checks each target for a move, not for a
// deletion (vacuum.ts vet 'move'): a blob's data is lstat'ed, each link is
// read and must name its digest, and no directory is listed, since the
// rename takes it whole. On a real temporary directory (Node's fs, the
// concurrent sweep's path):
// - what the listing would have refused (an unknown file in a blob's or a
//   layer link's directory) moves into the trash with its target (on memfs
//   too, whose moves are synchronous and take the move check again), `trash
//   empty` refuses those items, `trash restore` gives them back whole, and a
//   run without --trash still stops before deleting anything;
// - a link naming another digest, or a symbolic link in place of a link
//   (lstat'ed before it is opened), still stops the run before anything
//   moves;
// - a copy aside of a blob the registry wrote again, holding something
//   unknown, goes into the trash (without --trash: stops the run, nothing of
//   it deleted), and everything else aside is put back.
import nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { ROOT, exists, listFiles, memTree } from '../support/memfs-tree.js';
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

  it('on a filesystem without asynchronous calls (memfs: each move synchronous) the same: the unknown file moves with its blob', async () => {
    const mem = memTree();
    const kept = mem.tree.pushImage('app', { layers: ['kept layer'] });
    mem.tree.tag('app', 'v1', kept.digest);
    const gone = mem.tree.pushImage('app', { layers: ['gone layer'] });
    const hex = (gone.layers[0]?.digest ?? '').slice('sha256:'.length);
    const blobDir = `${ROOT}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}`;
    mem.fs.writeFileSync(`${blobDir}/unknown`, 'in the blob directory');
    mem.fs.mkdirSync('/srv', { recursive: true });
    const run = await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--trash', '/srv/trash', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(exists(mem.fs, blobDir)).toBe(false);
    const moved = listFiles(mem.fs, '/srv/trash').filter((file) => file.endsWith('/unknown'));
    expect(moved).toHaveLength(1);
    expect(mem.fs.readFileSync(`/srv/trash/${moved[0] ?? ''}`, 'utf8')).toBe('in the blob directory');
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

  it('stops at a tag index entry naming another digest, nothing moved', async () => {
    const { root, v2, kept, gone, trashDir } = setUp();
    // v1 named the untagged image before it named the kept one: its index entry for it goes with the revision.
    const entry = `${v2}/repositories/app/_manifests/tags/v1/index/sha256/${gone.digest.slice('sha256:'.length)}`;
    nodeFs.mkdirSync(entry, { recursive: true });
    nodeFs.writeFileSync(`${entry}/link`, kept.digest);
    const before = snapshot(v2);
    const run = await runCliOn(nodeFileSystem, ['gc', '-m', '--root', root, '--grace', '0s', '--trash', trashDir, '--json']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`link ${entry}/link names ${kept.digest}`);
    expect(snapshot(v2).filter((line) => !line.includes('/_janitor/'))).toEqual(before);
  });
});

/**
 * What an interrupted gc -m --trash can leave aside: the untagged image's
 * layer (a stray in its directory, which a move's check does not list),
 * pushed again meanwhile (its home is there again), and the kept image's
 * revision (a push during the sweep needed it). Blobs are put back before
 * revisions (quarantine.ts list), so the layer's copy comes first.
 */
function setUpAside() {
  const at = setUp();
  const hex = at.layer.slice('sha256:'.length);
  const copy = `${at.v2}/_janitor/quarantine/sha256/${hex.slice(0, 2)}/${hex}`;
  nodeFs.mkdirSync(path.dirname(copy), { recursive: true });
  nodeFs.cpSync(at.blobDir, copy, { recursive: true });
  nodeFs.writeFileSync(`${copy}/unknown`, 'in the copy aside');
  const keptHex = at.kept.digest.slice('sha256:'.length);
  const revision = `${at.v2}/repositories/app/_manifests/revisions/sha256/${keptHex}`;
  const revisionAside = `${at.v2}/_janitor/quarantine-revisions/app/sha256/${keptHex}`;
  nodeFs.mkdirSync(path.dirname(revisionAside), { recursive: true });
  nodeFs.renameSync(revision, revisionAside);
  return { ...at, copy, revision };
}

describe('a copy aside holding something unknown, of a blob the registry wrote again', () => {
  it('with --trash goes into the trash: nothing deleted, nothing left aside, the kept revision back', async () => {
    const { root, blobDir, copy, revision, trashDir } = setUpAside();
    const data = nodeFs.readFileSync(`${blobDir}/data`, 'hex');
    for (let run = 0; run < 2; run++) {
      const result = await runCliOn(nodeFileSystem, ['gc', '-m', '--root', root, '--grace', '0s', '--trash', trashDir, '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(nodeFs.existsSync(copy)).toBe(false);
      expect(nodeFs.existsSync(`${revision}/link`)).toBe(true);
    }
    expect(snapshot(trashDir).filter((line) => line.endsWith(` ${Buffer.from('in the copy aside').toString('hex')}`))).toHaveLength(1);
    // The untagged image's layer is the run's to move: it is in the trash too, with its data.
    expect(nodeFs.existsSync(blobDir)).toBe(false);
    expect(snapshot(trashDir).filter((line) => line.endsWith(` ${data}`)).length).toBeGreaterThanOrEqual(2);
  });

  it('without --trash stops the run naming it, deletes nothing of it, and puts the kept revision back first', async () => {
    const { root, blobDir, copy, revision } = setUpAside();
    const result = await runCliOn(nodeFileSystem, ['gc', '-m', '--root', root, '--grace', '0s', '--json']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${copy}/unknown`);
    expect(nodeFs.readFileSync(`${copy}/unknown`, 'utf8')).toBe('in the copy aside');
    expect(nodeFs.readFileSync(`${copy}/data`, 'hex')).toBe(nodeFs.readFileSync(`${blobDir}/data`, 'hex'));
    expect(nodeFs.existsSync(`${revision}/link`)).toBe(true);
  });
});
