// The one deleter. Every unlink, rmdir and rename away of anything in the
// registry's tree is in this module or in its parts:
//
//   vacuum-shapes.ts        the shape of each target kind (the table below), walked to vet or remove it
//   vacuum-housekeeping.ts  the two housekeeping targets: an abandoned upload, an emptied repository
//   quarantine.ts           moving doomed revisions and blobs aside until the sweep's last revalidation, and back
//   trash.ts                --trash DIR: moving targets into DIR instead, and back (its manifest: trash-manifest.ts)
//   target-guard.ts         the checks every deletion passes first (it deletes nothing)
//
// This module decides what goes and how: for good, into the trash, aside,
// or several at once on Node's fs (removeAsync). It takes typed targets,
// never raw paths: each target renders to a directory through layout.ts
// and is checked to lie inside the root. Removal is never recursive over
// unknown content: every target kind has a known shape (below; the names
// are layout.ts's), each entry is checked against it, the known files are
// unlinked and the directories removed with rmdir. (This tool's own files
// in _janitor/, which the registry never reads, are written elsewhere:
// commands/journal.ts renames its temporary file into place, run-lock.ts
// moves a stale lock aside and unlinks it; the journal and the lock
// themselves are removed here.)
// With --trash DIR (trash.ts), `remove` moves each target but this tool's
// own files into DIR instead, one rename after the checks of a move (a
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
//   quarantinedBlob      _janitor/quarantine/<alg>/<xx>/<hex>/             data
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
// deletion time and refuses what appeared since. With --trash a target is
// renamed whole, never walked, and is checked for that (`vet` 'move',
// vacuum-shapes.ts checkMove): its directory is not listed, what else is in
// it goes into the trash with it, and `trash empty` walks each item before
// deleting it. Within a directory the files go first and the directory
// last, so a crash leaves a directory without its link file, which the
// registry ignores and the next run removes.

import { JanitorError, errnoCode } from '../errors.js';
import { type AsyncDeletes, type FileStats, type FileSystem, asyncDeletesOf } from './file-system.js';
import { BLOB_FILE, LINK_FILE, type PathSpec } from './layout.js';
import { type AsideItem, Quarantine } from './quarantine.js';
import { type DeletionTarget, pathSpecOf } from './deletion-target.js';
import { TargetGuard, unexpected } from './target-guard.js';
import { type HousekeepingTarget, isHousekeeping, removeUploadAt, walkHousekeeping } from './vacuum-housekeeping.js';
import { type LeafShape, type Mode, ShapeWalker } from './vacuum-shapes.js';
import { type RestoreOutcome, type TrashBin, removeGroupDir, restoreItem } from './trash.js';
import type { TrashRecord } from './trash-manifest.js';
import { assertInsideRoot } from './tree-reader.js';

export type { DeletionTarget } from './deletion-target.js';

/** The target an item moved aside becomes: what deletes it for good. */
function quarantinedTargetOf(item: AsideItem): DeletionTarget {
  return item.kind === 'blob'
    ? { kind: 'quarantinedBlob', digest: item.digest }
    : { kind: 'quarantinedRevision', repository: item.repository, digest: item.digest };
}

/**
 * How closely the plan phase checks a target (Vacuum.vet): `full` before a
 * deletion, `move` before a move into the trash (--trash), `light` in a dry run.
 */
export type VetDepth = 'full' | 'move' | 'light';

/** What vetting learned of a target: a blob's data size, and the mtime of its data or link (an upload: vacuum-housekeeping.ts). */
export interface Vetted {
  size: number;
  mtimeMs: number;
  /** an upload directory with nothing in it. */
  empty?: boolean;
}

