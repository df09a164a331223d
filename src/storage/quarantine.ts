// The quarantine: where the sweep moves doomed revisions and blobs aside
// (_janitor/quarantine/ and _janitor/quarantine-revisions/, layout.ts)
// until its last revalidation, and puts back what turned out to be needed.
// Part of the one deleter (vacuum.ts): a move aside is a deletion as far as
// the registry can tell, so it passes the same guards (target-guard.ts);
// what stays aside is deleted for good by vacuum.ts, as a quarantined
// target.

import type { Digest } from '../model/digest.js';
import { type Algorithm, isAlgorithm, makeDigest } from '../model/digest.js';
import { JanitorError, errnoCode } from '../errors.js';
import type { DirEntry, FileSystem } from './file-system.js';
import type { PathSpec } from './layout.js';
import { type TargetGuard, unexpected } from './target-guard.js';

/** What the sweep moves aside until its last revalidation. */
export type AsideItem = { kind: 'blob'; digest: Digest } | { kind: 'revision'; repository: string; digest: Digest };

function placesOf(item: AsideItem): { home: PathSpec; aside: PathSpec } {
  return item.kind === 'blob'
    ? { home: { kind: 'blobDir', digest: item.digest }, aside: { kind: 'quarantineBlobDir', digest: item.digest } }
    : {
        home: { kind: 'revisionDir', name: item.repository, digest: item.digest },
        aside: { kind: 'quarantineRevisionDir', name: item.repository, digest: item.digest },
      };
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
    const { home, aside } = placesOf(item);
    const from = this.guard.pathOf(home);
    const to = this.guard.pathOf(aside);
    this.guard.assertNoMountAt(from);
    this.guard.assertNoSymlinkAbove(from);
    const parent = to.slice(0, to.lastIndexOf('/'));
    if (!this.madeDirs.has(parent)) {
      this.fs.mkdirSync(parent, { recursive: true });
      this.madeDirs.add(parent);
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
    collect(this.guard.pathOf({ kind: 'quarantineRoot' }), 1); // <alg>
    collect(this.guard.pathOf({ kind: 'quarantineRevisionsRoot' }), 2); // <name>/<alg>
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
    digestsIn(this.guard.pathOf({ kind: 'quarantineRoot' }), (digest) => items.push({ kind: 'blob', digest }));
    const revisions = this.guard.pathOf({ kind: 'quarantineRevisionsRoot' });
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
}
