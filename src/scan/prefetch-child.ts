// The prefetcher's child process (see prefetch.ts): warms the page cache
// ahead of the synchronous scan, `width` reads in flight. One queue, one
// bound: `width` runners take the next read from the front of a deque; a
// listing puts what it found at the front (so the walk goes depth first, in
// listing order, as the scan does), and a repository's first read enters
// only when the deque is empty and the scan is less than AHEAD_REPOSITORIES
// behind (an apply's fingerprint walk: behind its fingerprints). Then the
// plan's blobs, its links, and (an apply's verify) the kept tags. Every
// failure is ignored: these reads decide nothing.

import type { Dirent } from 'node:fs';
import { constants, promises as fsp } from 'node:fs';
import { type Algorithm, type Digest, isAlgorithm, makeDigest } from '../model/digest.js';
import { type PathSpec, isRepositoryOwnDir, isShardName, renderPath } from '../storage/layout.js';
import type { InventoryWalk, LinkGroup, PrefetchMessage, RepositoryWalk } from './prefetch.js';

// How far the walk may run ahead of the scan, in repositories: enough to
// keep `width` reads busy in small repositories, little enough that what it
// warms is still cached when the scan gets there on a tree larger than RAM.
const AHEAD_REPOSITORIES = 16;
// Manifests are read up to this much (the scan's buffer is 1 MiB; the
// registry caps manifests at 4 MiB): the blocks the scan reads first.
const READ_BYTES = 1 << 20;
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

type Task = () => Promise<Task[] | undefined>;

let v2 = '';
let width = 0;
const deque: Task[] = [];
let repositories: string[] = [];
let tagIndex = true;
let repositoryWalk: RepositoryWalk = 'scan';
let nextRepository = 0;
let scanned = 0;
const waiters: (() => void)[] = [];

const isDir = (entry: Dirent): boolean => entry.isDirectory();
/** A place in the tree, as the layout module draws it. */
const at = (spec: PathSpec): string => `${v2}/${renderPath(spec)}`;

async function list(dir: string): Promise<Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

async function readPrefix(file: string, buffer: Buffer): Promise<void> {
  try {
    const handle = await fsp.open(file, OPEN_FLAGS);
    try {
      await handle.read(buffer, 0, buffer.length, 0);
    } finally {
      await handle.close();
    }
  } catch {
    // absent, a FIFO, a symlink: the scan says what it is
  }
}

async function statOnly(file: string): Promise<void> {
  try {
    await fsp.lstat(file);
  } catch {
    // absent: the plan counts it so
  }
}

/** One buffer for every read: the bytes are dropped (reads may overlap in it), only the cache keeps them. */
const scratch = Buffer.allocUnsafe(READ_BYTES);

/** The inventory: the blob shards (gc's, not apply's: its blobs are the plan's), then repositories/ (listed in this order). */
function inventoryTasks(inventory: InventoryWalk): Task[] {
  const shards: Task = async () => {
    const tasks: Task[] = [];
    for (const algorithm of algorithmsIn(await list(at({ kind: 'blobsRoot' })))) {
      for (const shard of (await list(at({ kind: 'blobAlgorithm', algorithm }))).filter((e) => isDir(e) && isShardName(e.name))) {
        tasks.push(() => list(at({ kind: 'blobShard', algorithm, prefix: shard.name })).then(() => undefined));
      }
    }
    return tasks;
  };
  // The catalog's walk: every directory but a repository's own (_layers, _manifests, _uploads).
  const walk = (dir: string): Task => {
    return async () => (await list(dir)).filter((e) => isDir(e) && !isRepositoryOwnDir(e.name)).map((e) => walk(`${dir}/${e.name}`));
  };
  const catalog = walk(at({ kind: 'repositoriesRoot' }));
  return inventory === 'catalog' ? [catalog] : [shards, catalog];
}

/** The algorithm directories among a listing's entries. */
function algorithmsIn(entries: Dirent[]): Algorithm[] {
  return entries.flatMap((e) => (isDir(e) && isAlgorithm(e.name) ? [e.name] : []));
}

/**
 * Each `<alg>/<hex>` directory of a container (`root`, and `byAlgorithm` its
 * `<alg>` directory), one listing per algorithm, a task each, to `leaf`.
 */
async function digestDirs(root: PathSpec, byAlgorithm: (algorithm: Algorithm) => PathSpec, leaf: (digest: Digest) => Task[]): Promise<Task[]> {
  return algorithmsIn(await list(at(root))).map((algorithm): Task => async () => {
    const entries = (await list(at(byAlgorithm(algorithm)))).filter(isDir);
    return entries.flatMap((e) => {
      const digest = makeDigest(algorithm, e.name);
      return digest ? leaf(digest) : [];
    });
  });
}

const readTask =
  (spec: PathSpec): Task =>
  () =>
    readPrefix(at(spec), scratch).then(() => undefined);

const statTask =
  (spec: PathSpec): Task =>
  () =>
    statOnly(at(spec)).then(() => undefined);

/** A link group's digests (sha256: the parent sends nothing else). */
const digestsOf = (group: LinkGroup): Digest[] => group.hexes.flatMap((hex) => makeDigest('sha256', hex) ?? []);

/**
 * One repository, as scan-repository.ts and the plan read it. Its own
 * directory and _manifests are not listed: looking up the paths below them
 * reads their blocks, and a path that is not there fails (ignored).
 */
