import { describe, expect, it } from 'vitest';
import { type Digest, parseDigest } from '../../src/digest.js';
import { type PathSpec, isRepositoryName, isTagName, parsePath, renderPath } from '../../src/layout.js';

const D = ('sha256:' + 'a1'.repeat(32)) as Digest;

describe('layout', () => {
  const specs: PathSpec[] = [
    { kind: 'blobData', digest: D },
    { kind: 'blobDir', digest: D },
    { kind: 'layerLink', name: 'team/app/web', digest: D },
    { kind: 'revisionLink', name: 'a', digest: D },
    { kind: 'revisionDir', name: 'a/b', digest: D },
    { kind: 'tagCurrentLink', name: 'a', tag: 'v1.2.3' },
    { kind: 'tagCurrentLink', name: 'a', tag: 'index' },
    { kind: 'tagIndexLink', name: 'a', tag: 'current', digest: D },
    { kind: 'tagDir', name: 'x/y', tag: 'latest' },
  ];
  for (const spec of specs) {
    it(`renders and parses back ${spec.kind} ${'tag' in spec ? spec.tag : ''}`, () => {
      expect(parsePath(renderPath(spec))).toEqual(spec);
    });
  }

  it('draws blobs with the two-character fan-out and nothing else with it', () => {
    expect(renderPath({ kind: 'blobData', digest: D })).toBe(`blobs/sha256/a1/${'a1'.repeat(32)}/data`);
    expect(renderPath({ kind: 'layerLink', name: 'r', digest: D })).toBe(`repositories/r/_layers/sha256/${'a1'.repeat(32)}/link`);
  });

  it('rejects paths the layout does not allow', () => {
    expect(parsePath(`blobs/sha256/ff/${'a1'.repeat(32)}/data`)).toBeUndefined();
    expect(parsePath('repositories/Upper/_layers')).toBeUndefined();
    expect(parsePath('repositories/a/_manifests/tags/.x/current/link')).toBeUndefined();
    expect(parsePath('elsewhere')).toBeUndefined();
  });

  it('validates names, tags and digests by the reference grammar', () => {
    expect(isRepositoryName('team/app-web/x_y.z')).toBe(true);
    expect(isRepositoryName('Team')).toBe(false);
    expect(isRepositoryName('a//b')).toBe(false);
    expect(isRepositoryName('a'.repeat(256))).toBe(false);
    expect(isTagName('v1.0_rc-1')).toBe(true);
    expect(isTagName('-x')).toBe(false);
    expect(isTagName('a'.repeat(129))).toBe(false);
    expect(parseDigest(D)).toBe(D);
    expect(parseDigest(D + '\n')).toBeUndefined();
    expect(parseDigest('sha256:' + 'A1'.repeat(32))).toBeUndefined();
    expect(parseDigest('md5:' + 'a1'.repeat(16))).toBeUndefined();
  });
});
