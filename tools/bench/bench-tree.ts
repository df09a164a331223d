// The benches' cached trees: one directory per shape, size and seed under
// the bench directory (.bench/ by default), generated once by
// generate-tree.ts and marked done by a `.generated.json` holding its stats.
// bench.ts and plan-apply.ts share the naming, so either reuses a tree the
// other generated.

import fs from 'node:fs';
import path from 'node:path';
import { type GeneratedStats, type TreeShape, generateTree } from './generate-tree.js';

export interface CachedTree {
  root: string;
  stats: GeneratedStats;
}

/** Where the tree of this shape, size and seed lives (few-large keeps its original name, so a cached tree stays valid). */
export function treeRootFor(dir: string, shape: TreeShape, blobs: number, seed: number): string {
  return path.join(dir, shape === 'few-large' ? `tree-${blobs}-seed${seed}` : `tree-${shape}-${blobs}-seed${seed}`);
}

/**
 * The cached tree, generated first when it has no marker. A directory there
 * without its marker (a generation that was interrupted) is removed and made
 * again when `replaceUnfinished`; otherwise it is refused, untouched.
 */
export function cachedTree(dir: string, shape: TreeShape, blobs: number, seed: number, options: { replaceUnfinished: boolean }): CachedTree {
  const root = treeRootFor(dir, shape, blobs, seed);
  const marker = path.join(root, '.generated.json');
  if (!fs.existsSync(marker)) {
    if (fs.existsSync(root)) {
      if (!options.replaceUnfinished)
        throw new Error(`${root} exists but has no .generated.json (an unfinished generation?): left as it is; remove it to generate it again`);
      fs.rmSync(root, { recursive: true, force: true });
    }
    console.log(`generating ${shape}, ~${blobs} blobs (seed ${seed}) under ${root} ...`);
    const started = performance.now();
    const stats = generateTree({ blobs, seed, root, shape });
    fs.writeFileSync(marker, JSON.stringify(stats));
    console.log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return { root, stats: JSON.parse(fs.readFileSync(marker, 'utf8')) as GeneratedStats };
}
