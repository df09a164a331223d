// The CLI on real temporary directories (no registry needed): what only a
// real filesystem shows, and the bundled fixture.
import fs from 'node:fs';
import path from 'node:path';
import { Volume } from 'memfs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeExample } from '../../tools/fixtures/example-fixture.js';
import type { WritableFileSystem } from '../support/tree-builder.js';
import { listFiles } from '../support/memfs-tree.js';
import { makeTempDir } from '../support/registry.js';
import { ageTree, copyTree, runJanitor, snapshot, v2Of, withoutTimes } from '../support/tree-files.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/example');
const work = makeTempDir('realfs');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
let n = 0;
const fixtureCopy = (): string => {
  const copy = copyTree(FIXTURE, path.join(work, `copy${n++}`));
  ageTree(copy); // a checkout is minutes old: older than the grace window, as a real registry's tree
  return copy;
};

describe('on a real filesystem', () => {
  it('the committed example fixture is exactly what its generator writes', () => {
    const vol = new Volume();
    const mem = vol as unknown as WritableFileSystem;
    writeExample(mem, '/x');
    const generated = listFiles(mem, '/x');
    const onDisk: string[] = [];
    const walk = (dir: string, rel: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(dir, e.name), r);
        else onDisk.push(r);
      }
    };
    walk(FIXTURE, '');
    expect(onDisk.sort()).toEqual(generated);
    for (const file of generated) {
      expect(fs.readFileSync(path.join(FIXTURE, file)).equals(Buffer.from(vol.readFileSync(`/x/${file}`) as Uint8Array)), file).toBe(true);
    }
  });

  it('a link file that is itself a symlink is refused (O_NOFOLLOW) and nothing is deleted', () => {
    const root = fixtureCopy();
    const tags = path.join(v2Of(root), 'repositories/library/nginx/_manifests/tags/latest/current');
    const outside = path.join(work, 'outside-link');
    fs.copyFileSync(path.join(tags, 'link'), outside);
    fs.rmSync(path.join(tags, 'link'));
    fs.symlinkSync(outside, path.join(tags, 'link'));
    const before = snapshot(root);
    const run = runJanitor(['gc', '-m', '--root', root]);
    expect(run.status).toBe(1);
    expect(run.stderr.trimEnd().split('\n').pop()).toBe(
      `registry-janitor: error: symbolic link inside the registry tree: ${path.join(fs.realpathSync(tags), 'link')}`,
    );
    expect(snapshot(root)).toEqual(before);
  });

  const escapes: [string, string, string[]][] = [
    ['v2/blobs', 'docker/registry/v2/blobs', ['gc']],
    ['v2/repositories', 'docker/registry/v2/repositories', ['gc', '-m']],
    ['_manifests/revisions', 'docker/registry/v2/repositories/library/nginx/_manifests/revisions', ['gc', '-m']],
    ['_manifests/tags', 'docker/registry/v2/repositories/library/nginx/_manifests/tags', ['tags', 'rm', 'library/nginx:1.25']],
  ];
  for (const [label, relative, command] of escapes) {
    it(`a symlinked ${label} is refused and nothing outside the root is deleted (${command.join(' ')})`, () => {
      const root = fixtureCopy();
      const outside = path.join(work, `outside${n}`);
      fs.renameSync(path.join(root, relative), outside);
      fs.symlinkSync(outside, path.join(root, relative));
      const before = snapshot(outside);
      const run = runJanitor([...command, '--root', root]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/symbolic link inside the registry tree/);
      expect(snapshot(outside)).toEqual(before);
    });
  }

  // The layer links are first listed in the plan, on the calling thread while
  // the other threads vet the blobs: a failure there must stop the run the
  // same way at any -j, with the workers' jobs still in flight.
  for (const threads of ['1', '2', '3']) {
    it(`a symlink among a repository's layer links stops gc -m -j ${threads} before anything is deleted`, () => {
      const root = fixtureCopy();
      const layers = path.join(v2Of(root), 'repositories/library/nginx/_layers/sha256');
      const outside = path.join(work, `outside-layer${n}`);
      fs.mkdirSync(outside);
      fs.writeFileSync(path.join(outside, 'link'), `sha256:${'a'.repeat(64)}`);
      const planted = path.join(layers, 'b'.repeat(64));
      fs.symlinkSync(outside, planted);
      const before = snapshot(root);
      const run = runJanitor(['gc', '-m', '-j', threads, '--grace', '0s', '--root', root]);
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr.trimEnd().split('\n').pop()).toBe(
        `registry-janitor: error: symbolic link inside the registry tree: ${fs.realpathSync(layers)}/${'b'.repeat(64)}`,
      );
      expect(run.stderr).not.toMatch(/phase plan done/);
      expect(snapshot(root)).toEqual(before);
      expect(fs.readdirSync(outside)).toEqual(['link']);
    });
  }

  it('a root that is itself a symlink is resolved once and swept', () => {
    const root = fixtureCopy();
    const alias = path.join(work, 'alias');
    fs.symlinkSync(root, alias);
    const run = runJanitor(['gc', '--root', alias, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.json.root).toBe(fs.realpathSync(root));
    expect(run.json.blobsDeleted).toHaveLength(2);
  });

  it('-j 1 and -j 3 find exactly the same things', () => {
    const root = fixtureCopy();
    const untimed = (args: string[]) => withoutTimes(runJanitor(args).json as Record<string, unknown>);
    const one = untimed(['gc', '-m', '-d', '-j', '1', '--root', root, '--json']);
    const three = untimed(['gc', '-m', '-d', '-j', '3', '--root', root, '--json']);
    expect(three).toEqual(one);
    expect((one.manifestsDeleted as unknown[]).length).toBeGreaterThan(0);
  });

  it('garbage-collect reads the root from the config file, and the environment overrides it', () => {
    const root = fixtureCopy();
    const config = path.join(work, 'config.yml');
    fs.writeFileSync(config, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n  delete:\n    enabled: true\n`);
    const run = runJanitor(['garbage-collect', '-d', '-m', config]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/17 blobs marked, 12 blobs and 4 manifests eligible for deletion/);
    const viaEnv = runJanitor(['garbage-collect', '-d', '--json', config], {
      ...process.env,
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: path.join(work, 'nowhere'),
    });
    expect(viaEnv.status).toBe(1);
    expect(viaEnv.stderr).toMatch(/nowhere as the registry root: it does not exist/);
    fs.writeFileSync(config, 'version: 0.1\nstorage:\n  s3:\n    bucket: x\n');
    const s3 = runJanitor(['garbage-collect', config]);
    expect(s3.status).toBe(1);
    expect(s3.stderr).toMatch(/uses the s3 storage driver; only filesystem is supported/);
  });

  it('the README dry run on the fixture (--grace 0s: a checkout is minutes old) changes nothing and reports what -m would reclaim', () => {
    const before = snapshot(FIXTURE);
    const run = runJanitor(['gc', '--dry-run', '--delete-untagged', '--grace', '0s', '--root', FIXTURE]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/12 blobs and 4 manifests eligible for deletion/);
    expect(run.stdout).toMatch(/KiB would be freed/);
    expect(snapshot(FIXTURE)).toEqual(before);
  });
});
