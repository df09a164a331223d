// The trash (--trash DIR): part of the one deleter (vacuum.ts), which
// decides target by target whether to delete it or move it here. This
// module owns the trash directory: the checks on DIR, the item names, the
// write-ahead records of its manifest (trash-manifest.ts) and the way back.
//
//   DIR/manifest.jsonl    the header, then one record per item (trash-manifest.ts)
//   DIR/<id>/             one item: a target's directory, moved whole with one rename
//   DIR/<group>/<hex>/    format 2: blobs or revisions the sweep had moved aside, in the
//                         quarantine directory that held them, moved whole (takeGroup)
//
// DIR is refused (E_USAGE, one line, nothing deleted) when it is a symbolic
// link or not a directory, inside v2 (the registry owns that tree) or
// holding it, on another filesystem than v2 (st_dev: a rename cannot cross
// filesystems, and copying is what the trash is not for) or on another
// mount of it (mount-points.ts: a bind mount keeps st_dev, and rename(2)
// still fails across it with EXDEV), or neither empty nor the trash of
// this same tree. Moving in, the record is appended first,
// then the rename: a crash between the two leaves a record naming no item,
// which restore and empty skip. Putting back, the parents missing in v2 are
// made (below v2 only, never through a symbolic link) and the item renamed
// back; an origin that exists again is never overwritten (it is looked at
// first: rename(2) would replace an empty directory).

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import path from 'node:path';
import { JanitorError, errnoCode } from '../errors.js';
import { type DeletionTarget, pathSpecOf } from './deletion-target.js';
import type { AsyncDeletes, FileStats, FileSystem } from './file-system.js';
import { type PathSpec, renderPath } from './layout.js';
import type { TargetGuard } from './target-guard.js';
import {
  TRASH_MANIFEST,
  type TrashHeader,
  type TrashKind,
  type TrashRecord,
  headerLine,
  itemNameOf,
  newerFormatRefusal,
  originOf,
  parseHeader,
  takesGroups,
} from './trash-manifest.js';
import { describeFileType } from './tree-reader.js';
import { findMountOf } from './mount-points.js';
import { walkHousekeeping } from './vacuum-housekeeping.js';

/** A trash directory that passed the checks: its canonical path, whether it is there yet, and its manifest's header when it has one. */
export interface TrashDir {
  dir: string;
  exists: boolean;
  header?: TrashHeader;
}

function lstatOrUndefined(fs: FileSystem, file: string): FileStats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') return undefined; // not there: what the caller asks
    throw cause;
  }
}

/** The first line of a manifest (a trash of 1M items has a manifest of ~200 MB: only its start is read). */
function readFirstLine(fs: FileSystem, file: string): string {
  const fd = fs.openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const buffer = Buffer.alloc(4096);
    const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, n).toString('utf8').split('\n')[0] ?? '';
  } finally {
    fs.closeSync(fd);
  }
}

