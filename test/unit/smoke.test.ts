import { describe, expect, it } from 'vitest';
import { runGc } from '../../src/gc/run-gc.js';
import { memTree, ROOT } from '../support/memfs-tree.js';
import { forPlatform } from '../../src/testing/tree-builder.js';

describe('smoke', () => {
  it('keeps a tagged multi-arch index under -m', async () => {
    const { fs, tree, files } = memTree();
    const amd = tree.pushImage('app', { layers: ['amd-layer'], format: 'oci' });
    const arm = tree.pushImage('app', { layers: ['arm-layer'], format: 'oci' });
    const idx = tree.pushIndex('app', [forPlatform(amd, 'amd64'), forPlatform(arm, 'arm64')]);
    tree.tag('app', 'latest', idx.digest);
    tree.putBlob('orphan');
    const before = files();
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true });
    expect(result.blobsDeleted).toHaveLength(1);
    expect(result.manifestsDeleted).toEqual([]);
    expect(files()).toHaveLength(before.length - 1);
  });
});
