// Property: on random trees, gc leaves on disk exactly what a small,
// independent model of the reachability rules says it should.
//
// Model (written here, not shared with src/): plain gc keeps every revision;
// -m keeps, per repository, tag targets, then (to a fixpoint) children of
// kept indexes that are revisions of that repository and revisions whose
// subject is kept. A blob survives when a kept revision is it or references
// it (config, layers, children). Layer links survive when their blob does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runGc } from '../../src/commands/gc/index.js';
import type { Descriptor } from '../support/tree-builder.js';
import { ROOT, memTree } from '../support/memfs-tree.js';

type Op =
  | { kind: 'image'; layers: number[]; oci: boolean; salt: number }
  | { kind: 'index'; children: number[]; foreign: boolean; oci: boolean }
  | { kind: 'referrer'; subject: number; layers: number[] };

interface RepoSpec {
  ops: Op[];
  tags: number[];
}

const REPO_NAMES = ['app', 'app/web', 'lib/base'];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('image' as const),
      layers: fc.array(fc.nat(5), { minLength: 1, maxLength: 3 }),
      oci: fc.boolean(),
      salt: fc.nat(2),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('index' as const),
      children: fc.array(fc.nat(20), { minLength: 1, maxLength: 3 }),
      foreign: fc.boolean(),
      oci: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('referrer' as const), subject: fc.nat(20), layers: fc.array(fc.nat(5), { minLength: 1, maxLength: 1 }) }),
  },
);
const repoArb: fc.Arbitrary<RepoSpec> = fc.record({ ops: fc.array(opArb, { minLength: 1, maxLength: 7 }), tags: fc.array(fc.nat(20), { maxLength: 3 }) });
const treeArb = fc.record({ repos: fc.array(repoArb, { minLength: 1, maxLength: 3 }), orphans: fc.nat(2) });

interface ModelManifest {
  digest: string;
  refs: string[];
  children: string[];
  subject: string | undefined;
}

function build(spec: { repos: RepoSpec[]; orphans: number }) {
  const mem = memTree();
  const { tree } = mem;
  const repos = new Map<string, { manifests: ModelManifest[]; tags: string[]; layerLinks: Set<string> }>();
  const allBlobs = new Set<string>();
  let previousRepoFirst: Descriptor | undefined;
  spec.repos.forEach((repoSpec, r) => {
    const name = REPO_NAMES[r]!;
    const manifests: ModelManifest[] = [];
    const descs: Descriptor[] = [];
    const layerLinks = new Set<string>();
    const pushImage = (layers: number[], oci: boolean, salt: string, subject?: Descriptor): void => {
      const contents = layers.map((l) => `layer-${l}`);
      const config = `config ${name} ${salt} ${contents.join(',')}`;
      const d = tree.pushImage(name, { layers: contents, config, format: oci ? 'oci' : 'docker', ...(subject ? { subject } : {}) });
      const refs = [d.config.digest, ...d.layers.map((l) => l.digest)];
      refs.forEach((b) => layerLinks.add(b));
      manifests.push({ digest: d.digest, refs, children: [], subject: subject?.digest });
      descs.push(d);
    };
    for (const op of repoSpec.ops) {
      if (op.kind === 'image') pushImage(op.layers, op.oci, `s${op.salt}`);
      else if (op.kind === 'referrer') {
        if (descs.length === 0) continue;
        pushImage(op.layers, true, `ref-${manifests.length}`, descs[op.subject % descs.length]);
      } else {
        const children = descs.length === 0 ? [] : op.children.map((c) => descs[c % descs.length]!);
        if (op.foreign && previousRepoFirst) children.push(previousRepoFirst);
        if (children.length === 0) continue;
        const d = tree.pushIndex(name, children, op.oci ? 'oci' : 'docker');
        manifests.push({ digest: d.digest, refs: [], children: children.map((c) => c.digest), subject: undefined });
        descs.push(d);
      }
    }
    const tags: string[] = [];
    repoSpec.tags.forEach((t, i) => {
      if (descs.length === 0) return;
      const target = descs[t % descs.length]!;
      tree.tag(name, `t${i}`, target.digest);
      tags.push(target.digest);
    });
    previousRepoFirst = descs[0];
    repos.set(name, { manifests, tags, layerLinks });
    for (const m of manifests) [m.digest, ...m.refs].forEach((b) => allBlobs.add(b));
  });
  for (let i = 0; i < spec.orphans; i++) allBlobs.add(tree.putBlob(`orphan ${i}`));
  return { mem, repos, allBlobs };
}

