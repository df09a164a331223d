// gc against Distribution 2.8.2 itself: the same pushed tree, copied, swept
// by the reference and by us; then our result is served and every tag that
// existed before is pulled in full.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SKOPEO_BIN, makeTempDir, manifestStatus, pullFully, pushPristineTree, runReferenceGc, skopeoCopyAll, startRegistry } from '../support/registry.js';
import { type Pushed, pushScenario } from '../support/scenario.js';
import { blobsOn, copyTree, danglingLayerLinks, revisionsOn, runJanitor, snapshot } from '../support/tree-files.js';
import { describeWithRegistry } from '../support/with-registry.js';

const REPOS = ['library/alpine', 'multi/nested', 'team/app', 'team/app/web'];

describeWithRegistry('gc compared with registry garbage-collect 2.8.2', () => {
  let work: string;
  let pristine: string;
  let pushed: Pushed;

  beforeAll(async () => {
    ({ work, pristine, pushed } = await pushPristineTree('e2e-gc', pushScenario));
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const copy = (label: string): string => copyTree(pristine, path.join(work, label));

  async function expectAllTagsPull(root: string): Promise<void> {
    const registry = await startRegistry(root);
    try {
      for (const { repo, tag, digest } of pushed.tags) {
        const fetched = await pullFully(registry.url, repo, tag);
        expect(fetched[0], `${repo}:${tag}`).toBe(digest);
      }
    } finally {
      await registry.stop();
    }
  }

  it('plain gc deletes exactly the blob set the reference deletes, and marks as many', () => {
    const ref = copy('ref-plain');
    const ours = copy('ours-plain');
    const refRun = runReferenceGc(ref, []);
    const run = runJanitor(['gc', '--root', ours, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect([...blobsOn(ours)].sort()).toEqual([...blobsOn(ref)].sort());
    expect(run.json.blobsMarked).toBe(refRun.marked);
    expect(run.json.blobsDeleted).toHaveLength(refRun.blobsEligible);
    expect(run.json.blobsDeleted).toContain(pushed.orphanBlob);
    expect(run.json.manifestsDeleted).toEqual([]);
    expect(blobsOn(ours).has(pushed.orphanBlob)).toBe(false);
  });

  it('plain gc leaves no dangling layer links, where the reference leaves them', () => {
    const ref = copy('ref-plain-links');
    const ours = copy('ours-plain-links');
    runReferenceGc(ref, []);
    expect(runJanitor(['gc', '--root', ours]).status).toBe(0);
    expect(danglingLayerLinks(ref, REPOS).length).toBeGreaterThan(0);
    expect(danglingLayerLinks(ours, REPOS)).toEqual([]);
  });

  it('-m deletes a subset of the reference -m and a superset of plain gc', () => {
    const refM = copy('ref-m');
    const oursM = copy('ours-m');
    const oursPlain = copy('ours-plain-cmp');
    runReferenceGc(refM, ['-m']);
    const run = runJanitor(['gc', '-m', '--root', oursM, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(runJanitor(['gc', '--root', oursPlain]).status).toBe(0);
    const pristineBlobs = blobsOn(pristine);
    const deleted = (root: string): Set<string> => new Set([...pristineBlobs].filter((d) => !blobsOn(root).has(d)));
    const oursDeleted = deleted(oursM);
    const refDeleted = deleted(refM);
    const plainDeleted = deleted(oursPlain);
    for (const d of oursDeleted) expect(refDeleted.has(d), `${d} deleted by us but not by the reference`).toBe(true);
    for (const d of plainDeleted) expect(oursDeleted.has(d), `${d} deleted by plain gc but kept by -m`).toBe(true);
    expect(refDeleted.size).toBeGreaterThan(oursDeleted.size);
    expect(oursDeleted.size).toBeGreaterThan(plainDeleted.size);
    // Manifests: ours a subset of the reference's; the untagged ones gone.
    const refRevs = revisionsOn(refM, REPOS);
    for (const rev of revisionsOn(refM, REPOS)) expect(revisionsOn(oursM, REPOS).has(rev)).toBe(true);
    for (const { repo, digest } of pushed.untagged) {
      expect(revisionsOn(oursM, REPOS).has(`${repo}@${digest}`)).toBe(false);
      expect(refRevs.has(`${repo}@${digest}`)).toBe(false);
    }
    // The referrer of a kept image stays, with its blobs.
    expect(revisionsOn(oursM, REPOS).has(`${pushed.referrer.repo}@${pushed.referrer.digest}`)).toBe(true);
    expect(blobsOn(oursM).has(pushed.referrer.digest)).toBe(true);
    expect(danglingLayerLinks(oursM, REPOS)).toEqual([]);
  });

  it('a dry run lists exactly what the real run deletes and changes nothing', () => {
    for (const flags of [[], ['-m']]) {
      const dry = copy(`dry${flags.join('')}`);
      const real = copy(`real${flags.join('')}`);
      const before = snapshot(dry);
      const dryRun = runJanitor(['gc', '-d', ...flags, '--root', dry, '--json']);
      expect(dryRun.status, dryRun.stderr).toBe(0);
      expect(snapshot(dry)).toEqual(before);
      const realRun = runJanitor(['gc', ...flags, '--root', real, '--json']);
      for (const key of ['blobsDeleted', 'manifestsDeleted', 'layerLinksDeleted', 'bytesFreed', 'blobsMarked']) {
        expect(dryRun.json[key], key).toEqual(realRun.json[key]);
      }
      expect(dryRun.json.dryRun).toBe(true);
    }
  });

  it('after our -m every tag that existed before pulls in full, and after plain gc too', async () => {
    const oursM = copy('serve-m');
    const oursPlain = copy('serve-plain');
    expect(runJanitor(['gc', '-m', '--root', oursM]).status).toBe(0);
    expect(runJanitor(['gc', '--root', oursPlain]).status).toBe(0);
    await expectAllTagsPull(oursM);
    await expectAllTagsPull(oursPlain);
  });

  it.skipIf(!fs.existsSync(SKOPEO_BIN) && process.env.CI !== 'true')('skopeo copies every platform of every multi-arch tag from our -m result', async () => {
    const oursM = copy('serve-m-skopeo');
    expect(runJanitor(['gc', '-m', '--root', oursM]).status).toBe(0);
    const registry = await startRegistry(oursM);
    try {
      // skopeo cannot copy an index of indexes ("Unexpectedly received a
      // manifest list instead of a manifest"): multi/nested is pulled by
      // pullFully() in the test above instead.
      const singleLevel = pushed.multiArchTags.filter((t) => t.repo !== 'multi/nested');
      expect(singleLevel.length).toBe(2);
      for (const { repo, tag } of singleLevel) skopeoCopyAll(registry.url, repo, tag, path.join(work, `oci-${repo.replace(/\//g, '_')}`));
    } finally {
      await registry.stop();
    }
  });

  it('the reference -m loses multi-arch images (issue 3178) that ours keeps', async () => {
    const refM = copy('serve-ref-m');
    runReferenceGc(refM, ['-m']);
    const registry = await startRegistry(refM);
    try {
      for (const { repo, tag } of pushed.multiArchTags) {
        expect(await manifestStatus(registry.url, repo, tag)).toBe(200);
        await expect(pullFully(registry.url, repo, tag), `${repo}:${tag} after the reference -m`).rejects.toThrow();
      }
    } finally {
      await registry.stop();
    }
  });

  it('--skip-repo lets the sweep go on past a damaged repository, and every tag still pulls, the skipped ones too', async () => {
    const root = copy('skip');
    const stray = pushed.untagged.find((u) => u.repo === 'team/app')!;
    fs.writeFileSync(path.join(root, 'docker/registry/v2/repositories/team/app/_manifests/revisions/sha256', stray.digest.slice(7), 'link'), 'garbage');
    expect(runJanitor(['gc', '-m', '--root', root]).status).toBe(1);
    const run = runJanitor(['gc', '-m', '--skip-repo', 'team/app', '--root', root, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.json.skipped).toEqual(['team/app']);
    expect(run.json.blobsDeleted).toContain(pushed.orphanBlob);
    expect(run.json.manifestsDeleted.some((m: { repository: string }) => m.repository === 'team/app')).toBe(false);
    await expectAllTagsPull(root);
  });

  it('a rerun after a real run finds nothing left to do', () => {
    const root = copy('rerun');
    expect(runJanitor(['gc', '-m', '--root', root]).status).toBe(0);
    const again = runJanitor(['gc', '-m', '--root', root, '--json']);
    expect(again.json.blobsDeleted).toEqual([]);
    expect(again.json.manifestsDeleted).toEqual([]);
    expect(again.json.layerLinksDeleted).toEqual([]);
  });
});

describeWithRegistry('the bundled example fixture', () => {
  it('is a tree the real registry serves, before and after our gc -m', async () => {
    const work = makeTempDir('fixture');
    try {
      const root = copyTree(path.resolve(import.meta.dirname, '../../fixtures/example'), path.join(work, 'root'));
      const tags: [string, string][] = [
        ['library/nginx', 'latest'],
        ['library/nginx', '1.25'],
        ['team/api', 'v2'],
        ['team/api/worker', 'main'],
      ];
      for (const pass of ['before', 'after']) {
        if (pass === 'after') expect(runJanitor(['gc', '-m', '--root', root]).status).toBe(0);
        const registry = await startRegistry(root);
        try {
          for (const [repo, tag] of tags) expect((await pullFully(registry.url, repo, tag)).length, `${repo}:${tag} ${pass}`).toBeGreaterThan(2);
        } finally {
          await registry.stop();
        }
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
