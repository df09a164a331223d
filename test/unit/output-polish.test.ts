// Output polish: only the repositories where something changes get a row
// (--verbose: all); counts with their noun in the singular for 1; when to
// colour (FORCE_COLOR, NO_COLOR, TERM=dumb, a terminal), through the real
// process entry too; the bash completion script, run by bash itself.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { colorWanted } from '../../src/report/paint.js';
import { completeInBash } from '../support/bash-completion.js';
import { ROOT } from '../support/memfs-tree.js';
import { sampleTree } from '../support/sample-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { BIN } from '../support/tree-files.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/example');
const ESC = '\x1b[';

describe('the human report', () => {
  const rows = (stdout: string): string[] => [...stdout.matchAll(/^ {2}(team\/\w+) +\d+/gm)].map((m) => m[1] ?? '');

  it('has a row only for the repositories where something changes; --verbose lists every one', async () => {
    const run = await runCliOn(sampleTree().fs, ['gc', '-m', '-d', '--root', ROOT]);
    expect(run.code, run.stderr).toBe(0);
    expect(rows(run.stdout)).toEqual(['team/app']);
    expect(run.stdout).toContain('1 repository where nothing changes not shown (--verbose lists them)');
    const verbose = await runCliOn(sampleTree().fs, ['gc', '-m', '-d', '--root', ROOT, '--verbose']);
    expect(rows(verbose.stdout).sort()).toEqual(['team/app', 'team/web']);
    expect(verbose.stdout).not.toMatch(/where nothing changes/);
    const nothing = await runCliOn(sampleTree().fs, ['gc', '-d', '--root', ROOT, '--skip-repo', 'team/*']);
    expect(rows(nothing.stdout)).toEqual([]);
  });

  it('says 1 tag, 1 layer link, 1 repository (the reference summary line keeps its own shape)', async () => {
    const prune = await runCliOn(sampleTree().fs, ['prune', '-d', '--root', ROOT, 'team/web:v1']);
    expect(prune.stdout).toMatch(/^1 tag would be removed$/m);
    expect(prune.stdout).toMatch(/^\d+ blobs marked, \d+ blobs and \d+ manifests eligible for deletion$/m);
    const tags = await runCliOn(sampleTree().fs, ['tags', 'rm', '-d', '--root', ROOT, 'team/web:v1']);
    expect(tags.stdout).toMatch(/^1 tag would be removed;/m);
    const ls = await runCliOn(sampleTree().fs, ['ls', '--root', ROOT]);
    expect(ls.stdout).toContain('team/web  (1 tag, 0 untagged revisions,');
    expect(ls.stdout).toMatch(/^2 repositories, 2 tags, /m);
    const verify = await runCliOn(sampleTree().fs, ['verify', '--root', ROOT]);
    expect(verify.stdout).toMatch(/^2 tags would pull, 0 would not \(2 repositories, 0 findings, /m);
  });
});

describe('colour', () => {
  it.each([
    [{}, true, true],
    [{}, false, false],
    [{ NO_COLOR: '1' }, true, false],
    [{ NO_COLOR: '' }, true, true], // no-color.org: an empty NO_COLOR is unset
    [{ TERM: 'dumb' }, true, false],
    [{ NODE_DISABLE_COLORS: '1' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '' }, false, true],
    [{ FORCE_COLOR: 'true' }, false, true],
    [{ FORCE_COLOR: '3', NO_COLOR: '1', TERM: 'dumb' }, false, true],
    [{ FORCE_COLOR: '0' }, true, false],
    [{ FORCE_COLOR: 'false' }, true, false],
  ])('%j, stdout a terminal: %s -> %s', (env, tty, wanted) => {
    expect(colorWanted(env, tty)).toBe(wanted);
  });

  it('the process entry honours FORCE_COLOR on a pipe, and FORCE_COLOR=0 / NO_COLOR', () => {
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, [BIN, 'gc', '-d', '--grace', '0s', '--root', FIXTURE], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout;
    const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'FORCE_COLOR' && key !== 'NO_COLOR'));
    expect(run({ ...base, FORCE_COLOR: '1' })).toContain(ESC);
    expect(run({ ...base, FORCE_COLOR: '0' })).not.toContain(ESC);
    expect(spawnSync(process.execPath, [BIN, 'gc', '-d', '--grace', '0s', '--root', FIXTURE], { encoding: 'utf8', env: base }).stdout).not.toContain(ESC);
  });
});

describe('registry-janitor completion', () => {
  async function script(shell: string): Promise<string> {
    const run = await runCliOn(sampleTree().fs, ['completion', shell]);
    expect(run.code, run.stderr).toBe(0);
    return run.stdout;
  }

  it('bash: commands, each command its own flags (garbage-collect: the reference flags), directories for --root', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rj-completion-')), 'registry-janitor.bash');
    fs.writeFileSync(file, await script('bash'));
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    const complete = (line: string): string[] => completeInBash(file, line);
    expect(complete('registry-janitor g').sort()).toEqual(['garbage-collect', 'gc']);
    expect(complete('registry-janitor gc --dr')).toEqual(['--dry-run']);
    expect(complete('registry-janitor garbage-collect -').sort()).toEqual(['--delete-untagged', '--dry-run', '--help', '--quiet', '-d', '-m', '-q']);
    expect(complete('registry-janitor tags rm --keep-l')).toEqual(['--keep-latest']);
    expect(complete('registry-janitor completion ').sort()).toEqual(['bash', 'zsh']);
    expect(complete(`registry-janitor gc --root ${path.dirname(FIXTURE)}/ex`)).toEqual([FIXTURE]);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('zsh loads the same function through bashcompinit; another shell is a usage error', async () => {
    const zsh = await script('zsh');
    expect(zsh).toMatch(/bashcompinit/);
    expect(zsh).toContain(await script('bash'));
    const fish = await runCliOn(sampleTree().fs, ['completion', 'fish']);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toMatch(/bash or zsh, not "fish"/);
  });
});