export class Vacuum {
  /** Node's fs: the sweep's calls go through libuv, several at once; undefined (memfs): synchronous. */
  private readonly async: AsyncDeletes | undefined;
  private readonly guard: TargetGuard;
  private readonly aside: Quarantine;
  /** --trash DIR: where `remove` moves targets instead of deleting them (trash.ts). */
  private readonly trash: TrashBin | undefined;
  private readonly shapes: ShapeWalker;
  /** targets removed. */
  removed = 0;

  /** `mountPoints`: absolute mount points strictly below `v2` (storage/mount-points.ts). */
  constructor(fs: FileSystem, v2: string, mountPoints: readonly string[] = [], trash?: TrashBin) {
    this.async = asyncDeletesOf(fs);
    this.guard = new TargetGuard(fs, v2, mountPoints);
    this.shapes = new ShapeWalker(fs, this.guard);
    this.trash = trash;
    this.aside = new Quarantine(this.guard, (item) => this.dropAsideCopy(quarantinedTargetOf(item)));
  }

  /**
   * The copy aside of a blob or revision the registry wrote again meanwhile
   * (same digest: same bytes): deleted, nothing is lost, once it is vetted
   * as a deletion is. With --trash a target was checked for a move only
   * (vacuum-shapes.ts checkMove: its directory not listed), so one holding
   * anything unknown goes into the trash instead, never deleted, and never
   * left aside (`trash restore` leaves it there: its origin is taken).
   */
  private dropAsideCopy(target: DeletionTarget): void {
    try {
      this.vet(target, 'full');
    } catch (cause) {
      // Without --trash it stops the run with nothing of it deleted (restoreAll puts back the rest first).
      if (!this.trash || !(cause instanceof JanitorError)) throw cause;
      this.trash.take(this.guard, target, () => this.vet(target, 'move'));
      return;
    }
    this.removeForGood(target);
  }

  /** `<name>.<uuid>.tmp` files of crashed registry writes removed. */
  get temporaryFiles(): number {
    return this.shapes.temporaryFiles;
  }

  /**
   * Plan-time check of one target. `full` (a real run): everything in it
   * has its known shape, links name their digest, nothing crosses a
   * filesystem. `light` (a dry run): the mount table, and a blob's `data`
   * alone (type, device); the directory listing is what makes `full` cost
   * ~50 µs a layer link on the bench tree, 981k blobs and 714k layer links
   * on the 1M-blob tree. `move` (--trash: the directory is renamed whole,
   * never walked): `light`, and each link read (vacuum-shapes.ts
   * checkMove). Returns the size of a blob's data, in place or moved aside
   * (0 for other kinds, and for a target already gone).
   */
  vet(target: DeletionTarget, depth: VetDepth = 'full'): Vetted {
    if (isHousekeeping(target)) return walkHousekeeping(this.guard, target, 'vet');
    const stats = this.walkTarget(target, depth === 'full' ? 'vet' : depth === 'light' ? 'preview' : 'move');
    const data = target.kind === 'blob' || target.kind === 'quarantinedBlob';
    return { size: data ? (stats?.size ?? 0) : 0, mtimeMs: stats?.mtimeMs ?? 0 };
  }

