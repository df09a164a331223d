// The sweep on a volume with no room for the quarantine.
//
// The quarantine (sweep-aside.ts) moves revisions and blobs aside with one
// rename each, but its directories must be made first, and a volume with
// no inode left (or, on most filesystems, no block) cannot make them. Before
// the first deletion, `hasQuarantineRoom` makes every quarantine directory
// the sweep will need; when the volume refuses for lack of space, the run
// either stops (a registry may be live: --allow-live, whose protection the
// quarantine is) or deletes directly, in the safe order, as the reference
// does: removed tags, tag index entries and revision directories, then
// layer links, then blobs. A crash at any point still leaves every kept tag
// whole, and a rerun finishes. What a registry writing meanwhile could lose
// is what the README's "Stop the registry first" is about: the warning says
// to keep it stopped or read-only.

import { JanitorError, errnoCode } from '../../errors.js';
import type { BlobIndex } from '../../model/blob-index.js';
import { splitDigest } from '../../model/digest.js';
import type { PathSpec } from '../../storage/layout.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { Vacuum } from '../../storage/vacuum.js';
import type { RepoOutcome } from './mark-repository.js';
import { targetsOf } from './plan-sweep.js';
import type { SweepContext } from './sweep-aside.js';

/**
 * Makes the quarantine directories the sweep will move things into; false
 * when the volume has no space or inode for them (what was made is removed).
 */
export function hasQuarantineRoom(reader: TreeReader, vacuum: Vacuum, outcomes: readonly RepoOutcome[], index: BlobIndex): boolean {
  const dirs = new Map<string, PathSpec>();
  const add = (spec: PathSpec): void => void dirs.set(reader.pathOf(spec), spec);
  index.forEachUnmarkedShard((algorithm, prefix) => add({ kind: 'quarantineShard', algorithm, shard: prefix }));
  for (const { name, manifestsDeleted } of outcomes) {
    for (const digest of manifestsDeleted) add({ kind: 'quarantineRevisionsAlgorithm', name, algorithm: splitDigest(digest).algorithm });
  }
  for (const dir of dirs.keys()) {
    try {
      reader.fs.mkdirSync(dir, { recursive: true });
    } catch (cause) {
      const code = errnoCode(cause);
      if (code !== 'ENOSPC' && code !== 'EDQUOT') {
        throw new JanitorError('E_DELETE', `cannot make the quarantine directory ${dir} (nothing was deleted): ${code ?? String(cause)}`, { path: dir, cause });
      }
      vacuum.removeQuarantineDirs();
      return false;
    }
  }
  return true;
}

/**
 * The sweep without the quarantine: everything deleted in place, in the
 * safe order, one at a time. A signal (stopRequested, read between
 * deletions) stops it before the next one: the counts say what was done,
 * in the order of the report's lists. Never a recheck.
 */
export function sweepDirect(context: SweepContext): { changed: false; stopped: boolean } {
  const { vacuum, index, outcomes, swept, timer } = context;
  const stop = context.stopRequested ?? (() => false);
  let stopped = false;
  const each = (remove: () => void): boolean => {
    if (stopped || (stopped = stop())) return false;
    remove();
    return true;
  };
  timer.run('sweep', () => {
    for (const [target, counter] of targetsOf(outcomes, false)) {
      if (!each(() => void vacuum.remove(target))) break;
      swept[counter]++;
    }
  });
  timer.run('sweep-blobs', () => {
    for (const { name, layerLinksDeleted } of outcomes) {
      for (const digest of layerLinksDeleted) {
        if (!each(() => void vacuum.remove({ kind: 'layerLink', repository: name, digest }))) break;
        swept.layerLinks++;
      }
    }
    index.forEachUnmarked((digest) => {
      if (each(() => (swept.bytes += vacuum.remove({ kind: 'blob', digest })))) swept.blobs++;
    });
  });
  return { changed: false, stopped };
}
