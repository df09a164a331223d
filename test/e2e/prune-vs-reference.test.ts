// prune against Distribution 2.8.2: the seeds' scenario (tags T12, T22 and
// T52 removed from five images) plus multi-arch images and a referrer,
// pushed through the real registry; our prune compared with deleting the
// same tag directories by hand and running the reference garbage-collect -m.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { manifestStatus, pullFully, pushPristineTree, runReferenceGc, startRegistry } from '../support/registry.js';
import { type Desc, type Pushed, pushImage, pushScenario } from '../support/scenario.js';
import { blobsOn, copyTree, danglingLayerLinks, runJanitor, v2Of } from '../support/tree-files.js';
import { describeWithRegistry } from '../support/with-registry.js';

const DAY = 86_400_000;
const SEEDS: Record<string, string[]> = {
  'seeds/i1': ['T11', 'T12', 'T13'],
  'seeds/i2': ['T21', 'T22', 'T23', 'T24'],
  'seeds/i3': ['T31', 'T32'],
  'seeds/i4': ['T41', 'T42', 'T43', 'vT44'],
  'seeds/i5': ['T51', 'T52'],
};
const REMOVE = ['seeds/i1:T12', 'seeds/i2:T22', 'seeds/i5:T52', 'library/alpine:3.19', 'team/app/web:v1'];

