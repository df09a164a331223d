// gc and prune: the mark-and-sweep, equivalent to `registry garbage-collect
// [-m]`, optionally removing selected tags first (prune).
//
// 1. inventory  list the blob fan-out shards into the BlobIndex; find the
//               repositories. Nothing is deleted before step 5.
// 2. mark       scan every repository (revisions, manifests, tags); apply
//               the tag selection (prune) in memory; choose the kept
//               revisions (model/reachability.ts); mark them and what they
//               reference. Any unreadable input aborts the run here.
// 3. plan       layer links whose blob is gone or going; unmarked blobs
//               and their sizes. Every target is vetted by the deletion
//               module (known shape, link contents, no symlink, no mount):
//               anything unexpected stops the run here, nothing deleted.
// 4. revalidate skipped for a dry run. Every repository written to since
//               it was read is read, marked and planned again (at most 5
//               rounds; then what still changes is kept whole).
// 5. housekeeping  unfinished uploads older than --purge-uploads AGE and,
//               with --remove-empty-repos, repositories left with no tag
//               and no revision (plan-housekeeping.ts), vetted likewise.
// 6. sweep      skipped for a dry run. The journal first (when tags go),
//               then removed tags, tag index entries and revision
//               directories, layer links, blobs; then the uploads and the
//               emptied repositories (sweep-housekeeping.ts): after a crash
//               at any point every kept tag still serves, and rerunning the
//               same command ends where the uninterrupted run ends. A
//               failure part-way is reported with what was already deleted.
// 7. verify     skipped for a dry run. Every kept tag still has its
//               revision link and manifest blob; then the journal goes.
//
// --plan FILE (a dry run): after 5, the plan file (write-plan.ts). `apply
// FILE` (a real run, options.apply): the plan stands for the mark of every
// repository it saw unchanged; only its blobs are in the index, only the
// changed and new repositories are read in 2, and nothing outside the plan
// goes (apply-plan.ts).

