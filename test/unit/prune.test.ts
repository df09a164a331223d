// prune: tag removal and sweep in one run, on memfs.
import { describe, expect, it } from 'vitest';
import { forPlatform, type WritableFileSystem } from '../support/tree-builder.js';
import { runCliOn } from '../support/run-cli.js';
import { ROOT, memTree } from '../support/memfs-tree.js';

const NOW = Date.UTC(2026, 10, 23);

function world() {
  const mem = memTree();
  const t = mem.tree;
  // app: v1 = an index over two children (by digest), with a signature of
  // v2; v2 shares the base layer; `old` was untagged before anything ran.
  const amd = t.pushImage('app', { layers: ['base', 'amd-1'], format: 'oci' });
  const arm = t.pushImage('app', { layers: ['base', 'arm-1'], format: 'oci' });
  const v1 = t.pushIndex('app', [forPlatform(amd, 'amd64'), forPlatform(arm, 'arm64')]);
  t.tag('app', 'v1', v1.digest, NOW - 3e9);
  const v2 = t.pushImage('app', { layers: ['base', 'two'], format: 'oci' });
  t.tag('app', 'v2', v2.digest, NOW - 2e9);
  t.tag('app', 'also-v2', v2.digest, NOW - 1e9);
  const sig = t.pushImage('app', { layers: ['sig-of-v2'], format: 'oci', subject: v2 });
  const old = t.pushImage('app', { layers: ['old-layer'] });
  return { mem, amd, arm, v1, v2, sig, old };
}

const cli = (fs: WritableFileSystem, args: string[]) => runCliOn(fs, args, { now: NOW });

const revisions = (mem: ReturnType<typeof memTree>): string[] =>
  mem.fs
    .readdirSync(mem.tree.pathOf({ kind: 'revisionsAlgorithm', name: 'app', algorithm: 'sha256' }), { withFileTypes: true })
    .map((e) => `sha256:${e.name}`)
    .sort();

