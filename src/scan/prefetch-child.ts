// The prefetcher's child process (see prefetch.ts): warms the page cache
// ahead of the synchronous scan, `width` reads in flight. One queue, one
// bound: `width` runners take the next read from the front of a deque; a
// listing puts what it found at the front (so the walk goes depth first, in
// listing order, as the scan does), and a repository's first read enters
// only when the deque is empty and the scan is less than AHEAD_REPOSITORIES
// behind. Every failure is ignored: these reads decide nothing.

import type { Dirent } from 'node:fs';
import { constants, promises as fsp } from 'node:fs';
import type { LinkGroup, PrefetchMessage } from './prefetch.js';

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
let nextRepository = 0;
let scanned = 0;
const waiters: (() => void)[] = [];

const isDir = (entry: Dirent): boolean => entry.isDirectory();
const HEX = /^[0-9a-f]+$/;

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

function blobData(hex: string): string {
  return `${v2}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
}

/** The inventory: the blob shards, then repositories/ (the scan lists both in this order). */
function inventoryTasks(): Task[] {
  const shards: Task = async () => {
    const algorithms = (await list(`${v2}/blobs`)).filter(isDir);
    const tasks: Task[] = [];
    for (const algorithm of algorithms) {
      for (const shard of (await list(`${v2}/blobs/${algorithm.name}`)).filter(isDir)) {
        tasks.push(() => list(`${v2}/blobs/${algorithm.name}/${shard.name}`).then(() => undefined));
      }
    }
    return tasks;
  };
  const walk = (dir: string): Task => {
    return async () => (await list(dir)).filter((e) => isDir(e) && !e.name.startsWith('_')).map((e) => walk(`${dir}/${e.name}`));
  };
  return [shards, walk(`${v2}/repositories`)];
}

/** One repository, as scan-repository.ts and the plan read it. */
function repositoryTask(name: string): Task {
  const repo = `${v2}/repositories/${name}`;
  const digestDirs = async (container: string, leaf: (algorithm: string, hex: string) => Task[]): Promise<Task[]> => {
    const tasks: Task[] = [];
    for (const algorithm of (await list(container)).filter(isDir)) {
      tasks.push(async () => {
        const entries = await list(`${container}/${algorithm.name}`);
        return entries.filter((e) => isDir(e) && HEX.test(e.name)).flatMap((e) => leaf(algorithm.name, e.name));
      });
    }
    return tasks;
  };
  return async () => {
    const own = await list(repo);
    const tasks: Task[] = [];
    if (own.some((e) => e.name === '_manifests' && isDir(e))) {
      const manifests = await list(`${repo}/_manifests`);
      if (manifests.some((e) => e.name === 'revisions' && isDir(e))) {
        tasks.push(() =>
          digestDirs(`${repo}/_manifests/revisions`, (algorithm, hex) => [
            () => readPrefix(`${repo}/_manifests/revisions/${algorithm}/${hex}/link`, scratch).then(() => undefined),
            () => (algorithm === 'sha256' ? readPrefix(blobData(hex), scratch).then(() => undefined) : Promise.resolve(undefined)),
          ]),
        );
      }
      if (manifests.some((e) => e.name === 'tags' && isDir(e))) {
        tasks.push(async () =>
          (await list(`${repo}/_manifests/tags`)).filter(isDir).map((tag): Task => async () => {
            const dir = `${repo}/_manifests/tags/${tag.name}`;
            await readPrefix(`${dir}/current/link`, scratch);
            return tagIndex ? digestDirs(`${dir}/index`, () => []) : undefined;
          }),
        );
      }
    }
    if (own.some((e) => e.name === '_layers' && isDir(e))) tasks.push(() => digestDirs(`${repo}/_layers`, () => []));
    return tasks;
  };
}

let blobShards: { algorithm: string; prefix: string; hexes: string[] }[] = [];
const linkGroups: LinkGroup[] = [];

function next(): Task | undefined {
  const task = deque.shift();
  if (task) return task;
  const name = nextRepository < scanned + AHEAD_REPOSITORIES ? repositories[nextRepository] : undefined;
  if (name !== undefined) {
    nextRepository++;
    return repositoryTask(name);
  }
  // The plan's deletable blobs come last: the scan is done with the repositories by then.
  const shard = blobShards.shift();
  if (shard) {
    const blobs = shard.hexes.map(
      (hex): Task =>
        () =>
          statOnly(`${v2}/blobs/${shard.algorithm}/${shard.prefix}/${hex}/data`).then(() => undefined),
    );
    return () => Promise.resolve(blobs);
  }
  const group = linkGroups.shift();
  if (group) {
    const dir = `${v2}/repositories/${group.repository}/${group.under}/sha256`;
    const links = group.hexes.map(
      (hex): Task =>
        () =>
          readPrefix(`${dir}/${hex}/link`, scratch).then(() => undefined),
    );
    return () => Promise.resolve(links);
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
    // Started after the inventory (the probe found only the repositories cold): nothing of it to warm.
    if (message.start.inventory) deque.push(...inventoryTasks());
    for (let id = 0; id < width; id++) void runner();
  } else if ('repositories' in message) {
    repositories = message.repositories;
    tagIndex = message.tagIndex;
    nextRepository = 0;
  } else if ('scanned' in message) {
    scanned = message.scanned;
  } else if ('blobs' in message) {
    blobShards = message.blobs;
  } else {
    // The plan's blobs are vetted by the time its links are known.
    blobShards = [];
    linkGroups.push(...message.links);
  }
  wakeAll();
});
