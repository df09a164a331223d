// The one deleter. Every unlink, rmdir and rename away of anything in the
// registry's tree is in this module or in its two parts: quarantine.ts
// (moving doomed revisions and blobs aside until the sweep's last
// revalidation, and back) and target-guard.ts (the checks every deletion
// passes first; it deletes nothing). It takes typed targets, never raw
// paths: each target renders to a directory through layout.ts and is
// checked to lie inside the root. Removal is never recursive over unknown
// content: every target kind has a known shape (below; the names are
// layout.ts's), each entry is checked against it, the known files are
// unlinked and the directories removed with rmdir. (This tool's own files
// in _janitor/, which the registry never reads, are written elsewhere:
// commands/journal.ts renames its temporary file into place, run-lock.ts
// moves a stale lock aside and unlinks it; the journal and the lock
// themselves are removed here.) The two housekeeping targets, an abandoned
// upload and an emptied repository, are walked by vacuum-housekeeping.ts.
// With --trash DIR (trash.ts), `remove` moves each target but this tool's
// own files into DIR instead, one rename after the same checks (a
// quarantined one recorded where it was before it went aside; an emptied
// repository's directories recorded, then removed); `removeTrashed` is
// `trash empty`'s deletion of one item, walked as the shape of its kind.
//
//   kind                 directory (in v2; <r>: repositories/<name>)       what it holds
//   blob                 blobs/<alg>/<xx>/<hex>/                           data
//   layerLink            <r>/_layers/<alg>/<hex>/                          link
//   revision             <r>/_manifests/revisions/<alg>/<hex>/             link
//   tagIndexEntry        <r>/_manifests/tags/<t>/index/<alg>/<hex>/        link
//   tag                  <r>/_manifests/tags/<t>/                          current/link, index/<alg>/<hex>/link
//   quarantinedBlob      _janitor/quarantine/<alg>/<hex>/                  data
//   quarantinedRevision  _janitor/quarantine-revisions/<n>/<alg>/<hex>/    link
//   journal, lock        _janitor/journal.json, _janitor/lock: the file alone (_janitor/ stays)
//   upload               <r>/_uploads/<uuid>/                              startedat, data, hashstates/<alg>/<offset>
//   emptyRepository      <r>/ and its parents up to repositories/          empty directories only (rmdir)
//
// Beside any `data` or `link`, a `<name>.<uuid>.tmp` is the known shape of a
// crashed write of current Distribution (v3 writes small files to such a
// temporary name and renames it): removed with its directory and counted.
// A missing `data` or `link` is what an interrupted removal leaves: the
// directory is removed all the same.
//
// `vet` runs in the plan phase, before the first deletion of the run: it
// walks the same shape and refuses anything unexpected (an unknown entry, a
// symbolic link, a FIFO or device, a link whose content names another
// digest, another filesystem: target-guard.ts). `remove` walks it again at
// deletion time and refuses what appeared since. Within a directory the
// files go first and the directory last, so a crash leaves a directory
// without its link file, which the registry ignores and the next run
// removes.

import type { Digest } from '../model/digest.js';
import { type Algorithm, isAlgorithm, makeDigest } from '../model/digest.js';
import { JanitorError, errnoCode } from '../errors.js';
import { type AsyncDeletes, type DirEntry, type FileStats, type FileSystem, asyncDeletesOf } from './file-system.js';
import { BLOB_FILE, LINK_FILE, type LeafFile, type PathSpec, TAG_CURRENT, TAG_INDEX, isTemporaryOf } from './layout.js';
import { type AsideItem, Quarantine } from './quarantine.js';
import { type DeletionTarget, pathSpecOf } from './deletion-target.js';
import { TargetGuard, unexpected } from './target-guard.js';
import { type HousekeepingTarget, isHousekeeping, removeUploadAt, walkHousekeeping } from './vacuum-housekeeping.js';
import { type RestoreOutcome, type TrashBin, restoreItem } from './trash.js';
import type { TrashRecord } from './trash-manifest.js';
import { assertInsideRoot } from './tree-reader.js';

