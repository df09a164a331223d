// The one deleter's walks of the two housekeeping targets (gc --purge-uploads
// and --remove-empty-repos): part of vacuum.ts, which calls them with its
// guard (target-guard.ts) for every check; nothing here is called directly.
//
//   kind             directory (in v2; <r>: repositories/<name>)   what it holds
//   upload           <r>/_uploads/<uuid>/                          startedat, data, hashstates/<alg>/<offset>
//   emptyRepository  <r>/                                          _manifests/{tags,revisions/<alg>}, _layers/<alg>,
//                                                                  _uploads: empty directories only
//
// An upload is walked entry by entry against its shape (layout.ts names;
// a `<name>.<uuid>.tmp` of a crashed v3 write of any of its files too):
// anything else, a symlink, a FIFO or another filesystem stops it before
// anything in it is deleted. Its files are unlinked data first, then the
// hash states, startedat last, then its directories: a run killed part-way
// leaves startedat, so the rerun still knows the upload's age.
//
// An emptied repository is never walked over content: its own directories
// must hold nothing but their known empty subdirectories, checked before
// the first rmdir; then each is removed with rmdir (never unlink), from the
// bottom up, and the repository's directory and its parents up to
// repositories/ while they are empty. A directory found not empty on the
// way (a push since the check) stops the removal there, leaving the rest.
// A child directory of the repository's (a nested repository, `a/b` under
// `a`) is never entered: the rmdir of `a` then fails and `a` stays, with
// only `a/b` in it.

import { JanitorError, errnoCode } from '../errors.js';
import { isAlgorithm } from '../model/digest.js';
import { type DeletionTarget, pathSpecOf } from './deletion-target.js';
import type { DirEntry, FileStats } from './file-system.js';
import { UPLOAD_DATA, UPLOAD_HASH_STATES, UPLOAD_STARTED_AT, isUploadFileName, parsePath } from './layout.js';
import { type TargetGuard, unexpected } from './target-guard.js';

export type HousekeepingTarget = Extract<DeletionTarget, { kind: 'upload' | 'emptyRepository' }>;

export function isHousekeeping(target: DeletionTarget): target is HousekeepingTarget {
  return target.kind === 'upload' || target.kind === 'emptyRepository';
}

/**
 * An upload or an emptied repository, with the checks of every target (the
 * path inside the root, no mount at or below it, no symlink above it). Both
 * are few and always walked in full, a dry run's too: the walk is what
 * sizes an upload.
 * `size`: an upload's bytes; for a repository removed, 1 (0: found not
 * empty, left). `mtimeMs`: the newest mtime of an upload's files; `empty`:
 * an upload directory with no file in it (or gone).
 */
export function walkHousekeeping(
  guard: TargetGuard,
  target: HousekeepingTarget,
  mode: 'vet' | 'remove',
  /** --trash: told each directory of an emptied repository just before its rmdir (trash.ts records it). */
  beforeRmdir: (dir: string) => void = () => undefined,
): { size: number; mtimeMs: number; empty?: boolean } {
  const where = guard.pathOf(pathSpecOf(target));
  guard.assertNoMountAt(where);
  try {
    guard.assertNoSymlinkAbove(where);
    if (target.kind === 'upload') {
      const walk = walkUpload(guard, where, mode);
      return { size: walk?.bytes ?? 0, mtimeMs: walk?.newestMs ?? 0, empty: walk?.empty ?? true };
    }
    if (mode === 'vet') {
      vetRepository(guard, where);
      return { size: 0, mtimeMs: 0 };
    }
    const parents: string[] = [];
    for (let name = target.repository; name.includes('/');) {
      name = name.slice(0, name.lastIndexOf('/'));
      parents.push(guard.pathOf({ kind: 'repositoryDir', name }));
    }
    return { size: removeRepository(guard, where, parents, beforeRmdir) === 'not-empty' ? 0 : 1, mtimeMs: 0 };
  } catch (cause) {
    if (cause instanceof JanitorError) throw cause;
    const verb = mode === 'vet' ? 'check' : 'delete';
    throw new JanitorError('E_DELETE', `cannot ${verb} ${where}: ${errnoCode(cause) ?? String(cause)}`, { path: where, cause });
  }
}