describeWithRegistry('prune compared with hand-deleted tags + registry garbage-collect -m', () => {
  let work: string;
  let pristine: string;
  let pushed: Pushed;
  const seedTags: { repo: string; tag: string; digest: string }[] = [];

  beforeAll(async () => {
    ({ work, pristine, pushed } = await pushPristineTree('e2e-prune', async (url) => {
      const scenario = await pushScenario(url);
      for (const [repo, tags] of Object.entries(SEEDS)) {
        let previous: Desc | undefined;
        for (const tag of tags) {
          // T13 is a sibling of T12: the same manifest under two tags.
          const d: Desc =
            tag === 'T13' && previous
              ? await pushManifestAgain(url, repo, tag, previous)
              : await pushImage(url, repo, { format: 'docker', layers: ['shared-base', `${repo}-${tag}`], tag });
          seedTags.push({ repo, tag, digest: d.digest });
          previous = d;
        }
      }
      return scenario;
    }));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const allTags = () => [...pushed.tags, ...seedTags];
  const copy = (label: string): string => copyTree(pristine, path.join(work, label));

  it('removes exactly the named tags, keeps every other tag pullable, and answers 404 for the removed ones', async () => {
    const root = copy('ours');
    const before = blobsOn(root);
    const run = runJanitor(['prune', '-m', '--root', root, ...REMOVE, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.json.tagsRemoved.map((t: { repository: string; tag: string }) => `${t.repository}:${t.tag}`).sort()).toEqual([...REMOVE].sort());
    expect(run.json.bytesFreed).toBeGreaterThan(0);
    expect(blobsOn(root).size).toBeLessThan(before.size);
    expect(danglingLayerLinks(root, [...Object.keys(SEEDS), 'library/alpine', 'team/app', 'team/app/web', 'multi/nested'])).toEqual([]);
    const registry = await startRegistry(root);
    try {
      for (const { repo, tag, digest } of allTags()) {
        if (REMOVE.includes(`${repo}:${tag}`)) {
          expect(await manifestStatus(registry.url, repo, tag), `${repo}:${tag}`).toBe(404);
        } else {
          expect((await pullFully(registry.url, repo, tag))[0], `${repo}:${tag}`).toBe(digest);
        }
      }
    } finally {
      await registry.stop();
    }
  });

  it('deletes what the reference -m deletes after the same tags are removed by hand, minus what its multi-arch bug loses', () => {
    const ours = copy('ours-cmp');
    const ref = copy('ref-cmp');
    for (const spec of REMOVE) {
      const [repo, tag] = [spec.slice(0, spec.lastIndexOf(':')), spec.slice(spec.lastIndexOf(':') + 1)];
      fs.rmSync(path.join(v2Of(ref), 'repositories', repo, '_manifests/tags', tag), { recursive: true });
    }
    runReferenceGc(ref, ['-m']);
    expect(runJanitor(['prune', '-m', '--root', ours, ...REMOVE]).status).toBe(0);
    const pristineBlobs = blobsOn(pristine);
    const deletedBy = (root: string) => new Set([...pristineBlobs].filter((d) => !blobsOn(root).has(d)));
    const oursDeleted = deletedBy(ours);
    const refDeleted = deletedBy(ref);
    for (const d of oursDeleted) expect(refDeleted.has(d), `${d} deleted by us, kept by the reference`).toBe(true);
    // What the reference deletes and we keep: only blobs a kept multi-arch
    // tag or a kept referrer needs (the reference's issue 3178).
    const protectedByUs = new Set<string>();
    const collect = (root: string, repo: string, digest: string): void => {
      const data = path.join(v2Of(root), 'blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');
      protectedByUs.add(digest);
      const doc = JSON.parse(fs.readFileSync(data, 'utf8'));
      for (const child of doc.manifests ?? []) collect(root, repo, child.digest);
      for (const blob of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) protectedByUs.add(blob.digest);
    };
    for (const t of pushed.multiArchTags) if (!REMOVE.includes(`${t.repo}:${t.tag}`)) collect(pristine, t.repo, t.digest);
    collect(pristine, pushed.referrer.repo, pushed.referrer.digest);
    const difference = [...refDeleted].filter((d) => !oursDeleted.has(d));
    expect(difference.length).toBeGreaterThan(0);
    for (const d of difference) expect(protectedByUs.has(d), `${d} kept by us but needed by no kept multi-arch tag or referrer`).toBe(true);
  });

  it('selects by push time (link mtimes) and keeps the latest: older than 30d except the newest of each repository', async () => {
    const root = copy('by-age');
    const now = Date.now();
    const ages: Record<string, number> = { T41: 100, T42: 60, T43: 10, vT44: 45, T31: 90, T32: 70 };
    for (const [repo, tags] of Object.entries(SEEDS)) {
      for (const tag of tags) {
        const link = path.join(v2Of(root), 'repositories', repo, '_manifests/tags', tag, 'current/link');
        const when = new Date(now - (ages[tag] ?? 1) * DAY);
        fs.utimesSync(link, when, when);
      }
    }
    const dry = runJanitor(['prune', '-d', '--root', root, '--repo', 'seeds/*', '--older-than', '30d', '--keep-latest', '1', '--keep-tag', '^v', '--json']);
    expect(dry.status, dry.stderr).toBe(0);
    const selected = dry.json.tagsRemoved.map((t: { repository: string; tag: string }) => `${t.repository}:${t.tag}`).sort();
    // i3: T32 (70d) is its newest, kept; T31 goes. i4: T43 newest; vT44 kept by keep-tag; T41, T42 go.
    expect(selected).toEqual(['seeds/i3:T31', 'seeds/i4:T41', 'seeds/i4:T42']);
    const run = runJanitor(['prune', '--root', root, '--repo', 'seeds/*', '--older-than', '30d', '--keep-latest', '1', '--keep-tag', '^v']);
    expect(run.status, run.stderr).toBe(0);
    const registry = await startRegistry(root);
    try {
      for (const { repo, tag, digest } of seedTags) {
        if (selected.includes(`${repo}:${tag}`)) expect(await manifestStatus(registry.url, repo, tag)).toBe(404);
        else expect((await pullFully(registry.url, repo, tag))[0]).toBe(digest);
      }
    } finally {
      await registry.stop();
    }
  });
});

/** Tags an already pushed manifest again (same bytes, so the same digest). */
async function pushManifestAgain(url: string, repo: string, tag: string, previous: Desc): Promise<Desc> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${previous.digest}`, { headers: { accept: previous.mediaType } });
  const body = Buffer.from(await res.arrayBuffer());
  const put = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body, headers: { 'content-type': previous.mediaType } });
  if (put.status !== 201) throw new Error(`re-tag ${repo}:${tag}: ${put.status}`);
  return previous;
}
