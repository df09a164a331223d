// The mount points inside the registry tree, from the kernel's mount table
// (/proc/self/mountinfo, read through the injected filesystem). The
// deletion module refuses any target at, above or below one: a bind mount
// of the same filesystem keeps st_dev, so comparing devices alone misses it.
// Where there is no mount table (not Linux, or memfs without one) the list
// is empty and the st_dev check of the deleter (target-guard.ts) still stands.

import { constants } from 'node:fs';
import { JanitorError, errnoCode } from '../errors.js';
import type { FileSystem } from './file-system.js';

export const MOUNT_TABLE = '/proc/self/mountinfo';

/**
 * Refuses a tree with anything mounted inside it: a mount hides the tree's
 * own content below it, so what the run would read there is not what the
 * registry wrote (a tmpfs over repositories/team made every team/* blob
 * look unreferenced). The volume mounted at or above the root is fine.
 */
export function assertNoMountInside(fs: FileSystem, v2: string): string[] {
  const mounts = findMountPointsBelow(fs, v2);
  if (mounts.length > 0) {
    throw new JanitorError(
      'E_MOUNT',
      `${mounts[0]} is a mount point inside the registry tree${mounts.length > 1 ? ` (and ${mounts.length - 1} more)` : ''}: it hides what the registry wrote below it; unmount it first (nothing was read for deletion, nothing deleted)`,
      { path: mounts[0] },
    );
  }
  return mounts;
}

/** Mount points strictly below `v2` (an absolute, canonical path). */
export function findMountPointsBelow(fs: FileSystem, v2: string, table = MOUNT_TABLE): string[] {
  const text = readWholeFile(fs, table);
  if (text === undefined) return [];
  const below: string[] = [];
  for (const line of text.split('\n')) {
    // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": field 5 is the mount point.
    const mountPoint = line.split(' ')[4];
    if (mountPoint === undefined) continue;
    const decoded = decodeOctalEscapes(mountPoint);
    if (decoded.startsWith(`${v2}/`)) below.push(decoded);
  }
  return below.sort();
}

/**
 * The mount `path` (absolute, canonical; it need not exist) lies on: the
 * deepest mount point at or above it (of several at one path, the last
 * listed: the one on top). Undefined where there is no mount table. Two
 * paths on different mounts of one filesystem (a bind mount) have the same
 * st_dev, and rename(2) between them still fails with EXDEV.
 */
export function findMountOf(fs: FileSystem, path: string, table = MOUNT_TABLE): string | undefined {
  const text = readWholeFile(fs, table);
  if (text === undefined) return undefined;
  let found: string | undefined;
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const mountPoint = decodeOctalEscapes(field);
    const above = mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
    if (above && (found === undefined || mountPoint.length >= found.length)) found = mountPoint;
  }
  return found;
}

/** The kernel escapes space, tab, newline and backslash as \ooo. */
function decodeOctalEscapes(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** /proc files report size 0: read until end of file. Undefined when absent. */
function readWholeFile(fs: FileSystem, file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, constants.O_RDONLY);
  } catch (cause) {
    // No mount table here (not Linux, or a test filesystem without one).
    if (errnoCode(cause) === 'ENOENT') return undefined;
    throw cause;
  }
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const chunk = Buffer.allocUnsafe(65536);
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