/** Checks DIR for the tree `v2` (canonical); `option`: how the message names it. */
export function checkTrashDir(fs: FileSystem, named: string, v2: string, option = '--trash'): TrashDir {
  const refuse = (why: string, cause?: unknown): JanitorError =>
    new JanitorError('E_USAGE', `${option} ${named}: ${why} (nothing was deleted)`, { path: named, cause });
  if (named === '') throw refuse('the directory is empty (an unset shell variable?)');
  const absolute = path.resolve(named);
  let stats: FileStats | undefined;
  try {
    stats = lstatOrUndefined(fs, absolute);
  } catch (cause) {
    throw refuse(`cannot be read: ${errnoCode(cause) ?? String(cause)}`, cause);
  }
  let dir: string;
  let dev: number;
  if (stats === undefined) {
    const parent = path.dirname(absolute);
    let real: string;
    try {
      real = fs.realpathSync(parent);
    } catch (cause) {
      throw refuse(`its parent directory ${parent} does not exist`, cause);
    }
    dir = `${real === '/' ? '' : real}/${path.basename(absolute)}`;
    dev = fs.lstatSync(real).dev;
  } else {
    if (stats.isSymbolicLink()) throw refuse('it is a symbolic link; give a real directory');
    if (!stats.isDirectory()) throw refuse(`it is a ${describeFileType(stats)}, not a directory`);
    dir = fs.realpathSync(absolute);
    dev = stats.dev;
  }
  if (dir === v2 || dir.startsWith(`${v2}/`)) {
    throw refuse(`it is inside the registry tree ${v2}, which the registry owns; give a directory outside docker/registry/v2 on the same filesystem`);
  }
  if (v2.startsWith(`${dir}/`)) throw refuse(`it holds the registry tree ${v2}`);
  if (dev !== fs.lstatSync(v2).dev) {
    throw refuse(`it is on another filesystem than ${v2}; the trash moves each item with one rename, so it must be on the same filesystem`);
  }
  // Same st_dev, yet another mount (a bind mount of the same filesystem): rename(2) fails across mounts with EXDEV.
  const [dirMount, v2Mount] = [findMountOf(fs, dir), findMountOf(fs, v2)];
  if (dirMount !== v2Mount) {
    throw refuse(
      `it is on the mount ${dirMount ?? '?'}, ${v2} on the mount ${v2Mount ?? '?'} (the same filesystem mounted twice: a bind mount); a rename cannot cross mounts, give a directory on the mount of ${v2}`,
    );
  }
  const entries = stats === undefined ? [] : fs.readdirSync(dir, { withFileTypes: true });
  if (entries.length > 0) {
    const manifest = `${dir}/${TRASH_MANIFEST}`;
    let header;
    let first: string;
    try {
      first = readFirstLine(fs, manifest);
      // Made, and the run killed before its header was written (TrashBin writes it into an empty manifest).
      if (first === '' && entries.length === 1) return { dir, exists: true };
      header = parseHeader(first);
    } catch (cause) {
      if (errnoCode(cause) !== 'ENOENT') throw refuse(`its ${TRASH_MANIFEST} cannot be read: ${errnoCode(cause) ?? String(cause)}`, cause);
      throw refuse(`it is not empty and not a registry-janitor trash directory (no ${TRASH_MANIFEST})`);
    }
    if (!header) {
      const newer = newerFormatRefusal(first);
      if (newer !== undefined) throw refuse(newer);
      throw refuse(`it is not a registry-janitor trash directory (the first line of ${TRASH_MANIFEST} is no trash header)`);
    }
    if (header.v2 !== v2) throw refuse(`it is the trash of another tree (${header.v2})`);
    return { dir, exists: true, header };
  }
  return { dir, exists: stats !== undefined };
}

/** What one run moved into the trash (the `trash` field of gc's, prune's, tags rm's and apply's JSON; 0 each in a dry run). */
export interface TrashReport {
  /** DIR, canonical. */
  dir: string;
  /** items moved in (an emptied repository's directories are recorded and removed, not moved: not counted). */
  items: number;
  /** their bytes (a blob's data, an upload's): still on the disk, in DIR. */
  bytes: number;
  /** items moved in, by the kind their records give (never `directory`). */
  byKind: Partial<Record<TrashKind, number>>;
}

export function emptyTrashReport(dir: string): TrashReport {
  return { dir, items: 0, bytes: 0, byKind: {} };
}

/** An open trash: what vacuum.ts moves targets into during one run. */
export class TrashBin {
  readonly dir: string;
  private readonly fs: FileSystem;
  private readonly fd: number;
  private readonly runId: string;
  private readonly now: () => number;
  private seq = 0;
  /** a write of records came out short: the manifest ends in a cut line until the next run ends it. */
  private cut = false;
  /** what this run moved in, counted as it goes (a run stopped part-way reports what it moved). */
  readonly report: TrashReport;
  /** a trash of format 2 (made by this version): a quarantine directory goes in whole (takeGroup); one of format 1 takes items one by one. */
  readonly takesGroups: boolean;

  /** Makes DIR if it is not there, and opens its manifest for appending (the header first, on a new one). */
  constructor(fs: FileSystem, trash: TrashDir, v2: string, now: () => number = Date.now) {
    this.fs = fs;
    this.dir = trash.dir;
    this.report = emptyTrashReport(trash.dir);
    this.now = now;
    this.runId = `${now().toString(36)}-${process.pid.toString(36)}-${randomBytes(3).toString('hex')}`;
    if (!trash.exists) fs.mkdirSync(trash.dir, { recursive: true });
    this.fd = fs.openSync(`${trash.dir}/${TRASH_MANIFEST}`, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW);
    const size = fs.fstatSync(this.fd).size;
    if (size === 0) {
      fs.writeSync(this.fd, headerLine(v2, now()));
      this.takesGroups = true;
    } else {
      // checkTrashDir read its header: a trash of this tree, of format 1 or 2.
      this.takesGroups = trash.header !== undefined && takesGroups(trash.header);
      // A crash while appending left a line cut short: end it, so the next record is a line of its own.
      const last = Buffer.alloc(1);
      fs.readSync(this.fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) fs.writeSync(this.fd, '\n');
    }
  }

