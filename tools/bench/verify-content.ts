// verify --content throughput against sha256sum over the same blob files.
//
//   npx tsx tools/bench/verify-content.ts [--dir .bench] [--blobs 48] [--mb 32]
//
// Writes (once, cached under DIR) a tree of one repository whose images hold
// BLOBS layers of MB MiB of random bytes, then times, warm (one untimed read
// first): `verify --content -j 1` and `-j 2`, and `sha256sum` over the same
// data files, one process per core used. Prints MB/s and the ratio per core.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TreeBuilder } from '../../test/support/tree-builder.js';

const arg = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const blobs = Number(arg('--blobs', '48'));
const mb = Number(arg('--mb', '32'));
const root = path.resolve(arg('--dir', '.bench'), `content-${blobs}x${mb}m`);
const v2 = path.join(root, 'docker/registry/v2');
const janitor = path.resolve(import.meta.dirname, '../../bin/registry-janitor.js');

if (!fs.existsSync(v2)) {
  const tree = new TreeBuilder(fs, v2);
  for (let i = 0; i < blobs; i += 4) {
    const layers = Array.from({ length: Math.min(4, blobs - i) }, () => randomBytes(mb << 20));
    const image = tree.pushImage('bench/content', { layers });
    tree.tag('bench/content', `v${i}`, image.digest, Date.now() - 2 * 86_400_000);
  }
}
const files = spawnSync('find', [path.join(v2, 'blobs'), '-name', 'data', '-size', '+1M'], { encoding: 'utf8' })
  .stdout.trim()
  .split('\n');
const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);

function time(label: string, run: () => void): number {
  run(); // warm the page cache
  const started = performance.now();
  run();
  const seconds = (performance.now() - started) / 1000;
  console.log(`${label.padEnd(34)} ${seconds.toFixed(2)} s  ${(bytes / 2 ** 20 / seconds).toFixed(0)} MiB/s`);
  return seconds;
}
const mustPass = (result: ReturnType<typeof spawnSync>, what: string): void => {
  if (result.status !== 0) throw new Error(`${what} exited ${result.status}: ${String(result.stderr)}`);
};

console.log(`${files.length} blobs, ${(bytes / 2 ** 30).toFixed(2)} GiB; ${os.cpus().length} cores, node ${process.version}`);
const sums = (cores: number): void => {
  const share = Math.ceil(files.length / cores);
  const children = Array.from({ length: cores }, (_, i) => files.slice(i * share, (i + 1) * share)).map((part) =>
    spawnSync('sha256sum', part, { encoding: 'utf8', maxBuffer: 1 << 26 }),
  );
  for (const child of children) mustPass(child, 'sha256sum');
};
// sha256sum runs one process at a time here (spawnSync): per-core figures.
const sum1 = time('sha256sum (1 process)', () => sums(1));
const ours1 = time('verify --content -j 1', () => mustPass(spawnSync(process.execPath, [janitor, 'verify', '--root', root, '--content', '-j', '1']), 'verify'));
const ours2 = time('verify --content -j 2', () => mustPass(spawnSync(process.execPath, [janitor, 'verify', '--root', root, '--content', '-j', '2']), 'verify'));
console.log(`per core: -j 1 ${(sum1 / ours1).toFixed(2)}x sha256sum; -j 2 ${(sum1 / ours2 / 2).toFixed(2)}x sha256sum per core used`);
