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
// 4. revalidate every repository written to since it was read is read,
//               marked and planned again (at most 5 rounds; then what
//               still changes is kept whole).
// 5. sweep      skipped for a dry run. The journal first (when tags go),
//               then removed tags, tag index entries and revision
//               directories, layer links, blobs: after a crash at any
//               point every kept tag still serves, and rerunning the same
//               command ends where the uninterrupted run ends. A failure
//               part-way is reported with what was already deleted.
// 6. verify     skipped for a dry run. Every kept tag still has its
//               revision link and manifest blob; then the journal goes.

import { JanitorError, type Warn, type Warning, describeError, makeWarning } from '../../errors.js';
import { BlobIndex } from '../../model/blob-index.js';
import type { Digest } from '../../model/digest.js';
import { DigestList } from '../../model/digest-list.js';
import type { RepoScan } from '../../model/repository.js';
import { findRepositories } from '../../scan/find-repositories.js';
import { scanBlobs } from '../../scan/scan-blobs.js';
import { listServableDigests, watchRepository } from '../../scan/scan-repository.js';
import { InProcessWorkers, type StorageWorkers } from '../../scan/storage-workers.js';
import { Prefetcher } from '../../scan/prefetch.js';
import type { TagSelector } from '../../select/select-tags.js';
import type { FileSystem } from '../../storage/file-system.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import { type JournalTag, journalTagsOf, writeJournal } from '../journal.js';
import type { PhaseListener } from '../phases.js';
import { openTree, runDeleting } from '../skeleton.js';
import { type RepoOutcome, markRepository } from './mark-repository.js';
import { type FreeReport, restrictToTarget, sizeDeletableBlobs } from './free-target.js';
import { planSweep } from './plan-sweep.js';
import { type SweepContext, sweepAside } from './sweep-aside.js';
import { hasQuarantineRoom, sweepDirect } from './sweep-direct.js';

export type { RepoOutcome };

export interface GcOptions {
  dryRun: boolean;
  deleteUntagged: boolean;
  /** prune: which tags to remove before the sweep. */
  selector?: TagSelector;
  /**
   * --skip-repo: repositories not read. Every digest they link (revisions and
   * layer links) is marked, and nothing in them is deleted.
   */
  skipRepository?: (name: string) => boolean;
  /** builds the read-side threads; defaults to in-process on `fs`. */
  makeWorkers?: (reader: TreeReader) => StorageWorkers;
  /** --prefetch: reads kept in flight ahead of the scan on the real filesystem (scan/prefetch.ts; default 0: none). */
  prefetch?: number;
  onPhase?: PhaseListener;
  /** SIGINT or SIGTERM received (main.ts): the sweep starts no new deletion, the run reports what it did. */
  stopRequested?: () => 'SIGINT' | 'SIGTERM' | undefined;
  /** prune: what identifies this command in the journal (commands/journal.ts). */
  journal?: { fingerprint: string; command: string };
  /** the command line, recorded in the lock. */
  command?: string;
  /** --wait: how long to wait for another run's lock (default 0: refuse at once). */
  waitMs?: number;
  /** --grace: nothing written within this many ms is deleted (default 0). */
  graceMs?: number;
  /** --free SIZE: delete the largest deletable blobs until this many bytes are freed (free-target.ts). */
  free?: number | undefined;
  /** size every deletable blob (the human dry run's listing). */
  sizeBlobs?: boolean | undefined;
  /** --allow-live: a registry may be writing, so a sweep without the quarantine (a full volume) is refused. */
  allowLive?: boolean | undefined;
}

/** What the sweep completed: everything planned, unless it failed part-way. */
// A tree still changing after this many rounds of revalidation is being
// written to steadily: refuse rather than chase it.
const MAX_REVALIDATIONS = 5;

export interface RegistryReport {
  /** the registry config the run read, or null. */
  config: string | null;
  /** storage.maintenance.readonly.enabled in it; null without a config. */
  readOnly: boolean | null;
  /** the URL at which a registry answered, false when none did, null when not probed (a dry run). */
  live: string | false | null;
}

