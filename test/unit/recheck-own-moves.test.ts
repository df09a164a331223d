// The sweep's recheck does not read again a repository that only its own
// moves changed: it compares the entries of revisions/<alg> with what the
// decision was made on, less what it moved aside (sweep-aside.ts,
// scan-repository.ts watchAsSweptLeftIt). Anything else there and the
// repository is read again, and what it needs stays: a revision pushed
// during the sweep (by tag, or by digest: only revisions/<alg> changes), a
// tag moved within one mtime tick onto a revision aside, a push under way
// whose link comes later, a manifest missing when read and pushed again, a
// revision deleted and another pushed by digest (the count unchanged).
// memTree dates every write two days back, and every directory above it:
// sameTick() puts back the mtimes a real write in the same clock tick
// would not have changed, so that only the names can tell.
import { describe, expect, it } from 'vitest';
import { type MemFs, ROOT, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';
import type { ImageDescriptor } from '../support/tree-builder.js';

const PLAN = '/plans/gc.plan';
const V2 = `${ROOT}/docker/registry/v2`;
const REPOS = ['a', 'b', 'c'];

/** Each repository: a tagged image (kept) and an untagged one (gc -m moves its revision aside). */
function build() {
  const mem = memTree();
  const untagged = new Map<string, string>();
  const images = new Map<string, { kept: ImageDescriptor; gone: ImageDescriptor }>();
  for (const repo of REPOS) {
    const kept = mem.tree.pushImage(repo, { layers: [`${repo}-kept`] });
    mem.tree.tag(repo, 'v1', kept.digest);
    const gone = mem.tree.pushImage(repo, { layers: [`${repo}-gone`] });
    untagged.set(repo, gone.digest);
    images.set(repo, { kept, gone });
  }
  mem.fs.mkdirSync('/plans', { recursive: true });
  return { ...mem, untagged, images };
}

/**
 * Counts, per repository, the listings of its tags' index/ directories:
 * only a full read of the repository lists them (the mark, a read again),
 * neither the watch nor verify. `onMoveAside` runs after the first revision
 * moved aside (the sweep's step a), with the repository it came from.
 */
function instrument(fs: MemFs, onMoveAside?: (repository: string) => void): { fs: MemFs; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  let moved = false;
  const proxy = new Proxy(fs, {
    get(target, prop, receiver) {
      if (prop === 'readdirSync') {
        return (dir: string, ...rest: unknown[]) => {
          const hit = /\/repositories\/(.+)\/_manifests\/tags\/[^/]+\/index\/sha256$/.exec(dir);
          if (hit) reads.set(hit[1] as string, (reads.get(hit[1] as string) ?? 0) + 1);
          return (target.readdirSync as (...a: unknown[]) => unknown)(dir, ...rest);
        };
      }
      if (prop === 'renameSync') {
        return (from: string, ...rest: unknown[]) => {
          const result = (target.renameSync as (...a: unknown[]) => unknown)(from, ...rest);
          const hit = /\/repositories\/(.+)\/_manifests\/revisions\/sha256\/[0-9a-f]{64}$/.exec(from);
          if (hit && !moved && onMoveAside) {
            moved = true;
            onMoveAside(hit[1] as string);
          }
          return result;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { fs: proxy, reads };
}

/** Runs `change`, then puts back the mtime of everything that was under the repository: a write within the same clock tick. */
function sameTick(fs: MemFs, repo: string, change: () => void): void {
  const base = `${V2}/repositories/${repo}`;
  const times = [base, ...listAll(fs, base)].map((path) => [path, fs.lstatSync(path).mtimeMs] as const);
  change();
  for (const [path, ms] of times) fs.utimesSync(path, ms / 1000, ms / 1000);
}

function listAll(fs: MemFs, dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    out.push(path);
    if (entry.isDirectory()) out.push(...listAll(fs, path));
  }
  return out;
}

function exists(fs: MemFs, path: string): boolean {
  try {
    fs.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The plan `apply` applies: gc -m's, with no grace window. */
async function writePlan(fs: MemFs): Promise<void> {
  expect((await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--plan', PLAN, '--grace', '0s'])).code).toBe(0);
}

/** The run under test: `gc -m` (with `grace`), or `apply` of the plan. */
const argsOf = (command: 'gc' | 'apply', grace = '0s'): string[] =>
  command === 'gc' ? ['gc', '-m', '--root', ROOT, '--grace', grace, '--json'] : ['apply', PLAN, '--json'];

const blobData = (digest: string): string => `${V2}/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`;
const revisionLink = (repo: string, digest: string): string => `${V2}/repositories/${repo}/_manifests/revisions/sha256/${digest.slice(7)}/link`;

describe('the recheck after the moves aside', () => {
  it('gc -m: no repository is read again when only the sweep moved revisions out of it; the result is unchanged', async () => {
    const mem = build();
    const { fs, reads } = instrument(mem.fs);
    const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--json']);
    expect(run.code, run.stderr).toBe(0);
    // Read once each, by the mark (before: twice, the recheck reading each again).
    expect(Object.fromEntries(reads)).toEqual({ a: 1, b: 1, c: 1 });
    expect(run.json.manifestsDeleted).toHaveLength(3);
    for (const [repo, digest] of mem.untagged) expect(exists(mem.fs, revisionLink(repo, digest))).toBe(false);
  });

  it('apply: the same, for repositories the plan stands for', async () => {
    const mem = build();
    const plan = await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--plan', PLAN, '--grace', '0s', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const { fs, reads } = instrument(mem.fs);
    const applied = await runCliOn(fs, ['apply', PLAN, '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(reads.size).toBe(0);
    expect(applied.json.blobsDeleted).toHaveLength(9);
  });

  for (const command of ['gc', 'apply'] as const) {
    it(`${command}: a tagged image pushed during the sweep into a repository it moved a revision out of, on a blob the plan deletes, pulls afterwards`, async () => {
      const mem = build();
      if (command === 'apply') await writePlan(mem.fs);
      let pushed: { repo: string; digest: string; layer: string; config: string } | undefined;
      const { fs, reads } = instrument(mem.fs, (repo) => {
        // The same layer as the untagged image whose revision just went aside: its blob is planned to go.
        const image = mem.tree.pushImage(repo, { layers: [`${repo}-gone`], config: `{"pushed":"during the sweep"}` });
        mem.tree.tag(repo, 'late', image.digest);
        pushed = { repo, digest: image.digest, layer: image.layers[0]?.digest ?? '', config: image.config.digest };
      });
      const run = await runCliOn(fs, argsOf(command));
      expect(run.code, run.stderr).toBe(0);
      if (!pushed) throw new Error('no revision was moved aside');
      // That repository, and it alone, was read again after the moves: once, with its two tags (one index/ listing each).
      const others = REPOS.filter((r) => r !== pushed?.repo);
      expect(reads.get(pushed.repo)).toBe(command === 'gc' ? 1 + 2 : 2);
      for (const repo of others) expect(reads.get(repo) ?? 0).toBe(command === 'gc' ? 1 : 0);
      for (const digest of [pushed.digest, pushed.layer, pushed.config]) expect(exists(mem.fs, blobData(digest)), digest).toBe(true);
      expect(exists(mem.fs, revisionLink(pushed.repo, pushed.digest))).toBe(true);
      expect(run.json.blobsDeleted).not.toContain(pushed.layer);
    });

    it(`${command}: a revision moved aside and pushed again during the sweep comes back`, async () => {
      const mem = build();
      if (command === 'apply') await writePlan(mem.fs);
      let again: { repo: string; digest: string } | undefined;
      const { fs } = instrument(mem.fs, (repo) => {
        // A client pushes the same manifest again by tag: its revision directory appears again, and its tag names it.
        const digest = mem.untagged.get(repo) as string;
        const image = mem.tree.pushImage(repo, { layers: [`${repo}-gone`] });
        expect(image.digest).toBe(digest);
        mem.tree.tag(repo, 'again', image.digest);
        again = { repo, digest };
      });
      const run = await runCliOn(fs, argsOf(command));
      expect(run.code, run.stderr).toBe(0);
      if (!again) throw new Error('no revision was moved aside');
      expect(exists(mem.fs, revisionLink(again.repo, again.digest))).toBe(true);
      expect(exists(mem.fs, blobData(again.digest))).toBe(true);
      expect(run.json.manifestsDeleted.map((m: { digest: string }) => m.digest)).not.toContain(again.digest);
    });
  }

  it('a manifest pushed by digest during the sweep (only revisions/<alg> changes) on a blob the plan deletes is kept with its blobs by the grace window', async () => {
    const mem = build();
    let pushed: { repo: string; digest: string; layer: string } | undefined;
    const { fs, reads } = instrument(mem.fs, (repo) => {
      // Its config and layer are linked in the repository already (no new layer link): the kept image's config, the untagged one's layer.
      const { kept, gone } = mem.images.get(repo) as { kept: ImageDescriptor; gone: ImageDescriptor };
      const layer = gone.layers[0] as ImageDescriptor['layers'][number];
      const manifest = { schemaVersion: 2, mediaType: kept.mediaType, config: kept.config, layers: [layer] };
      // memTree dates each write and every directory above it two days back; a real push changes only revisions/<alg>'s
      // mtime (a directory added in it), and to now: within the window.
      const repository = `${V2}/repositories/${repo}`;
      const above = [repository, `${repository}/_manifests`, `${repository}/_manifests/revisions`].map(
        (dir) => [dir, new Date(mem.fs.lstatSync(dir).mtimeMs)] as const,
      );
      const { digest } = mem.tree.pushManifest(repo, manifest, kept.mediaType, Date.now());
      for (const [dir, mtime] of above) mem.fs.utimesSync(dir, mtime, mtime);
      const now = new Date();
      mem.fs.utimesSync(`${repository}/_manifests/revisions/sha256`, now, now);
      pushed = { repo, digest, layer: layer.digest };
    });
    const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--grace', '1h', '--json']);
    expect(run.code, run.stderr).toBe(0);
    if (!pushed) throw new Error('no revision was moved aside');
    expect(reads.get(pushed.repo)).toBe(2);
    expect(exists(mem.fs, revisionLink(pushed.repo, pushed.digest))).toBe(true);
    expect(exists(mem.fs, blobData(pushed.digest))).toBe(true);
    expect(exists(mem.fs, blobData(pushed.layer))).toBe(true);
    expect(run.json.blobsDeleted).not.toContain(pushed.layer);
  });
  for (const command of ['gc', 'apply'] as const) {
    it(`${command}: a tag moved within one mtime tick onto a revision about to go aside keeps it`, async () => {
      const mem = build();
      if (command === 'apply') await writePlan(mem.fs);
      let target: { repo: string; digest: string } | undefined;
      const { fs } = instrument(mem.fs, (moved) => {
        // Another repository, whose untagged revision goes aside next: v1 now names it, no stamp changed.
        const repo = REPOS.find((r) => r !== moved) as string;
        const digest = mem.untagged.get(repo) as string;
        sameTick(mem.fs, repo, () => mem.tree.tag(repo, 'v1', digest as ImageDescriptor['digest']));
        target = { repo, digest };
      });
      const run = await runCliOn(fs, argsOf(command));
      expect(run.code, run.stderr).toBe(0);
      if (!target) throw new Error('no revision was moved aside');
      expect(exists(mem.fs, revisionLink(target.repo, target.digest))).toBe(true);
      expect(exists(mem.fs, blobData(target.digest))).toBe(true);
      const layer = mem.images.get(target.repo)?.gone.layers[0]?.digest ?? '';
      expect(exists(mem.fs, blobData(layer))).toBe(true);
    });
  }

  for (const command of ['gc', 'apply'] as const) {
    it(`${command}: a child deleted and a manifest pushed by digest within one mtime tick (as many revisions as before) keeps the new one's blobs`, async () => {
      // Each repository: an index tagged v1 over two children (kept by -m), and an untagged image (its revision goes aside).
      const mem = memTree();
      const images = new Map<string, { child: ImageDescriptor; gone: ImageDescriptor }>();
      for (const repo of REPOS) {
        const child = mem.tree.pushImage(repo, { layers: [`${repo}-child-1`] });
        const other = mem.tree.pushImage(repo, { layers: [`${repo}-child-2`] });
        mem.tree.tag(repo, 'v1', mem.tree.pushIndex(repo, [child, other]).digest);
        images.set(repo, { child, gone: mem.tree.pushImage(repo, { layers: [`${repo}-gone`] }) });
      }
      mem.fs.mkdirSync('/plans', { recursive: true });
      if (command === 'apply') await writePlan(mem.fs);
      let swapped: { repo: string; digest: string; layer: string } | undefined;
      const { fs, reads } = instrument(mem.fs, (repo) => {
        // In the repository a revision just went aside from: a DELETE of the first child (no tag names it, so the
        // registry touches no tag) and a push by digest of a manifest on the untagged image's layer, a blob the
        // plan deletes. Its revisions/<alg> holds as many entries as the sweep left, under other names.
        const { child, gone } = images.get(repo) as { child: ImageDescriptor; gone: ImageDescriptor };
        const layer = gone.layers[0] as ImageDescriptor['layers'][number];
        const base = `${V2}/repositories/${repo}`;
        const times = [base, ...listAll(mem.fs, base)].map((path) => [path, mem.fs.lstatSync(path).mtimeMs] as const);
        mem.fs.unlinkSync(revisionLink(repo, child.digest));
        mem.fs.rmdirSync(revisionLink(repo, child.digest).slice(0, -'/link'.length));
        const manifest = { schemaVersion: 2, mediaType: child.mediaType, config: child.config, layers: [layer] };
        const { digest } = mem.tree.pushManifest(repo, manifest, child.mediaType, Date.now());
        for (const [path, ms] of times) if (exists(mem.fs, path)) mem.fs.utimesSync(path, ms / 1000, ms / 1000);
        swapped = { repo, digest, layer: layer.digest };
      });
      // gc: an untagged manifest is kept by the grace window alone (apply: every revision outside the plan marks its blobs).
      const run = await runCliOn(fs, argsOf(command, '1h'));
      expect(run.code, run.stderr).toBe(0);
      if (!swapped) throw new Error('no revision was moved aside');
      // Read again after the moves (one index/ listing: its one tag), and the new manifest pulls: its data, its layer.
      expect(reads.get(swapped.repo)).toBe(command === 'gc' ? 2 : 1);
      expect(exists(mem.fs, revisionLink(swapped.repo, swapped.digest))).toBe(true);
      expect(exists(mem.fs, blobData(swapped.digest))).toBe(true);
      expect(exists(mem.fs, blobData(swapped.layer))).toBe(true);
      expect(run.json.blobsDeleted).not.toContain(swapped.layer);
    });
  }

  it('apply: a revision without its link when the apply read it (a push under way) that gets it during the sweep keeps its blobs', async () => {
    const mem = build();
    await writePlan(mem.fs);
    const { kept, gone } = mem.images.get('a') as { kept: ImageDescriptor; gone: ImageDescriptor };
    const layer = gone.layers[0] as ImageDescriptor['layers'][number];
    const digest = mem.tree.putBlob(JSON.stringify({ schemaVersion: 2, mediaType: kept.mediaType, config: kept.config, layers: [layer] }, null, 3));
    mem.fs.mkdirSync(`${V2}/repositories/a/_manifests/revisions/sha256/${digest.slice(7)}`, { recursive: true });
    const { fs } = instrument(mem.fs, () => {
      // The push finishes: its revision link (in apply, every revision not in the plan marks what it references).
      sameTick(mem.fs, 'a', () => mem.fs.writeFileSync(revisionLink('a', digest), digest));
    });
    const run = await runCliOn(fs, ['apply', PLAN, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(exists(mem.fs, revisionLink('a', digest))).toBe(true);
    expect(exists(mem.fs, blobData(layer.digest))).toBe(true);
  });

  for (const command of ['gc', 'apply'] as const) {
    it(`${command}: a tagged manifest whose data was missing when read, pushed again during the sweep, keeps its layer`, async () => {
      const mem = build();
      // In a: v2 names a manifest whose only layer nothing else uses; its data is gone (the registry skips such a revision).
      const lost = mem.tree.pushImage('a', { layers: ['a-lost-layer'] });
      mem.tree.tag('a', 'v2', lost.digest);
      const data = mem.fs.readFileSync(blobData(lost.digest));
      mem.fs.unlinkSync(blobData(lost.digest));
      if (command === 'apply') await writePlan(mem.fs);
      const { fs } = instrument(mem.fs, () => {
        // Pushed again by digest: its data comes back under blobs/, nothing in the repository changes.
        sameTick(mem.fs, 'a', () => mem.fs.writeFileSync(blobData(lost.digest), data));
      });
      const run = await runCliOn(fs, argsOf(command));
      expect(run.code, run.stderr).toBe(0);
      expect(exists(mem.fs, blobData(lost.layers[0]?.digest ?? ''))).toBe(true);
      expect(exists(mem.fs, blobData(lost.config.digest))).toBe(true);
    });
  }
});
