// The one deletion module. It takes typed targets, never raw paths: each
// target renders to a directory through layout.ts, is checked to lie inside
// the root, and is removed without following symlinks (a link is unlinked
// as itself; its target is never touched). Within a directory the files go
// first and the directory last, so a crash leaves a directory without its
// link file, which the registry and this tool both ignore.

import type { Digest } from './digest.js';
import { JanitorError, errnoCode } from './errors.js';
import type { FileSystem } from './io/file-system.js';
import { type PathSpec, renderPath } from './layout.js';
import { assertInsideRoot } from './storage/tree-reader.js';

export type DeletionTarget =
  | { kind: 'tag'; repository: string; tag: string }
  | { kind: 'tagIndexEntry'; repository: string; tag: string; digest: Digest }
  | { kind: 'revision'; repository: string; digest: Digest }
  | { kind: 'layerLink'; repository: string; digest: Digest }
  | { kind: 'blob'; digest: Digest };

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
  }
}

export class Vacuum {
  private readonly fs: FileSystem;
  private readonly v2: string;
  /** Parents proven free of symlinks: 256 blob buckets and a few per repository. */
  private readonly verifiedParents = new Set<string>();
  removed = 0;

  constructor(fs: FileSystem, v2: string) {
    this.fs = fs;
    this.v2 = v2;
  }

  remove(target: DeletionTarget): void {
    const where = assertInsideRoot(this.v2, `${this.v2}/${renderPath(pathSpecOf(target))}`);
    this.assertNoSymlinkAbove(where);
    try {
      this.removeTree(where, this.fs.lstatSync(where).isDirectory());
    } catch (cause) {
      if (cause instanceof JanitorError) throw cause;
      throw new JanitorError('E_DELETE', `cannot delete ${where}: ${errnoCode(cause) ?? String(cause)}`, { path: where, cause });
    }
    this.removed++;
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
    let resolved: string;
    try {
      resolved = this.fs.realpathSync(parent);
    } catch (cause) {
      throw new JanitorError('E_DELETE', `cannot delete ${where}: ${errnoCode(cause) ?? String(cause)}`, { path: where, cause });
    }
    if (resolved !== parent) {
      throw new JanitorError('E_SYMLINK', `refusing to delete through a symbolic link: ${parent} resolves to ${resolved}`, { path: parent });
    }
    this.verifiedParents.add(parent);
  }

  private removeTree(where: string, isDirectory: boolean): void {
    if (!isDirectory) {
      this.fs.unlinkSync(where);
      return;
    }
    for (const entry of this.fs.readdirSync(where, { withFileTypes: true })) {
      // Symlinks are unlinked, never descended into.
      this.removeTree(`${where}/${entry.name}`, entry.isDirectory() && !entry.isSymbolicLink());
    }
    this.fs.rmdirSync(where);
  }
}