export interface SweepCounts {
  tags: number;
  tagIndexEntries: number;
  manifests: number;
  /** revision directories left without their link by an interrupted run. */
  linklessRevisions: number;
  layerLinks: number;
  blobs: number;
  bytes: number;
}

export interface GcResult {
  dryRun: boolean;
  deleteUntagged: boolean;
  root: string;
  v2: string | undefined;
  blobsMarked: number;
  blobsDeletedCount: number;
  bytesFreed: number;
  repositories: RepoOutcome[];
  /** repositories skipped by --skip-repo, each kept whole. */
  skipped: string[];
  warnings: Warning[];
  phases: { name: string; ms: number }[];
  /** `<name>.<uuid>.tmp` files of crashed registry writes removed with their directories (real runs). */
  temporaryFiles: number;
  /** undefined for a dry run; a real run's completed deletions. */
  swept: SweepCounts | undefined;
  /** the failure that stopped the sweep part-way; what was done is in `swept`. */
  sweepError: JanitorError | undefined;
  /** candidates the grace window kept (--grace). */
  keptByGrace: { tags: number; manifests: number; layerLinks: number; blobs: number };
  /** rounds of revalidation that found repositories changed since they were read. */
  revalidations: number;
  /** what the CLI learned of the registry itself (its config, a probe), when it knew the config. */
  registry?: RegistryReport | undefined;
  /** Visits the deleted (dry run: deletable) blobs in digest order. */
  forEachBlobDeleted(visit: (digest: Digest) => void): void;
  /** --free: the target, what was (would be) freed, what is left. */
  free?: FreeReport | undefined;
  /** the data size of each deletable blob, when sized (--free, sizeBlobs). */
  blobSizes?: ReadonlyMap<Digest, number> | undefined;
}

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
    revalidations: 0,
    forEachBlobDeleted: (visit) => index.forEachUnmarked(visit),
  };
  if (!reader) {
    options.selector?.assertExplicitFound();
    return result;
  }
  return runDeleting(fs, reader, options, warn, async ({ vacuum, mountPoints, resumed, complete }) => {
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
            `${leftAside.length} blobs or revisions are in ${path}* from an interrupted sweep; a real run puts them back first`,
            { path },
          ),
        );
      else for (const item of leftAside) vacuum.restore(item);
    }
    const journalTags = groupByRepository(resumed?.tags ?? []);
    // Warms the page cache ahead of the scan until the plan ends; it decides nothing.
    const prefetch = Prefetcher.start(reader, options.prefetch ?? 0);
    const names = timer.run('inventory', () => {
      index = scanBlobs(reader);
      const repositories = findRepositories(reader, warn, skip);
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
      return repositories.filter((name) => !skip(name));
    });
    warnOfUploads(reader, names, warn);

    // 2. mark, 3. plan and 4. revalidate use the read-side threads (-j); closed before any deletion.
    const outcomes = result.repositories;
    const workers = options.makeWorkers?.(reader) ?? new InProcessWorkers(reader);
    const graceMs = options.graceMs ?? 0;
    const freshAfterMs = graceMs > 0 ? startedMs - graceMs : Number.POSITIVE_INFINITY;
    // Tag index entries are read only where a manifest can be deleted (-m, removed tags).
    const scanOptions = { tagIndex: options.deleteUntagged || options.selector !== undefined || journalTags.size > 0 };
    prefetch?.repositories(names, scanOptions.tagIndex);
    const mark = (scan: RepoScan): RepoOutcome =>
      markRepository(scan, { ...options, journalTags: journalTags.get(scan.name) ?? [], freshAfterMs, recordLinks: options.free !== undefined }, index, warn);
    // Skipped repositories are not compared: what they link now is marked.
    const findChanged = (): string[] => findChangedRepositories(reader, outcomes, skip, (name) => index.markAll(listServableDigests(reader, name)));
    const onScan = (scan: RepoScan): void => {
      prefetch?.scannedOne();
      outcomes.push(mark(scan));
    };
    const plan = async (): Promise<void> => {
      prefetch?.blobs(index);
      const totals = await planSweep({ reader, index, workers, mountPoints, depth: options.dryRun ? 'light' : 'full', freshAfterMs }, outcomes);
      result.bytesFreed = totals.bytesFreed;
      result.blobsDeletedCount = index.unmarkedCount;
      result.keptByGrace.blobs = totals.blobsKeptByGrace;
      result.keptByGrace.layerLinks = totals.layerLinksKeptByGrace;
    };
    try {
      // 2. mark
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
      options.selector?.assertExplicitFound();
      for (const rule of options.selector?.unmatchedRules() ?? []) warn(makeWarning('W_RULE_UNMATCHED', `${rule.origin} matches no repository`));
      outcomes.sort((a, b) => (a.name < b.name ? -1 : 1));
      result.blobsMarked = index.markedCount;

      // 3. plan
      await timer.runAsync('plan', plan);

      // 4. revalidate: what changed since it was read is read, marked and planned again.
      {
        await timer.runAsync('revalidate', async () => {
          for (;;) {
            const changed = findChanged();
            if (changed.length === 0) break;
            if (++result.revalidations > MAX_REVALIDATIONS) {
              // Written to steadily: what changed in the last round is kept
              // whole (nothing in it deleted, everything it links marked).
              warn(
                makeWarning(
                  'W_TREE_KEPT_CHANGING',
                  `the tree kept changing through ${MAX_REVALIDATIONS} revalidations: ${changed.length} repositories written to last are kept whole this run (${changed.slice(0, 5).join(', ')})`,
                ),
              );
              for (const name of changed) {
                index.markAll(listServableDigests(reader, name));
                const outcome = outcomes.find((o) => o.name === name);
                if (outcome) Object.assign(outcome, { manifestsDeleted: new DigestList(), tagIndexEntries: new Map(), linklessRevisions: [] });
              }
              await plan();
              break;
            }
            warn(
              makeWarning(
                'W_REVALIDATED',
                `revalidation: ${changed.length} repositories changed while this run read them (${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', ...' : ''}); read, marked and planned again`,
              ),
            );
            await workers.scanRepositories(changed, (scan) => replaceOutcome(outcomes, mark(scan)), freshAfterMs, scanOptions);
            outcomes.sort((a, b) => (a.name < b.name ? -1 : 1));
            result.blobsMarked = index.markedCount;
            await plan();
          }
        });
      }
      for (const outcome of outcomes) {
        result.keptByGrace.tags += outcome.keptByGrace.tags;
        result.keptByGrace.manifests += outcome.keptByGrace.manifests;
      }
    } finally {
      prefetch?.stop();
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
    if (options.dryRun) return result;
    const signal = options.stopRequested ?? (() => undefined);

    // 5. sweep
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
    try {
      const context: SweepContext = {
        reader,
        vacuum,
        index,
        outcomes,
        freshAfterMs,
        mark,
        findChanged,
        replaceOutcome: (outcome) => replaceOutcome(outcomes, outcome),
        warn,
        timer,
        stopRequested: () => signal() !== undefined,
        swept,
      };
      // The direct sweep (no room for the quarantine) is synchronous; it too starts no deletion after a signal.
      const { changed, stopped } = direct ? sweepDirect(context) : await sweepAside(context);
      if (stopped) {
        // A signal: what was done is reported, what is aside goes back (below), a rerun finishes.
        throw new JanitorError('E_INTERRUPTED', `interrupted by ${signal() ?? 'a signal'}: no new deletion was started, the ones under way finished`);
      }
      if (changed) result.revalidations++;
      result.blobsDeletedCount = swept.blobs;
      result.bytesFreed = swept.bytes;
      if (result.free) Object.assign(result.free, { freed: swept.bytes, reached: swept.bytes >= result.free.target });
      // 6. verify: the journal goes only once every kept tag is checked.
      timer.run('verify', () => verifyKeptTags(reader, outcomes));
      if (journaled) complete();
    } catch (error) {
      if (!(error instanceof JanitorError)) throw error;
      result.sweepError = error;
      // Never leave anything hidden: what is still aside goes back (and if
      // that fails too, the next real run puts it back first).
      try {
        for (const item of vacuum.listQuarantine()) vacuum.restore(item);
      } catch (restoreError) {
        warn(
          makeWarning(
            'W_RESTORE_FAILED',
            `could not put back what the sweep moved aside: ${describeError(restoreError)}; the next real run puts it back first`,
          ),
        );
      }
    }
    result.temporaryFiles = vacuum.temporaryFiles;
    return result;
  });
}

