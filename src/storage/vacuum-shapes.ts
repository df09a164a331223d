// The shapes of the one deleter (vacuum.ts): what each target kind's
// directory holds (the table in vacuum.ts), walked entry by entry to vet it
// or to remove it. vacuum.ts decides what goes and how (for good, into the
// trash, aside into the quarantine, several at once); this module knows
// only the shapes: every entry is checked against its kind's shape
// (target-guard.ts), the known files are unlinked and the directories
// removed with rmdir, files first and the directory last.

import type { Digest } from '../model/digest.js';
import { type Algorithm, isAlgorithm, makeDigest } from '../model/digest.js';
import { JanitorError, errnoCode } from '../errors.js';
import type { DirEntry, FileStats, FileSystem } from './file-system.js';
import { BLOB_FILE, LINK_FILE, type LeafFile, TAG_CURRENT, TAG_INDEX, isTemporaryOf } from './layout.js';
import type { DeletionTarget } from './deletion-target.js';
import { type TargetGuard, unexpected } from './target-guard.js';
import type { HousekeepingTarget } from './vacuum-housekeeping.js';
import { retryUnsettledLink } from './tree-reader.js';

/** The shape of a directory that holds one file (`data` or `link`). */
export interface LeafShape {
  file: LeafFile;
  /** the digest a `link` must name; undefined: any digest (a tag's current link). */
  expect: Digest | undefined;
}

export type Mode = 'vet' | 'remove';

export class ShapeWalker {
  private readonly fs: FileSystem;
  private readonly guard: TargetGuard;
  /** `<name>.<uuid>.tmp` files of crashed registry writes removed. */
  temporaryFiles = 0;

  constructor(fs: FileSystem, guard: TargetGuard) {
    this.fs = fs;
    this.guard = guard;
  }

  /**
   * Walks `where`, a directory with the shape of `target`'s kind, to vet
   * it, remove it, (`preview`, a dry run) look at a blob's data alone, or
   * (`move`, --trash) check what a move of it whole needs (checkMove).
   * The known file's stats (a blob's data, a link), undefined where there is none.
   */
  walk(where: string, target: Exclude<DeletionTarget, HousekeepingTarget>, depth: Mode | 'preview' | 'move'): FileStats | undefined {
    this.guard.assertNoMountAt(where);
    // A tag (prune's few) and this tool's own files are walked in full before a move too.
    const mode = depth === 'move' ? 'vet' : depth;
    try {
      if (!this.guard.assertNoSymlinkAbove(where)) return undefined;
      if (mode === 'preview') return target.kind === 'blob' || target.kind === 'quarantinedBlob' ? this.previewData(`${where}/${BLOB_FILE}`) : undefined;
      if (depth === 'move' && target.kind !== 'tag' && target.kind !== 'journal' && target.kind !== 'lock') return this.checkMove(where, target);
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

  /** A dry run's look at a blob: its data's size, type and device. */
  previewData(file: string): FileStats | undefined {
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
   * The `move` check of a directory that goes into the trash whole: its
   * known file lstat'ed (previewData: a regular file on v2's device), and
   * a link read and naming the digest of its path. The registry reads a
   * link's content, not its path: one naming another digest (an alias)
   * stops the run, as the full check does
   * (test/unit/trash-move-check.test.ts). Not listed: what else is in the
   * directory moves into the trash with it and stays restorable; `trash
   * empty` walks every item as its kind's shape before it deletes
   * anything, so it deletes a crashed write's `<name>.<uuid>.tmp` with its
   * item (as gc would) and refuses an item holding anything unknown. The
   * listing is 5 of the full check's 9 system calls a target (open, fstat,
   * two getdents64, close; then the link's lstat, open, read, close).
   */
  private checkMove(where: string, target: Exclude<DeletionTarget, HousekeepingTarget | { kind: 'tag' | 'journal' | 'lock' }>): FileStats | undefined {
    if (target.kind === 'blob' || target.kind === 'quarantinedBlob') return this.previewData(`${where}/${BLOB_FILE}`);
    // No link: a revision directory without one (a push under way, an interrupted removal), or gone already (a rerun).
    const link = `${where}/${LINK_FILE}`;
    const stats = this.previewData(link);
    try {
      // Distribution 2.8 truncates a link before it writes it again: read it again as the full check does.
      if (stats) retryUnsettledLink(() => this.guard.checkLinkContent(link, target.digest));
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT') return undefined; // gone since its lstat: the same
      throw cause;
    }
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
  walkLeaf(dir: string, shape: LeafShape, mode: Mode, top = true): FileStats | undefined {
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