  /**
   * Moves a vetted target's directory `from` into the trash: its record
   * first, then one rename. False when it was gone already.
   */
  private moveIn(from: string, target: DeletionTarget, size: number): boolean {
    const record = this.recordOf(target, size);
    try {
      this.fs.renameSync(from, `${this.dir}/${record.id}`);
    } catch (cause) {
      return this.movedOr(cause, from);
    }
    this.count(record, size);
    return true;
  }

  private recordOf(target: DeletionTarget, size: number): TrashRecord {
    const { spec, ...origin } = originOf(target);
    return this.append({ ...origin, path: renderPath(spec), size });
  }

  /** A failed move in: false when the target was gone meanwhile, else the error. */
  private movedOr(cause: unknown, from: string): false {
    const code = errnoCode(cause);
    // Gone meanwhile (a rerun, another deleter): its record names nothing. Unless DIR is what went.
    if (code === 'ENOENT' && lstatOrUndefined(this.fs, from) === undefined) return false;
    const hint = code === 'EXDEV' ? ' (another filesystem, or a bind mount between them)' : '';
    throw new JanitorError('E_DELETE', `cannot move ${from} into the trash ${this.dir}: ${code ?? String(cause)}${hint}`, { path: from, cause });
  }

  private count(record: TrashRecord, size: number): void {
    this.report.items++;
    this.report.bytes += size;
    this.report.byKind[record.kind] = (this.report.byKind[record.kind] ?? 0) + 1;
  }

  /**
   * vacuum.ts's `remove` with --trash: the checks of a removal (`vet`: what
   * appeared since the plan stops the run), then one rename into DIR; an
   * emptied repository's directories are recorded, then removed (rmdir:
   * they hold nothing). The bytes moved (a blob's data, an upload's);
   * undefined when the target was gone.
   */
  take(guard: TargetGuard, target: DeletionTarget, vet: () => { size: number }): number | undefined {
    if (target.kind === 'emptyRepository') {
      const record = (dir: string): void => void this.append({ kind: 'directory', path: dir.slice(guard.v2.length + 1), size: 0 });
      const { size } = walkHousekeeping(guard, target, 'remove', record);
      return size > 0 ? size : undefined;
    }
    const { size } = vet();
    return this.moveIn(guard.pathOf(pathSpecOf(target)), target, size) ? size : undefined;
  }

  /**
   * `take` for the concurrent sweep (vacuum.ts removeAsync), a leaf target
   * (a link directory, a blob, their quarantined forms) that the caller
   * checked as a deletion is checked (no mount, no symbolic link above, a
   * blob's data a regular file on v2's device, its size) after the plan's
   * check in this same run (vacuum.ts vet 'move': each link read, no
   * directory listed): its record, appended synchronously, then one
   * asynchronous rename, several under way at once. The directory is not
   * walked again: what appeared in it since the plan moves with it and
   * stays restorable, and `trash empty` walks every item as its kind's
   * shape before it deletes anything. A rename costs ~37 µs where an unlink
   * and an rmdir cost ~400 µs (the many-small 100k tree: 64k moves aside in
   * 2.4 s, 96k deletions in 38 s), and the second, full vet was ~40 µs of
   * synchronous calls per item on top (97k items: ~4 s of apply --trash's
   * window). False when the target was gone already.
   */
  async takeAsync(from: string, target: DeletionTarget, size: number, ops: AsyncDeletes): Promise<boolean> {
    const record = this.recordOf(target, size);
    try {
      await ops.rename(from, `${this.dir}/${record.id}`);
    } catch (cause) {
      return this.movedOr(cause, from);
    }
    this.count(record, size);
    return true;
  }