export type { DeletionTarget } from './deletion-target.js';
import { retryUnsettledLink } from './tree-reader.js';

/** The target an item moved aside becomes: what deletes it for good. */
function quarantinedTargetOf(item: AsideItem): DeletionTarget {
  return item.kind === 'blob'
    ? { kind: 'quarantinedBlob', digest: item.digest }
    : { kind: 'quarantinedRevision', repository: item.repository, digest: item.digest };
}

/** The shape of a directory that holds one file (`data` or `link`). */
interface LeafShape {
  file: LeafFile;
  /** the digest a `link` must name; undefined: any digest (a tag's current link). */
  expect: Digest | undefined;
}

type Mode = 'vet' | 'remove';

/** What vetting learned of a target: a blob's data size, and the mtime of its data or link (an upload: vacuum-housekeeping.ts). */
export interface Vetted {
  size: number;
  mtimeMs: number;
  /** an upload directory with nothing in it. */
  empty?: boolean;
}

export class Vacuum {
  private readonly fs: FileSystem;
  /** Node's fs: the sweep's calls go through libuv, several at once; undefined (memfs): synchronous. */
  private readonly async: AsyncDeletes | undefined;
  private readonly guard: TargetGuard;
  private readonly aside: Quarantine;
  /** --trash DIR: where `remove` moves targets instead of deleting them (trash.ts). */
  private readonly trash: TrashBin | undefined;
  /** targets removed. */
  removed = 0;
  /** `<name>.<uuid>.tmp` files of crashed registry writes removed. */
  temporaryFiles = 0;

  /** `mountPoints`: absolute mount points strictly below `v2` (storage/mount-points.ts). */
  constructor(fs: FileSystem, v2: string, mountPoints: readonly string[] = [], trash?: TrashBin) {
    this.fs = fs;
    this.async = asyncDeletesOf(fs);
    this.guard = new TargetGuard(fs, v2, mountPoints);
    this.trash = trash;
    // A copy aside of what the registry wrote again (same digest: same bytes) is deleted, never trashed: nothing is lost.
    this.aside = new Quarantine(this.guard, (item) => void this.removeForGood(quarantinedTargetOf(item)));
  }

  /**
   * Plan-time check of one target. `full` (a real run): everything in it
   * has its known shape, links name their digest, nothing crosses a
   * filesystem. `light` (a dry run): the mount table, and a blob's `data`
   * alone (type, device); the directory listing is what makes `full` cost
   * ~50 µs a layer link on the bench tree, 981k blobs and 714k layer links
   * on the 1M-blob tree. Returns the size of a blob's data (0 for other
   * kinds, and for a target already gone).
   */
  vet(target: DeletionTarget, depth: 'full' | 'light' = 'full'): Vetted {
    if (isHousekeeping(target)) return walkHousekeeping(this.guard, target, 'vet');
    const stats = this.walkTarget(target, depth === 'full' ? 'vet' : 'preview');
    return { size: target.kind === 'blob' ? (stats?.size ?? 0) : 0, mtimeMs: stats?.mtimeMs ?? 0 };
  }

  /** Removes one (vetted) target, or moves it into the trash; returns the size of a blob's data (an upload's bytes; a repository: walkHousekeeping) it removed. */
  remove(target: DeletionTarget): number {
    if (!this.trash || target.kind === 'journal' || target.kind === 'lock') return this.removeForGood(target);
    const size = this.trash.take(this.guard, target, () => this.vet(target));
    if (size !== undefined) this.removed++;
    return size ?? 0;
  }

  private removeForGood(target: DeletionTarget): number {
    if (isHousekeeping(target)) {
      const { size } = walkHousekeeping(this.guard, target, 'remove');
      if (target.kind === 'upload' || size > 0) this.removed++;
      return size;
    }
    const stats = this.walkTarget(target, 'remove');
    this.removed++;
    return target.kind === 'blob' || target.kind === 'quarantinedBlob' ? (stats?.size ?? 0) : 0;
  }