describe('prune', () => {
  it('deletes the manifests that lost their last tag, index children included, and leaves earlier untagged ones', async () => {
    const { mem, amd, arm, v1, v2, sig, old } = world();
    const run = await cli(mem.fs, ['prune', '--root', ROOT, 'app:v1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.tagsRemoved.map((t: { tag: string }) => t.tag)).toEqual(['v1']);
    expect(revisions(mem)).toEqual([v2.digest, sig.digest, old.digest].sort());
    expect(run.json.manifestsDeleted.map((m: { digest: string }) => m.digest).sort()).toEqual([amd.digest, arm.digest, v1.digest].sort());
    const blobs = new Set(
      mem
        .files()
        .filter((f) => f.includes('/blobs/'))
        .map((f) => `sha256:${f.split('/').at(-2)}`),
    );
    for (const gone of [amd.layers[1]!.digest, arm.layers[1]!.digest, amd.digest, v1.digest]) expect(blobs.has(gone)).toBe(false);
    expect(blobs.has(amd.layers[0]!.digest)).toBe(true); // the base layer v2 still uses
  });

  it('an index untagged before the run keeps the child it shares with an index whose tag is removed', async () => {
    const { mem, amd, arm, v1 } = world();
    const untaggedIndex = mem.tree.pushIndex('app', [forPlatform(amd, 'amd64')]);
    const run = await cli(mem.fs, ['prune', '--root', ROOT, 'app:v1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.manifestsDeleted.map((m: { digest: string }) => m.digest).sort()).toEqual([arm.digest, v1.digest].sort());
    expect(revisions(mem)).toContain(amd.digest);
    expect(revisions(mem)).toContain(untaggedIndex.digest);
    expect(mem.files()).toContain(`docker/registry/v2/blobs/sha256/${amd.layers[1]!.digest.slice(7, 9)}/${amd.layers[1]!.digest.slice(7)}/data`);
  });

  it('with -m also deletes what was untagged before, but never a referrer of a kept manifest', async () => {
    const { mem, v2, sig } = world();
    const run = await cli(mem.fs, ['prune', '-m', '--root', ROOT, 'app:v1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(revisions(mem)).toEqual([v2.digest, sig.digest].sort());
  });

  it('removing one of two tags on a digest keeps the manifest for the sibling', async () => {
    const { mem, v2 } = world();
    const run = await cli(mem.fs, ['prune', '-m', '--root', ROOT, 'app:v2', '--json']);
    expect(run.json.manifestsDeleted.map((m: { digest: string }) => m.digest)).not.toContain(v2.digest);
    expect(revisions(mem)).toContain(v2.digest);
    expect(mem.files().some((f) => f.endsWith('_manifests/tags/also-v2/current/link'))).toBe(true);
    expect(mem.files().some((f) => f.includes('_manifests/tags/v2/'))).toBe(false);
  });

  it('a dry run lists exactly what the real run removes, and changes nothing', async () => {
    const dry = world();
    const real = world();
    const before = dry.mem.files();
    const a = await cli(dry.mem.fs, ['prune', '-d', '--root', ROOT, '--tag', '^v', '--keep-tag', '^v2$', '--json']);
    expect(dry.mem.files()).toEqual(before);
    const b = await cli(real.mem.fs, ['prune', '--root', ROOT, '--tag', '^v', '--keep-tag', '^v2$', '--json']);
    for (const key of ['tagsRemoved', 'tagsKept', 'blobsDeleted', 'manifestsDeleted', 'layerLinksDeleted', 'bytesFreed'])
      expect(a.json[key], key).toEqual(b.json[key]);
    expect(a.json.bytesFreed).toBeGreaterThan(0);
    expect(real.mem.files().length).toBeLessThan(before.length);
  });

  it('human output names every removed tag and kept candidate with its reason', async () => {
    const { mem } = world();
    const run = await cli(mem.fs, ['prune', '-d', '--root', ROOT, '--tag', '.*', '--keep-tag', '^also']);
    expect(run.stdout).toMatch(/- v1\s+flags: matches \.\*/);
    expect(run.stdout).toMatch(/= also-v2\s+flags: kept by keep-tag \^also/);
    expect(run.stdout).toMatch(/2 tags would be removed/);
  });
});

describe('ls', () => {
  it('reports each tag with size, platforms and what removing it alone frees', async () => {
    const { mem, v1, v2, old } = world();
    const run = await cli(mem.fs, ['ls', '--root', ROOT, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const app = run.json.repositories[0];
    const byTag = Object.fromEntries(app.tags.map((t: { tag: string }) => [t.tag, t]));
    expect(byTag.v1).toMatchObject({ digest: v1.digest, mediaType: 'application/vnd.oci.image.index.v1+json', platforms: ['linux/amd64', 'linux/arm64'] });
    // v1 alone frees its index, both children, their configs and own layers, but not the shared base
    const size = (s: string) => Buffer.byteLength(s);
    expect(byTag.v1.frees).toBeGreaterThan(0);
    expect(byTag.v1.frees).toBeLessThan(byTag.v1.size);
    expect(byTag.v1.size - byTag.v1.frees).toBe(size('base'));
    // v2 has a sibling tag: removing v2 alone frees nothing
    expect(byTag.v2.frees).toBe(0);
    expect(byTag['also-v2'].digest).toBe(v2.digest);
    expect(app.untagged.map((u: { digest: string }) => u.digest)).toEqual([old.digest]);
  });

  it('sorts by size and filters by glob; a glob that matches nothing is an error', async () => {
    const { mem } = world();
    const bySize = await cli(mem.fs, ['ls', '--root', ROOT, '--sort', 'size', '--json']);
    const sizes = bySize.json.repositories[0].tags.map((t: { size: number }) => t.size);
    expect([...sizes].sort((a: number, b: number) => b - a)).toEqual(sizes);
    const none = await cli(mem.fs, ['ls', '--root', ROOT, 'nothing/*']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no repository matches nothing\/\*/);
    expect((await cli(mem.fs, ['ls', '--root', ROOT, '--sort', 'weight'])).code).toBe(2);
  });
});
