// The cold-cache prefetcher (--prefetch N, default 32). On a cold page cache
// every directory, inode and block the scan reads is a random disk read, and
// the scan's synchronous reads keep only -j of them in flight. A child
// process (prefetch-child.ts) walks ahead of it with N reads in flight, in
// the order the scan will read: the blob shards and repositories/ during the
// inventory; then, repository by repository in the order the threads take
// them and at most AHEAD_REPOSITORIES ahead of the last one scanned, each
// revision link and manifest, tag link (and index) and layer link listing;
// then the deletable blobs' data files the plan looks at and, in a real
// run, the revision and layer links it reads before deleting them (at 1M
// blobs 467k links, each a random read of its inode and its block on a cold
// cache, on the -j threads alone otherwise). Its reads only warm
// the page cache: nothing it reads or fails to read decides anything (the
// scan's synchronous, checked reads do), it follows no symlink it can see,
// opens files O_NOFOLLOW|O_NONBLOCK and reads at most a bounded prefix, and
// it is stopped (killed) when the plan ends (an apply's: when its verify
// does), or exits when this process does.
// A child process rather than a thread: libuv's thread pool, which runs
// fs.promises, is sized once per process (UV_THREADPOOL_SIZE, 4 by default)
// before any code of ours runs.
//
// The child starts only where the scan would wait on the disk
// (cache-probe.ts): before the inventory if a blob probe finds reads slow,
// else before the scan if a repository probe does; where either finds them
// quick (a cold cache on a quick device), once the scan's own pace says the
// rest of it will take long; on a warm cache never.

import type { ChildProcess } from 'node:child_process';
import { forkChild } from '../entry-points.js';
import type { BlobIndex } from '../model/blob-index.js';
import { type Digest, splitDigest } from '../model/digest.js';
import { nodeFileSystem } from '../storage/file-system.js';
import type { TreeReader } from '../storage/tree-reader.js';
import { type ReadSpeed, applyStartOf, isApplyLong, isScanLong, medianBlobRead, probeBlobReads, probeRepositoryReads } from './cache-probe.js';

/** The default number of reads in flight (--prefetch). */
export const DEFAULT_PREFETCH = 32;
/** The most --prefetch accepts: libuv's own cap on its thread pool is 1024. */
export const MAX_PREFETCH = 256;

/** --prefetch: `width` reads in flight; with `probe`, only where cache-probe.ts finds the cache cold. */
export interface PrefetchSetting {
  width: number;
  probe: boolean;
}

/** What the child walks at its start: gc's inventory (the blob shards and the catalog), apply's (the catalog alone: its blobs are the plan's), or nothing. */
export type InventoryWalk = 'blobs-and-catalog' | 'catalog' | 'none';
/** How the child reads each repository: as the scan does, or as apply's fingerprint does (listings and tag links' mtimes). */
export type RepositoryWalk = 'scan' | 'fingerprint';

/** What the parent tells the child, in this order (plain data over IPC); `repositories` may come again (apply: the fingerprints, then the scan). */
export type PrefetchMessage =
  | { start: { v2: string; width: number; inventory: InventoryWalk } }
  | { repositories: string[]; tagIndex: boolean; walk: RepositoryWalk }
  | { scanned: number }
  | { blobs: { algorithm: string; prefix: string; hexes: string[] }[] }
  | { links: LinkGroup[] }
  | { kept: LinkGroup[] };

/** Link files the plan reads in one repository: its revision or layer links of these sha256 hexes. */
export interface LinkGroup {
  repository: string;
  kind: 'revisionLink' | 'layerLink';
  hexes: string[];
}

/** A repository's group of links to read: its sha256 digests among `digests`, each once (the child reads sha256 paths alone); undefined when there is none. */
export function linkGroupOf(repository: string, kind: LinkGroup['kind'], digests: Iterable<Digest>): LinkGroup | undefined {
  const hexes = new Set<string>();
  for (const digest of digests) {
    const { algorithm, hex } = splitDigest(digest);
    if (algorithm === 'sha256') hexes.add(hex);
  }
  return hexes.size > 0 ? { repository, kind, hexes: [...hexes] } : undefined;
}