  /**
   * `remove` for the concurrent sweep (runBounded): the same checks, done
   * synchronously before the first call, and the same steps (the data's
   * lstat for its size, the file's unlink, the directory's rmdir) as
   * asynchronous calls, so several targets are under way at once. Leaf
   * targets only (a blob, a link directory, and their quarantined forms);
   * a directory found not empty after the unlink is listed and walked
   * synchronously, as `remove` does. Synchronous on any other FileSystem.
   */
  async removeAsync(target: DeletionTarget): Promise<number> {
    const ops = this.async;
    if (!ops || this.trash || target.kind === 'tag' || target.kind === 'journal' || target.kind === 'lock' || isHousekeeping(target))
      return this.remove(target);
    const where = this.guard.pathOf(pathSpecOf(target));
    this.guard.assertNoMountAt(where);
    const data = target.kind === 'blob' || target.kind === 'quarantinedBlob';
    const shape: LeafShape = { file: data ? BLOB_FILE : LINK_FILE, expect: data ? undefined : target.digest };
    let stats: FileStats | undefined;
    try {
      if (!this.guard.assertNoSymlinkAbove(where)) return 0;
      const file = `${where}/${shape.file}`;
      if (data) {
        try {
          stats = await ops.lstat(file);
        } catch (cause) {
          if (errnoCode(cause) !== 'ENOENT') throw cause; // ENOENT: an interrupted removal left the directory
        }
        if (stats) {
          if (!stats.isFile()) throw unexpected(file, stats);
          this.guard.checkDevice(stats, file);
        }
      }
      try {
        await ops.unlink(file);
      } catch (cause) {
        if (errnoCode(cause) !== 'ENOENT') throw cause;
      }
      try {
        await ops.rmdir(where);
      } catch (cause) {
        if (errnoCode(cause) === 'ENOTEMPTY' || errnoCode(cause) === 'EEXIST') this.walkLeaf(where, shape, 'remove');
        else if (errnoCode(cause) !== 'ENOENT') throw cause;
      }
    } catch (cause) {
      if (cause instanceof JanitorError) throw cause;
      throw new JanitorError('E_DELETE', `cannot delete ${where}: ${errnoCode(cause) ?? String(cause)}`, { path: where, cause });
    }
    this.removed++;
    return data ? (stats?.size ?? 0) : 0;
  }

  /** `quarantine` for the concurrent sweep: the rename asynchronous on Node's fs. */
  quarantineAsync(item: AsideItem): Promise<boolean> {
    return this.aside.moveAsideAsync(item, this.async);
  }

  /** The known file's stats (a blob's data, a link), undefined where there is none. */
  private walkTarget(target: Exclude<DeletionTarget, HousekeepingTarget>, mode: Mode | 'preview'): FileStats | undefined {
    return this.walkAt(this.guard.pathOf(pathSpecOf(target)), target, mode);
  }

  /**
   * `trash empty`: deletes one item of the trash for good, `where` inside
   * this Vacuum's root (the trash directory: trash.ts), walked as `target`'s
   * shape, fully vetted first (links name their digest): anything else in
   * it stops the run with nothing in it deleted.
   */
  removeTrashed(where: string, target: DeletionTarget): number {
    assertInsideRoot(this.guard.v2, where);
    if (target.kind === 'upload') return removeUploadAt(this.guard, where);
    if (isHousekeeping(target)) return 0;
    const size = this.walkAt(where, target, 'vet')?.size ?? 0;
    this.walkAt(where, target, 'remove');
    return target.kind === 'blob' ? size : 0;
  }

