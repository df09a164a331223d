// The quarantine: where the sweep moves doomed revisions and blobs aside
// (_janitor/quarantine/ and _janitor/quarantine-revisions/, layout.ts)
// until its last revalidation, and puts back what turned out to be needed.
// Part of the one deleter (vacuum.ts): a move aside is a deletion as far as
// the registry can tell, so it passes the same guards (target-guard.ts);
// what stays aside is deleted for good by vacuum.ts, as a quarantined
// target.

import { type Digest, shardOf, splitDigest } from '../model/digest.js';
import { JanitorError, errnoCode } from '../errors.js';
import type { AsyncDeletes, DirEntry, FileSystem } from './file-system.js';
import { type PathSpec, parsePath, renderPath } from './layout.js';
import { type TargetGuard, unexpected } from './target-guard.js';

/** What the sweep moves aside until its last revalidation. */
export type AsideItem = { kind: 'blob'; digest: Digest } | { kind: 'revision'; repository: string; digest: Digest };

/** Where an item lives, where it goes aside, and the directory that holds it there. */
function placesOf(item: AsideItem): { home: PathSpec; aside: PathSpec; asideParent: PathSpec } {
  const { algorithm } = splitDigest(item.digest);
  return item.kind === 'blob'
    ? {
        home: { kind: 'blobDir', digest: item.digest },
        aside: { kind: 'quarantineBlobDir', digest: item.digest },
        asideParent: { kind: 'quarantineShard', algorithm, shard: shardOf(splitDigest(item.digest).hex) },
      }
    : {
        home: { kind: 'revisionDir', name: item.repository, digest: item.digest },
        aside: { kind: 'quarantineRevisionDir', name: item.repository, digest: item.digest },
        asideParent: { kind: 'quarantineRevisionsAlgorithm', name: item.repository, algorithm },
      };
}

/** A failed move aside: false when the item was deleted meanwhile (nothing to move), else the error. */
function movedAsideOr(cause: unknown, from: string): false {
  if (errnoCode(cause) === 'ENOENT') return false;
  throw new JanitorError('E_DELETE', `cannot move ${from} aside: ${errnoCode(cause) ?? String(cause)}`, { path: from, cause });
}

function isKind<K extends PathSpec['kind']>(spec: PathSpec | undefined, kind: K): spec is Extract<PathSpec, { kind: K }> {
  return spec?.kind === kind;
}

export class Quarantine {
  private readonly fs: FileSystem;
  private readonly guard: TargetGuard;
  /** Deletes an item's copy in the quarantine (vacuum.ts, as a quarantined target). */
  private readonly dropAside: (item: AsideItem) => void;
  private readonly madeDirs = new Set<string>();

  constructor(guard: TargetGuard, dropAside: (item: AsideItem) => void) {
    this.fs = guard.fs;
    this.guard = guard;
    this.dropAside = dropAside;
  }

  /**
   * Moves a vetted blob or revision directory into the quarantine, one
   * rename on the same filesystem: from then on the registry finds no such
   * blob or manifest, so a push that needs it uploads it again or fails
   * loudly, never succeeds against one about to go. Returns false when it
   * is gone already.
   */
  moveAside(item: AsideItem): boolean {
    const { from, to } = this.prepareMove(item);
    try {
      this.fs.renameSync(from, to);
      return true;
    } catch (cause) {
      return movedAsideOr(cause, from);
    }
  }

  /** `moveAside` with the rename asynchronous (the concurrent sweep), when `ops` is given. */
  async moveAsideAsync(item: AsideItem, ops: AsyncDeletes | undefined): Promise<boolean> {
    if (!ops) return this.moveAside(item);
    const { from, to } = this.prepareMove(item);
    try {
      await ops.rename(from, to);
      return true;
    } catch (cause) {
      return movedAsideOr(cause, from);
    }
  }

  /** The guards of a move aside, and the quarantine directory it goes into (made once). */
  private prepareMove(item: AsideItem): { from: string; to: string } {
    const { home, aside, asideParent } = placesOf(item);
    const from = this.guard.pathOf(home);
    const to = this.guard.pathOf(aside);
    this.guard.assertNoMountAt(from);
    this.guard.assertNoSymlinkAbove(from);
    const parent = this.guard.pathOf(asideParent);
    if (!this.madeDirs.has(parent)) {
      this.fs.mkdirSync(parent, { recursive: true });
      this.madeDirs.add(parent);
    }
    return { from, to };
  }

