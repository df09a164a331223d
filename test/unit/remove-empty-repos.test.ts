// gc/prune --remove-empty-repos on memfs: a repository with no tag and no
// revision left after the run (or before it) goes whole, with its parents
// left empty; never one with a tag, a revision, an upload that stays, a
// fresh layer link or anything not of the registry's shape; nested names
// (a and a/b) never take each other along; a dry run deletes nothing.
import { describe, expect, it } from 'vitest';
import { findRepositories } from '../../src/scan/find-repositories.js';
import { TreeReader } from '../../src/storage/tree-reader.js';
import { type MemFs, ROOT, V2, exists, killedAfter, markLockHolderDead, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { HOUR, ID, writeUpload } from '../support/uploads.js';

const catalog = (fs: MemFs): string[] => findRepositories(new TreeReader(fs, V2), () => {});
/** Every file and directory under the root, but this tool's own (empty) _janitor/. */
function everything(fs: MemFs, dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.name === '_janitor' && fs.readdirSync(path, { withFileTypes: true }).length === 0) continue;
    out.push(entry.isDirectory() ? `${path}/` : path);
    if (entry.isDirectory()) out.push(...everything(fs, path));
  }
  return out.sort();
}
const repoDir = (name: string): string => `${V2}/repositories/${name}`;
const removedNames = (json: { emptyRepositories: { removed: { name: string }[] } }): string[] => json.emptyRepositories.removed.map((r) => r.name);
const keptOf = (json: { emptyRepositories: { kept: { name: string; reason: string }[] } }) =>
  Object.fromEntries(json.emptyRepositories.kept.map((k) => [k.name, k.reason]));

function build() {
  const mem = memTree();
  const t = mem.tree;
  t.tag('keep/tagged', 'v1', t.pushImage('keep/tagged', { layers: ['base', 'keep'] }).digest);
  t.tag('gone/one', 'v1', t.pushImage('gone/one', { layers: ['base', 'gone'] }).digest);
  t.pushImage('untagged', { layers: ['untagged'] }); // a revision, no tag
  return mem;
}

