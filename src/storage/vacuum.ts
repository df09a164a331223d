// The one deletion module. It takes typed targets, never raw paths: each
// target renders to a directory through layout.ts and is checked to lie
// inside the root. Removal is never recursive over unknown content: every
// target kind has a known shape (below), each entry is checked against it,
// the known files are unlinked and the directories removed with rmdir.
//
//   blob           blobs/<alg>/<xx>/<hex>/            data
//   layerLink      _layers/<alg>/<hex>/               link
//   revision       _manifests/revisions/<alg>/<hex>/  link
//   tagIndexEntry  _manifests/tags/<t>/index/<alg>/<hex>/  link
//   tag            _manifests/tags/<t>/               current/link, index/<alg>/<hex>/link
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
// digest, another filesystem). `remove` walks it again at deletion time and
// refuses what appeared since. Neither ever crosses a filesystem boundary:
// every entry's st_dev must be the v2 directory's, and no target may hold,
// sit on or lie below a mount point (bind mounts of the same filesystem
// keep st_dev, so the mount table is checked too: storage/mount-points.ts).
// Within a directory the files go first and the directory last, so a crash
// leaves a directory without its link file, which the registry ignores and
// the next run removes.

import type { Digest } from '../model/digest.js';
import { type Algorithm, isAlgorithm, makeDigest, parseDigest } from '../model/digest.js';
import { JanitorError, errnoCode } from '../errors.js';
import { type DirEntry, type FileStats, type FileSystem, type FileType, OPEN_NOFOLLOW } from './file-system.js';
import { type PathSpec, renderPath } from './layout.js';
import { assertInsideRoot, describeFileType, retryUnsettledLink } from './tree-reader.js';

export type DeletionTarget =
  | { kind: 'tag'; repository: string; tag: string }
  | { kind: 'tagIndexEntry'; repository: string; tag: string; digest: Digest }
  | { kind: 'revision'; repository: string; digest: Digest }
  | { kind: 'layerLink'; repository: string; digest: Digest }
  | { kind: 'blob'; digest: Digest }
  | { kind: 'journal' }
  | { kind: 'lock' }
  | { kind: 'quarantinedBlob'; digest: Digest }
  | { kind: 'quarantinedRevision'; repository: string; digest: Digest };

/** What the sweep moves aside until its last revalidation. */
export type AsideItem = { kind: 'blob'; digest: Digest } | { kind: 'revision'; repository: string; digest: Digest };

export function pathSpecOf(target: DeletionTarget): PathSpec {
  switch (target.kind) {
    case 'tag':
      return { kind: 'tagDir', name: target.repository, tag: target.tag };
    case 'tagIndexEntry':
      return { kind: 'tagIndexDir', name: target.repository, tag: target.tag, digest: target.digest };
    case 'revision':
      return { kind: 'revisionDir', name: target.repository, digest: target.digest };
    case 'layerLink':
      return { kind: 'layerDir', name: target.repository, digest: target.digest };
    case 'blob':
      return { kind: 'blobDir', digest: target.digest };
    case 'journal':
      return { kind: 'journal' };
    case 'lock':
      return { kind: 'lock' };
    case 'quarantinedBlob':
      return { kind: 'quarantineBlobDir', digest: target.digest };
    case 'quarantinedRevision':
      return { kind: 'quarantineRevisionDir', name: target.repository, digest: target.digest };
  }
}

