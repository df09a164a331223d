// The cold-cache prefetcher (scan/prefetch.ts): it decides nothing, so a run
// with it finds exactly what a run without it finds, and it refuses what
// the scan refuses.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/registry.js';
import { ageTree, copyTree, runJanitor, snapshot, v2Of } from '../support/tree-files.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/example');
const work = makeTempDir('prefetch');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const withoutTimes = (json: Record<string, unknown>): Record<string, unknown> => ({
  ...json,
  phasesMs: undefined,
  startedAt: undefined,
  finishedAt: undefined,
});

describe('--prefetch', () => {
  it('changes nothing the run finds, with or without it, for gc -d and gc -m -d', () => {
    const root = copyTree(FIXTURE, path.join(work, 'same'));
    ageTree(root);
    for (const mode of [['-d'], ['-m', '-d']]) {
      const off = runJanitor(['gc', ...mode, '--json', '--prefetch', '0', '--root', root]);
      const on = runJanitor(['gc', ...mode, '--json', '--prefetch', '64', '--root', root]);
      expect(off.status).toBe(0);
      expect(on.status).toBe(0);
      expect(off.json.prefetched).toBe(false);
      expect(on.json.prefetched).toBe(true);
      expect(withoutTimes({ ...on.json, prefetched: undefined })).toEqual(withoutTimes({ ...off.json, prefetched: undefined }));
    }
  });

  it('changes nothing ls finds, with or without it', () => {
    const root = copyTree(FIXTURE, path.join(work, 'ls'));
    ageTree(root);
    const off = runJanitor(['ls', '--json', '--prefetch', '0', '--root', root]);
    const on = runJanitor(['ls', '--json', '--prefetch', '64', '--root', root]);
    expect(off.status).toBe(0);
    expect(on.status).toBe(0);
    expect(off.json.prefetched).toBe(false);
    expect(on.json.prefetched).toBe(true);
    expect((on.json.repositories as unknown[]).length).toBeGreaterThan(0);
    expect(withoutTimes({ ...on.json, prefetched: undefined })).toEqual(withoutTimes({ ...off.json, prefetched: undefined }));
  });

  it('changes nothing verify finds, with or without it', () => {
    const root = copyTree(FIXTURE, path.join(work, 'verify'));
    ageTree(root);
    const off = runJanitor(['verify', '--json', '--prefetch', '0', '--root', root]);
    const on = runJanitor(['verify', '--json', '--prefetch', '64', '--root', root]);
    expect(on.status).toBe(off.status);
    expect(off.json.prefetched).toBe(false);
    expect(on.json.prefetched).toBe(true);
    expect(Number(on.json.tagsOk)).toBeGreaterThan(0);
    // verify's JSON also times its phases by name.
    expect(withoutTimes({ ...on.json, prefetched: undefined, phases: undefined })).toEqual(
      withoutTimes({ ...off.json, prefetched: undefined, phases: undefined }),
    );
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
