// The read side of the storage boundary. Every read of the tree goes through
// a TreeReader: it renders typed path kinds (layout.ts) under the v2
// directory, refuses symlinks (in listings and, via O_NOFOLLOW, as the file
// opened), and turns errno failures into typed errors that name the file.

import { type Digest, parseDigest } from '../model/digest.js';
import { type ErrorCode, JanitorError, errnoCode } from '../errors.js';
import { type DirEntry, type FileStats, type FileSystem, type FileType, OPEN_NOFOLLOW } from './file-system.js';
import { type PathSpec, renderPath } from './layout.js';

// Manifests are capped at 4 MiB by the registry; links are 71 bytes. One
// reused 1 MiB buffer serves nearly every read without allocating.
const READ_BUFFER_BYTES = 1 << 20;
// Nothing the run reads (links, manifests) is legitimately larger than the
// registry's 4 MiB manifest cap; 16x that still reads, anything beyond is
// refused by name instead of failing an allocation (a 5 GiB file did).
const MAX_READ_BYTES = 64 << 20;
// An unparsable link is read this many times, LINK_SETTLE_MS apart (see
// retryUnsettledLink): the registry's truncate-then-write takes microseconds,
// but a loaded host can deschedule it; 5 reads over 80 ms covered every
// case the live-push trials produced.
const LINK_READ_ATTEMPTS = 5;
const LINK_SETTLE_MS = 20;
const SETTLE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `read` again while it fails with E_BAD_LINK (an empty or partial
 * link), LINK_SETTLE_MS apart: Distribution 2.8.2 rewrites a link in place
 * (truncate, then write), so a live registry can show one for an instant.
 */
export function retryUnsettledLink<T>(read: () => T): T {
  return retryUnsettled(read, 'E_BAD_LINK');
}

/** retryUnsettledLink for any file the registry rewrites in place (links, manifest blobs). */
export function retryUnsettled<T>(read: () => T, transient: ErrorCode): T {
  for (let attempt = 1; ; attempt++) {
    try {
      return read();
    } catch (error) {
      if (attempt >= LINK_READ_ATTEMPTS || !(error instanceof JanitorError) || error.code !== transient) throw error;
      Atomics.wait(SETTLE, 0, 0, LINK_SETTLE_MS);
    }
  }
}

export interface ReadResult {
  /** A view valid only until the next read through this reader. */
  bytes: Buffer;
  mtimeMs: number;
}

// What path.posix.normalize would change in an absolute path: an empty
// component, a `.` or `..` component, a trailing slash. Tested instead of
// normalising: every read renders its path (~250k on the 100k-blob
// many-small bench tree), and normalize allocated and cost ~1.5 µs each.
const NOT_NORMAL = /\/\/|\/\.{1,2}(?:\/|$)|\/$/;

/** Asserts `absolute` lies inside `root` (both already normalised). */
export function assertInsideRoot(root: string, absolute: string): string {
  const inside = absolute.length > root.length + 1 && absolute.startsWith(root) && absolute.charCodeAt(root.length) === 47; // '/'
  if (!inside || NOT_NORMAL.test(absolute)) {
    throw new JanitorError('E_OUTSIDE_ROOT', `refusing path outside the registry root: ${absolute}`, { path: absolute });
  }
  return absolute;
}

/** A symlink among a directory's entries stops the run: nothing is followed out of the tree. */
export function refuseSymlinks(entries: readonly DirEntry[], parent: string): void {
  for (const entry of entries) {
    if (entry.isSymbolicLink()) {
      const where = `${parent}/${entry.name}`;
      throw new JanitorError('E_SYMLINK', `symbolic link inside the registry tree: ${where}`, { path: where });
    }
  }
}

/** "a FIFO", "a directory"...: what a file is, for messages. */
export function describeFileType(type: FileType): string {
  if (type.isFile()) return 'regular file';
  if (type.isDirectory()) return 'directory';
  if (type.isSymbolicLink()) return 'symbolic link';
  if (type.isFIFO()) return 'FIFO';
  if (type.isSocket()) return 'socket';
  if (type.isCharacterDevice()) return 'character device';
  if (type.isBlockDevice()) return 'block device';
  return 'file of unknown type';
}

function notRegularFile(where: string, what: string): JanitorError {
  const noun = what.replace(/^an? /, '');
  return new JanitorError('E_STRAY', `expected a regular file: ${where} is ${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`, { path: where });
}