  private walkAt(where: string, target: Exclude<DeletionTarget, HousekeepingTarget>, mode: Mode | 'preview'): FileStats | undefined {
    this.guard.assertNoMountAt(where);
    try {
      if (!this.guard.assertNoSymlinkAbove(where)) return undefined;
      if (mode === 'preview') return target.kind === 'blob' ? this.previewData(`${where}/${BLOB_FILE}`) : undefined;
      const data = target.kind === 'blob' || target.kind === 'quarantinedBlob';
      if (
        mode === 'remove' &&
        (data || target.kind === 'layerLink' || target.kind === 'revision' || target.kind === 'quarantinedRevision' || target.kind === 'tagIndexEntry')
      ) {
        return this.removeLeaf(where, { file: data ? BLOB_FILE : LINK_FILE, expect: data ? undefined : target.digest });
      }
      switch (target.kind) {
        case 'blob':
        case 'quarantinedBlob':
          return this.walkLeaf(where, { file: BLOB_FILE, expect: undefined }, mode);
        case 'quarantinedRevision':
          return this.walkLeaf(where, { file: LINK_FILE, expect: target.digest }, mode);
        case 'tag':
          return this.walkTag(where, mode);
        case 'journal':
        case 'lock':
          return this.walkOwnFile(where, mode);
        default:
          return this.walkLeaf(where, { file: LINK_FILE, expect: target.digest }, mode);
      }
    } catch (cause) {
      if (cause instanceof JanitorError) throw cause;
      const verb = mode === 'vet' ? 'check' : 'delete';
      throw new JanitorError('E_DELETE', `cannot ${verb} ${where}: ${errnoCode(cause) ?? String(cause)}`, { path: where, cause });
    }
  }

  /** Moves a vetted blob or revision directory aside (quarantine.ts); false when it is gone already. */
  quarantine(item: AsideItem): boolean {
    return this.aside.moveAside(item);
  }

  /** Puts a quarantined item back, or deletes its copy there when the registry wrote it again (quarantine.ts). */
  restore(item: AsideItem): void {
    this.aside.putBack(item);
  }

  /** `trash restore`: puts one item of the trash back where its record says (trash.ts). */
  restoreTrashed(trashDir: string, record: TrashRecord, spec: PathSpec): RestoreOutcome {
    return restoreItem(this.guard, trashDir, record, spec);
  }

  /** Removes the emptied quarantine directories (kept if anything is left in them). */
  removeQuarantineDirs(): void {
    this.aside.removeEmptiedDirs();
  }

  /** What is in the quarantine: what an interrupted sweep left there. */
  listQuarantine(): AsideItem[] {
    return this.aside.list();
  }

  /**
   * A dry run's look at one blob of a shard, the path built by hand from
   * a checked shard path and a listed hex name: ~1M of these on a mass
   * deletion, where renderPath and the containment check cost ~1 µs each.
   */
  previewShardBlob(shard: string, hex: string): Vetted {
    const dir = `${shard}/${hex}`;
    this.guard.assertNoMountAt(dir);
    const stats = this.previewData(`${dir}/${BLOB_FILE}`);
    return { size: stats?.size ?? 0, mtimeMs: stats?.mtimeMs ?? 0 };
  }

  /** A dry run's look at a blob: its data's size, type and device. */
  private previewData(file: string): FileStats | undefined {
    let stats: FileStats;
    try {
      stats = this.fs.lstatSync(file);
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT') return undefined; // a blob directory without data (an interrupted removal)
      throw cause;
    }
    if (!stats.isFile()) throw unexpected(file, stats);
    this.guard.checkDevice(stats, file);
    return stats;
  }

  /**
   * Removes a vetted directory of one file: the file, then the directory.
   * Only when the directory is not empty then is it listed: a crashed
   * write's temporary files go too, anything else (new since the plan)
   * stops the run with nothing else in it touched. Skipping the listing
   * that vetting already did halves the sweep's reads.
   */
  private removeLeaf(dir: string, shape: LeafShape): FileStats | undefined {
    const file = `${dir}/${shape.file}`;
    const stats = shape.file === BLOB_FILE ? this.previewData(file) : undefined;
    this.unlink(file);
    try {
      this.fs.rmdirSync(dir);
    } catch (cause) {
      // Gone already: a rerun after a crash between the unlink and the rmdir.
      if (errnoCode(cause) === 'ENOENT') return stats;
      if (errnoCode(cause) !== 'ENOTEMPTY' && errnoCode(cause) !== 'EEXIST') throw cause;
      this.walkLeaf(dir, shape, 'remove');
    }
    return stats;
  }