  /**
   * Puts a quarantined item back. When the registry has written the same
   * one again meanwhile (a re-upload or re-push: same digest, same bytes),
   * the copy in the quarantine goes instead.
   */
  putBack(item: AsideItem): void {
    const { home, aside } = placesOf(item);
    const from = this.guard.pathOf(aside);
    try {
      this.fs.renameSync(from, this.guard.pathOf(home));
    } catch (cause) {
      const code = errnoCode(cause);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') this.dropAside(item);
      else if (code !== 'ENOENT') throw new JanitorError('E_DELETE', `cannot put ${from} back: ${code ?? String(cause)}`, { path: from, cause });
    }
  }

  /** The quarantine directory an item is in (a blob shard, or one repository's revisions of one algorithm). */
  dirOf(item: AsideItem): string {
    return this.guard.pathOf(placesOf(item).asideParent);
  }

  /**
   * Whether the quarantine directory `dir` (dirOf) holds only `items`:
   * listed, every entry a directory named as one of them. Which of them
   * are there (one gone meanwhile is not), or undefined when anything else
   * is (the caller takes them one by one).
   */
  holdsOnly(dir: string, items: readonly AsideItem[]): boolean[] | undefined {
    let entries: DirEntry[];
    try {
      entries = this.fs.readdirSync(dir, { withFileTypes: true });
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT') return items.map(() => false); // emptied and removed: all gone
      throw new JanitorError('E_DELETE', `cannot list ${dir}: ${errnoCode(cause) ?? String(cause)}`, { path: dir, cause });
    }
    const at = new Map(items.map((item, i) => [splitDigest(item.digest).hex, i]));
    const there = items.map(() => false);
    for (const entry of entries) {
      const i = at.get(entry.name);
      if (i === undefined || !entry.isDirectory()) return undefined;
      there[i] = true;
    }
    return there;
  }

  /** A quarantine directory moved away whole (into the trash): made again by the next move aside into it. */
  forget(dir: string): void {
    this.madeDirs.delete(dir);
  }

  /** Removes the emptied quarantine directories (kept if anything is left in them). */
  removeEmptiedDirs(): void {
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
    collect(this.guard.pathOf({ kind: 'quarantineRoot' }), 2); // quarantineAlgorithm, quarantineShard
    collect(this.guard.pathOf({ kind: 'quarantineRevisionsRoot' }), 2); // quarantineRevisionsRepository, quarantineRevisionsAlgorithm
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
    this.madeDirs.clear();
  }

  /** What is in the quarantine: what an interrupted sweep left there. */
  list(): AsideItem[] {
    const items: AsideItem[] = [];
    for (const algorithm of this.subdirs({ kind: 'quarantineRoot' }, 'quarantineAlgorithm', true)) {
      for (const shard of this.subdirs(algorithm, 'quarantineShard', false)) {
        for (const { digest } of this.subdirs(shard, 'quarantineBlobDir', false)) items.push({ kind: 'blob', digest });
      }
    }
    for (const repository of this.subdirs({ kind: 'quarantineRevisionsRoot' }, 'quarantineRevisionsRepository', true)) {
      for (const algorithm of this.subdirs(repository, 'quarantineRevisionsAlgorithm', true)) {
        for (const { name, digest } of this.subdirs(algorithm, 'quarantineRevisionDir', false)) items.push({ kind: 'revision', repository: name, digest });
      }
    }
    return items;
  }

  /**
   * The directories in a quarantine directory, each decoded by the layout
   * (parsePath) as a `kind`; anything else there is refused. `optional`: a
   * directory that is not there holds nothing (nothing was ever moved aside
   * there, or it was emptied and removed meanwhile).
   */
  private subdirs<K extends PathSpec['kind']>(parent: PathSpec, kind: K, optional: boolean): Extract<PathSpec, { kind: K }>[] {
    const dir = this.guard.pathOf(parent);
    let entries: DirEntry[];
    try {
      entries = this.fs.readdirSync(dir, { withFileTypes: true });
    } catch (cause) {
      if (optional && errnoCode(cause) === 'ENOENT') return [];
      throw cause;
    }
    const relative = renderPath(parent);
    return entries.map((entry) => {
      const spec = entry.isDirectory() ? parsePath(`${relative}/${entry.name}`) : undefined;
      if (!isKind(spec, kind)) throw unexpected(`${dir}/${entry.name}`, entry);
      return spec;
    });
  }
}
