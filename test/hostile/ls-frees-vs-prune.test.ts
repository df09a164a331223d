// ls FREES against a real prune: for every tag of the pushed e2e scenarios
// (test/support/scenario.ts, the seeds of prune-vs-reference) plus an
// untagged index sharing a child with a tagged one, ls --json's `frees`
// must equal what `prune REPO:TAG` of that one tag frees on a fresh copy,
// less what a plain gc frees anyway (the orphan blob).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pushManifest, pushPristineTree } from '../support/registry.js';
import { M, pushImage, pushScenario } from '../support/scenario.js';
import { copyTree, runJanitor } from '../support/tree-files.js';
import { describeWithRegistry } from '../support/with-registry.js';

const SEEDS: Record<string, string[]> = {
  'seeds/i1': ['T11', 'T12'],
  'seeds/i2': ['T21', 'T22', 'T23'],
};

describeWithRegistry('ls FREES equals what prune of that one tag frees', () => {
  let work: string;
  let pristine: string;

  beforeAll(async () => {
    ({ work, pristine } = await pushPristineTree('hostile-ls', async (url) => {
      await pushScenario(url);
      for (const [repo, tags] of Object.entries(SEEDS)) {
        for (const tag of tags) await pushImage(url, repo, { format: 'docker', layers: ['shared-base', `${repo}-${tag}`], tag });
      }
      // shared/child: index `t1` over c1 + c2; an untagged index over c1 + c3.
      // prune shared/child:t1 keeps c1 (the untagged index still needs it);
      // the old ls counted it as freed.
      const child = async (label: string) => ({
        ...(await pushImage(url, 'shared/child', { format: 'oci', layers: [`child-${label}`], arch: label })),
        platform: { os: 'linux', architecture: label },
      });
      const [c1, c2, c3] = [await child('c1'), await child('c2'), await child('c3')];
      await pushManifest(url, 'shared/child', 't1', { schemaVersion: 2, mediaType: M.ociIndex, manifests: [c1, c2] }, M.ociIndex);
      await pushManifest(url, 'shared/child', undefined, { schemaVersion: 2, mediaType: M.ociIndex, manifests: [c1, c3] }, M.ociIndex);
      await pushImage(url, 'shared/child', { format: 'oci', layers: ['child-c1', 'other'], tag: 't2' });
      return undefined;
    }));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('for every tag of every repository', () => {
    const ls = runJanitor(['ls', '--root', pristine, '--json']);
    expect(ls.status, ls.stderr).toBe(0);
    const baseline = runJanitor(['gc', '-d', '--root', pristine, '--json']);
    expect(baseline.status, baseline.stderr).toBe(0);
    const rows: { repo: string; tag: string; frees: number }[] = [];
    for (const repo of ls.json.repositories as { name: string; tags: { tag: string; frees: number }[] }[]) {
      for (const { tag, frees } of repo.tags) rows.push({ repo: repo.name, tag, frees });
    }
    expect(rows.length).toBeGreaterThan(12);
    expect(rows.some((r) => r.repo === 'shared/child' && r.tag === 't1')).toBe(true);
    let n = 0;
    const mismatches: string[] = [];
    for (const { repo, tag, frees } of rows) {
      const root = copyTree(pristine, path.join(work, `prune${n++}`));
      const prune = runJanitor(['prune', '--root', root, `${repo}:${tag}`, '--json']);
      expect(prune.status, prune.stderr).toBe(0);
      const freed = prune.json.bytesFreed - baseline.json.bytesFreed;
      if (freed !== frees) mismatches.push(`${repo}:${tag} ls ${frees} prune ${freed}`);
      fs.rmSync(root, { recursive: true, force: true });
    }
    expect(mismatches).toEqual([]);
    // One real prune process a tag (over 20 of them, ~1.5 s each alone): well over the default 60 s under a full suite's load.
  }, 240_000);
});
