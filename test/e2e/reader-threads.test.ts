// The read side's threads (scan/scan-pool.ts): a worker answers with each
// repository's scan serialized on its own, the calling thread reads its own
// repositories one at a time. Whatever the thread count, every command finds
// exactly the same things, down to the values only a structured clone keeps
// (an index child without a platform, a revision whose manifest is missing,
// a fresh push inside the grace window, a warning).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/model/digest.js';
import { generateTree } from '../../tools/bench/generate-tree.js';
import { makeTempDir } from '../support/registry.js';
import { TreeBuilder, forPlatform } from '../support/tree-builder.js';
import { BIN, ageTree, runJanitor, snapshot, v2Of, withoutTimes } from '../support/tree-files.js';

const work = makeTempDir('threads');
const root = path.join(work, 'tree');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  // many-small at 3,000 blobs: 42 repositories, so with -j 2 and -j 4 every
  // thread gets batches (one repository each below 16 a thread).
  generateTree({ blobs: 3000, seed: 7, root, shape: 'many-small' });
  const tree = new TreeBuilder(fs, v2Of(root));
  const amd = tree.pushImage('odd/index', { layers: ['amd layer'], format: 'oci' });
  const arm = tree.pushImage('odd/index', { layers: ['arm layer'], format: 'oci' });
  // platforms: [undefined, {arm64}]: an array with a hole a JSON round trip would turn into null.
  tree.tag('odd/index', 'multi', tree.pushIndex('odd/index', [amd, forPlatform(arm, 'arm64')]).digest);
  // A tag whose revision was never pushed: a dangling tag (a warning).
  tree.tag('odd/dangling', 'gone', `sha256:${'d'.repeat(64)}` as Digest);
  tree.tag('odd/dangling', 'here', tree.pushImage('odd/dangling', { layers: ['kept'] }).digest);
  // An untagged revision whose manifest blob has no data: manifest undefined, size 0.
  const lost = tree.pushImage('odd/lost', { layers: ['lost layer'] });
  tree.tag('odd/lost', 'v1', tree.pushImage('odd/lost', { layers: ['v1 layer'] }).digest);
  fs.unlinkSync(tree.pathOf({ kind: 'blobData', digest: lost.digest }));
  ageTree(root);
  // Pushed just now: inside the grace window of the runs below.
  tree.pushImage('odd/fresh', { layers: ['fresh layer'] });
}, 120_000);

/** The JSON report of `args` at -j 1, 2 and 4, each run exiting `status` (verify: 1, it finds the dangling tag). */
function reportsByThreads(args: string[], status = 0): Record<string, unknown>[] {
  return ['1', '2', '4'].map((threads) => {
    const run = runJanitor([...args, '-j', threads, '--prefetch', '0', '--json', '--root', root]);
    expect(run.status, `${args.join(' ')} -j ${threads}: ${run.stderr}`).toBe(status);
    return withoutTimes(JSON.parse(run.stdout) as Record<string, unknown>);
  });
}

describe('-j 1, 2 and 4', () => {
  it('gc -d and gc -m -d find exactly the same, and delete nothing', () => {
    const before = snapshot(root);
    for (const args of [
      ['gc', '-d', '--grace', '1h'],
      ['gc', '-m', '-d', '--grace', '1h'],
    ]) {
      const [one, two, four] = reportsByThreads(args);
      expect(two).toEqual(one);
      expect(four).toEqual(one);
      // The hostile bits reached the report: the dangling tag's warning.
      expect(JSON.stringify(one?.warnings)).toContain('odd/dangling');
    }
    // -m: the fresh untagged push is kept by the grace window, the lost one goes.
    const [minusM] = reportsByThreads(['gc', '-m', '-d', '--grace', '1h']);
    expect((minusM?.keptByGrace as { manifests: number }).manifests).toBe(1);
    expect((minusM?.manifestsDeleted as unknown[]).length).toBeGreaterThan(100);
    expect(snapshot(root)).toEqual(before);
  }, 120_000);

  it('ls and verify find exactly the same', () => {
    const [one, two, four] = reportsByThreads(['ls']);
    expect(two).toEqual(one);
    expect(four).toEqual(one);
    const index = (one?.repositories as { name: string; tags: { tag: string; platforms: unknown[] }[] }[]).find((r) => r.name === 'odd/index');
    expect(index?.tags.find((t) => t.tag === 'multi')?.platforms).toHaveLength(2);
    const verified = reportsByThreads(['verify'], 1);
    expect(verified[1]).toEqual(verified[0]);
    expect(verified[2]).toEqual(verified[0]);
  }, 120_000);
});

describe('threads started before the inventory', () => {
  // gc and ls start their -j threads before the inventory: one that fails
  // must close them, or the process would wait on them forever (spawnSync's
  // timeout turns that hang into a failure here).
  it('an inventory that fails closes the threads: gc on blobs without repositories, ls with a glob that matches nothing', () => {
    const orphaned = path.join(work, 'blobs-only');
    const hex = 'ab'.repeat(32);
    fs.mkdirSync(path.join(orphaned, 'docker/registry/v2/blobs/sha256/ab', hex), { recursive: true });
    fs.writeFileSync(path.join(orphaned, 'docker/registry/v2/blobs/sha256/ab', hex, 'data'), 'x');
    fs.mkdirSync(path.join(orphaned, 'docker/registry/v2/repositories'));
    for (const [args, message] of [
      [['gc', '-d', '--root', orphaned], /holds no repository, but blobs\/ holds 1 blobs/],
      [['ls', 'no/such-*', '--root', root], /no repository matches no\/such-\*/],
    ] as const) {
      const run = spawnSync(process.execPath, [BIN, ...args, '-j', '4', '--prefetch', '0'], { encoding: 'utf8', timeout: 30_000 });
      expect(run.error?.message, `${args.join(' ')}: hung`).toBeUndefined(); // spawnSync's timeout: ETIMEDOUT
      expect(run.status, args.join(' ')).toBe(1);
      expect(run.stderr).toMatch(message);
    }
    expect(fs.existsSync(path.join(orphaned, 'docker/registry/v2/blobs/sha256/ab', hex, 'data'))).toBe(true);
  }, 120_000);
});
