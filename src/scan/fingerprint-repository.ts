// A repository's fingerprint, for a plan file (commands/plan-file.ts): its
// watch (scan-repository.ts watchRepository: the mtimes of revisions/ and
// each revisions/<alg>, tags/ and each tag's current link, _layers/ and
// each _layers/<alg>) and the entry counts of revisions/<alg>, tags/ and
// _layers/<alg>. The counts catch what an mtime of coarse granularity can
// miss (two pushes within one tick of a filesystem that stamps whole
// seconds). A repository whose fingerprint is unchanged has had no
// revision, tag or layer link added, removed or moved since it was taken.

import { isAlgorithm } from '../model/digest.js';
import type { TreeReader } from '../storage/tree-reader.js';
import { watchRepository } from './scan-repository.js';

export function fingerprintRepository(reader: TreeReader, name: string): string {
  const watch = watchRepository(reader, name);
  let revisions = 0;
  for (const entry of reader.list({ kind: 'revisionsRoot', name }, { optional: true }) ?? []) {
    if (isAlgorithm(entry.name)) revisions += reader.list({ kind: 'revisionsAlgorithm', name, algorithm: entry.name }, { optional: true })?.length ?? 0;
  }
  const tags = reader.list({ kind: 'tagsRoot', name }, { optional: true })?.length ?? 0;
  let layers = 0;
  for (const entry of reader.list({ kind: 'layersRoot', name }, { optional: true }) ?? []) {
    if (isAlgorithm(entry.name)) layers += reader.list({ kind: 'layersAlgorithm', name, algorithm: entry.name }, { optional: true })?.length ?? 0;
  }
  return `${watch};${revisions},${tags},${layers}`;
}

/** The files fingerprintRepository reads in a repository of `tags` tags (of one algorithm): the listings of revisions/, its <alg>, tags/, _layers/ and its <alg>, and each tag's link. */
export function fingerprintReadsOf(tags: number): number {
  return 5 + tags;
}

/** The watch within a fingerprint (what the sweep's recheck compares). */
export function watchOfFingerprint(fingerprint: string): string {
  const at = fingerprint.indexOf(';');
  return at < 0 ? fingerprint : fingerprint.slice(0, at);
}