  /** Removes one (vetted) target, or moves it into the trash; returns the size of a blob's data (an upload's bytes; a repository: walkHousekeeping) it removed. */
  remove(target: DeletionTarget): number {
    if (!this.trash || target.kind === 'journal' || target.kind === 'lock') return this.removeForGood(target);
    const size = this.trash.take(this.guard, target, () => this.vet(target, 'move'));
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
    if (!ops || target.kind === 'tag' || target.kind === 'journal' || target.kind === 'lock' || isHousekeeping(target)) return this.remove(target);
    const data = target.kind === 'blob' || target.kind === 'quarantinedBlob';
    const where = this.guard.pathOf(pathSpecOf(target));
    this.guard.assertNoMountAt(where);
    const shape: LeafShape = { file: data ? BLOB_FILE : LINK_FILE, expect: data ? undefined : target.digest };
    let stats: FileStats | undefined;
    try {
      if (!this.guard.assertNoSymlinkAbove(where)) return 0;
      const file = `${where}/${shape.file}`;
      if (data) stats = await this.statDataAsync(where, ops);
      if (this.trash) {
        // Moved whole, after the same checks; not walked again (trash.ts takeAsync).
        const size = stats?.size ?? 0;
        if (!(await this.trash.takeAsync(where, target, size, ops))) return 0;
        this.removed++;
        return size;
      }
      try {
        await ops.unlink(file);
      } catch (cause) {
        if (errnoCode(cause) !== 'ENOENT') throw cause;
      }
      try {
        await ops.rmdir(where);
      } catch (cause) {
        if (errnoCode(cause) === 'ENOTEMPTY' || errnoCode(cause) === 'EEXIST') this.shapes.walkLeaf(where, shape, 'remove');
        else if (errnoCode(cause) !== 'ENOENT') throw cause;
      }
    } catch (cause) {
      if (cause instanceof JanitorError) throw cause;
      throw new JanitorError('E_DELETE', `cannot delete ${where}: ${errnoCode(cause) ?? String(cause)}`, { path: where, cause });
    }
    this.removed++;
    return data ? (stats?.size ?? 0) : 0;
  }

  /** A blob directory's data: a regular file on v2's device, or undefined where an interrupted removal left the directory without it. */
  private async statDataAsync(where: string, ops: AsyncDeletes): Promise<FileStats | undefined> {
    const file = `${where}/${BLOB_FILE}`;
    let stats: FileStats;
    try {
      stats = await ops.lstat(file);
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT') return undefined; // an interrupted removal left the directory
      throw cause; // removeAsync says which target
    }
    if (!stats.isFile()) throw unexpected(file, stats);
    this.guard.checkDevice(stats, file);
    return stats;
  }

  /** `quarantine` for the concurrent sweep: the rename asynchronous on Node's fs. */
  quarantineAsync(item: AsideItem): Promise<boolean> {
    return this.aside.moveAsideAsync(item, this.async);
  }

  /** The known file's stats (a blob's data, a link), undefined where there is none. */
  private walkTarget(target: Exclude<DeletionTarget, HousekeepingTarget>, mode: Mode | 'preview' | 'move'): FileStats | undefined {
    return this.shapes.walk(this.guard.pathOf(pathSpecOf(target)), target, mode);
  }

  /**
   * `trash empty`: deletes one item of the trash for good, `where` inside
   * this Vacuum's root (the trash directory: trash.ts), walked as `target`'s
   * shape, fully vetted first (links name their digest): anything else in
   * it stops the run with nothing in it deleted.
   */
  removeTrashed(where: string, target: DeletionTarget): number {
    assertInsideRoot(this.guard.v2, where);
    // The item itself must be a directory on the tree's device, and what
    // holds it (DIR, or its group in DIR) no symbolic link: one planted in
    // DIR would be listed and unlinked through, outside it.
    if (!this.guard.assertNoSymlinkAbove(where)) throw new JanitorError('E_DELETE', `cannot check ${where}: the directory holding it is gone`, { path: where });
    let item: FileStats;
    try {
      item = this.guard.fs.lstatSync(where);
    } catch (cause) {
      throw new JanitorError('E_DELETE', `cannot check ${where}: ${errnoCode(cause) ?? String(cause)}`, { path: where, cause });
    }
    if (!item.isDirectory()) throw unexpected(where, item, 'trash item');
    this.guard.checkDevice(item, where);
    if (target.kind === 'upload') return removeUploadAt(this.guard, where);
    if (isHousekeeping(target)) return 0;
    const size = this.shapes.walk(where, target, 'vet')?.size ?? 0;
    this.shapes.walk(where, target, 'remove');
    return target.kind === 'blob' ? size : 0;
  }

  /** Whether what is still aside goes into the trash a quarantine directory at a time (takeAsideDir): a trash of format 2. */
  get takesAsideWhole(): boolean {
    return this.trash?.takesGroups === true;
  }

