// The sweep's recheck reads again every repository its own moves changed,
// to see whether anything else was written there; it decides what is kept,
// and does not look for a kept tag's config and layer blobs again (the mark
// warned about a missing one already). In an apply, whose blob index holds
// only the plan's blobs, that look was one lstat per kept blob of every
// repository read again.
import { describe, expect, it } from 'vitest';
import { type MemFs, ROOT, memTree } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';

const PLAN = '/plans/gc.plan';

/** Each repository: a tagged image (kept) and an untagged one (gc -m moves its revision aside: the recheck reads it again). */
function build() {
  const mem = memTree();
  for (const repo of ['a', 'b', 'c']) {
    mem.tree.tag(repo, 'v1', mem.tree.pushImage(repo, { layers: [`${repo}-kept-1`, `${repo}-kept-2`] }).digest);
    mem.tree.pushImage(repo, { layers: [`${repo}-gone`] });
  }
  mem.fs.mkdirSync('/plans', { recursive: true });
  return mem;
}

/** Counts lstatSync calls on blob data (blobs/.../data). */
function countingBlobLstats(fs: MemFs): { fs: MemFs; count: () => number } {
  let n = 0;
  const proxy = new Proxy(fs, {
    get(target, prop, receiver) {
      if (prop === 'lstatSync') {
        return (file: string, ...rest: unknown[]) => {
          if (/\/blobs\/sha256\/..\/[0-9a-f]{64}\/data$/.test(file)) n++;
          return (target.lstatSync as (...a: unknown[]) => unknown)(file, ...rest);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { fs: proxy, count: () => n };
}

describe('the recheck after the moves aside', () => {
  it('apply: reads the three repositories again without an lstat of any kept blob; what goes is what gc -m deletes', async () => {
    const mem = build();
    const plan = await runCliOn(mem.fs, ['gc', '-m', '--root', ROOT, '--plan', PLAN, '--grace', '0s', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const { fs, count } = countingBlobLstats(mem.fs);
    const applied = await runCliOn(fs, ['apply', PLAN, '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    // Each untagged image: manifest, config and one layer; the plan's blobs are sized from its data, the kept ones never.
    expect(applied.json.blobsDeleted).toHaveLength(9);
    expect(count()).toBeLessThanOrEqual(9 * 2);

    const direct = build();
    const run = await runCliOn(direct.fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--json']);
    expect(run.json.blobsDeleted).toHaveLength(9);
    expect(direct.files()).toEqual(mem.files().filter((f) => !f.startsWith('plans/')));
  });

  it("a repository first seen by the recheck (pushed during the sweep) is marked with its tags' blobs looked for: a missing layer is still reported", async () => {
    const mem = build();
    let pushed = false;
    const fs = new Proxy(mem.fs, {
      get(target, prop, receiver) {
        if (prop === 'renameSync') {
          return (...args: unknown[]) => {
            const result = (target.renameSync as (...a: unknown[]) => unknown)(...args);
            if (!pushed) {
              // The first move aside: a push lands a new repository whose layer blob is missing.
              pushed = true;
              const image = mem.tree.pushImage('zzz', { layers: ['zzz-layer'] });
              mem.tree.tag('zzz', 'v1', image.digest);
              const layer = image.layers[0]?.digest.slice('sha256:'.length) ?? '';
              target.unlinkSync(`${ROOT}/docker/registry/v2/blobs/sha256/${layer.slice(0, 2)}/${layer}/data`);
            }
            return result;
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const run = await runCliOn(fs, ['gc', '-m', '--root', ROOT, '--grace', '0s', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(pushed).toBe(true);
    const codes = (run.json.warnings as { code: string; message: string }[]).filter((w) => w.message.startsWith('zzz:')).map((w) => w.code);
    expect(codes).toContain('W_TAG_NEEDS_MISSING');
  });
});