/** What walking an upload found: the bytes of its files, their newest mtime (none: its directory's), no file in it. */
interface UploadWalk {
  bytes: number;
  newestMs: number;
  empty: boolean;
}

/** A target's own lstat; undefined when it is gone (a rerun, or another deleter). */
function lstatTop(guard: TargetGuard, path: string): FileStats | undefined {
  try {
    return guard.fs.lstatSync(path);
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') return undefined;
    throw cause;
  }
}

/** Lists a directory of a target; undefined when the target itself is gone (a rerun, or another deleter). */
function listTop(guard: TargetGuard, dir: string): DirEntry[] | undefined {
  try {
    return guard.fs.readdirSync(dir, { withFileTypes: true });
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') return undefined;
    throw cause;
  }
}

function checkedDir(guard: TargetGuard, entry: DirEntry, path: string): void {
  if (!entry.isDirectory()) throw unexpected(path, entry, 'upload entry');
  guard.checkDevice(guard.fs.lstatSync(path), path);
}

/**
 * Vets (mode 'vet') or removes (mode 'remove': vetted again first) one
 * upload directory. Undefined when it is gone.
 */
function walkUpload(guard: TargetGuard, dir: string, mode: 'vet' | 'remove'): UploadWalk | undefined {
  const top = lstatTop(guard, dir);
  if (!top) return undefined;
  if (!top.isDirectory()) throw unexpected(dir, top, 'upload');
  guard.checkDevice(top, dir);
  const entries = guard.fs.readdirSync(dir, { withFileTypes: true });
  // Files only: the registry writes files, and a killed purge leaves directories whose mtimes it bumped.
  const walk: UploadWalk = { bytes: 0, newestMs: Number.NEGATIVE_INFINITY, empty: true };
  const file = (entry: DirEntry, path: string): void => {
    const stats = guard.checkFile(entry, path);
    walk.bytes += stats.size;
    walk.newestMs = Math.max(walk.newestMs, stats.mtimeMs);
    walk.empty = false;
  };
  const files: string[] = [];
  const hashStates: { dir: string; files: string[] }[] = [];
  let hashStatesDir: string | undefined;
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (isUploadFileName(entry.name, 'upload')) {
      file(entry, path);
      files.push(entry.name);
    } else if (entry.name === UPLOAD_HASH_STATES) {
      checkedDir(guard, entry, path);
      hashStatesDir = path;
      for (const algEntry of guard.fs.readdirSync(path, { withFileTypes: true })) {
        const algDir = `${path}/${algEntry.name}`;
        if (!isAlgorithm(algEntry.name)) throw unexpected(algDir, algEntry, 'upload entry');
        checkedDir(guard, algEntry, algDir);
        const states = { dir: algDir, files: [] as string[] };
        for (const state of guard.fs.readdirSync(algDir, { withFileTypes: true })) {
          const statePath = `${algDir}/${state.name}`;
          if (!isUploadFileName(state.name, 'hashState')) throw unexpected(statePath, state, 'upload entry');
          file(state, statePath);
          states.files.push(state.name);
        }
        hashStates.push(states);
      }
    } else {
      throw unexpected(path, entry, 'upload entry');
    }
  }
  // No file in it: its own directory's mtime (model/upload-age.ts says why such an upload goes).
  if (walk.empty) walk.newestMs = top.mtimeMs;
  if (mode === 'remove') {
    // data first, startedat (the upload's age for a rerun) last.
    const rank = (name: string): number => (name.startsWith(UPLOAD_DATA) ? 0 : name.startsWith(UPLOAD_STARTED_AT) ? 2 : 1);
    files.sort((a, b) => rank(a) - rank(b));
    for (const name of files.filter((n) => rank(n) === 0)) unlinkGone(guard, `${dir}/${name}`);
    for (const states of hashStates) {
      for (const name of states.files) unlinkGone(guard, `${states.dir}/${name}`);
      guard.fs.rmdirSync(states.dir);
    }
    if (hashStatesDir !== undefined) guard.fs.rmdirSync(hashStatesDir);
    for (const name of files.filter((n) => rank(n) !== 0)) unlinkGone(guard, `${dir}/${name}`);
    guard.fs.rmdirSync(dir);
  }
  return walk;
}