  /** The quarantine directory an item aside is in: the items of one go into the trash together (takeAsideDir). */
  asideDirOf(item: AsideItem): string {
    return this.aside.dirOf(item);
  }

  /**
   * With a trash that takes them whole: the items aside in one quarantine
   * directory (all of one blob shard, or of one repository's revisions of
   * one algorithm) moved into the trash with one rename (trash.ts
   * takeGroup), when it holds only them; each checked as its own move
   * would be (removeAsync: no mount at or below, no symbolic link above, a
   * blob's data a regular file on the tree's device, its size). A shard
   * holds ~50 blobs on the many-small 100k tree: 256 renames instead of
   * ~14k. Returns each item's bytes (0: gone already, or a revision), or
   * undefined when the directory holds anything else: the caller moves
   * them one by one.
   */
  takeAsideDir(items: readonly AsideItem[]): number[] | undefined {
    const first = items[0];
    if (!this.trash?.takesGroups || first === undefined) return undefined;
    const dir = this.aside.dirOf(first);
    this.guard.assertNoMountAt(dir);
    // The directory itself resolved too (its items' own moves resolve it as their parent): a link there would be moved, not what it names.
    if (!this.guard.assertNoSymlinkAbove(`${dir}/.`)) return items.map(() => 0);
    const there = this.aside.holdsOnly(dir, items);
    if (there === undefined) return undefined;
    const taken: { target: DeletionTarget; size: number }[] = [];
    const sizes = items.map((item, i) => {
      if (!there[i]) return 0;
      const target = quarantinedTargetOf(item);
      const where = this.guard.pathOf(pathSpecOf(target));
      let size = 0;
      try {
        if (item.kind === 'blob') size = this.shapes.previewData(`${where}/${BLOB_FILE}`)?.size ?? 0;
      } catch (cause) {
        if (cause instanceof JanitorError) throw cause;
        throw new JanitorError('E_DELETE', `cannot check ${where}: ${errnoCode(cause) ?? String(cause)}`, { path: where, cause });
      }
      taken.push({ target, size });
      return size;
    });
    if (taken.length === 0) return sizes;
    if (!this.trash.takeGroup(dir, taken)) return items.map(() => 0);
    this.aside.forget(dir);
    this.removed += taken.length;
    return sizes;
  }

  /** Moves a vetted blob or revision directory aside (quarantine.ts); false when it is gone already. */
  quarantine(item: AsideItem): boolean {
    return this.aside.moveAside(item);
  }

  /** Puts a quarantined item back, or deletes its copy there when the registry wrote it again (quarantine.ts). */
  restore(item: AsideItem): void {
    this.aside.putBack(item);
  }

  /** Puts back every item, each tried even when one before it failed (nothing stays hidden for another's sake); then throws the first failure. */
  restoreAll(items: Iterable<AsideItem>): void {
    let failure: Error | undefined;
    for (const item of items) {
      try {
        this.aside.putBack(item);
      } catch (cause) {
        failure ??= cause instanceof Error ? cause : new Error(String(cause));
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** `trash restore`: puts one item of the trash back where its record says (trash.ts). */
  restoreTrashed(trashDir: string, record: TrashRecord, spec: PathSpec): RestoreOutcome {
    return restoreItem(this.guard, trashDir, record, spec);
  }

  /** `trash restore` and `trash empty`: a group's directory in DIR once its items are out (rmdir only); what is still in it (trash.ts removeGroupDir). */
  removeTrashGroup(trashDir: string, group: string): string[] {
    return removeGroupDir(this.guard.fs, trashDir, group);
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
    const stats = this.shapes.previewData(`${dir}/${BLOB_FILE}`);
    return { size: stats?.size ?? 0, mtimeMs: stats?.mtimeMs ?? 0 };
  }
}
