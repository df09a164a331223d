// trash restore DIR and trash empty DIR: the way back from a --trash run,
// and the way on. storage/trash.ts owns the trash directory and its
// manifest (trash-manifest.ts); every deletion and every rename into the
// tree goes through the one deleter (storage/vacuum.ts).
//
// 1. read     DIR's manifest, a chunk at a time: the tree it belongs to
//             (its header), how many records, the lines that are none;
//             the items in DIR. The records are never held all at once
//             (~200 bytes an item): 3 and 4 read them again one by one
//             (newest first: from the end of the file)
// 2. open     restore: that tree, with its run lock (skeleton.ts);
//             empty: the same when the tree is still there (a trash
//             outliving its registry is emptied without one)
// 3. restore  newest record first, the sweep's safe order reversed (blobs
//             come back before the links that name them, tags last): each
//             item renamed back, refused where its origin exists again;
//             the directories a run emptied and removed, made again
//    empty    every item moved in before --older-than AGE (all without
//             it), deleted for good as the shape of its kind (vacuum.ts
//             removeTrashed: never recursive over unknown content)
// 4. rewrite  the manifest keeps the records whose item is still in DIR
//             (and the younger ones' directories), written aside (empty:
//             during 3) and renamed over it, so a rerun after an
//             interruption at any point finishes: a record whose item is
//             gone names nothing
//
// Items in DIR that no valid record names (its line cut short or edited)
// are left where they are and reported, like refused ones: the exit status
// says so.

import path from 'node:path';
import { JanitorError, type Warning, errnoCode, makeWarning } from '../../errors.js';
import type { FileSystem } from '../../storage/file-system.js';
import { findMountPointsBelow } from '../../storage/mount-points.js';
import { checkTrashDir } from '../../storage/trash.js';
import { describeFileType } from '../../storage/tree-reader.js';
import {
  TRASH_MANIFEST,
  TRASH_MANIFEST_REWRITE,
  type TrashManifest,
  TrashManifestRewrite,
  type TrashRecord,
  forEachTrashRecord,
  itemNameOf,
  readTrashManifest,
  targetOfRecord,
} from '../../storage/trash-manifest.js';
import { Vacuum } from '../../storage/vacuum.js';
import { type PhaseListener, type PhaseTimer, timePhases } from '../phases.js';
import { openTree, runDeleting } from '../skeleton.js';

export interface TrashOptions {
  onPhase?: PhaseListener;
  command?: string;
  waitMs?: number;
  /** empty: only items moved in more than this many ms ago (undefined: all). */
  olderThanMs?: number | undefined;
  /** the clock --older-than counts from (tests pin it). */
  now?: () => number;
}

export interface TrashResult {
  action: 'restore' | 'empty';
  dir: string;
  v2: string;
  /** items restored (directories made again included), or deleted. */
  done: number;
  /** empty: the bytes of the blobs and uploads deleted. */
  bytes: number;
  /** records whose item is not in DIR (restored or emptied before, or never moved: a crash between record and rename). */
  absent: number;
  /** empty: items younger than --older-than, kept. */
  kept: number;
  /** items left in DIR: their origin, and why. */
  refused: { path: string; reason: string }[];
  /** items in DIR that no valid record names: left. */
  unnamed: string[];
  warnings: Warning[];
  phases: { name: string; ms: number }[];
}

/** The entries of DIR that are items (all but the manifest and its rewrite). */
function listItems(fs: FileSystem, dir: string): Set<string> {
  const names = fs.readdirSync(dir, { withFileTypes: true }).map((e) => e.name);
  return new Set(names.filter((n) => n !== TRASH_MANIFEST && n !== TRASH_MANIFEST_REWRITE));
}

/**
 * The groups of a trash of format 2 (a quarantine directory moved in
 * whole: trash.ts takeGroup) the records name, and those holding an item
 * kept (refused, or younger than --older-than): once the records are
 * through, every other group's directory is removed (rmdir), and anything
 * still in it is named by no record.
 */
class Groups {
  private readonly seen = new Set<string>();
  /** per group, the names of its items left in it (their records kept). */
  private readonly kept = new Map<string, Set<string>>();
  /** per group: why its directory is refused (a symbolic link: what is "inside" it would be elsewhere), or '' when it is a real directory on DIR's device. */
  private readonly refusals = new Map<string, string>();
  private readonly fs: FileSystem;
  private readonly dir: string;

  constructor(fs: FileSystem, dir: string) {
    this.fs = fs;
    this.dir = dir;
  }

