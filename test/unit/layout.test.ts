import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { assertInsideRoot } from '../../src/storage/tree-reader.js';
import { type Digest, parseDigest } from '../../src/model/digest.js';
import { type PathSpec, parsePath, renderPath } from '../../src/storage/layout.js';
import { isRepositoryName, isTagName } from '../../src/storage/repository-names.js';

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

  // Every kind, so that adding a kind without its parser fails to compile here.
  const N = 'Example.COM/team/app';
  const U = 'eb7f3189-71a4-42a4-96da-56b7c16afbd3';
  const everyKind: { [K in PathSpec['kind']]: Extract<PathSpec, { kind: K }> } = {
    janitorDir: { kind: 'janitorDir' },
    journal: { kind: 'journal' },
    lock: { kind: 'lock' },
    quarantineRoot: { kind: 'quarantineRoot' },
    quarantineAlgorithm: { kind: 'quarantineAlgorithm', algorithm: 'sha512' },
    quarantineShard: { kind: 'quarantineShard', algorithm: 'sha256', shard: 'ab' },
    quarantineBlobDir: { kind: 'quarantineBlobDir', digest: D },
    quarantineRevisionsRoot: { kind: 'quarantineRevisionsRoot' },
    quarantineRevisionsRepository: { kind: 'quarantineRevisionsRepository', name: N },
    quarantineRevisionsAlgorithm: { kind: 'quarantineRevisionsAlgorithm', name: N, algorithm: 'sha256' },
    quarantineRevisionDir: { kind: 'quarantineRevisionDir', name: N, digest: D },
    blobsRoot: { kind: 'blobsRoot' },
    blobAlgorithm: { kind: 'blobAlgorithm', algorithm: 'sha384' },
    blobShard: { kind: 'blobShard', algorithm: 'sha256', prefix: '0f' },
    blobDir: { kind: 'blobDir', digest: D },
    blobData: { kind: 'blobData', digest: D },
    repositoriesRoot: { kind: 'repositoriesRoot' },
    repositoryDir: { kind: 'repositoryDir', name: N },
    layersRoot: { kind: 'layersRoot', name: N },
    layersAlgorithm: { kind: 'layersAlgorithm', name: N, algorithm: 'sha256' },
    layerDir: { kind: 'layerDir', name: N, digest: D },
    layerLink: { kind: 'layerLink', name: N, digest: D },
    uploadsRoot: { kind: 'uploadsRoot', name: N },
    uploadDir: { kind: 'uploadDir', name: N, id: U },
    uploadStartedAt: { kind: 'uploadStartedAt', name: N, id: U },
    uploadData: { kind: 'uploadData', name: N, id: U },
    uploadHashStatesRoot: { kind: 'uploadHashStatesRoot', name: N, id: U },
    uploadHashStatesAlgorithm: { kind: 'uploadHashStatesAlgorithm', name: N, id: U, algorithm: 'sha256' },
    uploadHashState: { kind: 'uploadHashState', name: N, id: U, algorithm: 'sha256', offset: '1048576' },
    manifestsRoot: { kind: 'manifestsRoot', name: N },
    revisionsRoot: { kind: 'revisionsRoot', name: N },
    revisionsAlgorithm: { kind: 'revisionsAlgorithm', name: N, algorithm: 'sha256' },
    revisionDir: { kind: 'revisionDir', name: N, digest: D },
    revisionLink: { kind: 'revisionLink', name: N, digest: D },
    tagsRoot: { kind: 'tagsRoot', name: N },
    tagDir: { kind: 'tagDir', name: N, tag: 'v1' },
    tagCurrentDir: { kind: 'tagCurrentDir', name: N, tag: 'current' },
    tagCurrentLink: { kind: 'tagCurrentLink', name: N, tag: '_x' },
    tagIndexRoot: { kind: 'tagIndexRoot', name: N, tag: 'index' },
    tagIndexAlgorithm: { kind: 'tagIndexAlgorithm', name: N, tag: 'v1', algorithm: 'sha256' },
    tagIndexDir: { kind: 'tagIndexDir', name: N, tag: 'v1', digest: D },
    tagIndexLink: { kind: 'tagIndexLink', name: N, tag: 'v1', digest: D },
  };
  it('parses back every kind it renders, and no two kinds render alike', () => {
    const rendered = new Set<string>();
    for (const spec of Object.values(everyKind)) {
      const path = renderPath(spec);
      expect(parsePath(path), path).toEqual(spec);
      expect(rendered.has(path), path).toBe(false);
      rendered.add(path);
    }
  });

  it('draws blobs with the two-character fan-out and nothing else with it', () => {
    expect(renderPath({ kind: 'blobData', digest: D })).toBe(`blobs/sha256/a1/${'a1'.repeat(32)}/data`);
    expect(renderPath({ kind: 'layerLink', name: 'r', digest: D })).toBe(`repositories/r/_layers/sha256/${'a1'.repeat(32)}/link`);
  });

  it('draws an upload as 2.8.2 writes it, and parses nothing else under _uploads', () => {
    const U = 'eb7f3189-71a4-42a4-96da-56b7c16afbd3';
    expect(renderPath({ kind: 'uploadHashState', name: 'a/b', id: U, algorithm: 'sha256', offset: '22' })).toBe(
      `repositories/a/b/_uploads/${U}/hashstates/sha256/22`,
    );
    expect(renderPath({ kind: 'uploadStartedAt', name: 'a', id: U })).toBe(`repositories/a/_uploads/${U}/startedat`);
    for (const path of [
      `repositories/a/_uploads/${U.toUpperCase()}`,
      'repositories/a/_uploads/not-a-uuid',
      `repositories/a/_uploads/${U}/notes`,
      `repositories/a/_uploads/${U}/hashstates/md5/0`,
      `repositories/a/_uploads/${U}/hashstates/sha256/-1`,
      `repositories/a/_uploads/${U}/hashstates/sha256/01`,
      `repositories/a/_uploads/${U}/hashstates/sha256/0x10`,
      `repositories/a/_uploads/${U}/data/x`,
    ]) {
      expect(parsePath(path), path).toBeUndefined();
    }
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
    expect(isTagName('v1/x')).toBe(false);
    expect(isTagName('-x')).toBe(false);
    expect(isTagName('a'.repeat(129))).toBe(false);
    expect(parseDigest(D)).toBe(D);
    expect(parseDigest(D + '\n')).toBeUndefined();
    expect(parseDigest('sha256:' + 'A1'.repeat(32))).toBeUndefined();
    expect(parseDigest('md5:' + 'a1'.repeat(16))).toBeUndefined();
  });

  // What Debian's 2.8.2 accepts (test/hostile/names-accepted.test.ts pushes
  // each): a domain-like first component in any case, when more follow.
  it('accepts a domain-like first component in either case, as 2.8.2 does', () => {
    for (const name of ['Foo/bar', 'Example.COM/team/app', 'A/b/c', 'Ab-c.D/e', 'A1-2/b', '1.2.3.4/b', 'xn--Bq/b', 'x_y/z']) {
      expect(isRepositoryName(name), name).toBe(true);
    }
    const long = `A/${'b'.repeat(253)}`;
    expect(isRepositoryName(long)).toBe(true);
    expect(isRepositoryName(`${long}b`)).toBe(false);
    expect(parsePath('repositories/Foo/bar/_layers')).toEqual({ kind: 'layersRoot', name: 'Foo/bar' });
    expect(parsePath('repositories/Example.COM/team/app/_manifests/tags/v1/current/link')).toEqual({
      kind: 'tagCurrentLink',
      name: 'Example.COM/team/app',
      tag: 'v1',
    });
  });

  it('refuses what 2.8.2 refuses, and every unsafe path component', () => {
    for (const name of [
      'Foo', // a domain needs a path after it
      'foo/Bar', // only the first component may hold capitals
      'X_y/z', // '_' is not in the domain grammar
      'a-/b',
      '-a/b',
      'a./b',
      'a..b/c',
      'Foo/bar/Baz',
      'localhost:5000/x', // 2.8.2's filesystem driver refuses ':' in any path
      '127.0.0.1:5000/q',
      '../x',
      './x',
      'x/..',
      'x/.',
      '..',
      '.',
      '/x',
      'x/',
      'a\\b/c',
      'a\u0000/b',
      'a/b\u0000',
      'Foo/b ar',
      '',
    ]) {
      expect(isRepositoryName(name), JSON.stringify(name)).toBe(false);
    }
    expect(parsePath('repositories/Foo/_layers')).toBeUndefined();
    expect(parsePath('repositories/../_layers')).toBeUndefined();
  });
});

describe('assertInsideRoot', () => {
  const root = '/srv/registry/docker/registry/v2';
  const accepts = (absolute: string): boolean => {
    try {
      assertInsideRoot(root, absolute);
      return true;
    } catch {
      return false;
    }
  };

  it('accepts exactly the normalised paths strictly below the root (every path of up to 4 hostile components)', () => {
    const components = ['a', '.', '..', '', '...', '.a', 'a.', '..a', '_layers'];
    let checked = 0;
    const visit = (prefix: string, depth: number): void => {
      if (depth === 0) return;
      for (const component of components) {
        const candidate = `${prefix}/${component}`;
        const expected = path.posix.normalize(candidate) === candidate && candidate.startsWith(`${root}/`) && !candidate.endsWith('/');
        expect(accepts(candidate), candidate).toBe(expected);
        checked++;
        visit(candidate, depth - 1);
      }
    };
    visit(root, 4);
    visit('/srv/registry/docker/registry', 2);
    visit(`${root}2`, 2);
    expect(checked).toBeGreaterThan(7000);
    expect(accepts(root)).toBe(false);
    expect(accepts(`${root}/`)).toBe(false);
  });
});
