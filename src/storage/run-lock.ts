// One destructive run per tree. Every run that can delete (not a dry run,
// not `ls`) takes v2/_janitor/lock before its inventory and releases it at
// the end; the registry reads only blobs/ and repositories/, so it never
// sees the file, and a read-only root still allows dry runs (they write
// nothing).
//
// The lock file is created with O_CREAT|O_EXCL and names its holder: pid,
// host, boot id, the process's start time and the command line. A second
// run gets one line naming the holder (exit 1), or with --wait polls once a
// second until it is free or the wait runs out. A lock whose holder is gone
// is stale and taken over with a warning: on the same host and boot, its
// pid is not running, or runs another process (its start time differs); on
// the same host after a reboot (another boot id). A lock from another host
// is never judged stale: the message says to remove it by hand if that
// host's run is gone.
//
// Node has no flock(2), which the kernel would release on death; the
// holder record is how a killed run's lock is told apart from a live one.
//
// On a full volume (no space or no inode left for _janitor/ or the lock) the
// lock is taken host-locally instead: /run/registry-janitor/<st_dev>-<st_ino>.lock,
// named by the v2 directory itself (however the root is spelled, bind
// mounts included), with the same O_EXCL create and holder record. Every
// acquisition, in either place, then looks at the other place and yields to
// a live holder there, so two runs never both proceed: each creates its own
// file before it looks at the other's, so at least one of two racing runs
// sees the other. A run on another host sharing the tree cannot see a
// host-local lock; the warning says so. A lock file whose one write fails
// (a full disk: created, then no block for its bytes) is removed at once,
// never left empty.

import { constants, readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { JanitorError, type Warn, errnoCode, makeWarning } from '../errors.js';
import type { FileSystem } from './file-system.js';
import type { TreeReader } from './tree-reader.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  /** /proc/sys/kernel/random/boot_id: a reboot makes every older lock stale. */
  bootId: string | undefined;
  /** field 22 of /proc/<pid>/stat: tells a reused pid from the holder. */
  processStart: string | undefined;
}

/** How this host answers "is that process still the holder?"; tests replace it. */
export interface ProcessProbe {
  host(): string;
  bootId(): string | undefined;
  /** the start time of a running process, '' when it runs but cannot be read, undefined when it does not run. */
  processStart(pid: number): string | undefined;
}

export const hostProcessProbe: ProcessProbe = {
  host: () => os.hostname(),
  bootId: () => readProcFile('/proc/sys/kernel/random/boot_id')?.trim(),
  processStart(pid) {
    try {
      process.kill(pid, 0);
    } catch (cause) {
      // EPERM: it runs, as another user.
      if (errnoCode(cause) === 'ESRCH') return undefined;
    }
    const stat = readProcFile(`/proc/${pid}/stat`);
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count from the last ')'.
    return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  },
};

function readProcFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // not Linux, or the process just ended
  }
}

// A lock file is written in one write right after its creation; one that
// is still unreadable after this long was left half-written by a crash.
const UNREADABLE_STALE_MS = 60_000;
const POLL_MS = 1000;
/** Where the lock goes when the tree has no room for it (a tmpfs: never full of this). */
export const HOST_LOCK_DIR = '/run/registry-janitor';
const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface LockOptions {
  command: string;
  /** --wait: how long to wait for a held lock (0: refuse at once). */
  waitMs: number;
  warn: Warn;
  probe?: ProcessProbe;
  /** the host-local lock's directory (default HOST_LOCK_DIR; tests move it). */
  hostDir?: string;
}

export interface RunLock {
  holder: LockHolder;
  /** the lock file held: the tree's, or the host-local one when the tree had no room. */
  file: string;
  /** Removes the lock if it is still this run's (through the deletion module). */
  release(remove: () => void): void;
}

/** A place a lock can be: the tree's _janitor/lock, or the host-local file. */
interface Place {
  dir: string;
  file: string;
}

