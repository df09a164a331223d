// verify against the real registry: each link of a pushed image's closure is
// damaged in turn on a copy of the tree; the registry then serves the copy
// and every tag is pulled in full. verify must name exactly the tags that
// fail to pull, and no others. After a real gc -m, verify finds nothing.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pullFully, pushPristineTree, startRegistry } from '../support/registry.js';
import { type Pushed, pushScenario } from '../support/scenario.js';
import { copyTree, runJanitor, v2Of } from '../support/tree-files.js';
import { describeWithRegistry } from '../support/with-registry.js';

interface Manifest {
  config?: { digest: string };
  layers?: { digest: string }[];
  manifests?: { digest: string }[];
}

const hexOf = (digest: string): string => digest.slice('sha256:'.length);
const blobDir = (root: string, digest: string): string => path.join(v2Of(root), 'blobs/sha256', hexOf(digest).slice(0, 2), hexOf(digest));
const layerLink = (root: string, repo: string, digest: string): string => path.join(v2Of(root), 'repositories', repo, '_layers/sha256', hexOf(digest), 'link');
const revisionLink = (root: string, repo: string, digest: string): string =>
  path.join(v2Of(root), 'repositories', repo, '_manifests/revisions/sha256', hexOf(digest), 'link');
const manifestOf = (root: string, digest: string): Manifest => JSON.parse(fs.readFileSync(path.join(blobDir(root, digest), 'data'), 'utf8')) as Manifest;

