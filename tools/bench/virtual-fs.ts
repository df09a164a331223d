// The FileSystem over a VirtualTree (virtual-tree.ts, whose header draws
// the tree): reads computed on demand; writes (the lock, the quarantine's
// renames, unlink, rmdir) go to an overlay of what the run made, removed or
// moved, so a real run's deletions are recorded rather than applied.

import { constants } from 'node:fs';
import type { DirEntry, FileStats, FileSystem } from '../../src/storage/file-system.js';
import { Entry, type Kind, MTIME_MS, type Node, Stats, type VirtualTree, fail } from './virtual-tree.js';

export { VIRTUAL_ROOT, VirtualTree } from './virtual-tree.js';

interface MadeFile {
  data: Buffer;
  mtimeMs: number;
}
interface Open {
  path: string;
  /** the content, read on open (links and manifests are small; blob data is empty with a large size). */
  data: Buffer;
  size: number;
  kind: Kind;
  made?: MadeFile;
}

/**
 * The procedural tree as a FileSystem, with the overlay of what the run
 * wrote, removed and moved. `removed` and `grafts` are keyed by the path as
 * it is seen now; an empty overlay (a dry run) costs a size check.
 */
export class VirtualFileSystem implements FileSystem {
  readonly tree: VirtualTree;
  /** files and directories this process made (the lock, the quarantine's directories). */
  private readonly made = new Map<string, MadeFile | 'dir'>();
  private readonly removed = new Set<string>();
  /** a path that shows another (base) path's content: a rename's destination. */
  private readonly grafts = new Map<string, string>();
  /** names added under a directory by made files and grafts. */
  private readonly added = new Map<string, Set<string>>();
  /** directories whose entries changed: their mtime, as a real filesystem bumps it. */
  private readonly touched = new Map<string, number>();
  private readonly fds = new Map<number, Open>();
  private nextFd = 3;
  /** what the run did, for the report. */
  readonly counts = { unlinks: 0, rmdirs: 0, renames: 0, reads: 0, listings: 0, stats: 0 };

  constructor(tree: VirtualTree) {
    this.tree = tree;
  }

  private touch(path: string): void {
    const slash = path.lastIndexOf('/');
    this.touched.set(slash === 0 ? '/' : path.slice(0, slash), Date.now());
  }

  private addName(path: string): void {
    this.touch(path);
    const slash = path.lastIndexOf('/');
    const parent = slash === 0 ? '/' : path.slice(0, slash);
    let names = this.added.get(parent);
    if (!names) this.added.set(parent, (names = new Set()));
    names.add(path.slice(slash + 1));
  }
  private dropName(path: string): void {
    const slash = path.lastIndexOf('/');
    this.added.get(slash === 0 ? '/' : path.slice(0, slash))?.delete(path.slice(slash + 1));
  }

  /** The base path `path` shows now, or undefined when it was removed. */
  private resolve(path: string): string | undefined {
    if (this.removed.size === 0 && this.grafts.size === 0) return path;
    for (let at = path; ;) {
      if (this.removed.has(at)) return undefined;
      const graft = this.grafts.get(at);
      if (graft !== undefined) return graft + path.slice(at.length);
      const slash = at.lastIndexOf('/');
      if (slash <= 0) return path;
      at = at.slice(0, slash);
    }
  }

  private lookup(path: string, syscall: string): { made: MadeFile | 'dir' } | { node: Node } {
    const made = this.made.get(path);
    if (made !== undefined) return { made };
    const base = this.resolve(path);
    const node = base === undefined ? undefined : this.tree.node(base);
    if (!node) throw fail('ENOENT', syscall, path);
    return { node };
  }

  /** Always with file types (the interface's only form). */
  readdirSync(path: string): DirEntry[] {
    this.counts.listings++;
    const found = this.lookup(path, 'scandir');
    let entries: Entry[] = [];
    if ('made' in found) {
      if (found.made !== 'dir') throw fail('ENOTDIR', 'scandir', path);
    } else {
      if (!('dir' in found.node)) throw fail('ENOTDIR', 'scandir', path);
      const listed = found.node.dir();
      // In this tree only `link` and `data` are files.
      entries = listed.map((item) => (typeof item === 'string' ? new Entry(item, item === 'link' || item === 'data' ? 'file' : 'dir') : item));
      if (this.removed.size > 0) entries = entries.filter((e) => !this.removed.has(`${path}/${e.name}`));
    }
    for (const name of this.added.get(path) ?? []) {
      const child = `${path}/${name}`;
      if (this.removed.has(child) || entries.some((e) => e.name === name)) continue;
      const stats = this.lstatSync(child);
      entries.push(new Entry(name, stats.isDirectory() ? 'dir' : 'file'));
    }
    return entries;
  }

  lstatSync(path: string): FileStats {
    this.counts.stats++;
    const found = this.lookup(path, 'lstat');
    if ('made' in found)
      return found.made === 'dir'
        ? new Stats('dir', 4096, this.touched.get(path) ?? MTIME_MS, 1)
        : new Stats('file', found.made.data.length, found.made.mtimeMs, 1);
    const node = found.node;
    if ('dir' in node) return new Stats('dir', 4096, this.touched.get(path) ?? MTIME_MS, 1);
    return new Stats('file', node.size ? node.size() : node.file().length, MTIME_MS, 1);
  }

  statSync(path: string): FileStats {
    return this.lstatSync(path);
  }

  existsSync(path: string): boolean {
    try {
      this.lstatSync(path);
      return true;
    } catch {
      return false;
    }
  }

  realpathSync(path: string): string {
    const normal = path.length > 1 ? path.replace(/\/+$/, '') : path;
    this.lstatSync(normal);
    return normal;
  }

