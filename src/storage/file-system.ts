import nodeFs, { constants } from 'node:fs';
import { JanitorError, errnoCode } from '../errors.js';

// The injected filesystem: the synchronous subset of `node:fs` the tool uses.
// Node's `fs` module and a memfs `Volume` both satisfy it, so unit tests run
// the production code on an in-memory tree.
//
// Why synchronous: reading 200,000 small files on this project's 2-core
// machine took 11.5 µs/file with openSync/readSync/closeSync into one reused
// buffer, 25 µs with callbacks and 97 µs with fs.promises (measured with
// 64 reads in flight; more libuv threads made it slower). The tree walk is
// dominated by such reads, so the hot path stays synchronous and parallelism
// comes from worker threads (see scan/scan-pool.ts), not from async I/O.

/** What both a directory entry and a stat result tell about a file's type. */
export interface FileType {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}

export interface DirEntry extends FileType {
  name: string;
}

export interface FileStats extends FileType {
  size: number;
  mtimeMs: number;
  /** st_dev: the filesystem the file lives on (0 on memfs). */
  dev: number;
  /** st_ino: with st_dev, names the tree's directory for the host-local lock (storage/run-lock.ts). */
  ino: number;
}

export interface FileSystem {
  readdirSync(path: string, options: { withFileTypes: true }): DirEntry[];
  openSync(path: string, flags: number): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  fstatSync(fd: number): FileStats;
  closeSync(fd: number): void;
  lstatSync(path: string): FileStats;
  unlinkSync(path: string): void;
  rmdirSync(path: string): void;
  realpathSync(path: string): string;
  /** Writes: only this tool's own files (the journal and the lock, v2/_janitor/) and the quarantine's moves into v2/_janitor/ and back (quarantine.ts). */
  mkdirSync(path: string, options: { recursive: true }): unknown;
  writeFileSync(path: string, data: string | Uint8Array, options?: { flag?: string }): void;
  /** the lock's one write into the file it just created (run-lock.ts): a failed write is told from a failed create. */
  writeSync(fd: number, data: string): number;
  renameSync(from: string, to: string): void;
  readFileSync(path: string, encoding: 'utf8'): string;
}

/**
 * O_NOFOLLOW: a symlink as the last path component fails with ELOOP.
 * O_NONBLOCK: a FIFO planted in the tree opens at once and reads as empty
 * (then fails as a bad link or manifest) instead of blocking the run.
 */
export const OPEN_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Node's own fs is the production FileSystem: checked here at compile time. */
export const nodeFileSystem: FileSystem = nodeFs;

/**
 * The four calls of the concurrent sweep (storage/vacuum.ts), on Node's own
 * fs only: a deletion is one unlink or rmdir, latency-bound, so the sweep
 * keeps several in flight on libuv's threads. Any other FileSystem (memfs
 * in the tests) is swept with its synchronous calls, one at a time.
 */
export interface AsyncDeletes {
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  lstat(path: string): Promise<FileStats>;
}

export function asyncDeletesOf(fs: FileSystem): AsyncDeletes | undefined {
  return fs === nodeFileSystem ? nodeFs.promises : undefined;
}

/**
 * Reads a small text file (a config or policy) through the injected
 * filesystem. Anything but a regular file is refused before a byte is read:
 * opened blocking, a FIFO would hang the run until a writer came, and a
 * device could be read forever. O_NONBLOCK makes the open of a FIFO return
 * at once (it is ignored for regular files); fstat then tells what it is.
 */
export function readTextFileSync(fs: FileSystem, path: string): string {
  let fd: number;
  try {
    fd = fs.openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    // open(2) of a Unix socket fails with ENXIO whatever the flags: say what it is.
    let socket = false;
    try {
      socket = errnoCode(cause) === 'ENXIO' && fs.lstatSync(path).isSocket();
    } catch {
      // gone or unreadable since: the open's own error says enough
    }
    if (socket) throw new JanitorError('E_UNREADABLE', `${path}: it is a socket, not a regular file`, { path, cause });
    throw cause;
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile()) {
      const kinds: [boolean, string][] = [
        [stats.isDirectory(), 'a directory'],
        [stats.isFIFO(), 'a FIFO'],
        [stats.isSocket(), 'a socket'],
        [stats.isCharacterDevice(), 'a character device'],
        [stats.isBlockDevice(), 'a block device'],
      ];
      const what = kinds.find(([is]) => is)?.[1] ?? 'of an unknown kind';
      throw new JanitorError('E_UNREADABLE', `${path}: it is ${what}, not a regular file`, { path });
    }
    const size = stats.size;
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = fs.readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