function repositoryTask(name: string): Task {
  return () =>
    Promise.resolve([
      () =>
        digestDirs(
          { kind: 'revisionsRoot', name },
          (algorithm) => ({ kind: 'revisionsAlgorithm', name, algorithm }),
          (digest) => [readTask({ kind: 'revisionLink', name, digest }), readTask({ kind: 'blobData', digest })],
        ),
      async () =>
        (await list(at({ kind: 'tagsRoot', name }))).filter(isDir).map((entry): Task => async () => {
          const tag = entry.name;
          await readPrefix(at({ kind: 'tagCurrentLink', name, tag }), scratch);
          return tagIndex
            ? digestDirs(
                { kind: 'tagIndexRoot', name, tag },
                (algorithm) => ({ kind: 'tagIndexAlgorithm', name, tag, algorithm }),
                () => [],
              )
            : undefined;
        }),
      () =>
        digestDirs(
          { kind: 'layersRoot', name },
          (algorithm) => ({ kind: 'layersAlgorithm', name, algorithm }),
          () => [],
        ),
    ]);
}

/**
 * One repository, as apply's fingerprint (scan/fingerprint-repository.ts)
 * reads it: the listings of revisions/<alg>, tags/ and _layers/<alg>, and
 * each tag's current link looked up (its mtime, not its content).
 */
function fingerprintTask(name: string): Task {
  const listOnly = (): Task[] => [];
  return () =>
    Promise.resolve([
      () => digestDirs({ kind: 'revisionsRoot', name }, (algorithm) => ({ kind: 'revisionsAlgorithm', name, algorithm }), listOnly),
      async () => (await list(at({ kind: 'tagsRoot', name }))).filter(isDir).map((entry) => statTask({ kind: 'tagCurrentLink', name, tag: entry.name })),
      () => digestDirs({ kind: 'layersRoot', name }, (algorithm) => ({ kind: 'layersAlgorithm', name, algorithm }), listOnly),
    ]);
}

let blobShards: { algorithm: string; prefix: string; hexes: string[] }[] = [];
const linkGroups: LinkGroup[] = [];
/** apply's verify: each kept tag's revision link and manifest blob, after everything else. */
const keptGroups: LinkGroup[] = [];
let keptStarted = false;

function next(): Task | undefined {
  const task = deque.shift();
  if (task) return task;
  const name = nextRepository < scanned + AHEAD_REPOSITORIES ? repositories[nextRepository] : undefined;
  if (name !== undefined) {
    nextRepository++;
    return repositoryWalk === 'fingerprint' ? fingerprintTask(name) : repositoryTask(name);
  }
  // The plan's deletable blobs come last: the scan is done with the repositories by then.
  const shard = blobShards.shift();
  if (shard) {
    const algorithm = isAlgorithm(shard.algorithm) ? shard.algorithm : undefined;
    const digests = algorithm ? shard.hexes.flatMap((hex) => makeDigest(algorithm, hex) ?? []) : [];
    return () => Promise.resolve(digests.map((digest) => statTask({ kind: 'blobData', digest })));
  }
  const group = linkGroups.shift();
  if (group) {
    const { repository: name, kind } = group;
    return () => Promise.resolve(digestsOf(group).map((digest) => readTask({ kind, name, digest })));
  }
  const kept = keptGroups.shift();
  if (kept) {
    const { repository: name } = kept;
    return () =>
      Promise.resolve(digestsOf(kept).flatMap((digest) => [readTask({ kind: 'revisionLink', name, digest }), statTask({ kind: 'blobData', digest })]));
  }
  return undefined;
}

async function runner(): Promise<never> {
  for (;;) {
    const task = next();
    if (!task) {
      await new Promise<void>((resolve) => waiters.push(resolve));
      continue;
    }
    try {
      const found = await task();
      if (found && found.length > 0) deque.unshift(...found);
    } catch {
      // a read decides nothing; go on
    }
    if (deque.length > 0) wakeAll();
  }
}

function wakeAll(): void {
  for (const resolve of waiters.splice(0)) resolve();
}

process.on('disconnect', () => process.exit(0));
process.on('message', (message: PrefetchMessage) => {
  if ('start' in message) {
    v2 = message.start.v2;
    width = message.start.width;
    // Started after the inventory (the probe found only the repositories cold, the scan's pace or an apply's rule said so): nothing of it to warm.
    if (message.start.inventory !== 'none') deque.push(...inventoryTasks(message.start.inventory));
    for (let id = 0; id < width; id++) void runner();
  } else if ('repositories' in message) {
    repositories = message.repositories;
    tagIndex = message.tagIndex;
    repositoryWalk = message.walk;
    nextRepository = 0;
    scanned = 0;
  } else if ('scanned' in message) {
    scanned = message.scanned;
  } else if ('blobs' in message) {
    blobShards = message.blobs;
  } else if ('kept' in message) {
    // The first batch: the plan's vetting is over, none of its reads is of
    // use now, and its links are about to be deleted. (A later batch must
    // not empty the queue: it holds the kept reads of the batches before.)
    if (!keptStarted) {
      keptStarted = true;
      repositories = [];
      blobShards = [];
      linkGroups.length = 0;
      deque.length = 0;
    }
    keptGroups.push(...message.kept);
  } else {
    // The plan's blobs are vetted by the time its links are known.
    blobShards = [];
    linkGroups.push(...message.links);
  }
  wakeAll();
});
