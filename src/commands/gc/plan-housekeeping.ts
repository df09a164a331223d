// gc's housekeeping, planned (index.ts phase 5): unfinished uploads that
// began longer ago than --purge-uploads AGE, and repositories left with no
// tag and no revision (--remove-empty-repos). Everything here only reads and
// vets (the one deleter's own walk, vacuum.ts): the sweep
// (sweep-housekeeping.ts) checks each target again just before it goes.
//
// a. uploads       under every name with an _uploads/ (repositories, and
//                  names whose first push never finished), each upload
//                  walked (its shape, its bytes, the newest mtime in it) and
//                  its startedat read, then judged (model/upload-age.ts).
//                  An upload of an unexpected shape is left, with a warning.
// b. repositories  those with no tag and no revision left after this run
//                  (or before it), the names that held only uploads, and
//                  empty directories; kept when an upload in it stays, a
//                  layer link in it was written within the grace window, or
//                  anything in it is not of the registry's shape.

import { JanitorError, type Warn, type Warning, makeWarning } from '../../errors.js';
import type { Digest } from '../../model/digest.js';
import { type UploadRule, judgeUpload } from '../../model/upload-age.js';
import { listLayerLinks } from '../../scan/scan-repository.js';
import { listUploads, readStartedAt } from '../../scan/scan-uploads.js';
import type { DirEntry } from '../../storage/file-system.js';
import { marksRepository, marksUploads } from '../../storage/layout.js';
import { isRepositoryName } from '../../storage/repository-names.js';
import type { TreeReader } from '../../storage/tree-reader.js';
import type { Vacuum } from '../../storage/vacuum.js';
import type { EmptyKeptReason, HousekeepingReport } from './gc-types.js';
import type { RepoOutcome } from './mark-repository.js';

/** What the inventory saw of a directory under repositories/ that is not only a path to others. */
interface DirectorySeen {
  uploads: boolean;
  repository: boolean;
}

/** Directories holding _uploads/ and empty ones, collected from findRepositories' walk (its `visit`). */
export class DirectoriesSeen {
  readonly seen = new Map<string, DirectorySeen>();

  readonly visit = (name: string, entries: readonly DirEntry[]): void => {
    const uploads = entries.some((e) => e.isDirectory() && marksUploads(e.name));
    if (uploads || entries.length === 0) this.seen.set(name, { uploads, repository: entries.some((e) => e.isDirectory() && marksRepository(e.name)) });
  };
}

export interface HousekeepingContext {
  reader: TreeReader;
  vacuum: Vacuum;
  warn: Warn;
  skip: (name: string) => boolean;
  purgeUploadsMs: number | undefined;
  removeEmptyRepos: boolean;
  /** the run's start. */
  nowMs: number;
  /** the grace window's start (+Infinity: no window). */
  freshAfterMs: number;
}

export function emptyHousekeeping(purgeUploadsMs: number | undefined, removeEmptyRepos: boolean): HousekeepingReport {
  return { purgeUploadsMs, uploadsPurged: [], uploadsLeft: { count: 0, bytes: 0 }, removeEmptyRepos, repositoriesRemoved: [], repositoriesKept: [] };
}

/**
 * Runs `check`; a JanitorError from it (an unexpected entry, a symlink, an
 * unreadable file) is handed to `refused` and leaves that one target. A
 * mount inside the tree still stops the run (skeleton.ts refused one
 * already; the guard says it again).
 */
function unlessRefused<T>(check: () => T, refused: (error: JanitorError) => void): T | undefined {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof JanitorError) || error.code === 'E_MOUNT') throw error;
    refused(error);
    return undefined;
  }
}

export function planHousekeeping(context: HousekeepingContext, directories: DirectoriesSeen, outcomes: readonly RepoOutcome[]): HousekeepingReport {
  const report = emptyHousekeeping(context.purgeUploadsMs, context.removeEmptyRepos);
  const left = planUploads(context, directories, report);
  const busy = [...left.keys()];
  const count = [...left.values()].reduce((sum, n) => sum + n, 0);
  if (count > 0) {
    context.warn(
      makeWarning(
        'W_LIVE_SIGNS',
        `signs of a live registry: ${count} uploads in _uploads/ of ${busy.length} repositories (${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ', ...' : ''}) left (begun within --purge-uploads AGE, written within the grace window, or purging off)`,
      ),
    );
  }
  if (context.removeEmptyRepos) planRepositories(context, directories, outcomes, left, report);
  return report;
}

