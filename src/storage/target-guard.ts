// The checks a deletion target passes before anything in it is deleted or
// moved: part of the one deleter (vacuum.ts), which applies them when it
// vets a target in the plan phase, again when it removes it, and when it
// moves one into the quarantine (quarantine.ts). Nothing here deletes.
//
// A target's path is rendered through layout.ts and must lie inside the
// root. Nothing may cross a filesystem boundary: every entry's st_dev must
// be the v2 directory's, and no target may hold, sit on or lie below a
// mount point (bind mounts of the same filesystem keep st_dev, so the mount
// table is checked too: storage/mount-points.ts). No symbolic link may lie
// above a target, none may be in it, and a link file must name the digest
// of its own directory.

import { type Digest, parseDigest } from '../model/digest.js';
import { JanitorError, errnoCode } from '../errors.js';
import { type DirEntry, type FileStats, type FileSystem, type FileType, OPEN_NOFOLLOW } from './file-system.js';
import { type PathSpec, renderPath } from './layout.js';
import { assertInsideRoot, describeFileType } from './tree-reader.js';

export class TargetGuard {
  readonly fs: FileSystem;
  readonly v2: string;
  private readonly mountPoints: readonly string[];
  private rootDev: number | undefined;
  /** Parents proven free of symlinks: 256 blob shards and a few per repository. */
  private readonly verifiedParents = new Set<string>();
  private readonly buffer = Buffer.allocUnsafe(256);

  /** `mountPoints`: absolute mount points strictly below `v2` (storage/mount-points.ts). */
  constructor(fs: FileSystem, v2: string, mountPoints: readonly string[]) {
    this.fs = fs;
    this.v2 = v2;
    this.mountPoints = mountPoints;
  }

  /** The absolute path of `spec`, refused unless it lies inside the root. */
  pathOf(spec: PathSpec): string {
    return assertInsideRoot(this.v2, `${this.v2}/${renderPath(spec)}`);
  }

  checkDir(entry: DirEntry, path: string): void {
    if (!entry.isDirectory()) throw unexpected(path, entry);
    this.checkDevice(this.fs.lstatSync(path), path);
  }

  checkFile(entry: DirEntry, path: string): FileStats {
    if (!entry.isFile()) throw unexpected(path, entry);
    const stats = this.fs.lstatSync(path);
    this.checkDevice(stats, path);
    return stats;
  }

  checkDevice(stats: FileStats, path: string): void {
    this.rootDev ??= this.fs.lstatSync(this.v2).dev;
    if (stats.dev !== this.rootDev) {
      throw new JanitorError(
        'E_MOUNT',
        `refusing to delete across a filesystem boundary: ${path} is on another filesystem than ${this.v2} (a mount point inside the tree?)`,
        { path },
      );
    }
  }

  /** A link about to be deleted must name the digest of its directory. */
  checkLinkContent(path: string, expected: Digest | undefined): void {
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

  /** Refuses a target that is, holds or lies below a mount point. */
  assertNoMountAt(where: string): void {
    for (const mount of this.mountPoints) {
      if (mount === where || mount.startsWith(`${where}/`) || where.startsWith(`${mount}/`)) {
        throw new JanitorError('E_MOUNT', `refusing to delete across a mount point: ${mount} is mounted inside the registry tree (at or below ${where})`, {
          path: mount,
        });
      }
    }
  }

  /**
   * The kernel follows a symlink in any middle component of a path, so the
   * target's parent must resolve to itself (the v2 path is already
   * canonical: locateRoot resolved the root once). The read side refuses
   * such links first; this guard keeps the deletion module safe alone.
   * False when the parent does not exist: the target is gone too.
   */
  assertNoSymlinkAbove(where: string): boolean {
    const parent = where.slice(0, where.lastIndexOf('/'));
    if (this.verifiedParents.has(parent)) return true;
    let resolved: string;
    try {
      resolved = this.fs.realpathSync(parent);
    } catch (cause) {
      // No parent, no target: a rerun after an interrupted --remove-empty-repos, which removes a repository's directories.
      if (errnoCode(cause) === 'ENOENT') return false;
      throw cause;
    }
    if (resolved !== parent) {
      throw new JanitorError('E_SYMLINK', `refusing to delete through a symbolic link: ${parent} resolves to ${resolved}`, { path: parent });
    }
    this.verifiedParents.add(parent);
    return true;
  }
}

/** The error for an entry where the target's shape allows none: a symlink, or anything else unknown. */
export function unexpected(path: string, type: FileType, what = 'entry'): JanitorError {
  if (type.isSymbolicLink()) return new JanitorError('E_SYMLINK', `symbolic link inside the registry tree: ${path}`, { path });
  return new JanitorError(
    'E_STRAY',
    `unexpected ${describeFileType(type)} in the registry tree: ${path} (${what} not of the registry's shape; nothing was deleted in it)`,
    { path },
  );
}