function placesOf(item: AsideItem): { home: PathSpec; aside: PathSpec; target: DeletionTarget } {
  return item.kind === 'blob'
    ? { home: { kind: 'blobDir', digest: item.digest }, aside: { kind: 'quarantineBlobDir', digest: item.digest }, target: { kind: 'quarantinedBlob', digest: item.digest } }
    : {
        home: { kind: 'revisionDir', name: item.repository, digest: item.digest },
        aside: { kind: 'quarantineRevisionDir', name: item.repository, digest: item.digest },
        target: { kind: 'quarantinedRevision', repository: item.repository, digest: item.digest },
      };
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TEMPORARY = { data: new RegExp(`^data\\.${UUID}\\.tmp$`), link: new RegExp(`^link\\.${UUID}\\.tmp$`) };

/** The shape of a directory that holds one file (`data` or `link`). */
interface LeafShape {
  file: 'data' | 'link';
  /** the digest a `link` must name; undefined: any digest (a tag's current link). */
  expect: Digest | undefined;
}

type Mode = 'vet' | 'remove';

/** What vetting learned of a target: a blob's data size, and the mtime of its data or link. */
export interface Vetted {
  size: number;
  mtimeMs: number;
}

export class Vacuum {
  private readonly fs: FileSystem;
  private readonly v2: string;
  private readonly mountPoints: readonly string[];
  private rootDev: number | undefined;
  /** Parents proven free of symlinks: 256 blob buckets and a few per repository. */
  private readonly verifiedParents = new Set<string>();
  private readonly quarantineDirs = new Set<string>();
  private readonly buffer = Buffer.allocUnsafe(256);
  /** targets removed. */
  removed = 0;
  /** `<name>.<uuid>.tmp` files of crashed registry writes removed. */
  temporaryFiles = 0;

  /** `mountPoints`: absolute mount points strictly below `v2` (storage/mount-points.ts). */
  constructor(fs: FileSystem, v2: string, mountPoints: readonly string[] = []) {
    this.fs = fs;
    this.v2 = v2;
    this.mountPoints = mountPoints;
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
    const stats = this.walkTarget(target, depth === 'full' ? 'vet' : 'preview');
    return { size: target.kind === 'blob' ? (stats?.size ?? 0) : 0, mtimeMs: stats?.mtimeMs ?? 0 };
  }

  /** Removes one (vetted) target; returns the size of a blob's data it removed. */
  remove(target: DeletionTarget): number {
    const stats = this.walkTarget(target, 'remove');
    this.removed++;
    return target.kind === 'blob' || target.kind === 'quarantinedBlob' ? (stats?.size ?? 0) : 0;
  }

  /** The known file's stats (a blob's data, a link), undefined where there is none. */
  private walkTarget(target: DeletionTarget, mode: Mode | 'preview'): FileStats | undefined {
    const where = assertInsideRoot(this.v2, `${this.v2}/${renderPath(pathSpecOf(target))}`);
    this.assertNoMountAt(where);
    try {
      this.assertNoSymlinkAbove(where);
      if (mode === 'preview') return target.kind === 'blob' ? this.previewData(`${where}/data`) : undefined;
      const data = target.kind === 'blob' || target.kind === 'quarantinedBlob';
      if (mode === 'remove' && (data || target.kind === 'layerLink' || target.kind === 'revision' || target.kind === 'quarantinedRevision' || target.kind === 'tagIndexEntry')) {
        return this.removeLeaf(where, { file: data ? 'data' : 'link', expect: data ? undefined : target.digest });
      }
      switch (target.kind) {
        case 'blob':
        case 'quarantinedBlob':
          return this.walkLeaf(where, { file: 'data', expect: undefined }, mode);
        case 'quarantinedRevision':
          return this.walkLeaf(where, { file: 'link', expect: target.digest }, mode);
        case 'tag':
          return this.walkTag(where, mode);
        case 'journal':
        case 'lock':
          return this.walkOwnFile(where, mode);
        default:
          return this.walkLeaf(where, { file: 'link', expect: target.digest }, mode);
      }
    } catch (cause) {
      if (cause instanceof JanitorError) throw cause;
      const verb = mode === 'vet' ? 'check' : 'delete';
      throw new JanitorError('E_DELETE', `cannot ${verb} ${where}: ${errnoCode(cause) ?? String(cause)}`, { path: where, cause });
    }
  }

  /**
   * Moves a vetted blob or revision directory into the quarantine, one
   * rename on the same filesystem: from then on the registry finds no such
   * blob or manifest, so a push that needs it uploads it again or fails
   * loudly, never succeeds against one about to go. Returns false when it
   * is gone already.
   */
  quarantine(item: AsideItem): boolean {
    const { home, aside } = placesOf(item);
    const from = this.pathOfSpec(home);
    const to = this.pathOfSpec(aside);
    this.assertNoMountAt(from);
    this.assertNoSymlinkAbove(from);
    const parent = to.slice(0, to.lastIndexOf('/'));
    if (!this.quarantineDirs.has(parent)) {
      this.fs.mkdirSync(parent, { recursive: true });
      this.quarantineDirs.add(parent);
    }
    try {
      this.fs.renameSync(from, to);
      return true;
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT') return false; // deleted meanwhile: nothing to move
      throw new JanitorError('E_DELETE', `cannot move ${from} aside: ${errnoCode(cause) ?? String(cause)}`, { path: from, cause });
    }
  }

  /**
   * Puts a quarantined item back. When the registry has written the same
   * one again meanwhile (a re-upload or re-push: same digest, same bytes),
   * the copy in the quarantine goes instead.
   */
  restore(item: AsideItem): void {
    const { home, aside, target } = placesOf(item);
    const from = this.pathOfSpec(aside);
    try {
      this.fs.renameSync(from, this.pathOfSpec(home));
    } catch (cause) {
      const code = errnoCode(cause);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') this.remove(target);
      else if (code !== 'ENOENT') throw new JanitorError('E_DELETE', `cannot put ${from} back: ${code ?? String(cause)}`, { path: from, cause });
    }
  }

  /** Removes the emptied quarantine directories (kept if anything is left in them). */
  removeQuarantineDirs(): void {
    const dirs: string[] = [];
    const collect = (dir: string, depth: number): void => {
      if (depth > 0) {
        try {
          for (const entry of this.fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) collect(`${dir}/${entry.name}`, depth - 1);
        } catch (cause) {
          if (errnoCode(cause) !== 'ENOENT') throw cause; // no quarantine: nothing to remove
        }
      }
      dirs.push(dir); // children first
    };
    collect(this.pathOfSpec({ kind: 'quarantineRoot' }), 1); // <alg>
    collect(this.pathOfSpec({ kind: 'quarantineRevisionsRoot' }), 2); // <name>/<alg>
    for (const dir of dirs) {
      try {
        this.fs.rmdirSync(dir);
      } catch (cause) {
        // Never made, or a blob still in it (put back failed): leave it.
        if (!['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(errnoCode(cause) ?? '')) {
          throw new JanitorError('E_DELETE', `cannot delete ${dir}: ${errnoCode(cause) ?? String(cause)}`, { path: dir, cause });
        }
      }
    }
    this.quarantineDirs.clear();
  }

  /** What is in the quarantine: what an interrupted sweep left there. */
  listQuarantine(): AsideItem[] {
    const items: AsideItem[] = [];
    const digestsIn = (dir: string, found: (digest: Digest) => void): void => {
      let algorithms: DirEntry[];
      try {
        algorithms = this.fs.readdirSync(dir, { withFileTypes: true });
      } catch (cause) {
        if (errnoCode(cause) === 'ENOENT') return; // nothing was ever moved aside here
        throw cause;
      }
      for (const entry of algorithms) {
        if (!isAlgorithm(entry.name) || !entry.isDirectory()) throw unexpected(`${dir}/${entry.name}`, entry);
        const algorithm: Algorithm = entry.name;
        for (const item of this.fs.readdirSync(`${dir}/${algorithm}`, { withFileTypes: true })) {
          const digest = item.isDirectory() ? makeDigest(algorithm, item.name) : undefined;
          if (!digest) throw unexpected(`${dir}/${algorithm}/${item.name}`, item);
          found(digest);
        }
      }
    };
    digestsIn(this.pathOfSpec({ kind: 'quarantineRoot' }), (digest) => items.push({ kind: 'blob', digest }));
    const revisions = this.pathOfSpec({ kind: 'quarantineRevisionsRoot' });
    let names: DirEntry[] = [];
    try {
      names = this.fs.readdirSync(revisions, { withFileTypes: true });
    } catch (cause) {
      if (errnoCode(cause) !== 'ENOENT') throw cause; // no revision was ever moved aside
    }
    for (const entry of names) {
      const repository = entry.name.replaceAll('+', '/');
      digestsIn(`${revisions}/${entry.name}`, (digest) => items.push({ kind: 'revision', repository, digest }));
    }
    return items;
  }

  private pathOfSpec(spec: PathSpec): string {
    return assertInsideRoot(this.v2, `${this.v2}/${renderPath(spec)}`);
  }

  /**
   * A dry run's look at one blob of a bucket, the path built by hand from
   * a checked bucket path and a listed hex name: ~1M of these on a mass
   * deletion, where renderPath and the containment check cost ~1 µs each.
   */
  previewBucketBlob(bucket: string, hex: string): Vetted {
    const dir = `${bucket}/${hex}`;
    this.assertNoMountAt(dir);
    const stats = this.previewData(`${dir}/data`);
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
    this.checkDevice(stats, file);
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
    const stats = shape.file === 'data' ? this.previewData(file) : undefined;
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

  /** A directory holding one `data` or `link` file (and crashed-write leftovers). */
  private walkLeaf(dir: string, shape: LeafShape, mode: Mode, top = true): FileStats | undefined {
    const entries = this.listDir(dir, top);
    if (!entries) return undefined;
    let known: FileStats | undefined;
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.name === shape.file) {
        known = this.checkFile(entry, path);
        if (shape.file === 'link' && mode === 'vet') retryUnsettledLink(() => this.checkLinkContent(path, shape.expect));
      } else if (TEMPORARY[shape.file].test(entry.name)) {
        this.checkFile(entry, path);
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
    this.checkDevice(stats, file);
    if (mode === 'remove') this.unlink(file);
    return stats;
  }

  /** tags/<t>/: current/ (one link) and index/<alg>/<hex>/ (one link each). */
  private walkTag(dir: string, mode: Mode): FileStats | undefined {
    const entries = this.listDir(dir, true);
    if (!entries) return undefined;
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.name === 'current') {
        this.checkDir(entry, path);
        this.walkLeaf(path, { file: 'link', expect: undefined }, mode, false);
      } else if (entry.name === 'index') {
        this.checkDir(entry, path);
        this.walkTagIndex(path, mode);
      } else {
        throw unexpected(path, entry);
      }
    }
    if (mode === 'remove') this.fs.rmdirSync(dir);
    return undefined;
  }

  private walkTagIndex(dir: string, mode: Mode): void {
    for (const algEntry of this.listDir(dir, false)!) {
      const algDir = `${dir}/${algEntry.name}`;
      if (!isAlgorithm(algEntry.name)) throw unexpected(algDir, algEntry);
      this.checkDir(algEntry, algDir);
      const algorithm: Algorithm = algEntry.name;
      for (const entry of this.listDir(algDir, false)!) {
        const path = `${algDir}/${entry.name}`;
        const digest = makeDigest(algorithm, entry.name);
        if (!digest) throw unexpected(path, entry);
        this.checkDir(entry, path);
        this.walkLeaf(path, { file: 'link', expect: digest }, mode, false);
      }
      if (mode === 'remove') this.fs.rmdirSync(algDir);
    }
    if (mode === 'remove') this.fs.rmdirSync(dir);
  }

  private checkDir(entry: DirEntry, path: string): void {
    if (!entry.isDirectory()) throw unexpected(path, entry);
    this.checkDevice(this.fs.lstatSync(path), path);
  }

  private checkFile(entry: DirEntry, path: string): FileStats {
    if (!entry.isFile()) throw unexpected(path, entry);
    const stats = this.fs.lstatSync(path);
    this.checkDevice(stats, path);
    return stats;
  }

  private checkDevice(stats: FileStats, path: string): void {
    this.rootDev ??= this.fs.lstatSync(this.v2).dev;
    if (stats.dev !== this.rootDev) {
      throw new JanitorError('E_MOUNT', `refusing to delete across a filesystem boundary: ${path} is on another filesystem than ${this.v2} (a mount point inside the tree?)`, { path });
    }
  }

  /** A link about to be deleted must name the digest of its directory. */
  private checkLinkContent(path: string, expected: Digest | undefined): void {
    const fd = this.fs.openSync(path, OPEN_NOFOLLOW);
    let length: number;
    try {
      length = this.fs.readSync(fd, this.buffer, 0, this.buffer.length, 0);
    } finally {
      this.fs.closeSync(fd);
    }
    const text = this.buffer.subarray(0, length).toString('latin1');
    const digest = parseDigest(text);
    if (!digest) {
      const shown = text.length === 0 ? 'it is empty' : `it holds ${JSON.stringify(text.slice(0, 80))}`;
      throw new JanitorError('E_BAD_LINK', `unparsable link ${path}: ${shown}`, { path });
    }
    if (expected !== undefined && digest !== expected) {
      throw new JanitorError('E_LINK_MISMATCH', `link ${path} names ${digest}, not the ${expected} of its path`, { path });
    }
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

  /** Refuses a target that is, holds or lies below a mount point. */
  private assertNoMountAt(where: string): void {
    for (const mount of this.mountPoints) {
      if (mount === where || mount.startsWith(`${where}/`) || where.startsWith(`${mount}/`)) {
        throw new JanitorError('E_MOUNT', `refusing to delete across a mount point: ${mount} is mounted inside the registry tree (at or below ${where})`, { path: mount });
      }
    }
  }

  /**
   * The kernel follows a symlink in any middle component of a path, so the
   * target's parent must resolve to itself (the v2 path is already
   * canonical: locateRoot resolved the root once). The read side refuses
   * such links first; this guard keeps the deletion module safe alone.
   */
  private assertNoSymlinkAbove(where: string): void {
    const parent = where.slice(0, where.lastIndexOf('/'));
    if (this.verifiedParents.has(parent)) return;
    const resolved = this.fs.realpathSync(parent);
    if (resolved !== parent) {
      throw new JanitorError('E_SYMLINK', `refusing to delete through a symbolic link: ${parent} resolves to ${resolved}`, { path: parent });
    }
    this.verifiedParents.add(parent);
  }
}

function unexpected(path: string, type: FileType, what = 'entry'): JanitorError {
  if (type.isSymbolicLink()) return new JanitorError('E_SYMLINK', `symbolic link inside the registry tree: ${path}`, { path });
  return new JanitorError('E_STRAY', `unexpected ${describeFileType(type)} in the registry tree: ${path} (${what} not of the registry's shape; nothing was deleted in it)`, { path });
}
