// Output polish: when to colour (FORCE_COLOR, NO_COLOR, TERM=dumb, a
// terminal), through the real process entry too; the bash completion
// script, run by bash itself.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { colorWanted } from '../../src/report/paint.js';
import { sampleTree } from '../support/sample-tree.js';
import { runCliOn } from '../support/run-cli.js';
import { BIN } from '../support/tree-files.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/example');
const ESC = '\x1b[';

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

  /** What bash completes for `line` (the cursor at its end). */
  function complete(file: string, line: string): string[] {
    const words = line.split(' ');
    const program = [
      `source ${file}`,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
      `COMP_CWORD=${words.length - 1}`,
      '_registry_janitor',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const run = spawnSync('bash', ['-c', program], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return run.stdout.split('\n').filter(Boolean);
  }

  it('bash: commands, each command its own flags (garbage-collect: the reference flags), directories for --root', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rj-completion-')), 'registry-janitor.bash');
    fs.writeFileSync(file, await script('bash'));
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    expect(complete(file, 'registry-janitor g').sort()).toEqual(['garbage-collect', 'gc']);
    expect(complete(file, 'registry-janitor gc --dr')).toEqual(['--dry-run']);
    expect(complete(file, 'registry-janitor garbage-collect -').sort()).toEqual(['--delete-untagged', '--dry-run', '--help', '--quiet', '-d', '-m', '-q']);
    expect(complete(file, 'registry-janitor tags rm --keep-l')).toEqual(['--keep-latest']);
    expect(complete(file, 'registry-janitor completion ').sort()).toEqual(['bash', 'zsh']);
    expect(complete(file, `registry-janitor gc --root ${path.dirname(FIXTURE)}/ex`)).toEqual([FIXTURE]);
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
