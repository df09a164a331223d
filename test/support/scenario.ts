// The end-to-end scenario, pushed through the real registry's HTTP API.
// Covers what the gc issue lists: docker schema2 and OCI images, a docker
// manifest list and an OCI index whose children are pushed by digest only,
// an index of indexes, a tag re-pushed to a new digest, one manifest under
// two tags, layers shared across images and repositories, nested
// repository names (team/app and team/app/web), an OCI referrer with
// `subject`, an untagged manifest and an orphan blob.

import { gzipSync } from 'node:zlib';
import { MEDIA } from './tree-builder.js';
import { pushBlob, pushManifest } from './registry.js';

/** Media types, as the production tree builder names them. */
export const M = MEDIA;

export interface Desc {
  digest: string;
  size: number;
  mediaType: string;
}

export interface PushedTag {
  repo: string;
  tag: string;
  digest: string;
}

export interface Pushed {
  tags: PushedTag[];
  /** tags whose target is a manifest list / index (what 2.8.2's -m breaks). */
  multiArchTags: PushedTag[];
  /** manifests pushed by digest that nothing tagged reaches. */
  untagged: { repo: string; digest: string }[];
  referrer: { repo: string; digest: string; subject: string };
  orphanBlob: string;
}

const layerBytes = (label: string): Buffer => gzipSync(Buffer.from(`layer ${label}\n`.repeat(20)));

/** Pushes layers + config + manifest; `tag` undefined pushes by digest. */
export async function pushImage(
  url: string,
  repo: string,
  options: { format: 'docker' | 'oci'; layers: string[]; tag?: string; arch?: string; extra?: Record<string, unknown> },
): Promise<Desc> {
  const oci = options.format === 'oci';
  const layers = [];
  for (const label of options.layers) {
    const { digest, size } = await pushBlob(url, repo, layerBytes(label));
    layers.push({ mediaType: oci ? M.ociLayer : M.dockerLayer, digest, size });
  }
  const configBytes = JSON.stringify({ architecture: options.arch ?? 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: options.layers } });
  const config = { mediaType: oci ? M.ociConfig : M.dockerConfig, ...(await pushBlob(url, repo, configBytes)) };
  const mediaType = oci ? M.ociManifest : M.schema2;
  return pushManifest(url, repo, options.tag, { schemaVersion: 2, mediaType, config, layers, ...options.extra }, mediaType);
}

/** Pushes one image per architecture by digest, then the index over them. */
export async function pushMultiArch(url: string, repo: string, format: 'docker' | 'oci', base: string, tag: string | undefined): Promise<Desc> {
  const manifests = [];
  for (const arch of ['amd64', 'arm64']) {
    const child = await pushImage(url, repo, { format, layers: [`${base}-base`, `${base}-${arch}`], arch });
    manifests.push({ ...child, platform: { os: 'linux', architecture: arch } });
  }
  const mediaType = format === 'oci' ? M.ociIndex : M.list;
  return pushManifest(url, repo, tag, { schemaVersion: 2, mediaType, manifests }, mediaType);
}

export async function pushScenario(url: string): Promise<Pushed> {
  const tags: PushedTag[] = [];
  const multiArchTags: PushedTag[] = [];
  const untagged: Pushed['untagged'] = [];
  const add = (repo: string, tag: string, d: Desc, multiArch = false): void => {
    tags.push({ repo, tag, digest: d.digest });
    if (multiArch) multiArchTags.push({ repo, tag, digest: d.digest });
  };

  // library/alpine: docker images; 3.19 re-pushed to a new digest; latest and
  // 3.19 on the same manifest; a base layer shared with other repositories.
  const a318 = await pushImage(url, 'library/alpine', { format: 'docker', layers: ['shared-base', 'alpine-3.18'], tag: '3.18' });
  add('library/alpine', '3.18', a318);
  const oldA319 = await pushImage(url, 'library/alpine', { format: 'docker', layers: ['shared-base', 'alpine-3.19-rc'], tag: '3.19' });
  untagged.push({ repo: 'library/alpine', digest: oldA319.digest });
  const a319 = await pushImage(url, 'library/alpine', { format: 'docker', layers: ['shared-base', 'alpine-3.19'], tag: '3.19' });
  await pushImage(url, 'library/alpine', { format: 'docker', layers: ['shared-base', 'alpine-3.19'], tag: 'latest' });
  add('library/alpine', '3.19', a319);
  add('library/alpine', 'latest', a319);

  // team/app/web: a docker manifest list over children pushed by digest.
  add('team/app/web', 'v1', await pushMultiArch(url, 'team/app/web', 'docker', 'web', 'v1'), true);

  // team/app: an OCI index (children by digest), an OCI image with a
  // referrer (signature) pushed by digest, and an untagged image.
  add('team/app', 'v2', await pushMultiArch(url, 'team/app', 'oci', 'app', 'v2'), true);
  const signed = await pushImage(url, 'team/app', { format: 'oci', layers: ['shared-base', 'app-single'], tag: 'single' });
  add('team/app', 'single', signed);
  const signature = await pushImage(url, 'team/app', {
    format: 'oci',
    layers: ['signature-payload'],
    extra: {
      artifactType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      subject: { mediaType: signed.mediaType, digest: signed.digest, size: signed.size },
    },
  });
  const stray = await pushImage(url, 'team/app', { format: 'oci', layers: ['app-untagged'] });
  untagged.push({ repo: 'team/app', digest: stray.digest });

  // multi/nested: an index of indexes, every inner manifest by digest.
  const inner1 = await pushMultiArch(url, 'multi/nested', 'oci', 'n1', undefined);
  const inner2 = await pushMultiArch(url, 'multi/nested', 'oci', 'n2', undefined);
  const outer = await pushManifest(url, 'multi/nested', 'all', { schemaVersion: 2, mediaType: M.ociIndex, manifests: [inner1, inner2] }, M.ociIndex);
  add('multi/nested', 'all', outer, true);

  // An orphan: uploaded, never referenced by a manifest.
  const orphan = await pushBlob(url, 'library/alpine', layerBytes('orphan'));

  return {
    tags,
    multiArchTags,
    untagged,
    referrer: { repo: 'team/app', digest: signature.digest, subject: signed.digest },
    orphanBlob: orphan.digest,
  };
}
