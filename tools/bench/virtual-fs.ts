// A procedural registry tree behind the injected FileSystem (issue 10 item
// 6): a deterministic tree of about N blobs, computed from indices and a
// seed on every call and never stored, so a 20M-blob (~50M-entry) tree
// costs this process nothing but the tool's own memory.
//
// The tree, under /virtual/docker/registry/v2 (VIRTUAL_ROOT):
// - R = ceil(N / BLOBS_PER_REPOSITORY) repositories `g<r % G>/app<r>`.
// - Each holds IMAGES docker schema2 images, each a manifest, a config and
//   two layers of its own plus one of 256 shared base layers. Tags (6 to
//   14 a repository) name the newest images: `latest` (its index has the
//   last three images) and `v<t>`; the older images are untagged, so
//   `gc -m` deletes them and their config and layers (about half the
//   blobs). Two orphan blobs a repository (~2%) are garbage for plain gc.
// - Blob i's digest is sha256:<2 hex: i % 256><54 hex: two hashes of seed and
//   i><8 hex: i >> 8>, so a shard lists its ids (i = shard, shard + 256,
//   ...) and a path gives its id back. Digests are not hashes of content:
//   the tool never hashes what it reads.
//
// Writes (the lock, the quarantine's renames, unlink, rmdir) go to an
// overlay: files and directories the run made, paths removed, and paths
// grafted elsewhere by a rename (a blob directory moved aside shows the
// base tree's content at its new place). Nothing is stored for the base
// tree; the overlay grows with what a real run deletes.

import { constants } from 'node:fs';
import type { DirEntry, FileStats, FileSystem } from '../../src/storage/file-system.js';

export const VIRTUAL_ROOT = '/virtual';
const V2 = `${VIRTUAL_ROOT}/docker/registry/v2`;
const IMAGES = 24;
const PER_IMAGE = 4; // manifest, config, layer a, layer b
const ORPHANS = 2;
const PER_REPOSITORY = IMAGES * PER_IMAGE + ORPHANS;
const BASE_LAYERS = 256;
const REPOSITORIES_PER_GROUP = 1000;
const MTIME_MS = Date.UTC(2026, 0, 1);
const SCHEMA2 = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG = 'application/vnd.docker.container.image.v1+json';
const LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

type Kind = 'dir' | 'file';
class Entry implements DirEntry {
  constructor(
    readonly name: string,
    private readonly kind: Kind,
  ) {}
  isFile(): boolean {
    return this.kind === 'file';
  }
  isDirectory(): boolean {
    return this.kind === 'dir';
  }
  isSymbolicLink(): boolean {
    return false;
  }
  isFIFO(): boolean {
    return false;
  }
  isSocket(): boolean {
    return false;
  }
  isCharacterDevice(): boolean {
    return false;
  }
  isBlockDevice(): boolean {
    return false;
  }
}
class Stats extends Entry implements FileStats {
  readonly dev = 1;
  constructor(
    kind: Kind,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ino: number,
  ) {
    super('', kind);
  }
}

const fail = (code: string, syscall: string, path: string): Error => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });

/** What a path is in the base tree: a directory (listed on demand) or a file (content or size). */
type Node = { dir: () => string[] | Entry[] } | { file: () => Buffer; size?: () => number };

export interface VirtualTreeStats {
  repositories: number;
  blobs: number;
  revisions: number;
  tags: number;
}

export class VirtualTree {
  readonly repositories: number;
  readonly groups: number;
  readonly blobs: number;
  private readonly seed: number;
  private readonly maxLayerBytes: number;

  /** `maxLayerBytes`: layer sizes are drawn below it (small in tests, which write the tree out). */
  constructor(blobs: number, seed = 1, maxLayerBytes = 50_000_000) {
    this.maxLayerBytes = maxLayerBytes;
    this.repositories = Math.max(1, Math.ceil(blobs / PER_REPOSITORY));
    this.groups = Math.max(1, Math.ceil(this.repositories / REPOSITORIES_PER_GROUP));
    this.blobs = this.repositories * PER_REPOSITORY + BASE_LAYERS;
    this.seed = seed;
  }

  stats(): VirtualTreeStats {
    let tags = 0;
    for (let r = 0; r < this.repositories; r++) tags += this.tagCount(r);
    return { repositories: this.repositories, blobs: this.blobs, revisions: this.repositories * IMAGES, tags };
  }