  /**
   * Why a grouped record's item is not to be touched: its group's path in
   * DIR is not a directory of DIR's filesystem (a symbolic link planted
   * there would send a restore or a deletion through it, outside DIR), or
   * undefined. Looked at once per group.
   */
  refusalOf(record: TrashRecord): string | undefined {
    if (record.in === undefined) return undefined;
    let refusal = this.refusals.get(record.in);
    if (refusal === undefined) {
      const where = `${this.dir}/${record.in}`;
      refusal = '';
      try {
        const stats = this.fs.lstatSync(where);
        if (!stats.isDirectory()) refusal = `${where} is a ${describeFileType(stats)}, not the directory its group was moved into the trash as`;
        else if (stats.dev !== this.fs.lstatSync(this.dir).dev) refusal = `${where} is on another filesystem than ${this.dir}`;
      } catch (cause) {
        // Gone: its items are absent. Unreadable: each of its items refused, the rest go on.
        if (errnoCode(cause) !== 'ENOENT') refusal = `cannot look at ${where}: ${errnoCode(cause) ?? String(cause)}`;
      }
      this.refusals.set(record.in, refusal);
    }
    return refusal === '' ? undefined : refusal;
  }

  /** The name in DIR that a record accounts for: its item's, or its group's. */
  see(record: TrashRecord): string {
    if (record.in === undefined) return record.id;
    this.seen.add(record.in);
    return record.in;
  }

  /** An item left in its group (refused, or younger than --older-than): its name there is named by its record. */
  keep(record: TrashRecord): void {
    if (record.in === undefined) return;
    let names = this.kept.get(record.in);
    if (!names) this.kept.set(record.in, (names = new Set()));
    names.add(itemNameOf(record).slice(record.in.length + 1));
  }

  /** What is in a group kept (its items refused or young); an unreadable one shows nothing more: those items are reported already. */
  private list(group: string): string[] {
    try {
      return this.fs.readdirSync(`${this.dir}/${group}`, { withFileTypes: true }).map((entry) => entry.name);
    } catch {
      return [];
    }
  }

  /**
   * Removes the groups emptied (rmdir); what is left in one (listed when
   * its directory is a real one) that no kept record names goes into
   * `unnamed` as <group>/<name>.
   */
  remove(removeDir: (group: string) => string[], unnamed: Set<string>): void {
    for (const group of this.seen) {
      unnamed.delete(group);
      if (this.refusals.get(group)) continue; // not a directory to look into: its items were refused
      const kept = this.kept.get(group);
      const left = kept ? this.list(group) : removeDir(group);
      for (const name of left) if (!kept?.has(name)) unnamed.add(`${group}/${name}`);
    }
  }
}

/** Whether an item is in DIR (lstat: the item itself, never followed). */
function isThere(fs: FileSystem, item: string): boolean {
  try {
    fs.lstatSync(item);
    return true;
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') return false; // restored, emptied or never moved: its record names nothing
    return true; // there, as far as anyone can tell: its deletion looks again and refuses it, naming the error
  }
}

function readTrash(fs: FileSystem, named: string, action: 'restore' | 'empty'): { manifest: TrashManifest; lineWarnings: Warning[] } {
  if (named === '') throw new JanitorError('E_USAGE', `trash ${action}: the directory is empty (an unset shell variable?)`);
  const manifest = readTrashManifest(fs, path.resolve(named));
  const lineWarnings = manifest.unreadable.map(({ number, line }) =>
    makeWarning(
      'W_TRASH_LINE',
      `${named}/${TRASH_MANIFEST} line ${number} is no valid record (cut short by a crash, or edited): ${JSON.stringify(line.slice(0, 80))}; kept as it is`,
    ),
  );
  return { manifest, lineWarnings };
}

function newResult(action: TrashResult['action'], dir: string, v2: string, warnings: Warning[], phases: TrashResult['phases']): TrashResult {
  return { action, dir, v2, done: 0, bytes: 0, absent: 0, kept: 0, refused: [], unnamed: [], warnings, phases };
}

export async function runTrashRestore(fs: FileSystem, named: string, options: TrashOptions): Promise<TrashResult> {
  // 1. read
  const { manifest, lineWarnings } = readTrash(fs, named, 'restore');
  // 2. open
  const { v2, reader, warnings, warn, timer } = openTree(fs, manifest.header.v2, options.onPhase);
  lineWarnings.forEach(warn);
  if (!reader || v2 === undefined) throw new JanitorError('E_NOT_REGISTRY', `${manifest.header.v2}: the tree this trash belongs to holds no registry data`);
  const { dir } = checkTrashDir(fs, named, v2, 'trash restore');
  const result = newResult('restore', dir, v2, warnings, timer.phases);
  const deleting = { dryRun: false, command: options.command ?? 'registry-janitor trash restore', waitMs: options.waitMs ?? 0 };
  return runDeleting(fs, reader, deleting, warn, ({ vacuum }) => {
    // What is left of it once every record is read: the items no valid record names.
    const unnamed = listItems(fs, dir);
    // 3. restore
    const refused = new Set<string>();
    const groups = new Groups(fs, dir);
    timer.run('restore', () => {
      timer.progress.total(manifest.records);
      forEachTrashRecord(fs, manifest, 'newest-first', ({ record, spec }) => {
        unnamed.delete(groups.see(record));
        const refusal = groups.refusalOf(record);
        const outcome = refusal === undefined ? vacuum.restoreTrashed(dir, record, spec) : { refused: refusal };
        if ('refused' in outcome) {
          result.refused.push({ path: record.path, reason: outcome.refused });
          refused.add(record.id);
          groups.keep(record);
        } else if (outcome.done === 'absent') result.absent++;
        else result.done++;
        timer.progress.advance(1);
      });
      groups.remove((group) => vacuum.removeTrashGroup(dir, group), unnamed);
    });
    result.unnamed = [...unnamed].sort();
    // 4. rewrite: the refused records, in their order
    timer.run('rewrite', () => {
      const rewrite = new TrashManifestRewrite(fs, manifest);
      try {
        forEachTrashRecord(fs, manifest, 'oldest-first', (entry) => {
          if (refused.has(entry.record.id)) rewrite.keep(entry);
        });
        rewrite.commit();
      } finally {
        rewrite.close();
      }
    });
    return result;
  });
}