/** `trash empty`: an upload moved into the trash (`dir`, inside the guard's root), vetted and removed as one in the tree is. */
export function removeUploadAt(guard: TargetGuard, dir: string): number {
  guard.assertNoMountAt(dir);
  guard.assertNoSymlinkAbove(dir);
  return walkUpload(guard, dir, 'remove')?.bytes ?? 0;
}

function unlinkGone(guard: TargetGuard, path: string): void {
  try {
    guard.fs.unlinkSync(path);
  } catch (cause) {
    // Listed a moment ago and gone now: another process removed it, and gone is what this run wanted.
    if (errnoCode(cause) !== 'ENOENT') throw cause;
  }
}

/** What removing an emptied repository did. */
type RepositoryRemoval = 'removed' | 'not-empty' | 'gone';

/**
 * The repository's own directories that are there, deepest first, each
 * with the entries it may hold when empty; throws at an entry of no known
 * kind (a stray file, an unknown `_x`, a symlink). Child directories that
 * are not its own (nested repositories' paths) are left alone. `empty`: a
 * directory holds nothing, or only own directories listed before it.
 */
function ownDirectories(guard: TargetGuard, repositoryDir: string): { dirs: { path: string; empty: boolean }[] } | undefined {
  const entries = listTop(guard, repositoryDir);
  if (!entries) return undefined;
  const dirs: { path: string; empty: boolean }[] = [];
  const relative = (path: string): string => path.slice(guard.v2.length + 1);
  const visit = (dir: string, entry: DirEntry): void => {
    const path = `${dir}/${entry.name}`;
    const spec = parsePath(relative(path));
    if (spec?.kind === 'repositoryDir') {
      // A nested repository's path component: not this repository's.
      if (!entry.isDirectory()) throw unexpected(path, entry);
      return;
    }
    const kind = spec?.kind;
    const container = kind === 'manifestsRoot' || kind === 'revisionsRoot' || kind === 'layersRoot';
    const leaf = kind === 'tagsRoot' || kind === 'revisionsAlgorithm' || kind === 'layersAlgorithm' || kind === 'uploadsRoot';
    if ((!container && !leaf) || !entry.isDirectory()) throw unexpected(path, entry);
    guard.checkDevice(guard.fs.lstatSync(path), path);
    const children = guard.fs.readdirSync(path, { withFileTypes: true });
    if (container) for (const child of children) visit(path, child);
    dirs.push({ path, empty: container || children.length === 0 });
  };
  for (const entry of entries) visit(repositoryDir, entry);
  return { dirs };
}

/** Vets an emptied repository's shape (plan time: its directories may still hold what the sweep deletes first). */
function vetRepository(guard: TargetGuard, repositoryDir: string): void {
  const top = lstatTop(guard, repositoryDir);
  if (!top) return;
  if (!top.isDirectory()) throw unexpected(repositoryDir, top);
  guard.checkDevice(top, repositoryDir);
  ownDirectories(guard, repositoryDir);
}

/**
 * Removes an emptied repository: checks that every own directory is empty
 * (but for its known subdirectories), then rmdirs them from the bottom up,
 * then the repository's directory and its parents while they are empty.
 * `parents`: the directories above it up to repositories/, deepest first.
 */
function removeRepository(guard: TargetGuard, repositoryDir: string, parents: readonly string[], beforeRmdir: (dir: string) => void): RepositoryRemoval {
  const own = ownDirectories(guard, repositoryDir);
  if (!own) return 'gone';
  if (own.dirs.some((d) => !d.empty)) return 'not-empty';
  for (const { path } of own.dirs) {
    beforeRmdir(path);
    if (!rmdirIfEmpty(guard, path)) return 'not-empty';
  }
  // The repository's own directory, then its parents: kept while anything is in them (a nested repository).
  for (const dir of [repositoryDir, ...parents]) {
    guard.assertNoMountAt(dir);
    beforeRmdir(dir);
    if (!rmdirIfEmpty(guard, dir)) break;
  }
  return 'removed';
}

/** rmdir; false when the directory is not empty. A directory already gone is removed. */
function rmdirIfEmpty(guard: TargetGuard, dir: string): boolean {
  try {
    guard.fs.rmdirSync(dir);
    return true;
  } catch (cause) {
    const code = errnoCode(cause);
    if (code === 'ENOENT') return true;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw cause;
  }
}
