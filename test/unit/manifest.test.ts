import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest.js';

const d = (n: number): string => 'sha256:' + n.toString(16).padStart(64, '0');
const parse = (doc: unknown) => parseManifest(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)), '/m/data');

describe('manifest kinds', () => {
  it('schema1 references its fsLayers', () => {
    const m = parse({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [{ blobSum: d(1) }, { blobSum: d(1) }, { blobSum: d(2) }] });
    expect(m.kind).toBe('schema1');
    expect(m.blobs).toEqual([d(1), d(1), d(2)]);
  });

  it('docker schema2 references config and layers, foreign layers included', () => {
    const m = parse({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: { digest: d(1) }, layers: [{ digest: d(2), urls: ['https://x'] }] });
    expect(m).toMatchObject({ kind: 'schema2', blobs: [d(1), d(2)], children: [] });
  });

  it('an OCI manifest without mediaType is recognised by its shape, with its subject', () => {
    const m = parse({ schemaVersion: 2, config: { digest: d(1) }, layers: [], subject: { digest: d(9) } });
    expect(m).toMatchObject({ kind: 'oci-manifest', blobs: [d(1)], subject: d(9) });
  });

  it('an OCI index without mediaType is recognised by its manifests array', () => {
    const m = parse({ schemaVersion: 2, manifests: [{ digest: d(3), platform: { architecture: 'arm64', os: 'linux' } }] });
    expect(m).toMatchObject({ kind: 'oci-index', children: [d(3)], platforms: [{ architecture: 'arm64', os: 'linux' }] });
  });

  it('a docker manifest list references its children', () => {
    const m = parse({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [{ digest: d(4) }, { digest: d(5) }] });
    expect(m).toMatchObject({ kind: 'list', children: [d(4), d(5)], blobs: [] });
  });

  it('refuses what it cannot account for', () => {
    expect(() => parse('{')).toThrow(/not valid JSON/);
    expect(() => parse([])).toThrow(/not a JSON object/);
    expect(() => parse({ schemaVersion: 3 })).toThrow(/schemaVersion 3/);
    expect(() => parse({ schemaVersion: 2, mediaType: 'application/vnd.oci.artifact.manifest.v1+json', blobs: [] })).toThrow(/unknown manifest media type/);
    expect(() => parse({ schemaVersion: 2 })).toThrow(/neither a config nor a manifests array/);
    expect(() => parse({ schemaVersion: 2, config: { digest: 'sha256:short' } })).toThrow(/config has no valid digest/);
    expect(() => parse({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: {} })).toThrow(/manifests is not an array/);
  });
});
