// The CLI on memfs: exit codes, output shapes, usage errors. Nothing is
// deleted by a run that ends in an error.
import { describe, expect, it } from 'vitest';
import { ROOT, V2 } from '../support/memfs-tree.js';
import { sampleTree } from '../support/sample-tree.js';
import { runCliOn } from '../support/run-cli.js';

const cli = (args: string[], fs = sampleTree().fs, env: NodeJS.ProcessEnv = {}) => runCliOn(fs, args, { env });

describe('cli', () => {
  it('gc --json prints exactly one JSON object with the documented fields', async () => {
    const { fs, sample } = sampleTree();
    const run = await cli(['gc', '--root', ROOT, '-m', '-d', '--json'], fs);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const json = JSON.parse(run.stdout);
    expect(json).toMatchObject({
      dryRun: true,
      root: ROOT,
      blobsMarked: expect.any(Number),
      blobsDeleted: expect.arrayContaining([sample.orphan]),
      manifestsDeleted: [{ repository: 'team/app', digest: sample.untagged.digest }],
      layerLinksDeleted: expect.any(Array),
      bytesFreed: expect.any(Number),
      warnings: [],
    });
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('accepts the v2 directory itself as --root', async () => {
    const run = await cli(['gc', '--root', V2, '-d', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).v2).toBe(V2);
  });

  it('human output has the reference counts line, phases and bytes', async () => {
    const run = await cli(['gc', '--root', ROOT, '-m', '-d']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\d+ blobs marked, \d+ blobs and 1 manifests eligible for deletion/);
    expect(run.stdout).toMatch(/would be freed/);
    expect(run.stdout).toMatch(/team\/app/);
    expect(run.stderr).toMatch(/phase mark done/);
  });

  it('usage errors exit 2 with one line and no stack', async () => {
    for (const args of [
      ['gc', '--concurrency', 'many'],
      ['gc', '--bogus'],
      ['gc', '--root', ROOT, '--config', '/x.yml'],
      ['frobnicate'],
      [],
      ['tags'],
      ['ls', '--sort', 'weight'],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('--prefetch: on the commands that list the tree, refused by tags rm (it reads only tags and would start nothing)', async () => {
    for (const command of [['gc'], ['prune'], ['apply'], ['ls'], ['verify']]) {
      expect((await cli([...command, '--help'])).stdout, command.join(' ')).toContain('--prefetch');
    }
    // the drop-in's help shows only the reference's flags; it takes gc's others all the same
    const dropIn = await cli(['garbage-collect', '--prefetch', '0', '--json', '/nowhere/config.yml']);
    expect(dropIn.json).toMatchObject({ ok: false });
    expect(dropIn.stderr + dropIn.stdout).not.toContain("unknown option '--prefetch'");
    for (const command of [['tags', 'rm'], ['untag']]) {
      expect((await cli([...command, '--help'])).stdout, command.join(' ')).not.toContain('--prefetch');
      const run = await cli([...command, 'library/alpine:3.18', '--prefetch', '0', '--json', '--root', ROOT]);
      expect(run.code, command.join(' ')).toBe(2);
      expect(run.json).toMatchObject({ ok: false, error: { code: 'E_USAGE', message: "unknown option '--prefetch'" } });
    }
    // gc still runs with it (0: never; the memfs tree has no real files to warm)
    expect((await cli(['gc', '-d', '--prefetch', '0', '--json', '--root', ROOT])).code).toBe(0);
  });

  it('--help exits 0', async () => {
    expect((await cli(['--help'])).code).toBe(0);
    expect((await cli(['tags', 'rm', '--help'])).code).toBe(0);
  });

  it('a root that is not a registry tree exits 1 with a clear error', async () => {
    const { fs } = sampleTree();
    fs.mkdirSync('/home/user/docs', { recursive: true });
    fs.writeFileSync('/home/user/docs/notes.txt', 'x');
    const run = await cli(['gc', '--root', '/home/user/docs'], fs);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'registry-janitor: error: /home/user/docs is not a registry storage tree: expected docker/registry/v2 inside it, or a v2 directory holding blobs/ and repositories/\n',
    );
    expect((await cli(['gc', '--root', '/nowhere'], fs)).stderr).toMatch(/cannot use \/nowhere as the registry root: it does not exist/);
  });

  it('an empty, brand-new root is nothing to do', async () => {
    const { fs } = sampleTree();
    fs.mkdirSync('/fresh', { recursive: true });
    const run = await cli(['gc', '--root', '/fresh', '--json'], fs);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ blobsDeleted: [], manifestsDeleted: [], v2: null });
    fs.mkdirSync('/fresh2/docker/registry/v2', { recursive: true });
    expect((await cli(['gc', '--root', '/fresh2', '--json'], fs)).code).toBe(0);
  });

  it('garbage-collect takes the config file like the registry does', async () => {
    const run = await cli(['garbage-collect', '-d', '/etc/registry/missing.yml']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read registry config \/etc\/registry\/missing.yml: ENOENT/);
    expect((await cli(['garbage-collect'])).code).toBe(2);
  });
});