/**
 * Repositories whose watch (scan-repository.ts) differs from when they were
 * read, and repositories that did not exist then. Skipped repositories are
 * not compared: `remark` marks what they link now.
 */
function findChangedRepositories(
  reader: TreeReader,
  outcomes: readonly RepoOutcome[],
  skip: (name: string) => boolean,
  remark: (name: string) => void,
): string[] {
  const read = new Map(outcomes.map((o) => [o.name, o.watch]));
  const changed: string[] = [];
  for (const name of findRepositories(reader, () => {}, skip)) {
    if (skip(name)) remark(name);
    else if (read.get(name) !== watchRepository(reader, name)) changed.push(name);
  }
  return changed;
}

/** Uploads under way are a sign of a live registry: say where (never read further, never deleted). */
function warnOfUploads(reader: TreeReader, names: readonly string[], warn: Warn): void {
  const busy: string[] = [];
  let uploads = 0;
  for (const name of names) {
    // A repository that never received an upload has no _uploads/.
    const entries = reader.list({ kind: 'uploadsRoot', name }, { optional: true })?.length ?? 0;
    if (entries > 0) busy.push(name);
    uploads += entries;
  }
  if (uploads > 0) {
    warn(
      makeWarning(
        'W_LIVE_SIGNS',
        `signs of a live registry: ${uploads} uploads in _uploads/ of ${busy.length} repositories (${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ', ...' : ''}); stale ones are purged by the registry itself (storage.maintenance.uploadpurging)`,
      ),
    );
  }
}

