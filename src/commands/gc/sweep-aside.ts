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
//
// Each step is a group run concurrently (sweep-groups.ts: at most
// SWEEP_IN_FLIGHT deletions under way, the one bound of the deletion side),
// and a group starts only when the one before it has finished: tags, then
// tag index entries and linkless revisions, then revisions aside, then
// blobs aside; after the recheck, revisions, then layer links, then blobs
// (with a trash of format 2, what is still aside goes into it a quarantine
// directory at a time: sweep-groups.ts groupAside).
// A signal (SweepContext.stopRequested) stops the start of new deletions;
// those in flight finish, and the outcome lists are cut to what was done.

import { type Warn, makeWarning } from '../../errors.js';
import type { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';
import { DigestList } from '../../model/digest-list.js';
import type { RepoScan } from '../../model/repository.js';
import { scanRepository, watchAsSweptLeftIt } from '../../scan/scan-repository.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { DeletionTarget, Vacuum } from '../../storage/vacuum.js';
import type { PhaseTimer } from '../phases.js';
import { type RepoOutcome, listRevisionNames } from './mark-repository.js';
import { type Counted, targetsOf } from './plan-sweep.js';
import { findOutcome } from './gc-checks.js';
import { group, groupAside } from './sweep-groups.js';

export interface SweepContext {
  reader: TreeReader;
  vacuum: Vacuum;
  index: BlobIndex;
  outcomes: RepoOutcome[];
  freshAfterMs: number;
  /** marks a repository read for the first time (mark-repository.ts with the run's options). */
  mark: (scan: RepoScan) => RepoOutcome;
  /** marks one read again: the same, without looking for its tags' blobs (dangling-tags.ts: warnings the first mark gave). */
  markAgain: (scan: RepoScan) => RepoOutcome;
  /** repositories whose watch changed since they were read (index.ts). */
  findChanged: () => string[];
  replaceOutcome: (outcome: RepoOutcome) => void;
  warn: Warn;
  timer: Pick<PhaseTimer, 'runAsync' | 'run' | 'progress'>;
  /** true once SIGINT or SIGTERM asked the run to stop: no new deletion starts. */
  stopRequested?: () => boolean;
  /** incremented as deletions complete (index.ts SweepCounts). */
  swept: { tags: number; tagIndexEntries: number; manifests: number; linklessRevisions: number; layerLinks: number; blobs: number; bytes: number };
}

// A tree still changing after this many recheck rounds is being written to
// steadily; what changes later are pushes that began with everything aside.
const MAX_RECHECKS = 5;

/** Runs the sweep; returns whether the recheck found repositories changed, and whether a signal stopped it. */
export async function sweepAside(context: SweepContext): Promise<{ changed: boolean; stopped: boolean }> {
  const { vacuum, index, outcomes, swept, timer } = context;
  const stop = context.stopRequested ?? (() => false);
  const asideRevisions = new Map<string, Set<Digest>>();
  const asideBlobs = new DigestList();
  /** Nothing after (a) was done: the plan's lists of revisions and layer links are emptied (what is aside goes back: index.ts). */
  const nothingAfterA = (): void => {
    for (const outcome of outcomes) {
      outcome.manifestsDeleted = new DigestList();
      outcome.layerLinksDeleted = new DigestList();
    }
    index.forEachUnmarked((digest) => index.mark(digest));
  };

  // a. deletions that no push can need, then the rest aside
  const first = await timer
    .runAsync('sweep', async () => {
      const removals: [DeletionTarget, Counted][] = [];
      const revisions: { repository: string; digest: Digest }[] = [];
      for (const [target, counter] of targetsOf(outcomes, false)) {
        if (target.kind === 'revision' && counter === 'manifests') revisions.push({ repository: target.repository, digest: target.digest });
        else removals.push([target, counter]);
      }
      const blobs = new DigestList();
      index.forEachUnmarked((digest) => {
        blobs.push(digest);
      });
      const candidates = [...blobs];
      timer.progress.total(removals.length + revisions.length + candidates.length);
      // Tags (prune) one at a time, in order: a tag is several files.
      const tags = removals.filter(([target]) => target.kind === 'tag');
      const leaves = removals.filter(([target]) => target.kind !== 'tag');
      let tagsDone = 0;
      for (const [target] of tags) {
        if (stop()) break;
        vacuum.remove(target);
        swept.tags++;
        tagsDone++;
        timer.progress.advance(1);
      }
      // What prune removed is the first `swept.tags` tags of the plan's order.
      let keep = swept.tags;
      for (const outcome of outcomes) {
        if (outcome.tagsRemoved.length <= keep) keep -= outcome.tagsRemoved.length;
        else {
          outcome.tagsRemoved = outcome.tagsRemoved.slice(0, keep);
          keep = 0;
        }
      }
      if (tagsDone < tags.length) return false;
      const step1 = await group(
        leaves,
        async ([target, counter]) => {
          await vacuum.removeAsync(target);
          swept[counter]++;
          timer.progress.advance(1);
        },
        stop,
      );
      if (step1.failure !== undefined) throw step1.failure;
      if (!step1.complete) return false;
      const step2 = await group(
        revisions,
        async (item) => {
          if (await vacuum.quarantineAsync({ kind: 'revision', ...item })) {
            let set = asideRevisions.get(item.repository);
            if (!set) asideRevisions.set(item.repository, (set = new Set()));
            set.add(item.digest);
          }
          timer.progress.advance(1);
        },
        stop,
      );
      if (step2.failure !== undefined) throw step2.failure;
      if (!step2.complete) return false;
      const step3 = await group(
        candidates,
        async (digest) => {
          if (await vacuum.quarantineAsync({ kind: 'blob', digest })) asideBlobs.push(digest);
          timer.progress.advance(1);
        },
        stop,
      );
      if (step3.failure !== undefined) throw step3.failure;
      return step3.complete;
    })
    .catch((error: unknown) => {
      nothingAfterA();
      throw error;
    });
  if (!first) {
    nothingAfterA();
    return { changed: false, stopped: true };
  }

  // b. recheck
  let changed = false;
  let restored = 0;
  timer.run('recheck', () => {
    for (let round = 1; round <= MAX_RECHECKS; round++) {
      const names = context.findChanged();
      if (names.length === 0) break;
      // Step a changed the watch of every repository it moved a revision
      // out of (revisions/<alg>'s mtime) or removed a tag from (tags/'s).
      // One whose only change is its revisions moved aside is not read
      // again (watchIfOnlyOwnMoves); any other is, and only one that holds
      // more than this run left in it, or needed something back, was
      // written to.
      const written: string[] = [];
      for (const name of names) {
        const before = findOutcome(outcomes, name);
        const now = before && watchIfOnlyOwnMoves(context, before, asideRevisions.get(name));
        if (before && now !== undefined) {
          context.replaceOutcome({ ...before, watch: now });
          continue;
        }
        let scan = scanRepository(context.reader, name, context.freshAfterMs);
        let back = 0;
        // Bounded: each pass puts back at least one item, and few were aside.
        for (let more = restoreNeeded(context, scan, asideRevisions.get(name)); more > 0; more = restoreNeeded(context, scan, asideRevisions.get(name))) {
          back += more;
          scan = scanRepository(context.reader, name, context.freshAfterMs);
        }
        restored += back;
        // One read before was marked with its tags' blobs looked for (its dangling-tag warnings given); a new one is now.
        const fresh = before ? context.markAgain(scan) : context.mark(scan);
        const asOwnSweepLeftIt =
          before !== undefined &&
          back === 0 &&
          scan.revisions.length === before.revisions - (asideRevisions.get(name)?.size ?? 0) &&
          scan.linklessRevisions.length === 0 &&
          scan.tags.length === before.tags - before.tagsRemoved.length;
        if (!asOwnSweepLeftIt) written.push(name);
        // What this run deleted in it stays reported; nothing more goes in it.
        context.replaceOutcome(
          before
            ? { ...before, watch: fresh.watch, keptTags: fresh.keptTags, revisionNames: listRevisionNames(scan) }
            : { ...fresh, tagsRemoved: [], manifestsDeleted: new DigestList(), tagIndexEntries: new Map(), linklessRevisions: [] },
        );
      }
      if (written.length === 0) continue;
      changed = true;
      context.warn(
        makeWarning(
          'W_REVALIDATED',
          `recheck after the sweep moved things aside: ${written.length} repositories changed (${written.slice(0, 5).join(', ')}); read and marked again`,
        ),
      );
    }
  });

  // c. revisions, then layer links, then what is still aside, for good
  const complete = await timer.runAsync('sweep-blobs', async () => {
    const revisions: { outcome: RepoOutcome; digest: Digest }[] = [];
    const links: { outcome: RepoOutcome; digest: Digest }[] = [];
    for (const outcome of outcomes) {
      const aside = asideRevisions.get(outcome.name);
      const gone = new DigestList();
      for (const digest of outcome.manifestsDeleted) if (aside?.has(digest)) gone.push(digest);
      outcome.manifestsDeleted = gone;
      for (const digest of aside ?? []) revisions.push({ outcome, digest });
      const still = new DigestList();
      for (const digest of outcome.layerLinksDeleted) if (!index.survives(digest)) still.push(digest);
      outcome.layerLinksDeleted = still;
      for (const digest of still) links.push({ outcome, digest });
    }
    const blobs = [...asideBlobs];
    timer.progress.total(revisions.length + links.length + blobs.length);
    /** Cuts each outcome's list to the items of `items` that were done. */
    const cut = (items: { outcome: RepoOutcome; digest: Digest }[], done: (i: number) => boolean, list: 'manifestsDeleted' | 'layerLinksDeleted'): void => {
      const kept = new Map<RepoOutcome, Set<Digest>>();
      items.forEach(({ outcome, digest }, i) => {
        if (!done(i)) return;
        let set = kept.get(outcome);
        if (!set) kept.set(outcome, (set = new Set()));
        set.add(digest);
      });
      for (const outcome of outcomes) {
        const set = kept.get(outcome);
        const left = new DigestList();
        for (const digest of outcome[list]) if (set?.has(digest)) left.push(digest);
        outcome[list] = left;
      }
    };
    const step1 = await groupAside(
      vacuum,
      revisions,
      ({ outcome, digest }) => ({ kind: 'revision', repository: outcome.name, digest }),
      async ({ outcome, digest }) => {
        await vacuum.removeAsync({ kind: 'quarantinedRevision', repository: outcome.name, digest });
        swept.manifests++;
        timer.progress.advance(1);
      },
      () => {
        swept.manifests++;
        timer.progress.advance(1);
      },
      stop,
    );
    if (!step1.complete) {
      cut(revisions, step1.done, 'manifestsDeleted');
      cut(links, () => false, 'layerLinksDeleted');
      if (step1.failure !== undefined) throw step1.failure;
      return false;
    }
    const step2 = await group(
      links,
      async ({ outcome, digest }) => {
        await vacuum.removeAsync({ kind: 'layerLink', repository: outcome.name, digest });
        swept.layerLinks++;
        timer.progress.advance(1);
      },
      stop,
    );
    if (!step2.complete) {
      cut(links, step2.done, 'layerLinksDeleted');
      if (step2.failure !== undefined) throw step2.failure;
      return false;
    }
    const going: Digest[] = [];
    for (const digest of blobs) {
      if (!index.isMarked(digest)) going.push(digest);
      // Needed now (marked by the recheck): back first, unless restoreNeeded put it back already.
      else if (!context.reader.mtimeOf({ kind: 'blobDir', digest })) {
        vacuum.restore({ kind: 'blob', digest });
        restored++;
      }
    }
    const gone = (bytes: number): void => {
      swept.bytes += bytes;
      swept.blobs++;
      timer.progress.advance(1, bytes);
    };
    const step3 = await groupAside(
      vacuum,
      going,
      (digest) => ({ kind: 'blob', digest }),
      async (digest) => gone(await vacuum.removeAsync({ kind: 'quarantinedBlob', digest })),
      (_digest, bytes) => gone(bytes),
      stop,
    );
    // Not deleted (not started, or failed): not reported as deleted.
    going.forEach((digest, i) => {
      if (!step3.done(i)) index.mark(digest);
    });
    if (step3.failure !== undefined) throw step3.failure;
    if (step3.complete) vacuum.removeQuarantineDirs();
    return step3.complete;
  });
  if (restored > 0)
    context.warn(makeWarning('W_RESTORED', `${restored} blobs or manifests moved aside were needed by pushes made during the sweep and were put back`));
  return { changed, stopped: !complete };
}

/**
 * The watch of a repository the sweep moved revisions out of, when that is
 * all that changed in it (scan-repository.ts watchAsSweptLeftIt): what is
 * in its revisions/<alg> directories is what its decision was made on
 * (RepoOutcome.revisionNames) less what is aside, and every tag names one
 * of those. Undefined otherwise: it is read again.
 */
function watchIfOnlyOwnMoves(context: SweepContext, outcome: RepoOutcome, aside: ReadonlySet<Digest> | undefined): string | undefined {
  if (!outcome.revisionNames) return undefined;
  const expected = new Set<Digest>();
  for (const digest of outcome.revisionNames) if (!aside?.has(digest)) expected.add(digest);
  return watchAsSweptLeftIt(context.reader, outcome.name, outcome.watch, expected);
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
