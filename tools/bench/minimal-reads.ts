// The minimal-reads baseline (issue 10 item 0): the reads no mark phase can
// do without, and nothing else. List the 256 shards of each blob algorithm,
// walk repositories/ (never entering a `_` directory), list each
// repository's revisions and tags, read each revision link, each tag's
// current link and each manifest (once per digest). No parsing beyond the
// link's digest, no layer links, no per-blob listing.
//
//   tsx tools/bench/minimal-reads.ts ROOT [--inflight N]
//
// Without --inflight (or with 1): one thread, synchronous calls, as the
// janitor's -j 1 reads. With --inflight N: libuv's callback API with N
// listings or file reads (open, read, close) in flight. libuv sizes its
// thread pool at its first use, so UV_THREADPOOL_SIZE is set below, before
// any asynchronous fs call (the bench also passes it in the environment).
// Prints one JSON line: the elapsed ms from the first read to the last,
// and the counts of listings and files read.

const inflightArg = process.argv.indexOf('--inflight');
const INFLIGHT = inflightArg >= 0 ? Number(process.argv[inflightArg + 1]) : 1;
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, INFLIGHT));

const { default: fs } = await import('node:fs');
type Dirent = import('node:fs').Dirent;

interface Counts {
  listings: number;
  links: number;
  manifests: number;
  bytes: number;
}

const root = process.argv[2];
if (root === undefined || root.startsWith('--')) throw new Error('usage: minimal-reads.ts ROOT [--inflight N]');
const v2 = `${root.replace(/\/+$/, '')}/docker/registry/v2`;
const counts: Counts = { listings: 0, links: 0, manifests: 0, bytes: 0 };
const manifestsRead = new Set<string>();
const isHex = (name: string): boolean => /^[0-9a-f]+$/.test(name);
const dataOf = (digest: string): string => {
  const [algorithm = '', hex = ''] = digest.split(':');
  return `${v2}/blobs/${algorithm}/${hex.slice(0, 2)}/${hex}/data`;
};

function runSync(): void {
  const buffer = Buffer.allocUnsafe(1 << 20);
  const list = (dir: string, optional = false): Dirent[] => {
    try {
      const entries = fs.readdirSync(dir, { withFileTypes: true });
      counts.listings++;
      return entries;
    } catch (error) {
      if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  };
  const read = (file: string): string => {
    const fd = fs.openSync(file, 'r');
    try {
      const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
      counts.bytes += n;
      return buffer.toString('latin1', 0, n);
    } finally {
      fs.closeSync(fd);
    }
  };
  const manifest = (digest: string): void => {
    if (manifestsRead.has(digest)) return;
    manifestsRead.add(digest);
    read(dataOf(digest));
    counts.manifests++;
  };
  for (const algorithm of list(`${v2}/blobs`, true))
    for (const shard of list(`${v2}/blobs/${algorithm.name}`)) list(`${v2}/blobs/${algorithm.name}/${shard.name}`);
  const walk = (dir: string, entries: Dirent[]): void => {
    if (entries.some((e) => e.name === '_manifests')) {
      const revisions = `${dir}/_manifests/revisions`;
      for (const algorithm of list(revisions, true)) {
        for (const hex of list(`${revisions}/${algorithm.name}`)) {
          if (!isHex(hex.name)) continue;
          manifest(read(`${revisions}/${algorithm.name}/${hex.name}/link`));
          counts.links++;
        }
      }
      const tags = `${dir}/_manifests/tags`;
      for (const tag of list(tags, true)) {
        read(`${tags}/${tag.name}/current/link`);
        counts.links++;
      }
    }
    for (const entry of entries) if (entry.isDirectory() && !entry.name.startsWith('_')) walk(`${dir}/${entry.name}`, list(`${dir}/${entry.name}`));
  };
  walk(`${v2}/repositories`, list(`${v2}/repositories`));
}

/** The same reads through libuv's callbacks, at most `limit` operations in flight. */
function runAsync(limit: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const queue: (() => void)[] = [];
    let running = 0;
    let failed = false;
    const fail = (error: unknown): void => {
      if (!failed) reject(error instanceof Error ? error : new Error(String(error)));
      failed = true;
    };
    // One operation: started when a slot is free; `done` frees it.
    const submit = (start: (done: () => void) => void): void => {
      queue.push(() =>
        start(() => {
          running--;
          pump();
        }),
      );
      pump();
    };
    const pump = (): void => {
      while (running < limit && queue.length > 0 && !failed) {
        running++;
        queue.shift()?.();
      }
      if (running === 0 && queue.length === 0 && !failed) resolve();
    };
    const list = (dir: string, optional: boolean, then: (entries: Dirent[]) => void): void =>
      submit((done) =>
        fs.readdir(dir, { withFileTypes: true }, (error, entries) => {
          if (error) {
            if (!(optional && error.code === 'ENOENT')) fail(error);
          } else {
            counts.listings++;
            then(entries);
          }
          done();
        }),
      );
    // A file read (open, read, close) holds its slot throughout: at most
    // `limit` files open at once.
    const read = (file: string, then: (text: string) => void): void =>
      submit((done) =>
        fs.open(file, 'r', (error, fd) => {
          if (error) {
            fail(error);
            return;
          }
          const buffer = Buffer.allocUnsafe(64 << 10);
          fs.read(fd, buffer, 0, buffer.length, 0, (readError, n) => {
            fs.close(fd, () => {
              done();
              if (readError) {
                fail(readError);
                return;
              }
              counts.bytes += n;
              then(buffer.toString('latin1', 0, n));
            });
          });
        }),
      );
    const manifest = (digest: string): void => {
      if (manifestsRead.has(digest)) return;
      manifestsRead.add(digest);
      read(dataOf(digest), () => {
        counts.manifests++;
      });
    };
    list(`${v2}/blobs`, true, (algorithms) => {
      for (const algorithm of algorithms) {
        list(`${v2}/blobs/${algorithm.name}`, false, (shards) => {
          for (const shard of shards) list(`${v2}/blobs/${algorithm.name}/${shard.name}`, false, () => {});
        });
      }
    });
    const walk = (dir: string, entries: Dirent[]): void => {
      if (entries.some((e) => e.name === '_manifests')) {
        const revisions = `${dir}/_manifests/revisions`;
        list(revisions, true, (algorithms) => {
          for (const algorithm of algorithms) {
            list(`${revisions}/${algorithm.name}`, false, (hexes) => {
              for (const hex of hexes) {
                if (!isHex(hex.name)) continue;
                read(`${revisions}/${algorithm.name}/${hex.name}/link`, (digest) => {
                  counts.links++;
                  manifest(digest);
                });
              }
            });
          }
        });
        const tags = `${dir}/_manifests/tags`;
        list(tags, true, (names) => {
          for (const tag of names)
            read(`${tags}/${tag.name}/current/link`, () => {
              counts.links++;
            });
        });
      }
      for (const entry of entries) {
        if (entry.isDirectory() && !entry.name.startsWith('_')) list(`${dir}/${entry.name}`, false, (children) => walk(`${dir}/${entry.name}`, children));
      }
    };
    list(`${v2}/repositories`, false, (entries) => walk(`${v2}/repositories`, entries));
  });
}

const started = performance.now();
if (INFLIGHT > 1) await runAsync(INFLIGHT);
else runSync();
const ms = performance.now() - started;
process.stdout.write(`${JSON.stringify({ ms: Math.round(ms), inflight: INFLIGHT, ...counts, rssMB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
