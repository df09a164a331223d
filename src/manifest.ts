// Manifest kinds and what each references, as the mark phase needs them.
//
// | kind        | recognised by                                   | blobs           | children            |
// | schema1     | schemaVersion 1                                 | fsLayers.blobSum| -                   |
// | schema2     | docker ...manifest.v2+json                      | config + layers | -                   |
// | list        | docker ...manifest.list.v2+json                 | -               | manifests[].digest  |
// | oci-manifest| oci ...image.manifest.v1+json / no type, no `manifests` | config + layers | -        |
// | oci-index   | oci ...image.index.v1+json / no type, `manifests` array | -               | manifests[].digest |
//
// `blobs` + `children` are exactly what Distribution 2.8.2's References()
// marks. `subject` (OCI 1.1 referrers) is kept apart: the reference ignores
// it, and -m uses it to keep signatures and SBOMs of kept manifests.

import { type Digest, parseDigest } from './digest.js';
import { JanitorError } from './errors.js';

export type ManifestKind = 'schema1' | 'schema2' | 'list' | 'oci-manifest' | 'oci-index';

export const MEDIA_TYPES: Readonly<Record<string, ManifestKind>> = {
  'application/vnd.docker.distribution.manifest.v1+json': 'schema1',
  'application/vnd.docker.distribution.manifest.v1+prettyjws': 'schema1',
  'application/vnd.docker.distribution.manifest.v2+json': 'schema2',
  'application/vnd.docker.distribution.manifest.list.v2+json': 'list',
  'application/vnd.oci.image.manifest.v1+json': 'oci-manifest',
  'application/vnd.oci.image.index.v1+json': 'oci-index',
};

export interface Platform {
  os?: string;
  architecture?: string;
  variant?: string;
}

export interface ManifestRefs {
  kind: ManifestKind;
  mediaType: string;
  /** config, layers (schema2/OCI) or fsLayers (schema1): plain blobs. */
  blobs: Digest[];
  /** child manifests of a list / index. */
  children: Digest[];
  /** platforms of the children, same order (for the inventory). */
  platforms: (Platform | undefined)[];
  /** OCI 1.1 subject: this manifest is a referrer of that one. */
  subject: Digest | undefined;
}

function fail(path: string, why: string): never {
  throw new JanitorError('E_BAD_MANIFEST', `unparsable manifest ${path}: ${why}`, { path });
}

function descriptorDigest(value: unknown, path: string, where: string): Digest {
  const raw = typeof value === 'object' && value !== null ? (value as { digest?: unknown }).digest : undefined;
  const digest = typeof raw === 'string' ? parseDigest(raw) : undefined;
  if (!digest) fail(path, `${where} has no valid digest`);
  return digest;
}

function descriptorList(value: unknown, path: string, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(path, `${where} is not an array`);
  return value;
}

function kindOf(doc: Record<string, unknown>, path: string): { kind: ManifestKind; mediaType: string } {
  const schemaVersion = doc.schemaVersion;
  if (schemaVersion === 1) return { kind: 'schema1', mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' };
  if (schemaVersion !== 2) fail(path, `schemaVersion ${JSON.stringify(schemaVersion)} is neither 1 nor 2`);
  const mediaType = doc.mediaType;
  if (mediaType === undefined || mediaType === '') {
    if (Array.isArray(doc.manifests)) return { kind: 'oci-index', mediaType: 'application/vnd.oci.image.index.v1+json' };
    if (doc.config !== undefined) return { kind: 'oci-manifest', mediaType: 'application/vnd.oci.image.manifest.v1+json' };
    fail(path, 'no mediaType and neither a config nor a manifests array');
  }
  if (typeof mediaType !== 'string') fail(path, 'mediaType is not a string');
  const kind = MEDIA_TYPES[mediaType];
  if (!kind || kind === 'schema1') {
    throw new JanitorError('E_UNKNOWN_MEDIA_TYPE', `unknown manifest media type ${JSON.stringify(mediaType)} in ${path}`, {
      path,
    });
  }
  return { kind, mediaType };
}

/** Parses manifest bytes; `path` names the blob file in errors. */
export function parseManifest(bytes: Uint8Array, path: string): ManifestRefs {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    throw new JanitorError('E_BAD_MANIFEST', `unparsable manifest ${path}: not valid JSON`, { path, cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail(path, 'not a JSON object');
  const record = doc as Record<string, unknown>;
  const { kind, mediaType } = kindOf(record, path);
  const refs: ManifestRefs = { kind, mediaType, blobs: [], children: [], platforms: [], subject: undefined };

  if (kind === 'schema1') {
    for (const layer of descriptorList(record.fsLayers, path, 'fsLayers')) {
      const sum = typeof layer === 'object' && layer !== null ? (layer as { blobSum?: unknown }).blobSum : undefined;
      const digest = typeof sum === 'string' ? parseDigest(sum) : undefined;
      if (!digest) fail(path, 'fsLayers entry has no valid blobSum');
      refs.blobs.push(digest);
    }
    return refs;
  }
  if (kind === 'list' || kind === 'oci-index') {
    for (const child of descriptorList(record.manifests, path, 'manifests')) {
      refs.children.push(descriptorDigest(child, path, 'manifests entry'));
      const platform = (child as { platform?: unknown }).platform;
      refs.platforms.push(typeof platform === 'object' && platform !== null ? (platform as Platform) : undefined);
    }
  } else {
    if (record.config === undefined) fail(path, 'no config descriptor');
    refs.blobs.push(descriptorDigest(record.config, path, 'config'));
    for (const layer of descriptorList(record.layers, path, 'layers')) {
      refs.blobs.push(descriptorDigest(layer, path, 'layers entry'));
    }
  }
  if (record.subject !== undefined && record.subject !== null) {
    refs.subject = descriptorDigest(record.subject, path, 'subject');
  }
  return refs;
}
