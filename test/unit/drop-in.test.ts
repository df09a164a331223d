// The `garbage-collect` drop-in on memfs: the reference's flags in every
// spelling Go's flag parser takes, its summary line as the last line of
// stdout, --help listing exactly its flags; --version; and the JSON a
// failed --json run prints.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeDropInArgs } from '../../src/cli/drop-in.js';
import { type MemFs, ROOT, V2, exists } from '../support/memfs-tree.js';
import { sampleTree } from '../support/sample-tree.js';
import { runCliOn } from '../support/run-cli.js';

const CONFIG = '/etc/docker/registry/config.yml';
const SUMMARY = /^(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion$/;
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function withConfig() {
  const tree = sampleTree();
  tree.fs.mkdirSync('/etc/docker/registry', { recursive: true });
  tree.fs.writeFileSync(CONFIG, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${ROOT}\n`);
  return tree;
}

const orphanLeft = (fs: MemFs, digest: string): boolean => exists(fs, `${V2}/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`);
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

describe('garbage-collect drop-in', () => {
  it('reads the three booleans as pflag does: =VALUE, combined letters, last one wins, nothing after --', () => {
    expect(normalizeDropInArgs(['--delete-untagged=true', 'c.yml'])).toEqual(['--delete-untagged', 'c.yml']);
    expect(normalizeDropInArgs(['--delete-untagged=false', 'c.yml'])).toEqual(['c.yml']);
    expect(normalizeDropInArgs(['-d=true', '-m=1', '-q=T', 'c.yml'])).toEqual(['--dry-run', '--delete-untagged', '--quiet', 'c.yml']);
    expect(normalizeDropInArgs(['c.yml', '-dm'])).toEqual(['--dry-run', '--delete-untagged', 'c.yml']);
    expect(normalizeDropInArgs(['-d', '--dry-run=False', 'c.yml'])).toEqual(['c.yml']);
    expect(normalizeDropInArgs(['--dry-run=f', '-d', 'c.yml'])).toEqual(['--dry-run', 'c.yml']);
    expect(normalizeDropInArgs(['--json', '-j', '4', '--', '-d'])).toEqual(['--json', '-j', '4', '--', '-d']);
    // a value with a newline or an empty one is no boolean
    expect(() => normalizeDropInArgs(['--dry-run=yes'])).toThrow(/invalid argument "yes" for "-d, --dry-run" flag/);
    expect(() => normalizeDropInArgs(['-m='])).toThrow(/invalid argument "" for "-m, --delete-untagged" flag/);
    expect(() => normalizeDropInArgs(['--quiet=true\n'])).toThrow(/--quiet/);
  });

  it.each([
    [['-m', CONFIG], false],
    [['--delete-untagged=true', CONFIG], false],
    [[CONFIG, '--delete-untagged'], false],
    [['-dm', CONFIG], true],
    [['-d=true', '--delete-untagged=True', CONFIG], true],
    [[CONFIG, '--dry-run=1', '-m'], true],
  ])('%j: stdout ends with the reference summary; the report is on stderr', async (flags, dryRun) => {
    const { fs, sample } = withConfig();
    const run = await runCliOn(fs, ['garbage-collect', ...flags]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    const summary = SUMMARY.exec(lastLine(run.stdout));
    expect(summary?.[3]).toBe('1'); // -m: the untagged image
    expect(run.stderr).toMatch(/registry-janitor garbage-collect \((dry|real) run, deleting untagged manifests \(-m\)\)/);
    expect(orphanLeft(fs, sample.orphan)).toBe(dryRun);
  });

  it('--delete-untagged=false deletes no manifest; -q prints nothing and still sweeps', async () => {
    const off = await runCliOn(withConfig().fs, ['garbage-collect', '--delete-untagged=false', '-d', CONFIG]);
    expect(SUMMARY.exec(lastLine(off.stdout))?.[3]).toBe('0');
    const { fs, sample } = withConfig();
    const quiet = await runCliOn(fs, ['garbage-collect', '-q', CONFIG]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout + quiet.stderr).toBe('');
    expect(orphanLeft(fs, sample.orphan)).toBe(false);
  });

  it('takes REGISTRY_CONFIGURATION_PATH without a positional, as the reference does', async () => {
    const run = await runCliOn(withConfig().fs, ['garbage-collect', '-d'], { env: { REGISTRY_CONFIGURATION_PATH: CONFIG } });
    expect(run.code, run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toMatch(SUMMARY);
    const none = await runCliOn(withConfig().fs, ['garbage-collect', '-d']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/configuration path unspecified/);
  });

  it('--help lists exactly the reference flags (and -h)', async () => {
    const run = await runCliOn(withConfig().fs, ['garbage-collect', '--help']);
    expect(run.code).toBe(0);
    const flags = [...run.stdout.matchAll(/^ {2}(-\w, )?(--[\w-]+)/gm)].map((m) => m[2]);
    expect(flags.sort()).toEqual(['--delete-untagged', '--dry-run', '--help', '--quiet']);
  });

  it('bad spellings are usage errors (exit 2) that delete nothing', async () => {
    for (const flags of [['--dry-run=yes'], ['-d=maybe'], ['--root', ROOT], ['-x'], [CONFIG]]) {
      const { fs, sample } = withConfig();
      const run = await runCliOn(fs, ['garbage-collect', ...flags, CONFIG]);
      expect(run.code, flags.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(orphanLeft(fs, sample.orphan)).toBe(true);
    }
  });
});

describe('--version and the JSON stamp', () => {
  it('--version prints the package version, exit 0', async () => {
    const run = await runCliOn(sampleTree().fs, ['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('every JSON report carries the version and when the run started and finished', async () => {
    for (const args of [['gc', '-d'], ['ls'], ['verify'], ['tags', 'rm', '-d', 'team/web:v1']]) {
      const run = await runCliOn(sampleTree().fs, [...args, '--root', ROOT, '--json']);
      expect(run.json, args.join(' ')).toMatchObject({ version: VERSION, startedAt: expect.any(String), finishedAt: expect.any(String) });
      expect(Date.parse(run.json.finishedAt)).toBeGreaterThanOrEqual(Date.parse(run.json.startedAt));
    }
  });

  it('a --json run that fails prints one JSON object: ok false, the error code, message and path', async () => {
    const missing = await runCliOn(sampleTree().fs, ['gc', '--json', '--root', '/nowhere']);
    expect(missing.code).toBe(1);
    expect(missing.json).toMatchObject({ ok: false, error: { code: 'E_NOT_REGISTRY', path: '/nowhere', message: expect.stringMatching(/does not exist/) } });
    const usage = await runCliOn(sampleTree().fs, ['gc', '--json', '--list', '0', '--root', ROOT]);
    expect(usage.code).toBe(2);
    expect(usage.json).toMatchObject({ ok: false, error: { code: 'E_USAGE', path: null }, version: VERSION });
    const unknown = await runCliOn(sampleTree().fs, ['prune', '--json', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.json).toMatchObject({ ok: false, error: { code: 'E_USAGE', message: "unknown option '--bogus'" } });
    // without --json, stdout stays empty
    expect((await runCliOn(sampleTree().fs, ['gc', '--root', '/nowhere'])).stdout).toBe('');
  });
});
