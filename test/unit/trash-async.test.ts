// --trash on Node's fs, the concurrent sweep's path (vacuum.ts removeAsync,
// trash.ts takeAsync), on a real temporary directory: the move trusts the
// run's plan-time vet and does not walk the directory again, so what was
// written into a target's directory after the plan moves with it. Nothing
// of it is lost: `trash empty` refuses that item (it walks every item as
// its kind's shape) and `trash restore` gives it back whole. The cheap
// checks stay: a symbolic link instead of a blob's data stops the move.
import nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../src/storage/file-system.js';
import { TrashBin, checkTrashDir } from '../../src/storage/trash.js';
import { Vacuum } from '../../src/storage/vacuum.js';
import { runCliOn } from '../support/run-cli.js';
import { TreeBuilder } from '../support/tree-builder.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) nodeFs.rmSync(dir, { recursive: true, force: true });
});

function setUp() {
  const base = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'rj-trash-async-'));
  dirs.push(base);
  const root = path.join(base, 'registry');
  const v2 = path.join(root, 'docker/registry/v2');
  const tree = new TreeBuilder(nodeFs, v2);
  const layer = tree.pushBlob('app', 'a layer nobody references', 'application/octet-stream');
  const trashDir = path.join(base, 'trash');
  const bin = new TrashBin(nodeFileSystem, checkTrashDir(nodeFileSystem, trashDir, v2), v2);
  const vacuum = new Vacuum(nodeFileSystem, v2, [], bin);
  return { v2, tree, layer, trashDir, bin, vacuum };
}

describe('--trash on the concurrent path', () => {
  it('moves a layer link directory with what appeared in it since the plan; trash empty refuses that item; trash restore gives it back whole', async () => {
    const { v2, layer, trashDir, bin, vacuum } = setUp();
    const layerDir = `${v2}/repositories/app/_layers/sha256/${layer.digest.slice('sha256:'.length)}`;
    nodeFs.writeFileSync(`${layerDir}/written-after-the-plan`, 'keep me');
    await vacuum.removeAsync({ kind: 'layerLink', repository: 'app', digest: layer.digest });
    bin.close();
    expect(nodeFs.existsSync(layerDir)).toBe(false);

    const emptied = await runCliOn(nodeFileSystem, ['trash', 'empty', trashDir, '--json']);
    expect(emptied.code).toBe(1);
    expect(emptied.json.refused).toHaveLength(1);

    const restored = await runCliOn(nodeFileSystem, ['trash', 'restore', trashDir, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(nodeFs.readFileSync(`${layerDir}/written-after-the-plan`, 'utf8')).toBe('keep me');
    expect(nodeFs.readFileSync(`${layerDir}/link`, 'utf8')).toBe(layer.digest);
  });

  it("records a blob's size from its data, and stops (nothing moved) at a symbolic link in place of the data", async () => {
    const { v2, tree, trashDir, bin, vacuum } = setUp();
    const digest = tree.putBlob('twelve bytes');
    const size = await vacuum.removeAsync({ kind: 'blob', digest });
    expect(size).toBe(12);
    const hex = digest.slice('sha256:'.length);
    expect(nodeFs.existsSync(`${v2}/blobs/sha256/${hex.slice(0, 2)}/${hex}`)).toBe(false);

    const other = tree.putBlob('another blob');
    const otherHex = other.slice('sha256:'.length);
    const data = `${v2}/blobs/sha256/${otherHex.slice(0, 2)}/${otherHex}/data`;
    nodeFs.rmSync(data);
    nodeFs.symlinkSync('/etc/hostname', data);
    await expect(vacuum.removeAsync({ kind: 'blob', digest: other })).rejects.toMatchObject({ code: 'E_SYMLINK' });
    expect(nodeFs.lstatSync(data).isSymbolicLink()).toBe(true);
    bin.close();
    const records = nodeFs.readFileSync(`${trashDir}/manifest.jsonl`, 'utf8').trim().split('\n').slice(1);
    expect(records.map((line) => (JSON.parse(line) as { size: number }).size)).toEqual([12]);
  });
});
