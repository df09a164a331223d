// A small but complete tree on memfs: tagged docker image, tagged OCI index
// with children by digest, an untagged image and an orphan blob.
import type { Digest } from '../../src/model/digest.js';
import { type Descriptor, type ImageDescriptor, type TreeBuilder, forPlatform } from './tree-builder.js';
import { memTree } from './memfs-tree.js';

export interface Sample {
  web: ImageDescriptor;
  index: Descriptor;
  amd: ImageDescriptor;
  arm: ImageDescriptor;
  untagged: ImageDescriptor;
  orphan: Digest;
}

export function buildSample(tree: TreeBuilder): Sample {
  const web = tree.pushImage('team/web', { layers: ['base', 'web'] });
  tree.tag('team/web', 'v1', web.digest, Date.UTC(2026, 0, 1));
  const amd = tree.pushImage('team/app', { layers: ['base', 'app-amd64'], format: 'oci' });
  const arm = tree.pushImage('team/app', { layers: ['base', 'app-arm64'], format: 'oci' });
  const index = tree.pushIndex('team/app', [forPlatform(amd, 'amd64'), forPlatform(arm, 'arm64')]);
  tree.tag('team/app', 'latest', index.digest, Date.UTC(2026, 0, 2));
  const untagged = tree.pushImage('team/app', { layers: ['old'], format: 'oci' });
  const orphan = tree.putBlob('orphan bytes');
  return { web, index, amd, arm, untagged, orphan };
}

export function sampleTree() {
  const mem = memTree();
  return { ...mem, sample: buildSample(mem.tree) };
}