export async function runTrashEmpty(fs: FileSystem, named: string, options: TrashOptions): Promise<TrashResult> {
  const now = options.now ?? Date.now;
  // 1. read
  const { manifest, lineWarnings } = readTrash(fs, named, 'empty');
  // 2. open: with the tree's lock when the tree is there
  let treeThere = true;
  try {
    fs.lstatSync(manifest.header.v2);
  } catch (cause) {
    if (errnoCode(cause) !== 'ENOENT') throw cause;
    treeThere = false; // the registry is gone: nothing to lock
  }
  const empty = (dir: string, v2: string, timer: PhaseTimer, warnings: Warning[]): TrashResult => {
    const result = newResult('empty', dir, v2, warnings, timer.phases);
    // Each record takes its item out of this set: what is left, no valid record names.
    const items = listItems(fs, dir);
    // Rooted at DIR: every item is checked to lie inside it, on DIR's filesystem, not across a mount.
    const vacuum = new Vacuum(fs, dir, findMountPointsBelow(fs, dir));
    const cutoff = options.olderThanMs === undefined ? Number.POSITIVE_INFINITY : now() - options.olderThanMs;
    // The records kept are written aside as the pass goes (4 renames it over the manifest).
    const rewrite = new TrashManifestRewrite(fs, manifest);
    const groups = new Groups(fs, dir);
    try {
      // 3. empty
      timer.run('empty', () => {
        timer.progress.total(manifest.records);
        forEachTrashRecord(fs, manifest, 'oldest-first', (entry) => {
          timer.progress.advance(1);
          const { record, spec } = entry;
          const refusal = groups.refusalOf(record);
          const inTrash =
            record.in === undefined
              ? items.delete(record.id)
              : items.has(groups.see(record)) && (refusal !== undefined || isThere(fs, `${dir}/${itemNameOf(record)}`));
          if (Date.parse(record.time) > cutoff) {
            if (record.kind === 'directory' || inTrash) {
              rewrite.keep(entry);
              groups.keep(record);
              if (record.kind !== 'directory') result.kept++;
            }
            return;
          }
          const target = targetOfRecord(spec);
          if (!target) return; // a directory record: nothing in DIR
          if (!inTrash) {
            result.absent++;
            return;
          }
          try {
            if (refusal !== undefined) throw new JanitorError('E_SYMLINK', `refusing to delete through ${refusal}`, { path: `${dir}/${record.in ?? ''}` });
            result.bytes += vacuum.removeTrashed(`${dir}/${itemNameOf(record)}`, target);
            result.done++;
          } catch (error) {
            if (!(error instanceof JanitorError)) throw error;
            result.refused.push({ path: record.path, reason: error.message });
            rewrite.keep(entry);
            groups.keep(record);
          }
        });
        groups.remove((group) => vacuum.removeTrashGroup(dir, group), items);
      });
      result.unnamed = [...items].sort();
      // 4. rewrite
      timer.run('rewrite', () => {
        rewrite.commit();
      });
    } finally {
      rewrite.close();
    }
    return result;
  };
  if (!treeThere) {
    const stats = fs.lstatSync(path.resolve(named));
    if (!stats.isDirectory()) throw new JanitorError('E_USAGE', `trash empty ${named}: it is not a directory (a symbolic link?)`);
    return empty(fs.realpathSync(path.resolve(named)), manifest.header.v2, timePhases(options.onPhase), lineWarnings);
  }
  const { v2, reader, warnings, warn, timer } = openTree(fs, manifest.header.v2, options.onPhase);
  lineWarnings.forEach(warn);
  if (!reader || v2 === undefined) throw new JanitorError('E_NOT_REGISTRY', `${manifest.header.v2}: the tree this trash belongs to holds no registry data`);
  const { dir } = checkTrashDir(fs, named, v2, 'trash empty');
  const deleting = { dryRun: false, command: options.command ?? 'registry-janitor trash empty', waitMs: options.waitMs ?? 0 };
  return runDeleting(fs, reader, deleting, warn, () => empty(dir, v2, timer, warnings));
}