// Link files a message carries (~70 bytes of JSON each): ~1 MB a message,
// where the 1M many-small tree's 467k links would be one 33 MB message.
const LINKS_A_MESSAGE = 16_384;

export class Prefetcher {
  private child: ChildProcess | undefined;
  /** what the probes found (the blob probe, else the repositories'); undefined before either ran. */
  private speed: ReadSpeed | undefined;
  /** with quick reads: the scan's start and what it reads, for the pace rule and the child it may start. */
  private pace: { startedMs: number; names: string[]; tagIndex: boolean } | undefined;
  private scanned = 0;
  /** repositories scanned before a child started by the pace rule: it is sent only the rest. */
  private scannedBefore = 0;
  private blobsSent = false;
  private keptSent = false;

  private constructor(
    private readonly reader: TreeReader,
    private readonly width: number,
    /** an apply: the child starts before its inventory, or after it (inventoried()), or never. */
    private readonly applying: boolean,
  ) {}

  /** an apply on reads judged quick: the blob probe's median, and when the fingerprints began (repositories()), for inventoried(). */
  private applyPace: { startedMs: number; probedMicroseconds: number } | undefined;

  /**
   * On the real filesystem (memfs in tests: never) and a width above 0, a
   * prefetcher whose child starts now, to warm the inventory, unless asked
   * to probe and the blobs' metadata is cached (cache-probe.ts); then it
   * is decided again before the scan (repositories()). An `apply`, which
   * scans little, decides by the blob probe alone (slow: now; cached:
   * never), or, on quick reads, once its inventory is over (inventoried()).
   * A child that fails to start or dies costs only its speed.
   */
  static start(reader: TreeReader, { width, probe }: PrefetchSetting, apply = false): Prefetcher | undefined {
    if (width <= 0 || reader.fs !== nodeFileSystem) return undefined;
    const prefetcher = new Prefetcher(reader, width, apply);
    if (!apply) {
      const speed = probe ? probeBlobReads(reader) : 'slow';
      if (speed === 'slow') prefetcher.spawn('blobs-and-catalog');
      else if (speed === 'quick') prefetcher.speed = 'quick';
      return prefetcher;
    }
    const start = applyStartOf(probe, probe ? medianBlobRead(reader) : undefined);
    if (start.at === 'now') prefetcher.spawn('catalog');
    else if (start.at === 'inventory') prefetcher.applyPace = { startedMs: Date.now(), probedMicroseconds: start.probedMicroseconds };
    return prefetcher;
  }

  /**
   * An apply's inventory is over: its fingerprints read `inventory` files
   * since their walk was sent (repositories()), and the plan names `after`
   * more (PlanApplication.plannedReads). On quick reads
   * the child starts now if those would take long at that pace
   * (cache-probe.ts isApplyLong), in time for the plan's reads.
   */
  inventoried({ inventory, after }: { inventory: number; after: number }): void {
    const pace = this.applyPace;
    this.applyPace = undefined;
    if (pace && isApplyLong(Date.now() - pace.startedMs, inventory, after, pace.probedMicroseconds)) this.spawn('none');
  }

  /** Whether a child is warming the cache (the probes found it cold). */
  get running(): boolean {
    return this.child !== undefined;
  }

  private spawn(inventory: InventoryWalk): void {
    let child: ChildProcess;
    try {
      child = forkChild('prefetch-child', () => new URL('./prefetch-child.js', import.meta.url), {
        env: { ...process.env, UV_THREADPOOL_SIZE: String(this.width) },
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
        execArgv: [],
      });
    } catch {
      return;
    }
    child.on('error', () => {});
    // Neither the child nor its IPC channel keeps this process alive: a run
    // that fails before stop() (an invalid repository name in the
    // inventory, say) still exits.
    child.unref();
    child.channel?.unref();
    this.child = child;
    this.send({ start: { v2: this.reader.v2, width: this.width, inventory } });
  }