describe('--remove-empty-repos', () => {
  it('removes a repository whose only tag the run removed, with its parent left empty; the catalog no longer lists it', async () => {
    const { fs, files } = build();
    const keep = files().filter((f) => f.includes('repositories/keep/'));
    const run = await runCliOn(fs, ['prune', 'gone/one:v1', '-m', '--remove-empty-repos', '--root', ROOT, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(removedNames(run.json)).toEqual(['untagged', 'gone/one']);
    // Its layer link to the shared base blob was still there after the sweep: it goes with the repository.
    expect(run.json.emptyRepositories.removed.find((r: { name: string }) => r.name === 'gone/one').layerLinks).toBe(1);
    expect(exists(fs, repoDir('gone/one'))).toBe(false);
    expect(exists(fs, repoDir('gone'))).toBe(false);
    expect(exists(fs, repoDir('untagged'))).toBe(false);
    expect(exists(fs, `${V2}/repositories`)).toBe(true);
    expect(catalog(fs)).toEqual(['keep/tagged']);
    expect(files().filter((f) => f.includes('repositories/keep/'))).toEqual(keep);
    // Idempotent: nothing more to do.
    const again = await runCliOn(fs, ['gc', '-m', '--remove-empty-repos', '--root', ROOT, '--json']);
    expect(removedNames(again.json)).toEqual([]);
  });

  it('never a repository with a tag or a revision: plain gc keeps untagged revisions, so their repository stays', async () => {
    const { fs, files } = build();
    const before = files().filter((f) => f.includes('repositories/'));
    const run = await runCliOn(fs, ['gc', '--remove-empty-repos', '--root', ROOT, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(removedNames(run.json)).toEqual([]);
    expect(files().filter((f) => f.includes('repositories/'))).toEqual(before);
    expect(catalog(fs)).toEqual(['gone/one', 'keep/tagged', 'untagged']);
  });

  it('a dry run deletes nothing and says what would go', async () => {
    const { fs, files } = build();
    const before = files();
    const run = await runCliOn(fs, ['prune', 'gone/one:v1', '-m', '-d', '--remove-empty-repos', '--root', ROOT]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('2 empty repositories would be removed: untagged, gone/one');
    expect(files()).toEqual(before);
    expect(catalog(fs)).toEqual(['gone/one', 'keep/tagged', 'untagged']);
  });

  it('nested names: removing a/b leaves a whole; removing c leaves c/d whole (c stays only as its path)', async () => {
    const { fs, tree, files } = memTree();
    tree.tag('a', 'v1', tree.pushImage('a', { layers: ['a'] }).digest);
    tree.pushImage('a/b', { layers: ['ab'] });
    tree.pushImage('c', { layers: ['c'] });
    tree.tag('c/d', 'v1', tree.pushImage('c/d', { layers: ['cd'] }).digest);
    const kept = files().filter((f) => /repositories\/(a|c\/d)\/_/.test(f));
    const run = await runCliOn(fs, ['gc', '-m', '--remove-empty-repos', '--root', ROOT, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(removedNames(run.json)).toEqual(['c', 'a/b']);
    expect(files().filter((f) => /repositories\/(a|c\/d)\/_/.test(f))).toEqual(kept);
    expect(exists(fs, repoDir('a/b'))).toBe(false);
    expect(fs.readdirSync(repoDir('c'), { withFileTypes: true }).map((e) => e.name)).toEqual(['d']);
    expect(catalog(fs)).toEqual(['a', 'c/d']);
  });

  it('never a repository with an upload that stays; one whose uploads are all purged goes, and so does a name that only held uploads', async () => {
    const { fs, tree } = build();
    writeUpload(fs, tree, 'untagged', ID[0], { ageMs: 2 * HOUR }); // young: stays
    writeUpload(fs, tree, 'gone/one', ID[1], { ageMs: 30 * 24 * HOUR }); // old: purged
    // A first push that never finished: only _uploads/ under the name.
    writeUpload(fs, tree, 'first/push', ID[2], { ageMs: 30 * 24 * HOUR });
    const run = await runCliOn(fs, ['prune', 'gone/one:v1', '-m', '--remove-empty-repos', '--root', ROOT, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.uploads.purged.map((u: { id: string }) => u.id).sort()).toEqual([ID[1], ID[2]].sort());
    expect(removedNames(run.json)).toEqual(['gone/one', 'first/push']);
    expect(keptOf(run.json)).toEqual({ untagged: 'upload-left' });
    expect(exists(fs, repoDir('first'))).toBe(false);
    expect(exists(fs, `${repoDir('untagged')}/_uploads/${ID[0]}/data`)).toBe(true);
    expect(catalog(fs)).toEqual(['keep/tagged', 'untagged']);
  });

  it('never a repository with a layer link written within the grace window; a link to a blob another repository needs goes with its repository', async () => {
    const { fs, tree } = build();
    // `untagged` links the base blob keep/tagged needs (a cross-repository mount, long ago).
    const base = tree.putBlob('base');
    tree.write({ kind: 'layerLink', name: 'untagged', digest: base }, base);
    const baseLink = tree.pathOf({ kind: 'layerLink', name: 'untagged', digest: base });
    const now = Date.now() / 1000;
    fs.utimesSync(baseLink, now, now);
    const fresh = await runCliOn(fs, ['gc', '-m', '--remove-empty-repos', '--root', ROOT, '--json']);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(keptOf(fresh.json)).toEqual({ untagged: 'fresh-layer-link' });
    expect(exists(fs, baseLink)).toBe(true);
    const old = (Date.now() - 2 * HOUR) / 1000;
    fs.utimesSync(baseLink, old, old);
    const run = await runCliOn(fs, ['gc', '-m', '--remove-empty-repos', '--root', ROOT, '--json']);
    expect(removedNames(run.json)).toEqual(['untagged']);
    expect(run.json.emptyRepositories.removed[0].layerLinks).toBe(1);
    expect(exists(fs, repoDir('untagged'))).toBe(false);
    expect(exists(fs, tree.pathOf({ kind: 'blobData', digest: base }))).toBe(true);
    expect(exists(fs, tree.pathOf({ kind: 'layerLink', name: 'keep/tagged', digest: base }))).toBe(true);
  });

  it('anything not of the registry in an emptied repository leaves it whole, with a W_REPOSITORY_LEFT warning', async () => {
    const { fs, files } = build();
    fs.writeFileSync(`${repoDir('untagged')}/_manifests/notes.txt`, 'mine');
    fs.mkdirSync(`${repoDir('gone/one')}/_other`, { recursive: true });
    const run = await runCliOn(fs, ['prune', 'gone/one:v1', '-m', '--remove-empty-repos', '--root', ROOT, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(removedNames(run.json)).toEqual([]);
    expect(keptOf(run.json)).toEqual({ untagged: 'unexpected-content', 'gone/one': 'unexpected-content' });
    const warnings = run.json.warnings.filter((w: { code: string }) => w.code === 'W_REPOSITORY_LEFT');
    expect(warnings.map((w: { path: string }) => w.path).sort()).toEqual([`${repoDir('gone/one')}/_other`, `${repoDir('untagged')}/_manifests/notes.txt`]);
    expect(files()).toContain('docker/registry/v2/repositories/untagged/_manifests/notes.txt');
    expect(exists(fs, `${repoDir('gone/one')}/_layers`)).toBe(true);
  });

  it('a kill at any point of prune -m --remove-empty-repos: the kept tag whole, and the rerun ends where an uninterrupted run ends', async () => {
    const args = ['prune', 'gone/one:v1', '-m', '--remove-empty-repos', '--root', ROOT, '--json'];
    const clean = build();
    expect((await runCliOn(clean.fs, args)).code).toBe(0);
    const expected = everything(clean.fs);
    let completedAt: number | undefined;
    for (let budget = 0; budget < 200 && completedAt === undefined; budget++) {
      const { fs, files } = build();
      const keep = files().filter((f) => f.includes('repositories/keep/'));
      const killed = await runCliOn(killedAfter(fs, budget), args);
      if (killed.code === 0 && !killed.stdout.includes('W_CLEANUP_FAILED')) completedAt = budget;
      expect(
        files().filter((f) => f.includes('repositories/keep/')),
        `budget ${budget}`,
      ).toEqual(keep);
      markLockHolderDead(fs);
      const rerun = await runCliOn(fs, args);
      if (completedAt === undefined) expect(rerun.code, `budget ${budget}: ${rerun.stderr}`).toBe(0);
      expect(everything(fs), `budget ${budget}`).toEqual(expected);
    }
    expect(completedAt).toBeGreaterThan(20);
  });

  it('is off unless asked: the same prune without it leaves the emptied repository in the catalog', async () => {
    const { fs } = build();
    const run = await runCliOn(fs, ['prune', 'gone/one:v1', '-m', '--root', ROOT, '--json']);
    expect(run.json.emptyRepositories).toEqual({ enabled: false, removed: [], kept: [] });
    expect(catalog(fs)).toEqual(['gone/one', 'keep/tagged', 'untagged']);
  });
});
