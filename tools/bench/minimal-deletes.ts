// The deletion floor: what the filesystem allows for the deletions a gc
// plans, with nothing else done. Reads a dry run's --json (blobsDeleted,
// manifestsDeleted, layerLinksDeleted) and removes exactly those entries in
// place, in the safe order (revision links, layer links, blobs), each an
// unlink of its one file and an rmdir of its directory, --inflight at once.
// No checks, no quarantine, no recheck: a bench baseline, never a tool.
//
//   tsx tools/bench/minimal-deletes.ts <v2> <dry-run.json> [--inflight N]
import fs from 'node:fs';

const [v2, planFile] = process.argv.slice(2);
if (!v2 || !planFile) throw new Error('usage: minimal-deletes.ts <v2> <dry-run.json> [--inflight N]');
const i = process.argv.indexOf('--inflight');
const inflight = i >= 0 ? Number(process.argv[i + 1]) : 16;
const plan = JSON.parse(fs.readFileSync(planFile, 'utf8')) as {
  blobsDeleted: string[];
  manifestsDeleted: { repository: string; digest: string }[];
  layerLinksDeleted: { repository: string; digest: string }[];
};
const hexOf = (digest: string): [string, string] => {
  const [alg, hex] = digest.split(':') as [string, string];
  return [alg, hex];
};
const groups: [string, string[]][] = [
  ['revisions', plan.manifestsDeleted.map(({ repository, digest }) => `${v2}/repositories/${repository}/_manifests/revisions/${hexOf(digest).join('/')}/link`)],
  ['layer links', plan.layerLinksDeleted.map(({ repository, digest }) => `${v2}/repositories/${repository}/_layers/${hexOf(digest).join('/')}/link`)],
  [
    'blobs',
    plan.blobsDeleted.map((digest) => {
      const [alg, hex] = hexOf(digest);
      return `${v2}/blobs/${alg}/${hex.slice(0, 2)}/${hex}/data`;
    }),
  ],
];
const started = performance.now();
for (const [label, files] of groups) {
  const t = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++]!;
      await fs.promises.unlink(file);
      await fs.promises.rmdir(file.slice(0, file.lastIndexOf('/')));
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  console.log(`${label}: ${files.length} in ${((performance.now() - t) / 1000).toFixed(2)} s`);
}
console.log(`total ${((performance.now() - started) / 1000).toFixed(2)} s (inflight ${inflight}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 4})`);