  openSync(path: string, flags: number): number {
    const creating = (flags & constants.O_CREAT) !== 0;
    if (creating) {
      if ((flags & constants.O_EXCL) !== 0 && this.existsSync(path)) throw fail('EEXIST', 'open', path);
      const made: MadeFile = { data: Buffer.alloc(0), mtimeMs: Date.now() };
      this.make(path, made);
      const fd = this.nextFd++;
      this.fds.set(fd, { path, data: made.data, size: 0, kind: 'file', made });
      return fd;
    }
    this.counts.reads++;
    const found = this.lookup(path, 'open');
    const fd = this.nextFd++;
    if ('made' in found) {
      const made = found.made;
      this.fds.set(
        fd,
        made === 'dir' ? { path, data: Buffer.alloc(0), size: 4096, kind: 'dir' } : { path, data: made.data, size: made.data.length, kind: 'file', made },
      );
    } else if ('dir' in found.node) {
      this.fds.set(fd, { path, data: Buffer.alloc(0), size: 4096, kind: 'dir' });
    } else {
      const data = found.node.file();
      this.fds.set(fd, { path, data, size: found.node.size ? found.node.size() : data.length, kind: 'file' });
    }
    return fd;
  }

  private open(fd: number, syscall: string): Open {
    const open = this.fds.get(fd);
    if (!open) throw fail('EBADF', syscall, String(fd));
    return open;
  }

  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number {
    const open = this.open(fd, 'read');
    if (open.kind === 'dir') throw fail('EISDIR', 'read', open.path);
    const from = position ?? 0;
    const n = Math.max(0, Math.min(length, open.data.length - from));
    open.data.copy(buffer, offset, from, from + n);
    return n;
  }

  writeSync(fd: number, data: string): number {
    const open = this.open(fd, 'write');
    if (!open.made) throw fail('EBADF', 'write', open.path);
    open.made.data = Buffer.concat([open.made.data, Buffer.from(data)]);
    return Buffer.byteLength(data);
  }

  fstatSync(fd: number): FileStats {
    const open = this.open(fd, 'fstat');
    return new Stats(open.kind, open.made ? open.made.data.length : open.size, open.made ? open.made.mtimeMs : MTIME_MS, 1);
  }

  closeSync(fd: number): void {
    this.open(fd, 'close');
    this.fds.delete(fd);
  }

  private make(path: string, what: MadeFile | 'dir'): void {
    this.made.set(path, what);
    this.removed.delete(path);
    this.addName(path);
  }

  /** Always recursive (the interface's only form). */
  mkdirSync(path: string): undefined {
    const parts = path.split('/');
    for (let i = 2; i <= parts.length; i++) {
      const at = parts.slice(0, i).join('/');
      if (this.existsSync(at)) {
        if (!this.lstatSync(at).isDirectory()) throw fail('ENOTDIR', 'mkdir', at);
        continue;
      }
      this.make(at, 'dir');
    }
    return undefined;
  }

  writeFileSync(path: string, data: string | Uint8Array, options?: { flag?: string }): void {
    if (options?.flag?.includes('x') && this.existsSync(path)) throw fail('EEXIST', 'open', path);
    this.make(path, { data: Buffer.from(data), mtimeMs: Date.now() });
  }

  readFileSync(path: string, encoding: 'utf8'): string {
    const fd = this.openSync(path, constants.O_RDONLY);
    try {
      const open = this.open(fd, 'read');
      if (open.kind === 'dir') throw fail('EISDIR', 'read', path);
      return open.data.toString(encoding);
    } finally {
      this.closeSync(fd);
    }
  }

  unlinkSync(path: string): void {
    if (this.lstatSync(path).isDirectory()) throw fail('EISDIR', 'unlink', path);
    this.counts.unlinks++;
    this.remove(path);
  }

  rmdirSync(path: string): void {
    if (!this.lstatSync(path).isDirectory()) throw fail('ENOTDIR', 'rmdir', path);
    if (this.readdirSync(path).length > 0) throw fail('ENOTEMPTY', 'rmdir', path);
    this.counts.rmdirs++;
    this.remove(path);
  }

  private remove(path: string): void {
    this.touch(path);
    if (this.made.delete(path)) {
      this.dropName(path);
      // a made path shadowed nothing; if it did (a base path made again), hide the base too
      if (this.tree.node(path) === undefined && !this.isUnderGraft(path)) return;
    }
    if (this.grafts.delete(path)) this.dropName(path);
    this.removed.add(path);
  }

  private isUnderGraft(path: string): boolean {
    for (let at = path; at.lastIndexOf('/') > 0; at = at.slice(0, at.lastIndexOf('/'))) if (this.grafts.has(at)) return true;
    return false;
  }

  renameSync(from: string, to: string): void {
    const stats = this.lstatSync(from);
    if (this.existsSync(to)) {
      if (!stats.isDirectory() || this.readdirSync(to).length > 0) throw fail(stats.isDirectory() ? 'ENOTEMPTY' : 'EEXIST', 'rename', to);
      this.remove(to);
    }
    this.counts.renames++;
    const made = this.made.get(from);
    if (made !== undefined) {
      this.made.delete(from);
      this.dropName(from);
      this.make(to, made);
      return;
    }
    const base = this.resolve(from)!;
    this.remove(from);
    this.removed.delete(to);
    if (base === to) {
      this.grafts.delete(to);
      this.dropName(to);
    } else {
      this.grafts.set(to, base);
      this.addName(to);
    }
  }

  /** Paths the overlay holds (removed, moved, made): its size grows with a real run's deletions. */
  overlaySize(): number {
    return this.removed.size + this.grafts.size + this.made.size;
  }
}