function replaceOutcome(outcomes: RepoOutcome[], outcome: RepoOutcome): void {
  const at = outcomes.findIndex((o) => o.name === outcome.name);
  if (at >= 0) outcomes[at] = outcome;
  else outcomes.push(outcome);
}

function groupByRepository(tags: readonly JournalTag[]): Map<string, JournalTag[]> {
  const byRepository = new Map<string, JournalTag[]>();
  for (const tag of tags) {
    const list = byRepository.get(tag.repository);
    if (list) list.push(tag);
    else byRepository.set(tag.repository, [tag]);
  }
  return byRepository;
}

/**
 * Blobs with no repository, or repositories with no blob (the directory
 * missing, or empty: the mount point of a volume that did not mount looks
 * just like that), is half a registry, not one with nothing
 * left to keep: a sweep would delete every blob, or every layer link.
 * Refuse, as the reference does for a missing directory (issue 3058). A
 * registry truly emptied of repositories is cleared by deleting blobs/.
 */
function assertHalvesPresent(reader: TreeReader, blobs: number, repositories: number): void {
  if (blobs > 0 && repositories === 0) {
    const where = reader.pathOf({ kind: 'repositoriesRoot' });
    throw new JanitorError(
      'E_NOT_REGISTRY',
      `${where} holds no repository, but blobs/ holds ${blobs} blobs: refusing to delete every blob (is a volume not mounted? if the registry really is empty, delete blobs/ yourself)`,
      { path: where },
    );
  }
  if (repositories > 0 && blobs === 0) {
    const where = reader.pathOf({ kind: 'blobsRoot' });
    throw new JanitorError(
      'E_NOT_REGISTRY',
      `${where} holds no blob, but there are ${repositories} repositories: refusing to delete every layer link (is a volume not mounted?)`,
      { path: where },
    );
  }
}

function verifyKeptTags(reader: TreeReader, outcomes: RepoOutcome[]): void {
  for (const { name, keptTags } of outcomes) {
    for (const { tag, digest } of keptTags) {
      reader.readLink({ kind: 'revisionLink', name, digest }, digest);
      if (!reader.read({ kind: 'blobData', digest }, { optional: true })) {
        throw new JanitorError('E_UNREADABLE', `verify failed: ${name}:${tag} lost its manifest blob ${digest}`);
      }
    }
  }
}