  /** Lists a directory of a target; undefined when it is gone. */
  private listDir(dir: string, top: boolean): DirEntry[] | undefined {
    try {
      return this.fs.readdirSync(dir, { withFileTypes: true });
    } catch (cause) {
      // A target already gone is done: a rerun after a crash, or what a
      // concurrent deleter removed. Only the target itself may be missing;
      // anything below it was just listed.
      if (top && errnoCode(cause) === 'ENOENT') return undefined;
      throw cause;
    }
  }

  /** Lists a directory below a target's, which was just listed: it is there. */
  private listBelow(dir: string): DirEntry[] {
    return this.fs.readdirSync(dir, { withFileTypes: true });
  }

  /** A directory holding one `data` or `link` file (and crashed-write leftovers). */
  private walkLeaf(dir: string, shape: LeafShape, mode: Mode, top = true): FileStats | undefined {
    const entries = this.listDir(dir, top);
    if (!entries) return undefined;
    let known: FileStats | undefined;
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.name === shape.file) {
        known = this.guard.checkFile(entry, path);
        if (shape.file === LINK_FILE && mode === 'vet') retryUnsettledLink(() => this.guard.checkLinkContent(path, shape.expect));
      } else if (isTemporaryOf(shape.file, entry.name)) {
        this.guard.checkFile(entry, path);
      } else {
        throw unexpected(path, entry);
      }
    }
    if (mode === 'remove') {
      for (const entry of entries) {
        this.unlink(`${dir}/${entry.name}`);
        if (entry.name !== shape.file) this.temporaryFiles++;
      }
      this.fs.rmdirSync(dir);
    }
    return known;
  }

  /**
   * This tool's own files, _janitor/journal.json and _janitor/lock. Their
   * directory stays: removing it would be a step after the journal is
   * gone, and a kill between the two would leave a state no rerun can tell
   * from a finished run.
   */
  private walkOwnFile(file: string, mode: Mode): FileStats | undefined {
    let stats: FileStats;
    try {
      stats = this.fs.lstatSync(file);
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT') return undefined; // not there: nothing to do
      throw cause;
    }
    if (!stats.isFile()) throw unexpected(file, stats, "this tool's own file");
    this.guard.checkDevice(stats, file);
    if (mode === 'remove') this.unlink(file);
    return stats;
  }

  /** tags/<t>/: current/ (one link) and index/<alg>/<hex>/ (one link each). */
  private walkTag(dir: string, mode: Mode): FileStats | undefined {
    const entries = this.listDir(dir, true);
    if (!entries) return undefined;
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.name === TAG_CURRENT) {
        this.guard.checkDir(entry, path);
        this.walkLeaf(path, { file: LINK_FILE, expect: undefined }, mode, false);
      } else if (entry.name === TAG_INDEX) {
        this.guard.checkDir(entry, path);
        this.walkTagIndex(path, mode);
      } else {
        throw unexpected(path, entry);
      }
    }
    if (mode === 'remove') this.fs.rmdirSync(dir);
    return undefined;
  }

  private walkTagIndex(dir: string, mode: Mode): void {
    for (const algEntry of this.listBelow(dir)) {
      const algDir = `${dir}/${algEntry.name}`;
      if (!isAlgorithm(algEntry.name)) throw unexpected(algDir, algEntry);
      this.guard.checkDir(algEntry, algDir);
      const algorithm: Algorithm = algEntry.name;
      for (const entry of this.listBelow(algDir)) {
        const path = `${algDir}/${entry.name}`;
        const digest = makeDigest(algorithm, entry.name);
        if (!digest) throw unexpected(path, entry);
        this.guard.checkDir(entry, path);
        this.walkLeaf(path, { file: LINK_FILE, expect: digest }, mode, false);
      }
      if (mode === 'remove') this.fs.rmdirSync(algDir);
    }
    if (mode === 'remove') this.fs.rmdirSync(dir);
  }

  private unlink(path: string): void {
    try {
      this.fs.unlinkSync(path);
    } catch (cause) {
      // Listed a moment ago and gone now: another process removed it, and
      // gone is what this run wanted.
      if (errnoCode(cause) !== 'ENOENT') throw cause;
    }
  }
}