export class TreeReader {
  readonly fs: FileSystem;
  /** Absolute, normalised path of the `v2` directory. */
  readonly v2: string;
  private buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

  constructor(fs: FileSystem, v2: string) {
    this.fs = fs;
    this.v2 = v2;
  }

  pathOf(spec: PathSpec): string {
    return assertInsideRoot(this.v2, `${this.v2}/${renderPath(spec)}`);
  }

  /**
   * Lists a directory. A symlink among the entries is an error wherever it
   * is: the tool never follows links out of the tree. With `optional`, a
   * missing directory returns undefined (callers say why that is fine).
   */
  list(spec: PathSpec, options: { optional?: boolean } = {}): DirEntry[] | undefined {
    const where = this.pathOf(spec);
    let entries: DirEntry[];
    try {
      entries = this.fs.readdirSync(where, { withFileTypes: true });
    } catch (cause) {
      const code = errnoCode(cause);
      if (code === 'ENOENT' && options.optional) return undefined;
      throw this.readError(where, cause);
    }
    refuseSymlinks(entries, where);
    return entries;
  }

  /**
   * Reads a whole file without following a symlink at its last component.
   * Anything but a regular file (a FIFO, socket or device planted in the
   * tree) is refused with a message that says what it is.
   */
  read(spec: PathSpec, options: { optional?: boolean; mtime?: boolean } = {}): ReadResult | undefined {
    const where = this.pathOf(spec);
    let fd: number;
    try {
      fd = this.fs.openSync(where, OPEN_NOFOLLOW);
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT' && options.optional) return undefined;
      // open(2) answers ENXIO for a socket.
      if (errnoCode(cause) === 'ENXIO') throw notRegularFile(where, 'a socket');
      throw this.readError(where, cause);
    }
    try {
      // Asked for its mtime (a watch, the grace window), the file is
      // fstat'ed before it is read: a rewrite after the fstat then changes
      // the mtime a later stat sees, so the revalidation notices it, where a
      // stat after the read could already show the rewrite's mtime.
      let stats: FileStats | undefined;
      if (options.mtime) {
        stats = this.fs.fstatSync(fd);
        if (!stats.isFile()) throw notRegularFile(where, describeFileType(stats));
      }
      let length: number;
      try {
        length = this.fs.readSync(fd, this.buffer, 0, this.buffer.length, 0);
      } catch (cause) {
        // pread(2) on a FIFO fails with ESPIPE, on a directory with EISDIR.
        const type = stats ?? this.fs.fstatSync(fd);
        if (!type.isFile()) throw notRegularFile(where, describeFileType(type));
        throw cause;
      }
      const mtimeMs = stats?.mtimeMs ?? 0;
      // The fstat is skipped for the common case, a small non-empty file
      // (links: 71 bytes): ~2M reads on a 1M-blob tree.
      if (length === 0 || length === this.buffer.length) {
        const sized = this.fs.fstatSync(fd);
        if (!sized.isFile()) throw notRegularFile(where, describeFileType(sized));
        if (sized.size >= this.buffer.length) {
          if (sized.size > MAX_READ_BYTES) {
            throw new JanitorError(
              'E_TOO_LARGE',
              `${where} is too large to read: ${sized.size} bytes, over the ${MAX_READ_BYTES >> 20} MiB limit (a registry refuses manifests over 4 MiB)`,
              { path: where },
            );
          }
          this.buffer = Buffer.allocUnsafe(sized.size + 1);
          length = this.fs.readSync(fd, this.buffer, 0, this.buffer.length, 0);
        }
      }
      return { bytes: this.buffer.subarray(0, length), mtimeMs };
    } catch (cause) {
      throw cause instanceof JanitorError ? cause : this.readError(where, cause);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /**
   * Reads a regular file (not followed at its last component) chunk by chunk
   * into `buffer`, handing each chunk to `visit`; false when it does not
   * exist. A blob of any size costs the buffer's memory (verify --content).
   */
  stream(spec: PathSpec, buffer: Buffer, visit: (chunk: Buffer) => void): boolean {
    const where = this.pathOf(spec);
    let fd: number;
    try {
      fd = this.fs.openSync(where, OPEN_NOFOLLOW);
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT') return false;
      if (errnoCode(cause) === 'ENXIO') throw notRegularFile(where, 'a socket');
      throw this.readError(where, cause);
    }
    try {
      const stats = this.fs.fstatSync(fd);
      if (!stats.isFile()) throw notRegularFile(where, describeFileType(stats));
      for (let position = 0; ;) {
        const n = this.fs.readSync(fd, buffer, 0, buffer.length, position);
        if (n === 0) return true;
        visit(buffer.subarray(0, n));
        position += n;
      }
    } catch (cause) {
      throw cause instanceof JanitorError ? cause : this.readError(where, cause);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** The mtime of a file or directory (not followed), undefined when it does not exist. */
  mtimeOf(spec: PathSpec): number | undefined {
    const where = this.pathOf(spec);
    try {
      return this.fs.lstatSync(where).mtimeMs;
    } catch (cause) {
      // Absent is a state like any other: the watch compares it.
      if (errnoCode(cause) === 'ENOENT') return undefined;
      throw this.readError(where, cause);
    }
  }

  /**
   * The mtime of a directory the run is about to list or read below (not
   * followed), undefined when it does not exist. One lstat tells both what
   * a watch needs and that it is no symlink: the kernel would follow a
   * symlinked directory in the middle of every path read below it.
   */
  directoryMtime(spec: PathSpec): number | undefined {
    const where = this.pathOf(spec);
    let stats: FileStats;
    try {
      stats = this.fs.lstatSync(where);
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT') return undefined;
      throw this.readError(where, cause);
    }
    if (stats.isSymbolicLink()) throw new JanitorError('E_SYMLINK', `symbolic link inside the registry tree: ${where}`, { path: where });
    if (!stats.isDirectory()) {
      throw new JanitorError('E_STRAY', `unexpected ${describeFileType(stats)} in the registry tree: ${where} (a directory expected)`, { path: where });
    }
    return stats.mtimeMs;
  }

  /**
   * The size of a blob's data file (an absolute path the caller built from
   * the layout), 0 when it is missing: a blob directory left without data
   * by a crash mid-delete, or a referenced blob that is gone, takes no space.
   */
  dataSize(data: string): number {
    try {
      return this.fs.lstatSync(data).size;
    } catch (cause) {
      if (errnoCode(cause) === 'ENOENT') return 0;
      throw new JanitorError('E_UNREADABLE', `cannot stat ${data}`, { path: data, cause });
    }
  }

  /**
   * Reads a link file and returns the digest it holds. With `expected`, the
   * content must name that digest: the registry trusts the content, so a
   * mismatch means the tree is not what its paths say.
   */
  readLink(spec: PathSpec, expected?: Digest): Digest;
  readLink(spec: PathSpec, expected: Digest | undefined, options: { optional: true }): Digest | undefined;
  readLink(spec: PathSpec, expected?: Digest, options: { optional?: boolean } = {}): Digest | undefined {
    return this.readSettledLink(spec, expected, options)?.digest;
  }

  /**
   * Reads and parses a link, with its mtime if asked; one that does not
   * parse is read again (retryUnsettledLink) before it counts as damaged.
   */
  readSettledLink(
    spec: PathSpec,
    expected: Digest | undefined,
    options: { optional?: boolean; mtime?: boolean } = {},
  ): { digest: Digest; mtimeMs: number } | undefined {
    return retryUnsettledLink(() => {
      const result = this.read(spec, options);
      return result && { digest: this.parseLink(spec, result.bytes, expected), mtimeMs: result.mtimeMs };
    });
  }

  parseLink(spec: PathSpec, bytes: Buffer, expected?: Digest): Digest {
    const where = this.pathOf(spec);
    const text = bytes.toString('latin1');
    const digest = parseDigest(text);
    if (!digest) {
      const shown = text.length === 0 ? 'it is empty' : `it holds ${JSON.stringify(text.slice(0, 80))}`;
      throw new JanitorError('E_BAD_LINK', `unparsable link ${where}: ${shown}`, { path: where });
    }
    if (expected !== undefined && digest !== expected) {
      throw new JanitorError('E_LINK_MISMATCH', `link ${where} names ${digest}, not the ${expected} of its path`, {
        path: where,
      });
    }
    return digest;
  }

  private readError(where: string, cause: unknown): JanitorError {
    const code = errnoCode(cause);
    if (code === 'ELOOP') {
      return new JanitorError('E_SYMLINK', `symbolic link inside the registry tree: ${where}`, { path: where, cause });
    }
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOENT'
          ? 'it does not exist'
          : code === 'ENOTDIR'
            ? 'a component of the path is not a directory'
            : (code ?? String(cause));
    return new JanitorError('E_UNREADABLE', `cannot read ${where}: ${why}`, { path: where, cause });
  }
}
