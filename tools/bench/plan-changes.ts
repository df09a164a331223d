// The pushes plan-apply.ts makes between the plan and the apply: chosen from
// the plan (deterministic by seed), written the same on both copies of the
// tree through TreeBuilder (so through the production layout).
//
// In each chosen repository a new tag on a revision the plan deletes (an
// untagged one: `_manifests/tags/<t>/current/link` and its
// `index/<alg>/<hex>/link`, as a push by tag writes them); in every second
// one also a new image manifest, tagged, whose layer is a blob the plan
// deletes (its layer link written, as a cross-repository mount does), and
// whose config is a new blob. So the apply must read these repositories
// again and drop what they now need, and a direct gc keeps the same.

import fs from 'node:fs';
import type { Digest } from '../../src/model/digest.js';
import { readPlan, readPlanHeader } from '../../src/commands/plan-file.js';
import { MEDIA, TreeBuilder } from '../../test/support/tree-builder.js';
import { makeRandom } from './generate-tree.js';

/** One repository's pushes. */
export interface RepositoryChange {
  repository: string;
  /** the new tag on a revision the plan deletes. */
  tag: string;
  revision: Digest;
  /** every second repository: a new tagged manifest whose layer is a blob the plan deletes. */
  manifest?: { tag: string; layer: Digest; layerSize: number };
}

export interface ChosenChanges {
  /** repositories the plan recorded (what the percentage is of). */
  repositories: number;
  changes: RepositoryChange[];
}

const TAG_PREFIX = 'plan-bench-';

/**
 * Reads the plan once and chooses `percent`% of its repositories (at least
 * one) among those where it deletes a revision, and for every second one a
 * blob it deletes that is no manifest it deletes.
 */
export function chooseChanges(planFile: string, percent: number, seed: number): ChosenChanges {
  const random = makeRandom(seed);
  const header = readPlanHeader(fs, planFile);
  // Blobs are sampled as the plan streams by (reservoir sampling), more than
  // needed: those found later to be a planned revision's manifest are left out.
  const wanted = Math.max(1, Math.round((header.totals.repositories * percent) / 100));
  const sampleSize = wanted * 2 + 64;
  const sample: { digest: Digest; size: number }[] = [];
  let blobsSeen = 0;
  const revisions = new Map<string, Digest[]>();
  const manifestDigests = new Set<string>();
  let records = 0;
  readPlan(fs, planFile, {
    target: (t) => {
      if (t.digest === null) return;
      if (t.kind === 'blob') {
        blobsSeen++;
        if (sample.length < sampleSize) sample.push({ digest: t.digest, size: t.size });
        else {
          const slot = Math.floor(random() * blobsSeen);
          if (slot < sampleSize) sample[slot] = { digest: t.digest, size: t.size };
        }
      } else if (t.kind === 'revision' && t.repository !== null) {
        manifestDigests.add(t.digest);
        const list = revisions.get(t.repository);
        if (list) list.push(t.digest);
        else revisions.set(t.repository, [t.digest]);
      } else if (t.kind === 'linklessRevision') manifestDigests.add(t.digest);
    },
    repository: () => {
      records++;
    },
  });
  const count = Math.max(1, Math.round((records * percent) / 100));
  const eligible = [...revisions.keys()].sort();
  if (eligible.length < count) {
    throw new Error(`--changed ${percent}: ${count} of ${records} repositories wanted, but the plan deletes a revision in only ${eligible.length} of them`);
  }
  // A partial Fisher-Yates shuffle: the first `count` are the chosen.
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (eligible.length - i));
    [eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!];
  }
  const chosen = eligible.slice(0, count).sort();
  const layers = sample.filter((b) => !manifestDigests.has(b.digest)).sort((a, b) => (a.digest < b.digest ? -1 : 1));
  const needed = Math.ceil(count / 2);
  if (layers.length < needed) throw new Error(`the plan deletes too few blobs (${layers.length} sampled) for ${needed} new manifests`);
  const changes = chosen.map((repository, i): RepositoryChange => {
    const list = revisions.get(repository)!.sort();
    const change: RepositoryChange = { repository, tag: `${TAG_PREFIX}${i}`, revision: list[Math.floor(random() * list.length)]! };
    if (i % 2 === 0) {
      const layer = layers[i / 2]!;
      change.manifest = { tag: `${TAG_PREFIX}${i}-new`, layer: layer.digest, layerSize: layer.size };
    }
    return change;
  });
  return { repositories: records, changes };
}

/** Writes the changes into the tree at `root`, every file with the mtime `nowMs` (so the repositories' fingerprints change). */
export function writeChanges(root: string, changes: readonly RepositoryChange[], nowMs: number): void {
  const tree = new TreeBuilder(fs, `${root}/docker/registry/v2`);
  for (const change of changes) {
    for (const tag of [change.tag, change.manifest?.tag]) {
      if (tag !== undefined && fs.existsSync(tree.pathOf({ kind: 'tagDir', name: change.repository, tag }))) {
        throw new Error(`${change.repository}: tag ${tag} exists already (a tree changed by an earlier run?)`);
      }
    }
    tree.tag(change.repository, change.tag, change.revision, nowMs);
    if (!change.manifest) continue;
    const { layer, layerSize, tag } = change.manifest;
    tree.write({ kind: 'layerLink', name: change.repository, digest: layer }, layer, nowMs);
    const config = tree.pushBlob(
      change.repository,
      JSON.stringify({ architecture: 'amd64', os: 'linux', planBench: `${change.repository} ${tag}` }),
      MEDIA.ociConfig,
    );
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config,
      layers: [{ mediaType: MEDIA.ociLayer, digest: layer, size: layerSize }],
    };
    const pushed = tree.pushManifest(change.repository, manifest, MEDIA.ociManifest, nowMs);
    tree.tag(change.repository, tag, pushed.digest, nowMs);
  }
}