import { JanitorError, describeError, makeWarning, orderByRepository } from '../../errors.js';
import { writeGcPlan } from './write-plan.js';
import { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';
import type { RepoScan } from '../../model/repository.js';
import { findRepositories } from '../../scan/find-repositories.js';
import { Prefetcher } from '../../scan/prefetch.js';
import { scanBlobs } from '../../scan/scan-blobs.js';
import { listServableDigests } from '../../scan/scan-repository.js';
import { InProcessWorkers } from '../../scan/storage-workers.js';
import type { FileSystem } from '../../storage/file-system.js';
import { journalTagsOf, writeJournal } from '../journal.js';
import { type DeletingRun, openTree, runDeleting } from '../skeleton.js';
import { restrictToTarget, sizeDeletableBlobs } from './free-target.js';
import { assertHalvesPresent, findChangedRepositories, groupByRepository, keptLinkGroupsOf, replaceOutcome, verifyKeptTags } from './gc-checks.js';
import type { GcOptions, GcResult, SweepCounts } from './gc-types.js';
import { type RepoOutcome, markRepository } from './mark-repository.js';
import { DirectoriesSeen, emptyHousekeeping, planHousekeeping } from './plan-housekeeping.js';
import { planSweep } from './plan-sweep.js';
import { revalidateChanged } from './revalidate.js';
import { abandonHousekeeping, sweepHousekeeping } from './sweep-housekeeping.js';
import { type SweepContext, sweepAside } from './sweep-aside.js';
import { hasQuarantineRoom, sweepDirect } from './sweep-direct.js';

export type { RepoOutcome };

export type { GcOptions, GcResult, RegistryReport } from './gc-types.js';

export async function runGc(fs: FileSystem, rootNamed: string, options: GcOptions): Promise<GcResult> {
  const startedMs = Date.now();
  const { root, v2, reader, warnings, warn, timer } = openTree(fs, rootNamed, options.onPhase);
  let index = new BlobIndex();
  const result: GcResult = {
    dryRun: options.dryRun,
    deleteUntagged: options.deleteUntagged,
    root,
    v2,
    blobsMarked: 0,
    blobsDeletedCount: 0,
    bytesFreed: 0,
    repositories: [],
    skipped: [],
    warnings,
    phases: timer.phases,
    temporaryFiles: 0,
    swept: undefined,
    sweepError: undefined,
    keptByGrace: { tags: 0, manifests: 0, layerLinks: 0, blobs: 0 },
    keptByGraceBytes: 0,
    revalidations: 0,
    prefetched: false,
    forEachBlobDeleted: (visit) => index.forEachUnmarked(visit),
    housekeeping: emptyHousekeeping(options.purgeUploadsMs, options.removeEmptyRepos === true),
  };
  const apply = options.apply;
  if (apply && apply.header.v2 !== v2)
    throw new JanitorError('E_PLAN_ROOT', `the plan was made for ${apply.header.v2}, not ${v2 ?? root}: refusing to apply it here; nothing was deleted`, {
      path: v2 ?? root,
    });
  if (!reader) {
    options.selector?.assertExplicitFound();
    return result;
  }
  // The cold-cache prefetcher: gc's is stopped once its plan is revalidated,
  // an apply's (whose last reads are the verify's kept tags) when the run
  // ends; either when it fails.
  let prefetch: Prefetcher | undefined;
  const sweepTree = async ({ vacuum, mountPoints, resumed, complete, trash }: DeletingRun): Promise<GcResult> => {
    result.trash = trash;
    // 1. inventory
    const skip = options.skipRepository ?? (() => false);
    // Blobs an interrupted sweep moved aside go back before anything is read.
    const leftAside = vacuum.listQuarantine();
    if (leftAside.length > 0) {
      const path = reader.pathOf({ kind: 'quarantineRoot' });
      if (options.dryRun)
        warn(
          makeWarning(
            'W_QUARANTINE_LEFT',
            `${leftAside.length} blobs or revisions are in ${path}* from an interrupted sweep; a real run puts them back first (or stops, naming what it cannot)`,
            { path },
          ),
        );
      else vacuum.restoreAll(leftAside);
    }
    const journalTags = groupByRepository(apply ? apply.journalTags() : (resumed?.tags ?? []));
    const directories = new DirectoriesSeen();
    // Warms the page cache ahead of the scan; it decides nothing.
    prefetch = Prefetcher.start(reader, options.prefetch ?? { width: 0, probe: false }, apply !== undefined);
    const inventory = (): string[] => {
      index = apply ? apply.blobIndex() : scanBlobs(reader);
      const repositories = findRepositories(reader, warn, skip, directories.visit);
      assertHalvesPresent(reader, index.blobCount, repositories.length);
      for (const name of repositories.filter(skip)) {
        // Marked from directory names alone; a listing that fails still stops
        // the run, as what cannot be listed cannot be protected.
        const digests = listServableDigests(reader, name);
        index.markAll(digests);
        options.selector?.skip(name);
        result.skipped.push(name);
        warn(
          makeWarning('W_REPOSITORY_SKIPPED', `${name}: skipped (--skip-repo); its ${digests.length} linked digests are kept and nothing in it is deleted`, {
            repository: name,
          }),
        );
      }
      const names = repositories.filter((name) => !skip(name));
      if (!apply) return names;
      prefetch?.repositories(names, false, 'fingerprint');
      const reread = apply.sortRepositories(reader, names, result.repositories, () => prefetch?.scannedOne());
      prefetch?.inventoried(apply.plannedReads(names));
      return reread;
    };
    // 2. mark, 3. plan and 4. revalidate use the read-side threads (-j),
    // closed before any deletion. Started now: a worker takes ~0.2 s to
    // load, and started after the inventory it took its first batch 0.3 s
    // into the mark (many-small 100k); now it takes it as the mark starts.
    const workers = options.makeWorkers?.(reader) ?? new InProcessWorkers(reader);
    let names: string[];
    try {
      workers.start();
      names = timer.run('inventory', inventory);
    } catch (error) {
      await workers.close();
      throw error;
    }

    const outcomes = result.repositories;
    const graceMs = options.graceMs ?? 0;
    const freshAfterMs = graceMs > 0 ? startedMs - graceMs : Number.POSITIVE_INFINITY;
    // Tag index entries are read only where a manifest can be deleted (-m, removed tags).
    // A blob missing from the inventory is missing only if it still is (pushed since: not dangling).
    const blobExists = (digest: Digest): boolean => index.has(digest) || reader.mtimeOf({ kind: 'blobData', digest }) !== undefined;
    const scanOptions = { tagIndex: options.deleteUntagged || options.selector !== undefined || journalTags.size > 0 };
    prefetch?.repositories(names, scanOptions.tagIndex);
    // A plan records the tags that stay (apply's verify checks them), as a real run does.
    const dryRun = options.dryRun && options.plan === undefined;
    // checkBlobs: whether a kept tag's config and layer blobs are looked for
    // (dangling-tags.ts: a warning, it decides nothing). Not when the sweep's
    // recheck reads a repository again: its mark warned, and in an apply, whose index
    // holds only the plan's blobs, it was an lstat per kept blob of every
    // repository read again (2.5 s of a 9 s recheck on the many-small 100k tree).
    const markOne = (scan: RepoScan, checkBlobs: boolean): RepoOutcome =>
      markRepository(
        scan,
        {
          ...options,
          dryRun,
          journalTags: journalTags.get(scan.name) ?? [],
          freshAfterMs,
          recordLinks: options.free !== undefined,
          blobExists: checkBlobs ? blobExists : undefined,
        },
        index,
        warn,
      );
    const markWith =
      (checkBlobs: boolean) =>
      (scan: RepoScan): RepoOutcome =>
        apply ? apply.restrictMark(scan, markOne(scan, checkBlobs), index, reader) : markOne(scan, checkBlobs);
    const mark = markWith(true);
    // Skipped repositories are not compared: what they link now is marked.
    const findChanged = (): string[] => findChangedRepositories(reader, outcomes, skip, (name) => index.markAll(listServableDigests(reader, name)));
    const onScan = (scan: RepoScan): void => {
      prefetch?.scannedOne();
      outcomes.push(mark(scan));
    };
    const plan = async (): Promise<void> => {
      prefetch?.blobs(index);
      const layerLinkCandidates = apply && ((name: string) => apply.layerLinkCandidates(name));
      const depth = options.dryRun ? 'light' : options.trash !== undefined ? 'move' : 'full';
      const totals = await planSweep(
        { reader, index, workers, mountPoints, depth, freshAfterMs, prefetch, ...(layerLinkCandidates ? { layerLinkCandidates } : {}) },
        outcomes,
      );
      if (apply) prefetch?.kept(keptLinkGroupsOf(outcomes));
      result.bytesFreed = totals.bytesFreed;
      result.blobsDeletedCount = index.unmarkedCount;
      result.keptByGrace.blobs = totals.blobsKeptByGrace;
      result.keptByGraceBytes = totals.bytesKeptByGrace;
      result.keptByGrace.layerLinks = totals.layerLinksKeptByGrace;
    };
    try {
      // 2. mark
      const markWarningsFrom = warnings.length;
      await timer.runAsync('mark', () => {
        timer.progress.total(names.length);
        return workers.scanRepositories(
          names,
          (scan) => {
            onScan(scan);
            timer.progress.advance(1);
          },
          freshAfterMs,
          scanOptions,
        );
      });
      orderByRepository(warnings, markWarningsFrom);
      // A repository the interrupted run removed whole (--remove-empty-repos) is not read: its journal's tags are removed already.
      for (const [name, tags] of journalTags) {
        if (!skip(name) && !outcomes.some((o) => o.name === name))
          options.selector?.decide(
            name,
            tags.map((t) => ({ ...t, current: t.digest })),
          );
      }
      options.selector?.assertExplicitFound();
      for (const rule of options.selector?.unmatchedRules() ?? []) warn(makeWarning('W_RULE_UNMATCHED', `${rule.origin} matches no repository`));
      outcomes.sort((a, b) => (a.name < b.name ? -1 : 1));
      result.blobsMarked = index.markedCount;

      // 3. plan
      await timer.runAsync('plan', plan);

      // 4. revalidate: what changed since it was read is read, marked and
      // planned again. A dry run deletes nothing, so it has nothing to
      // protect: it skips this phase (a tenth of a dry run's time on the
      // many-small bench tree: every directory and tag link stat'ed again).
      if (!options.dryRun) {
        const onMarked = (): void => void (result.blobsMarked = index.markedCount);
        const revalidation = { reader, workers, index, outcomes, warnings, warn, freshAfterMs, scanOptions, findChanged, mark, onMarked, plan };
        result.revalidations = await timer.runAsync('revalidate', () => revalidateChanged(revalidation));
      }
      if (apply) {
        apply.settle(reader, outcomes, index, freshAfterMs, warn);
        result.applied = apply.report;
      }
      for (const outcome of outcomes) {
        result.keptByGrace.tags += outcome.keptByGrace.tags;
        result.keptByGrace.manifests += outcome.keptByGrace.manifests;
      }
    } finally {
      result.prefetched = prefetch?.running ?? false;
      if (!apply) prefetch?.stop();
      await workers.close();
    }
    // --free: the plan restricted to the largest blobs that reach SIZE (free-target.ts).
    if (options.free !== undefined || options.sizeBlobs) {
      const sizes = sizeDeletableBlobs(reader, index);
      if (options.free !== undefined) {
        result.free = restrictToTarget(options.free, sizes, index, outcomes, resumed?.tags);
        result.bytesFreed = result.free.freed;
        result.blobsDeletedCount = index.unmarkedCount;
      }
      if (options.sizeBlobs) result.blobSizes = sizes;
    }

    // 5. housekeeping
    const housekeeping = { reader, vacuum, warn, skip, purgeUploadsMs: options.purgeUploadsMs, nowMs: startedMs, freshAfterMs };
    result.housekeeping = timer.run('housekeeping', () =>
      planHousekeeping({ ...housekeeping, removeEmptyRepos: options.removeEmptyRepos === true }, directories, outcomes),
    );
    if (options.plan && v2 !== undefined)
      result.planWritten = timer.run('write-plan', () =>
        options.plan ? writeGcPlan(reader, options.plan, { root, v2, startedMs }, outcomes, index, result.bytesFreed) : undefined,
      );
    if (options.dryRun) return result;
    const signal = options.stopRequested ?? (() => undefined);

    // 6. sweep
    // A volume with no room for the quarantine is swept in place (sweep-direct.ts), unless a registry may be live.
    const direct = !hasQuarantineRoom(reader, vacuum, outcomes, index);
    if (direct) {
      const where = reader.pathOf({ kind: 'quarantineRoot' });
      if (options.allowLive)
        throw new JanitorError(
          'E_NO_SPACE',
          `no space or inode left for the quarantine ${where}, which protects a live registry's pushes (--allow-live): stop the registry or switch it to read-only, then rerun without --allow-live; nothing was deleted`,
          { path: where },
        );
      warn(
        makeWarning(
          'W_QUARANTINE_NO_SPACE',
          `no space or inode left for the quarantine ${where}: deleting in place, in the safe order (keep the registry stopped or read-only until the run ends)`,
          { path: where },
        ),
      );
    }
    const removing = journalTagsOf(outcomes.map((o) => o.tagsRemoved));
    const journaled = removing.length > 0 || resumed !== undefined;
    if (removing.length > 0 && options.journal) {
      try {
        writeJournal(reader, options.journal, removing, resumed);
      } catch (error) {
        vacuum.removeQuarantineDirs(); // made by hasQuarantineRoom; nothing was deleted
        throw error;
      }
    }
    const swept: SweepCounts = { tags: 0, tagIndexEntries: 0, manifests: 0, linklessRevisions: 0, layerLinks: 0, blobs: 0, bytes: 0 };
    result.swept = swept;
    let housekept = false;
    try {
      const context: SweepContext = {
        reader,
        vacuum,
        index,
        outcomes,
        freshAfterMs,
        mark,
        markAgain: markWith(false),
        findChanged,
        replaceOutcome: (outcome) => replaceOutcome(outcomes, outcome),
        warn,
        timer,
        stopRequested: () => signal() !== undefined,
        swept,
      };
      // The direct sweep (no room for the quarantine) is synchronous; it too starts no deletion after a signal.
      const { changed, stopped } = direct ? sweepDirect(context) : await sweepAside(context);
      const interrupted = (): JanitorError =>
        new JanitorError('E_INTERRUPTED', `interrupted by ${signal() ?? 'a signal'}: no new deletion was started, the ones under way finished`);
      // A signal: what was done is reported, what is aside goes back (below), a rerun finishes.
      if (stopped) throw interrupted();
      housekept = true;
      const sweep = { reader, vacuum, progress: timer.progress, stopRequested: () => signal() !== undefined, startedMs, freshAfterMs };
      if (timer.run('sweep-housekeeping', () => sweepHousekeeping(sweep, result.housekeeping))) throw interrupted();
      if (changed) result.revalidations++;
      result.blobsDeletedCount = swept.blobs;
      result.bytesFreed = swept.bytes;
      if (result.free) Object.assign(result.free, { freed: swept.bytes, reached: swept.bytes >= result.free.target });
      // 7. verify: the journal goes only once every kept tag is checked.
      timer.run('verify', () => verifyKeptTags(reader, outcomes));
      if (journaled) complete();
    } catch (error) {
      const known = error instanceof JanitorError;
      if (known) {
        result.sweepError = error;
        if (!housekept) abandonHousekeeping(result.housekeeping);
      }
      // Never leave anything hidden, whatever stopped the sweep (an
      // unexpected error too: ENOSPC writing the trash's manifest): what is
      // still aside goes back, and if that fails too, the next real run puts
      // it back first (or stops, naming it, at a copy holding anything unknown).
      try {
        vacuum.restoreAll(vacuum.listQuarantine());
      } catch (restoreError) {
        warn(
          makeWarning(
            'W_RESTORE_FAILED',
            `could not put back what the sweep moved aside: ${describeError(restoreError)}; the next real run puts it back first (or stops, naming what it cannot)`,
          ),
        );
      }
      if (!known) throw error;
    }
    result.temporaryFiles = vacuum.temporaryFiles;
    return result;
  };
  return runDeleting(fs, reader, options, warn, async (run) => {
    try {
      return await sweepTree(run);
    } finally {
      prefetch?.stop();
    }
  });
}
