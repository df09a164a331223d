// The deletion lists of a gc result as plain arrays, for assertions on small trees.
import type { GcResult, RepoOutcome } from '../../src/commands/gc/index.js';
import type { Digest } from '../../src/model/digest.js';

export interface RepoDigest {
  repository: string;
  digest: Digest;
}

/** The deletion lists as plain arrays (small trees, tests). */
export function listDeletions(result: GcResult): { blobsDeleted: Digest[]; manifestsDeleted: RepoDigest[]; layerLinksDeleted: RepoDigest[] } {
  const blobsDeleted: Digest[] = [];
  result.forEachBlobDeleted((digest) => blobsDeleted.push(digest));
  const flatten = (pick: (o: RepoOutcome) => Iterable<Digest>): RepoDigest[] =>
    result.repositories.flatMap((o) => [...pick(o)].map((digest) => ({ repository: o.name, digest })));
  return { blobsDeleted, manifestsDeleted: flatten((o) => o.manifestsDeleted), layerLinksDeleted: flatten((o) => o.layerLinksDeleted) };
}