function isNoSpace(cause: unknown): boolean {
  const code = errnoCode(cause);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export async function acquireRunLock(reader: TreeReader, options: LockOptions): Promise<RunLock> {
  const probe = options.probe ?? hostProcessProbe;
  const fs = reader.fs;
  const tree: Place = { dir: reader.pathOf({ kind: 'janitorDir' }), file: reader.pathOf({ kind: 'lock' }) };
  const stats = fs.lstatSync(reader.v2);
  const hostDir = options.hostDir ?? HOST_LOCK_DIR;
  const host: Place = { dir: hostDir, file: `${hostDir}/${stats.dev}-${stats.ino}.lock` };
  const holder: LockHolder = {
    pid: process.pid,
    host: probe.host(),
    command: options.command,
    startedAt: new Date().toISOString(),
    bootId: probe.bootId(),
    processStart: probe.processStart(process.pid) || undefined,
  };
  const text = JSON.stringify(holder);
  const deadline = Date.now() + options.waitMs;
  const takeOver = (file: string, seen: SeenLock, stale: string): void => {
    options.warn(
      makeWarning(
        'W_LOCK_TAKEN_OVER',
        `${file}: taking over the lock of a run that is gone (${seen.holder ? describeHolder(seen.holder) : 'unreadable'}): ${stale}`,
        { path: file },
      ),
    );
    moveStaleLockAside(fs, file, seen.text);
  };
  for (;;) {
    let place = tree;
    let other = host;
    let outcome = createLock(fs, tree, text);
    if (outcome === 'no-space') {
      [place, other] = [host, tree];
      outcome = createLock(fs, host, text);
      if (outcome === 'no-space') {
        throw new JanitorError('E_LOCK', `cannot take the lock: no space left for ${tree.file}, nor for ${host.file} (a dry run needs no lock)`, {
          path: tree.file,
        });
      }
    }
    // Taken here: a live holder of the other place still wins.
    let held: { file: string; seen: SeenLock } | undefined;
    if (outcome === 'taken') {
      let seen: SeenLock | undefined;
      let stale: string | undefined;
      try {
        seen = readLockFile(fs, other.file);
        stale = seen && staleReason(seen, probe);
        if (seen && stale) takeOver(other.file, seen, stale);
      } catch (error) {
        releaseIfOurs(fs, place.file, text, () => fs.unlinkSync(place.file));
        throw error;
      }
      if (!seen || stale) {
        if (place === host) {
          options.warn(
            makeWarning(
              'W_LOCK_HOST_LOCAL',
              `no space left in ${tree.dir} for the lock: holding ${host.file} instead (a run on another host sharing this tree cannot see it)`,
              { path: host.file },
            ),
          );
        }
        const file = place.file;
        return { holder, file, release: (remove) => releaseIfOurs(fs, file, text, place === tree ? remove : () => fs.unlinkSync(file)) };
      }
      releaseIfOurs(fs, place.file, text, () => fs.unlinkSync(place.file));
      held = { file: other.file, seen };
    } else {
      const seen = readLockFile(fs, place.file);
      if (seen === undefined) continue; // released between our try and the read
      const stale = staleReason(seen, probe);
      if (stale) {
        takeOver(place.file, seen, stale);
        continue;
      }
      held = { file: place.file, seen };
    }
    const { file, seen } = held;
    if (Date.now() >= deadline) {
      const who = seen.holder ? describeHolder(seen.holder) : 'a holder still writing it';
      const fix = seen.holder && seen.holder.host !== probe.host() ? `; if that host's run is gone, remove ${file} by hand` : '';
      throw new JanitorError('E_LOCKED', `another registry-janitor run holds ${file}: ${who}; wait for it to finish, or rerun with --wait[=DURATION]${fix}`, {
        path: file,
      });
    }
    await sleep(Math.min(POLL_MS, deadline - Date.now()));
  }
}

/**
 * Creates a lock file with O_EXCL and writes the holder in one write.
 * 'no-space': no room for the directory, the file or its bytes (a file
 * created but not written is removed: it is ours, and an empty lock would
 * block every run for a minute).
 */
function createLock(fs: FileSystem, place: Place, text: string): 'taken' | 'exists' | 'no-space' {
  const fail = (cause: unknown): never => {
    throw new JanitorError('E_LOCK', `cannot take the lock ${place.file}: ${errnoCode(cause) ?? String(cause)} (a dry run needs no lock)`, {
      path: place.file,
      cause,
    });
  };
  let fd: number;
  try {
    fs.mkdirSync(place.dir, { recursive: true });
    fd = fs.openSync(place.file, CREATE_EXCLUSIVE);
  } catch (cause) {
    if (errnoCode(cause) === 'EEXIST') return 'exists';
    return isNoSpace(cause) ? 'no-space' : fail(cause);
  }
  try {
    const written = fs.writeSync(fd, text);
    if (written !== Buffer.byteLength(text)) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
  } catch (cause) {
    fs.closeSync(fd);
    fs.unlinkSync(place.file);
    return isNoSpace(cause) ? 'no-space' : fail(cause);
  }
  fs.closeSync(fd);
  return 'taken';
}

function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on ${holder.host}, \`${holder.command}\`, started ${holder.startedAt}`;
}

interface SeenLock {
  text: string;
  holder: LockHolder | undefined;
  mtimeMs: number;
}

function readLockFile(fs: FileSystem, file: string): SeenLock | undefined {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = fs.lstatSync(file).mtimeMs;
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') return undefined;
    throw new JanitorError('E_LOCK', `cannot read the lock ${file}: ${errnoCode(cause) ?? String(cause)}`, { path: file, cause });
  }
  try {
    const holder = JSON.parse(text) as LockHolder | null;
    return { text, holder: typeof holder?.pid === 'number' && typeof holder.host === 'string' ? holder : undefined, mtimeMs };
  } catch {
    return { text, holder: undefined, mtimeMs };
  }
}

/** Why a lock's holder is gone, or undefined while it may still run. */
function staleReason(seen: { holder: LockHolder | undefined; mtimeMs: number }, probe: ProcessProbe): string | undefined {
  const { holder } = seen;
  if (!holder) return Date.now() - seen.mtimeMs > UNREADABLE_STALE_MS ? 'the lock file is unreadable and older than a minute' : undefined;
  if (holder.host !== probe.host()) return undefined;
  const bootId = probe.bootId();
  if (holder.bootId && bootId && holder.bootId !== bootId) return 'the host has rebooted since';
  const start = probe.processStart(holder.pid);
  if (start === undefined) return `pid ${holder.pid} is not running`;
  if (holder.processStart && start && start !== holder.processStart) return `pid ${holder.pid} is another process now`;
  return undefined;
}

/**
 * Renames the stale lock aside and deletes it only if what moved is what
 * was judged stale; another run that took it over a moment earlier gets
 * its lock back.
 */
function moveStaleLockAside(fs: FileSystem, file: string, staleText: string): void {
  const aside = `${file}.stale.${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch (cause) {
    if (errnoCode(cause) === 'ENOENT') return; // someone else moved it first
    throw cause;
  }
  const moved = fs.readFileSync(aside, 'utf8');
  if (moved === staleText) fs.unlinkSync(aside);
  else fs.renameSync(aside, file);
}

function releaseIfOurs(fs: FileSystem, file: string, text: string, remove: () => void): void {
  let current: string;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    return; // gone: nothing of ours to release
  }
  if (current === text) remove();
}