  // Two hashes make the 54 middle hex characters (repeated): the digest's
  // uniqueness is in its first two and last eight, which hold the id.
  private bodyOf(id: number): string {
    const a = hex8(mix((this.seed * 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca6b)));
    const b = hex8(mix(Math.imul(id + 1, 0xc2b2ae35) ^ this.seed));
    return (a + b + a + b + a + b + a).slice(0, 54);
  }

  hexOf(id: number): string {
    return (id & 255).toString(16).padStart(2, '0') + this.bodyOf(id) + hex8(id >>> 8);
  }

  /** The blob id a hex names, or -1. */
  idOf(hex: string): number {
    if (hex.length !== 64) return -1;
    const id = parseInt(hex.slice(56), 16) * 256 + parseInt(hex.slice(0, 2), 16);
    return Number.isInteger(id) && id >= 0 && id < this.blobs && hex.slice(2, 56) === this.bodyOf(id) ? id : -1;
  }

  private tagCount(r: number): number {
    return 6 + (mix(r ^ (this.seed << 20)) % 9);
  }
  private tagName(t: number): string {
    return t === 0 ? 'latest' : `v${t}`;
  }
  private tagOf(r: number, tag: string): number {
    const t = tag === 'latest' ? 0 : /^v[1-9]\d*$/.test(tag) ? Number(tag.slice(1)) : -1;
    return t >= 0 && t < this.tagCount(r) ? t : -1;
  }
  /** the image a tag names: `latest` and v1... on the newest. */
  private taggedImage(t: number): number {
    return IMAGES - 1 - t;
  }
  private manifestId(r: number, m: number): number {
    return r * PER_REPOSITORY + m * PER_IMAGE;
  }
  private baseLayer(r: number, m: number): number {
    return this.repositories * PER_REPOSITORY + ((r * 7 + m * 13) % BASE_LAYERS);
  }
  private sizeOf(id: number): number {
    if (this.isManifest(id)) return this.manifest(id).length;
    const within = id < this.repositories * PER_REPOSITORY ? (id % PER_REPOSITORY) % PER_IMAGE : 2;
    return within === 1 ? 1000 + (mix(id) % 4000) : 1 + (mix(id ^ 0x5bd1e995) % this.maxLayerBytes);
  }
  /** The manifest blob of id (a manifest id), as JSON. */
  private manifest(id: number): Buffer {
    const r = Math.floor(id / PER_REPOSITORY);
    const m = (id % PER_REPOSITORY) / PER_IMAGE;
    const descriptor = (mediaType: string, blob: number): string =>
      `{"mediaType":"${mediaType}","size":${this.sizeOf(blob)},"digest":"sha256:${this.hexOf(blob)}"}`;
    return Buffer.from(
      `{"schemaVersion":2,"mediaType":"${SCHEMA2}","config":${descriptor(CONFIG, id + 1)},"layers":[${descriptor(LAYER, this.baseLayer(r, m))},${descriptor(LAYER, id + 2)},${descriptor(LAYER, id + 3)}]}`,
    );
  }
  private isManifest(id: number): boolean {
    return id < this.repositories * PER_REPOSITORY && id % PER_REPOSITORY < IMAGES * PER_IMAGE && (id % PER_REPOSITORY) % PER_IMAGE === 0;
  }
  private repositoryOf(group: number, app: string): number {
    if (!/^app(0|[1-9]\d*)$/.test(app)) return -1;
    const r = Number(app.slice(3));
    return r < this.repositories && r % this.groups === group ? r : -1;
  }
  private link(): Node {
    return { dir: () => ['link'] };
  }
  private linkFile(id: number): Node {
    return { file: () => Buffer.from(`sha256:${this.hexOf(id)}`) };
  }
  private layerIds(r: number): number[] {
    const ids = new Set<number>();
    for (let m = 0; m < IMAGES; m++) {
      const id = this.manifestId(r, m);
      ids
        .add(id + 1)
        .add(id + 2)
        .add(id + 3)
        .add(this.baseLayer(r, m));
    }
    return [...ids];
  }

  /** What `path` is in the base tree, or undefined. */
  node(path: string): Node | undefined {
    if (path === '/') return { dir: () => [VIRTUAL_ROOT.slice(1)] };
    if (path === VIRTUAL_ROOT) return { dir: () => ['docker'] };
    if (path === `${VIRTUAL_ROOT}/docker`) return { dir: () => ['registry'] };
    if (path === `${VIRTUAL_ROOT}/docker/registry`) return { dir: () => ['v2'] };
    if (path === V2) return { dir: () => ['blobs', 'repositories'] };
    if (!path.startsWith(`${V2}/`)) return undefined;
    const parts = path.slice(V2.length + 1).split('/');
    if (parts[0] === 'blobs') return this.blobNode(parts);
    if (parts[0] === 'repositories') return this.repositoryNode(parts);
    return undefined;
  }

