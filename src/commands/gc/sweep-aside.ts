// The sweep of gc and prune, safe against a registry still writing:
//
// a. removed tags, tag index entries and revision directories without
//    their link are deleted; the revision directories to delete and the
//    blobs to delete are moved aside (vacuum.ts quarantine, one rename
//    each): from then on the registry finds neither
// b. recheck: every repository written to since it was read is read again;
//    a revision or manifest blob aside that a tag or index there now names
//    comes back and the repository is read once more; then it is marked
// c. layer links whose blob still goes are deleted, then what is still
//    aside, for good
//
// A push that completed before (b) is seen by (b); one that starts after
// (a) finds its blobs or manifest missing and fails loudly
// (MANIFEST_BLOB_UNKNOWN), never succeeds against what is about to go.

import { type Warn, makeWarning } from '../../errors.js';
import type { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';
import { DigestList } from '../../model/digest-list.js';
import type { RepoScan } from '../../model/repository.js';
import { scanRepository } from '../../scan/scan-repository.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { Vacuum } from '../../storage/vacuum.js';
import type { RepoOutcome } from './mark-repository.js';
import { targetsOf } from './plan-sweep.js';

export interface SweepContext {
  reader: TreeReader;
  vacuum: Vacuum;
  index: BlobIndex;
  outcomes: RepoOutcome[];
  freshAfterMs: number;
  /** marks a repository read again (mark-repository.ts with the run's options). */
  mark: (scan: RepoScan) => RepoOutcome;
  /** repositories whose watch changed since they were read (index.ts). */
  findChanged: () => string[];
  replaceOutcome: (outcome: RepoOutcome) => void;
  warn: Warn;
  timer: { run<T>(name: string, body: () => T): T };
  /** incremented as deletions complete (index.ts SweepCounts). */
  swept: { tags: number; tagIndexEntries: number; manifests: number; linklessRevisions: number; layerLinks: number; blobs: number; bytes: number };
}

// A tree still changing after this many recheck rounds is being written to
// steadily; what changes later are pushes that began with everything aside.
const MAX_RECHECKS = 5;

/** Runs the sweep; returns whether the recheck found repositories changed. */
export function sweepAside(context: SweepContext): boolean {
  const { vacuum, index, outcomes, swept, timer } = context;
  const asideRevisions = new Map<string, Set<Digest>>();
  const asideBlobs = new DigestList();

  // a. deletions that no push can need, then the rest aside
  timer.run('sweep', () => {
    for (const [target, counter] of targetsOf(outcomes, false)) {
      if (target.kind === 'revision' && counter === 'manifests') {
        if (vacuum.quarantine({ kind: 'revision', repository: target.repository, digest: target.digest })) {
          let set = asideRevisions.get(target.repository);
          if (!set) asideRevisions.set(target.repository, (set = new Set()));
          set.add(target.digest);
        }
        continue;
      }
      vacuum.remove(target);
      context.swept[counter]++;
    }
    index.forEachUnmarked((digest) => {
      if (vacuum.quarantine({ kind: 'blob', digest })) asideBlobs.push(digest);
    });
  });

  // b. recheck
  let changed = false;
  let restored = 0;
  timer.run('recheck', () => {
    for (let round = 1; round <= MAX_RECHECKS; round++) {
      const names = context.findChanged();
      if (names.length === 0) break;
      changed = true;
      context.warn(
        makeWarning(
          'W_REVALIDATED',
          `recheck after the sweep moved things aside: ${names.length} repositories changed (${names.slice(0, 5).join(', ')}); read and marked again`,
        ),
      );
      for (const name of names) {
        let scan = scanRepository(context.reader, name, context.freshAfterMs);
        // Bounded: each pass puts back at least one item, and few were aside.
        for (let back = restoreNeeded(context, scan, asideRevisions.get(name)); back > 0; back = restoreNeeded(context, scan, asideRevisions.get(name))) {
          restored += back;
          scan = scanRepository(context.reader, name, context.freshAfterMs);
        }
        const fresh = context.mark(scan);
        const before = outcomes.find((o) => o.name === name);
        // What this run deleted in it stays reported; nothing more goes in it.
        context.replaceOutcome(
          before
            ? { ...before, watch: fresh.watch, keptTags: fresh.keptTags }
            : { ...fresh, tagsRemoved: [], manifestsDeleted: new DigestList(), tagIndexEntries: new Map(), linklessRevisions: [] },
        );
      }
    }
  });

  // c. layer links, then what is still aside, for good
  timer.run('sweep-blobs', () => {
    for (const outcome of outcomes) {
      const aside = asideRevisions.get(outcome.name);
      if (aside) {
        const gone = new DigestList();
        for (const digest of outcome.manifestsDeleted) if (aside.has(digest)) gone.push(digest);
        outcome.manifestsDeleted = gone;
        for (const digest of aside) {
          vacuum.remove({ kind: 'quarantinedRevision', repository: outcome.name, digest });
          swept.manifests++;
        }
      }
      const still = new DigestList();
      for (const digest of outcome.layerLinksDeleted) if (!index.survives(digest)) still.push(digest);
      outcome.layerLinksDeleted = still;
      for (const digest of still) {
        vacuum.remove({ kind: 'layerLink', repository: outcome.name, digest });
        swept.layerLinks++;
      }
    }
    for (const digest of asideBlobs) {
      if (index.isMarked(digest)) {
        // Needed now (marked by the recheck): back, unless restoreNeeded put it back already.
        if (!context.reader.mtimeOf({ kind: 'blobDir', digest })) {
          vacuum.restore({ kind: 'blob', digest });
          restored++;
        }
        continue;
      }
      swept.bytes += vacuum.remove({ kind: 'quarantinedBlob', digest });
      swept.blobs++;
    }
    vacuum.removeQuarantineDirs();
  });
  if (restored > 0)
    context.warn(makeWarning('W_RESTORED', `${restored} blobs or manifests moved aside were needed by pushes made during the sweep and were put back`));
  return changed;
}

/**
 * Puts back what a repository read again needs: a revision aside that one
 * of its tags or index manifests names, and the manifest blob of a
 * revision whose data is aside. Returns how many it put back.
 */
function restoreNeeded(context: SweepContext, scan: RepoScan, aside: Set<Digest> | undefined): number {
  const { vacuum, index } = context;
  let restored = 0;
  const wanted = new Set<Digest>();
  for (const tag of scan.tags) if (tag.current) wanted.add(tag.current);
  for (const revision of scan.revisions) for (const child of revision.manifest?.children ?? []) wanted.add(child);
  for (const digest of wanted) {
    if (aside?.has(digest)) {
      vacuum.restore({ kind: 'revision', repository: scan.name, digest });
      aside.delete(digest);
      restored++;
    }
  }
  for (const revision of scan.revisions) {
    // No blob data: aside if the index has it unmarked (every such blob went aside).
    if (!revision.manifest && index.has(revision.digest) && !index.isMarked(revision.digest)) {
      index.mark(revision.digest);
      vacuum.restore({ kind: 'blob', digest: revision.digest });
      restored++;
    }
  }
  return restored;
}