/** a. uploads; returns the uploads left per name. */
function planUploads(context: HousekeepingContext, directories: DirectoriesSeen, report: HousekeepingReport): Map<string, number> {
  const { reader, vacuum, warn } = context;
  const rule: UploadRule = { olderThanMs: context.purgeUploadsMs, nowMs: context.nowMs, freshAfterMs: context.freshAfterMs };
  const leftBy = new Map<string, number>();
  const leave = (name: string, bytes: number, warning?: Warning): void => {
    if (warning) warn(warning);
    report.uploadsLeft.count++;
    report.uploadsLeft.bytes += bytes;
    leftBy.set(name, (leftBy.get(name) ?? 0) + 1);
  };
  const leftWarning = (name: string, message: string, path?: string): Warning =>
    makeWarning('W_UPLOAD_LEFT', `${message}; left, never purged`, { repository: name, ...(path === undefined ? {} : { path }) });
  for (const [name, seen] of [...directories.seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!seen.uploads || context.skip(name)) continue;
    const root = reader.pathOf({ kind: 'uploadsRoot', name });
    if (!isRepositoryName(name)) {
      leave(name, 0, leftWarning(name, `${root}: not under a repository name the registry writes`, root));
      continue;
    }
    let refusal: Warning | undefined;
    const listing = unlessRefused(
      () => listUploads(reader, name),
      (error) => (refusal = leftWarning(name, `cannot read the uploads of ${name}: ${error.message}`, error.path)),
    );
    if (!listing) {
      leave(name, 0, refusal);
      continue;
    }
    for (const stray of listing.strays) leave(name, 0, leftWarning(name, `${stray}: not an upload directory (a directory named by a UUID)`, stray));
    for (const id of listing.ids) {
      const vetted = unlessRefused(
        () => vacuum.vet({ kind: 'upload', repository: name, id }),
        (error) => (refusal = leftWarning(name, `upload ${id} of ${name}: ${error.message}`, error.path)),
      );
      if (!vetted) {
        leave(name, 0, refusal);
        continue;
      }
      const startedAtMs = readStartedAt(reader, name, id);
      if (judgeUpload({ startedAtMs, newestMs: vetted.mtimeMs, empty: vetted.empty === true }, rule) === 'purge') {
        report.uploadsPurged.push({ repository: name, id, bytes: vetted.size, startedAtMs, newestMs: vetted.mtimeMs });
      } else {
        leave(name, vetted.size);
      }
    }
  }
  return leftBy;
}

/** b. repositories; the plan lists them deepest first (a/b before a: its rmdir may then empty a). */
function planRepositories(
  context: HousekeepingContext,
  directories: DirectoriesSeen,
  outcomes: readonly RepoOutcome[],
  uploadsLeft: ReadonlyMap<string, number>,
  report: HousekeepingReport,
): void {
  const { reader, vacuum, warn } = context;
  const candidates: { name: string; outcome: RepoOutcome | undefined }[] = [];
  for (const outcome of outcomes) {
    if (outcome.tags - outcome.tagsRemoved.length === 0 && outcome.revisions - outcome.manifestsDeleted.length === 0)
      candidates.push({ name: outcome.name, outcome });
  }
  const read = new Set(outcomes.map((o) => o.name));
  for (const [name, seen] of directories.seen) {
    // A repository not read (--skip-repo) is never a candidate; nor a path the registry would not write.
    if (seen.repository || read.has(name) || context.skip(name)) continue;
    if (isRepositoryName(name) || isRepositoryName(`${name}/x`)) candidates.push({ name, outcome: undefined });
  }
  const fresh = (mtimeMs: number | undefined): boolean => (mtimeMs ?? 0) > context.freshAfterMs;
  for (const { name, outcome } of candidates) {
    let reason: EmptyKeptReason | undefined = (uploadsLeft.get(name) ?? 0) > 0 ? 'upload-left' : undefined;
    const refused = (error: JanitorError): void => {
      reason ??= 'unexpected-content';
      warn(
        makeWarning('W_REPOSITORY_LEFT', `${name}: no tag and no revision left, but ${error.message}; the repository is left whole`, {
          repository: name,
          ...(error.path === undefined ? {} : { path: error.path }),
        }),
      );
    };
    let links: Digest[] = [];
    if (reason === undefined && outcome) {
      const going = new Set(outcome.layerLinksDeleted);
      links = (unlessRefused(() => listLayerLinks(reader, name), refused) ?? []).filter((digest) => !going.has(digest));
      // The link's own mtime, as plan-sweep.ts reads it (a directory without its link holds nothing).
      if (links.some((digest) => fresh(reader.mtimeOf({ kind: 'layerLink', name, digest })))) {
        reason ??= 'fresh-layer-link';
      }
      for (const digest of reason === undefined ? links : []) unlessRefused(() => vacuum.vet({ kind: 'layerLink', repository: name, digest }), refused);
    }
    if (reason === undefined) unlessRefused(() => vacuum.vet({ kind: 'emptyRepository', repository: name }), refused);
    if (reason === undefined) report.repositoriesRemoved.push({ name, layerLinks: links.length });
    else report.repositoriesKept.push({ name, reason });
  }
  report.repositoriesRemoved.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}