  private blobNode(parts: string[]): Node | undefined {
    const [, algorithm, shard, hex, file] = parts;
    if (parts.length === 1) return { dir: () => ['sha256'] };
    if (algorithm !== 'sha256') return undefined;
    if (parts.length === 2) return { dir: () => Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')) };
    if (shard === undefined || !/^[0-9a-f]{2}$/.test(shard)) return undefined;
    if (parts.length === 3) {
      const first = parseInt(shard, 16);
      return {
        dir: () => {
          const entries: Entry[] = [];
          for (let id = first; id < this.blobs; id += 256) entries.push(new Entry(this.hexOf(id), 'dir'));
          return entries;
        },
      };
    }
    const id = hex === undefined || hex.slice(0, 2) !== shard ? -1 : this.idOf(hex);
    if (id < 0) return undefined;
    if (parts.length === 4) return { dir: () => ['data'] };
    if (parts.length === 5 && file === 'data') {
      return this.isManifest(id) ? { file: () => this.manifest(id) } : { file: () => Buffer.alloc(0), size: () => this.sizeOf(id) };
    }
    return undefined;
  }

  private repositoryNode(parts: string[]): Node | undefined {
    if (parts.length === 1) return { dir: () => Array.from({ length: this.groups }, (_, g) => `g${g}`) };
    const group = /^g(0|[1-9]\d*)$/.test(parts[1]!) ? Number(parts[1]!.slice(1)) : -1;
    if (group < 0 || group >= this.groups) return undefined;
    if (parts.length === 2) {
      return {
        dir: () => {
          const names: string[] = [];
          for (let r = group; r < this.repositories; r += this.groups) names.push(`app${r}`);
          return names;
        },
      };
    }
    const r = this.repositoryOf(group, parts[2]!);
    if (r < 0) return undefined;
    const rest = parts.slice(3);
    if (rest.length === 0) return { dir: () => ['_layers', '_manifests'] };
    const [top, a, b, c, d, e, f, g] = rest;
    if (top === '_layers') {
      if (rest.length === 1) return { dir: () => ['sha256'] };
      if (a !== 'sha256') return undefined;
      if (rest.length === 2) return { dir: () => this.layerIds(r).map((id) => this.hexOf(id)) };
      const id = this.idOf(b!);
      if (id < 0 || !this.layerIds(r).includes(id)) return undefined;
      if (rest.length === 3) return this.link();
      return rest.length === 4 && c === 'link' ? this.linkFile(id) : undefined;
    }
    if (top !== '_manifests') return undefined;
    if (rest.length === 1) return { dir: () => ['revisions', 'tags'] };
    if (a === 'revisions') {
      if (rest.length === 2) return { dir: () => ['sha256'] };
      if (b !== 'sha256') return undefined;
      if (rest.length === 3) return { dir: () => Array.from({ length: IMAGES }, (_, m) => this.hexOf(this.manifestId(r, m))) };
      const id = this.idOf(c!);
      if (id < 0 || !this.isManifest(id) || Math.floor(id / PER_REPOSITORY) !== r) return undefined;
      if (rest.length === 4) return this.link();
      return rest.length === 5 && d === 'link' ? this.linkFile(id) : undefined;
    }
    if (a !== 'tags') return undefined;
    if (rest.length === 2) return { dir: () => Array.from({ length: this.tagCount(r) }, (_, t) => this.tagName(t)) };
    const t = this.tagOf(r, b!);
    if (t < 0) return undefined;
    const current = this.manifestId(r, this.taggedImage(t));
    // latest's index: the last three images; a v tag's: its own.
    const history = t === 0 ? [current - 2 * PER_IMAGE, current - PER_IMAGE, current] : [current];
    if (rest.length === 3) return { dir: () => ['current', 'index'] };
    if (c === 'current') {
      if (rest.length === 4) return this.link();
      return rest.length === 5 && d === 'link' ? this.linkFile(current) : undefined;
    }
    if (c !== 'index') return undefined;
    if (rest.length === 4) return { dir: () => ['sha256'] };
    if (d !== 'sha256') return undefined;
    if (rest.length === 5) return { dir: () => history.map((id) => this.hexOf(id)) };
    const id = this.idOf(e!);
    if (!history.includes(id)) return undefined;
    if (rest.length === 6) return this.link();
    return rest.length === 7 && f === 'link' && g === undefined ? this.linkFile(id) : undefined;
  }
}

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
