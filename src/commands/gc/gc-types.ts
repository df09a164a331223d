// What gc and prune take and return: the options, the result and its
// counts (the report renders them; index.ts fills them).

import type { JanitorError, Warning } from '../../errors.js';
import type { Digest } from '../../model/digest.js';
import type { StorageWorkers } from '../../scan/storage-workers.js';
import type { TagSelector } from '../../select/select-tags.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { TrashReport } from '../../storage/trash.js';
import type { PhaseListener } from '../phases.js';
import type { FreeReport } from './free-target.js';
import type { RepoOutcome } from './mark-repository.js';
import type { PrefetchSetting } from '../../scan/prefetch.js';
import type { ApplyReport, PlanApplication } from './apply-plan.js';
import type { PlanRequest, PlanWritten } from '../plan-file.js';

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
  /** --prefetch: reads kept in flight ahead of the scan on the real filesystem, always or on a cold cache (scan/prefetch.ts; default: none). */
  prefetch?: PrefetchSetting;
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
  /** --purge-uploads AGE: remove unfinished uploads that began more than this many ms ago (undefined: off, the default here). */
  purgeUploadsMs?: number | undefined;
  /** --remove-empty-repos: remove repositories left with no tag and no revision. */
  removeEmptyRepos?: boolean | undefined;
  /** --plan FILE (a dry run): write the plan file (write-plan.ts). */
  plan?: PlanRequest | undefined;
  /** `apply FILE`: the loaded plan stands for the mark of the repositories it saw unchanged (apply-plan.ts). */
  apply?: PlanApplication | undefined;
  /** --trash DIR: what the sweep would delete for good is moved into DIR (storage/trash.ts). */
  trash?: string | undefined;
}

/** An unfinished upload purged (a dry run: to purge). */
export interface UploadPurged {
  repository: string;
  id: string;
  bytes: number;
  /** what its startedat names; undefined when missing or unreadable (its newest mtime stood in). */
  startedAtMs: number | undefined;
  /** the newest mtime in it. */
  newestMs: number;
}

/** Why a repository with no tag and no revision left stays. */
export type EmptyKeptReason = 'upload-left' | 'fresh-layer-link' | 'unexpected-content' | 'written-since';

/** --purge-uploads and --remove-empty-repos: what they did (a dry run: would do). */
export interface HousekeepingReport {
  /** --purge-uploads AGE in ms; undefined: off. */
  purgeUploadsMs: number | undefined;
  uploadsPurged: UploadPurged[];
  /** uploads left (younger than AGE, written within the grace window, purging off, or of an unexpected shape), and their bytes. */
  uploadsLeft: { count: number; bytes: number };
  removeEmptyRepos: boolean;
  /** repositories removed whole, each with the layer links it still had. */
  repositoriesRemoved: { name: string; layerLinks: number }[];
  /** repositories with no tag and no revision left, kept, and why. */
  repositoriesKept: { name: string; reason: EmptyKeptReason }[];
}

/** What the sweep completed: everything planned, unless it failed part-way. */
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
  /** the data bytes of the blobs the grace window kept (keptByGrace.blobs). */
  keptByGraceBytes: number;
  /** rounds of revalidation that found repositories changed since they were read. */
  revalidations: number;
  /** the prefetcher's child warmed the cache (--prefetch N, or auto and a probe found the cache cold). */
  prefetched: boolean;
  /** what the CLI learned of the registry itself (its config, a probe), when it knew the config. */
  registry?: RegistryReport | undefined;
  /** Visits the deleted (dry run: deletable) blobs in digest order. */
  forEachBlobDeleted(visit: (digest: Digest) => void): void;
  /** --free: the target, what was (would be) freed, what is left. */
  free?: FreeReport | undefined;
  /** the data size of each deletable blob, when sized (--free, sizeBlobs). */
  blobSizes?: ReadonlyMap<Digest, number> | undefined;
  /** --purge-uploads and --remove-empty-repos. */
  housekeeping: HousekeepingReport;
  /** --plan FILE: what was written. */
  planWritten?: PlanWritten | undefined;
  /** apply FILE: what the plan held, what was read again, what was dropped and why. */
  applied?: ApplyReport | undefined;
  /** --trash DIR: what the run moved into DIR instead of deleting it (nothing of it freed yet). */
  trash?: TrashReport | undefined;
}
