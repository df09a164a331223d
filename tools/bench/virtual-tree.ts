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
// Writes (virtual-fs.ts: the lock, the quarantine's renames, unlink, rmdir) go to an
// overlay: files and directories the run made, paths removed, and paths
// grafted elsewhere by a rename (a blob directory moved aside shows the
// base tree's content at its new place). Nothing is stored for the base
// tree; the overlay grows with what a real run deletes.

import type { DirEntry, FileStats } from '../../src/storage/file-system.js';

export const VIRTUAL_ROOT = '/virtual';
const V2 = `${VIRTUAL_ROOT}/docker/registry/v2`;
const IMAGES = 24;
const PER_IMAGE = 4; // manifest, config, layer a, layer b
const ORPHANS = 2;
const PER_REPOSITORY = IMAGES * PER_IMAGE + ORPHANS;
const BASE_LAYERS = 256;
const REPOSITORIES_PER_GROUP = 1000;
export const MTIME_MS = Date.UTC(2026, 0, 1);
const SCHEMA2 = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG = 'application/vnd.docker.container.image.v1+json';
const LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

export type Kind = 'dir' | 'file';
export class Entry implements DirEntry {
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
export class Stats extends Entry implements FileStats {
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

export const fail = (code: string, syscall: string, path: string): Error => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });

/** What a path is in the base tree: a directory (listed on demand) or a file (content or size). */
export type Node = { dir: () => string[] | Entry[] } | { file: () => Buffer; size?: () => number };

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
