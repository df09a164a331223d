// A crash part-way through the sweep: after every possible number of
// removals, every kept tag must still be servable in full (revision links,
// manifests, children, configs, layers and the repository's layer links),
// and a rerun must end where an uninterrupted run ends.
import { describe, expect, it } from 'vitest';
import { runGc } from '../../src/commands/gc/index.js';
import type { Digest } from '../../src/model/digest.js';
import { forPlatform, type TreeBuilder } from '../support/tree-builder.js';
import { type MemFs, ROOT, exists, killedAfter, markLockHolderDead, memTree } from '../support/memfs-tree.js';

function build() {
  const mem = memTree();
  const t = mem.tree;
  const kids = ['amd64', 'arm64'].map((a) => forPlatform(t.pushImage('app', { layers: ['base', `app-${a}`], format: 'oci' }), a));
  const index = t.pushIndex('app', kids);
  t.tag('app', 'v2', index.digest);
  t.pushImage('app', { layers: ['sig'], format: 'oci', subject: index });
  const oldKids = ['amd64', 'arm64'].map((a) => forPlatform(t.pushImage('app', { layers: ['base', `old-${a}`], format: 'oci' }), a));
  t.tag('app', 'v2', t.pushIndex('app', oldKids).digest); // re-pushed: the old index stays in v2's history
  t.tag('app', 'v2', index.digest);
  t.tag('lib', 'latest', t.pushImage('lib', { layers: ['base', 'lib'] }).digest);
  t.pushImage('lib', { layers: ['lib-untagged'] });
  t.putBlob('orphan');
  return mem;
}

/** Everything a pull of each tag needs, checked on disk. */
function assertTagsServable(fs: MemFs, t: TreeBuilder, tags: [string, string][]): void {
  const visit = (repo: string, digest: Digest): void => {
    expect(exists(fs, t.pathOf({ kind: 'revisionLink', name: repo, digest })), `${repo} revision ${digest}`).toBe(true);
    const data = t.pathOf({ kind: 'blobData', digest });
    expect(exists(fs, data), `${repo} manifest blob ${digest}`).toBe(true);
    const doc = JSON.parse(Buffer.from(fs.readFileSync(data)).toString());
    for (const child of doc.manifests ?? []) visit(repo, child.digest);
    for (const blob of [doc.config, ...(doc.layers ?? [])].filter(Boolean)) {
      expect(exists(fs, t.pathOf({ kind: 'blobData', digest: blob.digest })), `${repo} blob ${blob.digest}`).toBe(true);
      expect(exists(fs, t.pathOf({ kind: 'layerLink', name: repo, digest: blob.digest })), `${repo} layer link ${blob.digest}`).toBe(true);
    }
  };
  for (const [repo, tag] of tags) {
    const link = t.pathOf({ kind: 'tagCurrentLink', name: repo, tag });
    const digest = Buffer.from(fs.readFileSync(link)).toString() as Digest;
    visit(repo, digest);
  }
}

describe('a crash part-way through the sweep', () => {
  it('leaves every kept tag servable at every crash point, and a rerun ends where an uninterrupted run ends', async () => {
    const clean = build();
    await runGc(clean.fs, ROOT, { dryRun: false, deleteUntagged: true });
    const expected = clean.files();
    // At least one unlink per deleted file, plus the directories.
    const removals = build().files().length - expected.length;
    expect(removals).toBeGreaterThan(20);
    let completedAt: number | undefined;
    for (let budget = 0; budget < removals * 4 && completedAt === undefined; budget++) {
      const mem = build();
      const error = (await runGc(killedAfter(mem.fs, budget), ROOT, { dryRun: false, deleteUntagged: true })).sweepError;
      if (error === undefined) {
        completedAt = budget; // the budget covered the whole sweep
        continue;
      }
      expect(error.code, String(error)).toBe('E_DELETE');
      assertTagsServable(mem.fs, mem.tree, [
        ['app', 'v2'],
        ['lib', 'latest'],
      ]);
      markLockHolderDead(mem.fs);
      await runGc(mem.fs, ROOT, { dryRun: false, deleteUntagged: true });
      expect(mem.files(), `after a crash at removal ${budget} and a rerun`).toEqual(expected);
    }
    expect(completedAt).toBeGreaterThan(removals);
  });
});
