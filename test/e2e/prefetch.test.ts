// The cold-cache prefetcher (scan/prefetch.ts): it decides nothing, so a run
// with it finds exactly what a run without it finds, and it refuses what
// the scan refuses.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/registry.js';
import { ageTree, copyTree, listContents, runJanitor, snapshot, v2Of, withoutTimes } from '../support/tree-files.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/example');
const work = makeTempDir('prefetch');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/**
 * Runs `args` on a fresh copy of the fixture with --prefetch 0 and 64: both
 * succeed, only the second says it prefetched, and the two JSON reports
 * are the same but for the times. Returns the report with it.
 */
function expectSameWithAndWithout(name: string, args: string[]): Record<string, unknown> {
  const root = copyTree(FIXTURE, path.join(work, name));
  ageTree(root);
  const off = runJanitor([...args, '--json', '--prefetch', '0', '--root', root]);
  const on = runJanitor([...args, '--json', '--prefetch', '64', '--root', root]);
  expect(off.status).toBe(0);
  expect(on.status).toBe(0);
  expect(off.json.prefetched).toBe(false);
  expect(on.json.prefetched).toBe(true);
  const same = (json: Record<string, unknown>) => withoutTimes({ ...json, prefetched: undefined });
  expect(same(on.json)).toEqual(same(off.json));
  return on.json;
}

describe('--prefetch', () => {
  it('changes nothing the run finds, with or without it, for gc -d and gc -m -d', () => {
    expectSameWithAndWithout('gc-d', ['gc', '-d']);
    expectSameWithAndWithout('gc-m-d', ['gc', '-m', '-d']);
  });

  it('a real gc -m, told the links its plan reads, leaves the same files with or without it', () => {
    const runOn = (name: string, prefetch: string) => {
      const root = copyTree(FIXTURE, path.join(work, name));
      ageTree(root);
      const run = runJanitor(['gc', '-m', '--json', '--prefetch', prefetch, '--root', root]);
      expect(run.status, run.stderr).toBe(0);
      return { root, json: run.json };
    };
    const off = runOn('real-off', '0');
    const on = runOn('real-on', '64');
    expect(on.json.prefetched).toBe(true);
    // The plan had revision and layer links to vet: there were links to send the child.
    expect((on.json.manifestsDeleted as unknown[]).length).toBeGreaterThan(0);
    expect((on.json.layerLinksDeleted as unknown[]).length).toBeGreaterThan(0);
    const same = (json: Record<string, unknown>) => withoutTimes({ ...json, prefetched: undefined, root: undefined, v2: undefined });
    expect(same(on.json)).toEqual(same(off.json));
    expect(listContents(on.root)).toEqual(listContents(off.root));
  });

  it('an apply, plain and --trash, told its fingerprints, targets and kept tags, leaves the same files with or without it', () => {
    for (const trash of [false, true]) {
      const runOn = (name: string, prefetch: string) => {
        const root = copyTree(FIXTURE, path.join(work, name));
        ageTree(root);
        const plan = path.join(work, `${name}.jsonl`);
        expect(runJanitor(['gc', '-m', '--plan', plan, '--root', root]).status).toBe(0);
        // A change since the plan: one repository is read again (the child's scan walk after its fingerprint walk).
        const tags = path.join(v2Of(root), 'repositories/library/nginx/_manifests/tags');
        fs.cpSync(path.join(tags, 'latest'), path.join(tags, 'pinned'), { recursive: true });
        const trashArgs = trash ? ['--trash', path.join(work, `${name}-trash`)] : [];
        const run = runJanitor(['apply', plan, '--json', '--prefetch', prefetch, ...trashArgs]);
        expect(run.status, run.stderr).toBe(0);
        return { root, json: run.json as Record<string, unknown> };
      };
      const kind = trash ? 'trash' : 'plain';
      const off = runOn(`apply-${kind}-off`, '0');
      const on = runOn(`apply-${kind}-on`, '64');
      expect(off.json.prefetched).toBe(false);
      expect(on.json.prefetched).toBe(true);
      const applied = (json: Record<string, unknown>): Record<string, unknown> => ({
        ...(json.apply as Record<string, unknown>),
        file: undefined,
        planCreatedAt: undefined,
      });
      expect(applied(on.json)).toEqual(applied(off.json));
      expect(applied(on.json).reread).toEqual(['library/nginx']);
      // Something went: the plan had targets and kept tags to send the child.
      expect((on.json.manifestsDeleted as unknown[]).length).toBeGreaterThan(0);
      const same = (json: Record<string, unknown>) =>
        withoutTimes({ ...json, prefetched: undefined, root: undefined, v2: undefined, apply: undefined, trash: undefined });
      expect(same(on.json)).toEqual(same(off.json));
      expect(listContents(on.root)).toEqual(listContents(off.root));
    }
  });

  it('changes nothing ls or verify finds, with or without it', () => {
    expect((expectSameWithAndWithout('ls', ['ls']).repositories as unknown[]).length).toBeGreaterThan(0);
    expect(Number(expectSameWithAndWithout('verify', ['verify']).tagsOk)).toBeGreaterThan(0);
  });

  it('a symlinked revisions/ is still refused, and nothing outside the root is read into a decision', () => {
    const root = copyTree(FIXTURE, path.join(work, 'symlink'));
    const revisions = path.join(v2Of(root), 'repositories/library/nginx/_manifests/revisions');
    const outside = path.join(work, 'outside');
    fs.renameSync(revisions, outside);
    fs.symlinkSync(outside, revisions);
    const before = snapshot(outside);
    const run = runJanitor(['gc', '-m', '--prefetch', '32', '--root', root]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/symbolic link inside the registry tree/);
    expect(snapshot(outside)).toEqual(before);
  });

  it('by default (auto) starts no child on a tree whose metadata is cached: the probe finds it warm', () => {
    const root = copyTree(FIXTURE, path.join(work, 'warm'));
    ageTree(root);
    runJanitor(['gc', '-d', '--json', '--prefetch', '0', '--root', root]); // reads it all into the cache
    for (const args of [[], ['--prefetch', 'auto']]) {
      const run = runJanitor(['gc', '-m', '-d', '--json', ...args, '--root', root]);
      expect(run.status).toBe(0);
      expect(run.json.prefetched, args.join(' ')).toBe(false);
    }
  });

  it('takes auto or a whole number from 0 to 256', () => {
    for (const bad of ['-1', '1.5', 'many', '257', 'AUTO', '']) {
      const run = runJanitor(['gc', '-d', '--prefetch', bad, '--root', work]);
      expect(run.status, bad).toBe(2);
      expect(run.stderr).toMatch(/--prefetch takes auto or a whole number from 0 to 256/);
    }
  });
});
