// Warnings are typed values: each carries a code (and the repository or path
// it is about), every command reports the same ones the same way, the JSON
// gives them as objects and the human renderer decides how loud each is.
import { Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/storage/file-system.js';
import { ROOT, V2 } from '../support/memfs-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { sampleTree } from '../support/sample-tree.js';

describe('typed warnings', () => {
  it('an empty root is the same warning for gc, prune, tags rm and ls, and nothing else happens', async () => {
    const vol = new Volume();
    vol.mkdirSync(ROOT, { recursive: true });
    const fs = vol as unknown as FileSystem;
    for (const args of [['gc', '-d'], ['gc'], ['prune', '--tag', '.*', '-d'], ['tags', 'rm', '--tag', '.*', '-d'], ['ls']]) {
      const run = await runCliOn(fs, [...args, '--root', ROOT, '--json']);
      expect(run.code, args.join(' ')).toBe(0);
      expect(run.json.warnings, args.join(' ')).toEqual([{ code: 'W_EMPTY_ROOT', message: `${ROOT} holds no registry data yet: nothing to do`, path: ROOT }]);
      const human = await runCliOn(fs, [...args, '--root', ROOT]);
      expect(human.stdout, args.join(' ')).toContain('holds no registry data yet');
    }
    // Nothing was created by any of those runs (no lock, no journal).
    expect(vol.readdirSync(ROOT)).toEqual([]);
  });

  it('a selection that removes every tag of a repository is W_ALL_TAGS_REMOVED, rendered first and loud', async () => {
    const { fs } = sampleTree();
    const run = await runCliOn(fs, ['prune', 'team/web:v1', '--root', ROOT, '-d', '--json']);
    expect(run.code).toBe(0);
    const loud = run.json.warnings.filter((w: { code: string }) => w.code === 'W_ALL_TAGS_REMOVED');
    expect(loud).toEqual([
      { code: 'W_ALL_TAGS_REMOVED', repository: 'team/web', message: 'ALL 1 tags of team/web are removed: nothing in it will be pullable by tag' },
    ]);
    fs.writeFileSync(`${V2}/repositories/stray-file`, 'x');
    const human = await runCliOn(fs, ['tags', 'rm', 'team/web:v1', '--root', ROOT, '-d']);
    expect(human.code).toBe(0);
    const lines = human.stdout.split('\n');
    const alarm = lines.findIndex((l) => l.startsWith('!!! ALL 1 tags of team/web'));
    const others = lines.findIndex((l) => /^warnings \(\d+\):$/.test(l));
    expect(alarm).toBeGreaterThan(-1);
    // The stray file is an ordinary warning, listed after the loud one.
    expect(others).toBeGreaterThan(alarm);
    expect(human.stdout).toContain(`  ignoring stray file ${V2}/repositories/stray-file`);
  });

  it('every warning in the JSON has a W_ code and a message; scan warnings name their repository', async () => {
    const { fs } = sampleTree();
    fs.mkdirSync(`${V2}/repositories/team/app/_manifests/tags/half`, { recursive: true });
    fs.writeFileSync(`${V2}/repositories/stray-file`, 'x');
    const run = await runCliOn(fs, ['gc', '--root', ROOT, '-d', '--json']);
    expect(run.code).toBe(0);
    for (const w of run.json.warnings) {
      expect(w.code).toMatch(/^W_[A-Z_]+$/);
      expect(typeof w.message).toBe('string');
    }
    const codes = run.json.warnings.map((w: { code: string }) => w.code).sort();
    expect(codes).toEqual(['W_STRAY_FILE', 'W_TAG_WITHOUT_CURRENT']);
    expect(run.json.warnings.find((w: { code: string }) => w.code === 'W_TAG_WITHOUT_CURRENT').repository).toBe('team/app');
    expect(run.json.warnings.find((w: { code: string }) => w.code === 'W_STRAY_FILE').path).toBe(`${V2}/repositories/stray-file`);
  });
});