  /**
   * Moves a quarantine directory `from` into the trash whole (a trash of
   * format 2), holding exactly `items` (quarantine.ts listed it): their
   * records first, in one write, each naming the group, then one rename
   * for all of them. A crash between the two leaves records naming nothing
   * and the items still aside, which the rerun puts back first (gc/index.ts).
   * False when the directory was gone already.
   */
  takeGroup(from: string, items: readonly { target: DeletionTarget; size: number }[]): boolean {
    const group = `${this.runId}-${this.seq++}`;
    const time = new Date(this.now()).toISOString();
    const records = items.map(({ target, size }): TrashRecord => {
      const { spec, ...origin } = originOf(target);
      return { id: `${this.runId}-${this.seq++}`, ...origin, path: renderPath(spec), size, time, in: group };
    });
    this.write(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
    try {
      this.fs.renameSync(from, `${this.dir}/${group}`);
    } catch (cause) {
      return this.movedOr(cause, from);
    }
    records.forEach((record) => this.count(record, record.size));
    return true;
  }

  close(): void {
    this.fs.closeSync(this.fd);
  }

  private append(fields: Omit<TrashRecord, 'id' | 'time'>): TrashRecord {
    const record: TrashRecord = { id: `${this.runId}-${this.seq++}`, ...fields, time: new Date(this.now()).toISOString() };
    this.write(`${JSON.stringify(record)}\n`);
    return record;
  }

  /** Appends records to the manifest, before their items move (write-ahead): on a failure nothing moved for them. */
  private write(lines: string): void {
    const path = `${this.dir}/${TRASH_MANIFEST}`;
    // An earlier write came out short: a record appended now would be glued to its cut line, unreadable; nothing more moves in this run.
    if (this.cut) throw new JanitorError('E_DELETE', `cannot write ${path}: an earlier record was cut short (ENOSPC); nothing more is moved in`, { path });
    let written: number;
    try {
      written = this.fs.writeSync(this.fd, lines);
    } catch (cause) {
      throw new JanitorError('E_DELETE', `cannot write ${path}: ${errnoCode(cause) ?? String(cause)}`, { path, cause });
    }
    // Cut short (a disk filling up): the lines not all there, nothing moves; the next run ends the cut line (constructor).
    if (written !== Buffer.byteLength(lines)) {
      this.cut = true;
      throw new JanitorError('E_DELETE', `cannot write ${path}: ENOSPC (${written} of ${Buffer.byteLength(lines)} bytes written)`, { path });
    }
  }
}

/**
 * A group's directory in DIR (format 2: a quarantine directory moved in
 * whole) once its items are restored or emptied: removed with rmdir, never
 * walked. Returns what is still in it (nothing when it is gone): items kept
 * or refused, or anything no record names, which the caller reports.
 */
export function removeGroupDir(fs: FileSystem, trashDir: string, group: string): string[] {
  const where = `${trashDir}/${group}`;
  try {
    fs.rmdirSync(where);
    return [];
  } catch (cause) {
    const code = errnoCode(cause);
    if (code === 'ENOENT') return []; // removed by an earlier, interrupted run
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST')
      throw new JanitorError('E_DELETE', `cannot delete ${where}: ${code ?? String(cause)}`, { path: where, cause });
  }
  return fs.readdirSync(where, { withFileTypes: true }).map((entry) => entry.name);
}

export type RestoreOutcome = { done: 'restored' | 'absent' } | { refused: string };

/**
 * Makes the missing directories down to `dir` (inside v2): the deepest one
 * there must be a directory that resolves to itself (no symbolic link on
 * the way), so nothing is made outside v2.
 */
function makeParents(guard: TargetGuard, dir: string): void {
  let existing = dir;
  // Up to v2 at most: `dir` lies inside it (guard.pathOf), and v2 is there (locateRoot found it).
  while (existing !== guard.v2 && lstatOrUndefined(guard.fs, existing) === undefined) existing = existing.slice(0, existing.lastIndexOf('/'));
  const resolved = guard.fs.realpathSync(existing);
  if (resolved !== existing) {
    throw new JanitorError('E_SYMLINK', `refusing to restore through a symbolic link: ${existing} resolves to ${resolved}`, { path: existing });
  }
  if (existing !== dir) guard.fs.mkdirSync(dir, { recursive: true });
}

/**
 * Puts one item back where its record says it came from (a directory
 * record: makes the directory). Refused, never overwritten: an origin that
 * exists again, an item that is not a directory or lies on another device.
 */
export function restoreItem(guard: TargetGuard, trashDir: string, record: TrashRecord, spec: PathSpec): RestoreOutcome {
  const origin = guard.pathOf(spec);
  try {
    guard.assertNoMountAt(origin);
    if (record.kind === 'directory') {
      makeParents(guard, origin);
      return { done: 'restored' };
    }
    const item = `${trashDir}/${itemNameOf(record)}`;
    const stats = lstatOrUndefined(guard.fs, item);
    if (!stats) return { done: 'absent' };
    if (!stats.isDirectory()) return { refused: `${item} is a ${describeFileType(stats)}, not the directory moved into the trash` };
    guard.checkDevice(stats, item);
    const reappeared = (): RestoreOutcome => ({ refused: `${origin} exists again (written since it was moved to the trash): not overwritten` });
    if (lstatOrUndefined(guard.fs, origin)) return reappeared();
    makeParents(guard, origin.slice(0, origin.lastIndexOf('/')));
    try {
      guard.fs.renameSync(item, origin);
    } catch (cause) {
      if (['ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes(errnoCode(cause) ?? '')) return reappeared(); // written in the instant between
      throw cause;
    }
    return { done: 'restored' };
  } catch (cause) {
    if (cause instanceof JanitorError) return { refused: cause.message };
    return { refused: `cannot restore ${origin}: ${errnoCode(cause) ?? String(cause)}` };
  }
}