  /**
   * The repositories the scan will read, in the order it takes them. With
   * no child yet and the blobs found cached, a probe of their revision
   * links decides: slow, a child starts now; quick, the pace decides
   * (scannedOne); cached, never. An apply sends its fingerprints' walk
   * first (`walk` 'fingerprint', one scannedOne() a repository
   * fingerprinted), then the repositories it reads again.
   */
  repositories(names: readonly string[], tagIndex: boolean, walk: RepositoryWalk = 'scan'): void {
    if (this.child === undefined && !this.applying) {
      this.speed ??= probeRepositoryReads(this.reader, names);
      if (this.speed === 'slow') this.spawn('none');
      else if (this.speed === 'quick') this.pace = { startedMs: Date.now(), names: [...names], tagIndex };
    }
    if (walk === 'fingerprint' && this.applyPace) this.applyPace.startedMs = Date.now();
    this.scanned = 0;
    this.scannedBefore = 0;
    this.send({ repositories: [...names], tagIndex, walk });
  }

  /** One more repository scanned: the child may walk one further ahead, or, on quick reads, start. */
  scannedOne(): void {
    this.scanned++;
    if (this.pace) {
      const long = isScanLong(Date.now() - this.pace.startedMs, this.scanned, this.pace.names.length);
      if (long === undefined) return;
      const { names, tagIndex } = this.pace;
      this.pace = undefined; // judged once
      if (!long) return;
      this.spawn('none');
      this.scannedBefore = this.scanned;
      this.send({ repositories: names.slice(this.scanned), tagIndex, walk: 'scan' });
    }
    this.send({ scanned: this.scanned - this.scannedBefore });
  }

  /** The deletable blobs, once: the plan looks at each one's data file. */
  blobs(index: BlobIndex): void {
    if (this.blobsSent) return;
    this.blobsSent = true;
    const shards: { algorithm: string; prefix: string; hexes: string[] }[] = [];
    index.forEachUnmarkedShard((algorithm, prefix, hexes) => void shards.push({ algorithm, prefix, hexes: [...hexes] }));
    this.send({ blobs: shards });
  }

  /**
   * The links a real run's vetting (the plan's step d: full, or a move's
   * with --trash) reads the content of, in the order it reads them: the
   * revisions deleted, then the layer links. Sent once the layer links are
   * judged; the child drops the deletable blobs it has not reached (their
   * vetting is over by then).
   */
  links(groups: Iterable<LinkGroup>): void {
    if (this.child) this.sendBatched(groups, (links) => ({ links }));
  }

  /**
   * apply's verify, after the sweep: each kept tag's revision link and
   * manifest blob. Sent once the plan's vetting is over: the child drops
   * whatever of the plan's reads it has not reached, so from then on it
   * opens no file the sweep deletes (on NFS an open file deleted is kept
   * as a `.nfs*` entry, which would stop the sweep's rmdir). Once.
   */
  kept(groups: Iterable<LinkGroup>): void {
    if (!this.child || this.keptSent) return;
    this.keptSent = true;
    this.sendBatched(groups, (kept) => ({ kept }));
  }

  private sendBatched(groups: Iterable<LinkGroup>, wrap: (batch: LinkGroup[]) => PrefetchMessage): void {
    let batch: LinkGroup[] = [];
    let count = 0;
    for (const group of groups) {
      batch.push(group);
      count += group.hexes.length;
      if (count >= LINKS_A_MESSAGE) {
        this.send(wrap(batch));
        batch = [];
        count = 0;
      }
    }
    if (batch.length > 0) this.send(wrap(batch));
  }

  stop(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }

  private send(message: PrefetchMessage): void {
    if (!this.child?.connected) return;
    try {
      this.child.send(message, () => {});
    } catch {
      // gone: nothing to warm any more
    }
  }
}