describeWithRegistry('verify names exactly the tags the registry cannot serve', () => {
  let work: string;
  let pristine: string;
  let pushed: Pushed;

  beforeAll(async () => {
    ({ work, pristine, pushed } = await pushPristineTree('e2e-verify', pushScenario));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** The tags the real registry fails to pull in full from `root`. */
  async function failingPulls(root: string): Promise<string[]> {
    const registry = await startRegistry(root);
    const failing: string[] = [];
    try {
      for (const { repo, tag } of pushed.tags) {
        try {
          await pullFully(registry.url, repo, tag);
        } catch {
          failing.push(`${repo}:${tag}`);
        }
      }
    } finally {
      await registry.stop();
    }
    return failing.sort();
  }

  function verify(root: string, ...flags: string[]): { status: number | null; broken: string[]; kinds: string[] } {
    const run = runJanitor(['verify', '--root', root, '--json', ...flags]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const json = JSON.parse(run.stdout) as { repositories: { name: string; broken: string[] }[]; findings: { kind: string }[] };
    const broken = json.repositories.flatMap((r) => r.broken.map((t) => `${r.name}:${t}`)).sort();
    return { status: run.status, broken, kinds: [...new Set(json.findings.map((f) => f.kind))].sort() };
  }

  const tagDigest = (repo: string, tag: string): string => {
    const found = pushed.tags.find((t) => t.repo === repo && t.tag === tag);
    if (!found) throw new Error(`${repo}:${tag} was not pushed`);
    return found.digest;
  };

  it('finds nothing on the pushed tree, and every tag pulls', async () => {
    expect(await failingPulls(copyTree(pristine, path.join(work, 'clean')))).toEqual([]);
    const clean = verify(pristine);
    expect(clean).toEqual({ status: 0, broken: [], kinds: [] });
  });

  const damages: [string, (root: string) => void, string][] = [
    [
      'a shared layer blob',
      (root) => fs.rmSync(blobDir(root, manifestOf(root, tagDigest('library/alpine', '3.18')).layers?.[0]?.digest ?? ''), { recursive: true }),
      'missing-blob',
    ],
    [
      'a config blob',
      (root) => fs.rmSync(blobDir(root, manifestOf(root, tagDigest('library/alpine', '3.18')).config?.digest ?? ''), { recursive: true }),
      'missing-blob',
    ],
    [
      'a child manifest blob of a manifest list',
      (root) => fs.rmSync(blobDir(root, manifestOf(root, tagDigest('team/app/web', 'v1')).manifests?.[1]?.digest ?? ''), { recursive: true }),
      'missing-blob',
    ],
    [
      'a layer link of an index child',
      (root) => {
        const child = manifestOf(root, tagDigest('team/app', 'v2')).manifests?.[0]?.digest ?? '';
        fs.rmSync(layerLink(root, 'team/app', manifestOf(root, child).layers?.[1]?.digest ?? ''));
      },
      'missing-layer-link',
    ],
    [
      'the revision link of an inner index of an index of indexes',
      (root) => fs.rmSync(revisionLink(root, 'multi/nested', manifestOf(root, tagDigest('multi/nested', 'all')).manifests?.[1]?.digest ?? '')),
      'missing-revision',
    ],
    ['the revision link of a tagged manifest', (root) => fs.rmSync(revisionLink(root, 'team/app', tagDigest('team/app', 'single'))), 'missing-revision'],
    ["a tag's current link", (root) => fs.rmSync(path.join(v2Of(root), 'repositories/library/alpine/_manifests/tags/latest/current/link')), 'dangling-tag'],
  ];

  for (const [label, damage, kind] of damages) {
    it(`${label}: the tags verify names are the tags that fail to pull`, async () => {
      const root = copyTree(pristine, path.join(work, label.replace(/\W+/g, '-')));
      damage(root);
      const failing = await failingPulls(root);
      expect(failing.length, 'the damage breaks at least one pull').toBeGreaterThan(0);
      const found = verify(root);
      expect(found.broken).toEqual(failing);
      expect(found.status).toBe(1);
      expect(found.kinds).toContain(kind);
    });
  }

  it('one byte of a shared layer flipped: verify --content names exactly the tags whose pull fails its digest check', async () => {
    const root = copyTree(pristine, path.join(work, 'flipped'));
    const layer = manifestOf(root, tagDigest('library/alpine', '3.18')).layers?.[0]?.digest ?? '';
    const data = path.join(blobDir(root, layer), 'data');
    const bytes = fs.readFileSync(data);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x01;
    fs.writeFileSync(data, bytes);
    const failing = await failingPulls(root);
    expect(failing.length).toBeGreaterThan(1); // shared-base: every repository uses it
    // Without --content the structure is whole; with it, the damage is found and attributed.
    expect(verify(root)).toEqual({ status: 0, broken: [], kinds: [] });
    const found = verify(root, '--content', '-j', '2');
    expect(found).toEqual({ status: 1, broken: failing, kinds: ['digest-mismatch'] });
  });

  it('a stray dangling layer link breaks no tag: listed, exit 0', () => {
    const root = copyTree(pristine, path.join(work, 'dangling'));
    fs.rmSync(blobDir(root, pushed.orphanBlob), { recursive: true });
    const run = runJanitor(['verify', '--root', root, '--json']);
    expect(run.status).toBe(0);
    const json = JSON.parse(run.stdout) as { notices: { kind: string; digest: string }[]; tagsBroken: number };
    expect(json.tagsBroken).toBe(0);
    expect(json.notices).toContainEqual(expect.objectContaining({ kind: 'dangling-layer-link', digest: pushed.orphanBlob }));
  });

  it('after a real gc -m, verify exits 0 and every tag pulls', async () => {
    const root = copyTree(pristine, path.join(work, 'after-gc'));
    expect(runJanitor(['gc', '--root', root, '-m', '--json']).status).toBe(0);
    expect(verify(root)).toEqual({ status: 0, broken: [], kinds: [] });
    expect(await failingPulls(root)).toEqual([]);
  });

  it('writes nothing: the tree is byte-identical after verify', () => {
    const before = listing(pristine);
    runJanitor(['verify', '--root', pristine]);
    expect(listing(pristine)).toEqual(before);
  });
});

function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort().map((entry) => {
    const stat = fs.lstatSync(path.join(dir, entry));
    return `${entry} ${stat.size} ${stat.mtimeMs}`;
  });
}
