// Writes registry trees the way Distribution does, through the production
// path functions (layout.ts). Used by the unit tests (on memfs), the bundled
// example fixture and the benchmark generator. Content is real: every blob
// lives under the sha256 of its bytes, and manifests are valid JSON of their
// media type, so a registry can serve what this writes.

import { createHash } from 'node:crypto';
import type { Digest } from '../../src/model/digest.js';
import type { FileSystem } from '../../src/storage/file-system.js';
import { type PathSpec, renderPath } from '../../src/storage/layout.js';

export interface WritableFileSystem extends FileSystem {
  mkdirSync(path: string, options: { recursive: true }): unknown;
  writeFileSync(path: string, data: string | Uint8Array): void;
  utimesSync(path: string, atime: number | Date, mtime: number | Date): void;
}

export const MEDIA = {
  schema2: 'application/vnd.docker.distribution.manifest.v2+json',
  list: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  artifactType?: string;
}

export interface ImageDescriptor extends Descriptor {
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageSpec {
  /** layer contents; each becomes a blob (shared when equal). */
  layers: (string | Uint8Array)[];
  /** the config's content (defaults to a small JSON naming the layers). */
  config?: string;
  format?: 'docker' | 'oci';
  /** OCI 1.1 subject: makes this manifest a referrer. */
  subject?: Descriptor;
  artifactType?: string;
}

export function sha256(bytes: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

export class TreeBuilder {
  readonly fs: WritableFileSystem;
  readonly v2: string;

  constructor(fs: WritableFileSystem, v2: string) {
    this.fs = fs;
    this.v2 = v2;
    fs.mkdirSync(v2, { recursive: true });
  }

  pathOf(spec: PathSpec): string {
    return `${this.v2}/${renderPath(spec)}`;
  }

  write(spec: PathSpec, data: string | Uint8Array, mtimeMs?: number): void {
    const file = this.pathOf(spec);
    this.fs.mkdirSync(file.slice(0, file.lastIndexOf('/')), { recursive: true });
    this.fs.writeFileSync(file, data);
    if (mtimeMs !== undefined) this.fs.utimesSync(file, mtimeMs / 1000, mtimeMs / 1000);
  }

  /** Writes a blob under blobs/ and returns its digest. */
  putBlob(data: string | Uint8Array): Digest {
    const digest = sha256(data);
    this.write({ kind: 'blobData', digest }, data);
    return digest;
  }

  /** A blob pushed to a repository: the blob plus the repository's layer link. */
  pushBlob(repository: string, data: string | Uint8Array, mediaType: string): Descriptor {
    const digest = this.putBlob(data);
    this.write({ kind: 'layerLink', name: repository, digest }, digest);
    return { mediaType, digest, size: typeof data === 'string' ? Buffer.byteLength(data) : data.length };
  }

  /** A manifest pushed by digest: blob + revision link, no tag. */
  pushManifest(repository: string, manifest: object | string, mediaType: string, mtimeMs?: number): Descriptor {
    const text = typeof manifest === 'string' ? manifest : JSON.stringify(manifest, null, 3);
    const digest = this.putBlob(text);
    this.write({ kind: 'revisionLink', name: repository, digest }, digest, mtimeMs);
    return { mediaType, digest, size: Buffer.byteLength(text) };
  }

  /** Points a tag at a digest, as a push by tag does (current + index entry). */
  tag(repository: string, tag: string, digest: Digest, mtimeMs?: number): void {
    this.write({ kind: 'tagIndexLink', name: repository, tag, digest }, digest);
    this.write({ kind: 'tagCurrentLink', name: repository, tag }, digest, mtimeMs);
  }

  /** Pushes config + layers + a docker schema2 or OCI manifest (untagged). */
  pushImage(repository: string, spec: ImageSpec): ImageDescriptor {
    const oci = spec.format === 'oci';
    const layers = spec.layers.map((data) => this.pushBlob(repository, data, oci ? MEDIA.ociLayer : MEDIA.dockerLayer));
    const configText = spec.config ?? JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } });
    const config = this.pushBlob(repository, configText, oci ? MEDIA.ociConfig : MEDIA.dockerConfig);
    const mediaType = oci ? MEDIA.ociManifest : MEDIA.schema2;
    const manifest: Record<string, unknown> = { schemaVersion: 2, mediaType, config, layers };
    if (spec.artifactType) manifest.artifactType = spec.artifactType;
    if (spec.subject) manifest.subject = { mediaType: spec.subject.mediaType, digest: spec.subject.digest, size: spec.subject.size };
    return { ...this.pushManifest(repository, manifest, mediaType), config, layers };
  }

  /** Pushes a docker manifest list or OCI index over already-pushed children. */
  pushIndex(repository: string, children: Descriptor[], format: 'docker' | 'oci' = 'oci'): Descriptor {
    const mediaType = format === 'oci' ? MEDIA.ociIndex : MEDIA.list;
    const manifests = children.map(({ mediaType, digest, size, platform }) => ({ mediaType, digest, size, ...(platform ? { platform } : {}) }));
    return this.pushManifest(repository, { schemaVersion: 2, mediaType, manifests }, mediaType);
  }
}

/** A platform descriptor for an index entry. */
export function forPlatform(descriptor: Descriptor, architecture: string, os = 'linux'): Descriptor {
  return { ...descriptor, platform: { os, architecture } };
}