function model(repos: ReturnType<typeof build>['repos'], allBlobs: Set<string>, deleteUntagged: boolean) {
  const survivingBlobs = new Set<string>();
  const keptRevisions = new Map<string, Set<string>>();
  for (const [name, repo] of repos) {
    const byDigest = new Map(repo.manifests.map((m) => [m.digest, m]));
    let kept: Set<string>;
    if (!deleteUntagged) kept = new Set(byDigest.keys());
    else {
      kept = new Set(repo.tags);
      for (let changed = true; changed;) {
        changed = false;
        for (const m of repo.manifests) {
          const reached = kept.has(m.digest);
          const viaParent = !reached && repo.manifests.some((p) => kept.has(p.digest) && p.children.includes(m.digest));
          const viaSubject = !reached && m.subject !== undefined && kept.has(m.subject);
          if (viaParent || viaSubject) {
            kept.add(m.digest);
            changed = true;
          }
        }
      }
    }
    keptRevisions.set(name, kept);
    for (const d of kept) {
      const m = byDigest.get(d)!;
      [m.digest, ...m.refs, ...m.children].forEach((b) => allBlobs.has(b) && survivingBlobs.add(b));
    }
  }
  return { survivingBlobs, keptRevisions };
}

function listDir(fs: ReturnType<typeof memTree>['fs'], dir: string): string[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).map((e) => e.name);
  } catch {
    return [];
  }
}

describe('gc matches an independent model on random trees', () => {
  for (const deleteUntagged of [false, true]) {
    it(`${deleteUntagged ? 'gc -m' : 'plain gc'}: blobs, revisions and layer links left on disk`, async () => {
      await fc.assert(
        fc.asyncProperty(treeArb, async (spec) => {
          const { mem, repos, allBlobs } = build(spec);
          const expected = model(repos, allBlobs, deleteUntagged);
          const { tree, fs } = mem;
          if (listDir(fs, tree.pathOf({ kind: 'repositoriesRoot' })).length === 0 && allBlobs.size > 0) {
            // Blobs but no repository: half a registry, refused untouched.
            const before = mem.files();
            await expect(runGc(mem.fs, ROOT, { dryRun: false, deleteUntagged })).rejects.toMatchObject({ code: 'E_NOT_REGISTRY' });
            expect(mem.files()).toEqual(before);
            return;
          }
          await runGc(mem.fs, ROOT, { dryRun: false, deleteUntagged });
          const blobs = new Set<string>();
          for (const bucket of listDir(fs, tree.pathOf({ kind: 'blobAlgorithm', algorithm: 'sha256' }))) {
            for (const hex of listDir(fs, tree.pathOf({ kind: 'blobShard', algorithm: 'sha256', prefix: bucket }))) blobs.add(`sha256:${hex}`);
          }
          expect([...blobs].sort()).toEqual([...expected.survivingBlobs].sort());
          for (const [name, repo] of repos) {
            const revisions = listDir(fs, tree.pathOf({ kind: 'revisionsAlgorithm', name, algorithm: 'sha256' })).map((h) => `sha256:${h}`);
            expect(revisions.sort()).toEqual([...expected.keptRevisions.get(name)!].sort());
            const links = listDir(fs, tree.pathOf({ kind: 'layersAlgorithm', name, algorithm: 'sha256' })).map((h) => `sha256:${h}`);
            expect(links.sort()).toEqual([...repo.layerLinks].filter((d) => expected.survivingBlobs.has(d)).sort());
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
