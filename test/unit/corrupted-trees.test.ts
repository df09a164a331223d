// Damaged trees: each run fails closed with one typed error naming the file,
// and a real (not dry) run leaves every file where it was.
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/model/digest.js';
import { JanitorError } from '../../src/errors.js';
import { runGc } from '../../src/commands/gc/index.js';
import { listDeletions } from '../support/gc-deletions.js';
import type { WritableFileSystem } from '../support/tree-builder.js';
import { ROOT } from '../support/memfs-tree.js';
import { sampleTree } from '../support/sample-tree.js';
import { runCliOn } from '../support/run-cli.js';

async function expectFailsClosed(fs: WritableFileSystem, files: () => string[], code: string, names: string, deleteUntagged = true): Promise<void> {
  const before = files();
  const error = await runGc(fs, ROOT, { dryRun: false, deleteUntagged }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JanitorError);
  expect((error as JanitorError).code).toBe(code);
  expect((error as JanitorError).message).toContain(names);
  expect((error as JanitorError).message).not.toContain('\n');
  expect(files()).toEqual(before);
}

describe('a damaged tree fails closed and deletes nothing', () => {
  it('an empty revision link', async () => {
    const { fs, tree, files, sample } = sampleTree();
    tree.write({ kind: 'revisionLink', name: 'team/app', digest: sample.amd.digest }, '');
    await expectFailsClosed(fs, files, 'E_BAD_LINK', `team/app/_manifests/revisions/sha256/${sample.amd.digest.slice(7)}/link`);
  });

  it('a revision link holding garbage', async () => {
    const { fs, tree, files, sample } = sampleTree();
    tree.write({ kind: 'revisionLink', name: 'team/web', digest: sample.web.digest }, 'sha256:nothex');
    await expectFailsClosed(fs, files, 'E_BAD_LINK', 'team/web/_manifests/revisions');
  });

  it('a revision link naming another digest than its path', async () => {
    const { fs, tree, files, sample } = sampleTree();
    tree.write({ kind: 'revisionLink', name: 'team/app', digest: sample.arm.digest }, sample.amd.digest);
    await expectFailsClosed(fs, files, 'E_LINK_MISMATCH', sample.arm.digest.slice(7));
  });

  it('a tag current link holding garbage', async () => {
    const { fs, tree, files } = sampleTree();
    tree.write({ kind: 'tagCurrentLink', name: 'team/web', tag: 'v1' }, 'latest\n');
    await expectFailsClosed(fs, files, 'E_BAD_LINK', 'team/web/_manifests/tags/v1/current/link');
  });

  it('an unparsable manifest that a tag names', async () => {
    const { fs, tree, files } = sampleTree();
    const bad = tree.pushManifest('team/web', '{"schemaVersion": 2, "mediaType": ', 'x');
    tree.tag('team/web', 'broken', bad.digest);
    await expectFailsClosed(fs, files, 'E_BAD_MANIFEST', `blobs/sha256/${bad.digest.slice(7, 9)}/${bad.digest.slice(7)}/data`);
  });

  it('an unparsable manifest of an untagged revision (its referrers cannot be known)', async () => {
    const { fs, tree, files } = sampleTree();
    tree.pushManifest('team/web', 'not json', 'x');
    await expectFailsClosed(fs, files, 'E_BAD_MANIFEST', 'not valid JSON');
  });

  it('a manifest of an unknown media type', async () => {
    const { fs, tree, files } = sampleTree();
    const odd = tree.pushManifest('team/web', { schemaVersion: 2, mediaType: 'application/vnd.example.thing+json', config: {} }, 'x');
    tree.tag('team/web', 'odd', odd.digest);
    await expectFailsClosed(fs, files, 'E_UNKNOWN_MEDIA_TYPE', 'application/vnd.example.thing+json');
  });

  // The names an object inherits: a lookup in a plain object would answer
  // them with a function (taken for a kind, the config never read).
  for (const mediaType of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    it(`a manifest whose media type is ${JSON.stringify(mediaType)}`, async () => {
      const { fs, tree, files, sample } = sampleTree();
      const odd = tree.pushManifest('team/web', { schemaVersion: 2, mediaType, config: { digest: sample.orphan, size: 3 }, layers: [] }, 'x');
      tree.tag('team/web', 'odd', odd.digest);
      await expectFailsClosed(fs, files, 'E_UNKNOWN_MEDIA_TYPE', JSON.stringify(mediaType));
    });
  }

  it('a manifest whose layer descriptor has no digest', async () => {
    const { fs, tree, files, sample } = sampleTree();
    const bad = tree.pushManifest(
      'team/web',
      { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: { digest: sample.orphan }, layers: [{ size: 3 }] },
      'x',
    );
    tree.tag('team/web', 'bad', bad.digest);
    await expectFailsClosed(fs, files, 'E_BAD_MANIFEST', 'layers entry has no valid digest');
  });

  it('an invalid repository name', async () => {
    const { fs, tree, files } = sampleTree();
    tree.pushImage('Team/Upper', { layers: ['x'] });
    await expectFailsClosed(fs, files, 'E_BAD_NAME', 'Team/Upper');
  });

  it('an invalid tag directory name', async () => {
    const { fs, tree, files, sample } = sampleTree();
    fs.mkdirSync(`${tree.pathOf({ kind: 'tagsRoot', name: 'team/web' })}/.hidden/current`, { recursive: true });
    fs.writeFileSync(`${tree.pathOf({ kind: 'tagsRoot', name: 'team/web' })}/.hidden/current/link`, sample.web.digest);
    await expectFailsClosed(fs, files, 'E_BAD_NAME', '.hidden');
  });

  it('a symlink in repositories/', async () => {
    const { fs, tree, files } = sampleTree();
    fs.symlinkSync('/etc', `${tree.pathOf({ kind: 'repositoriesRoot' })}/team/escape`);
    await expectFailsClosed(fs, files, 'E_SYMLINK', 'repositories/team/escape');
  });

  it('a symlinked blob directory', async () => {
    const { fs, tree, files, sample } = sampleTree();
    const bucket = tree.pathOf({ kind: 'blobShard', algorithm: 'sha256', prefix: sample.orphan.slice(7, 9) });
    fs.symlinkSync('/tmp', `${bucket}/${sample.orphan.slice(7, 9)}${'0'.repeat(62)}`);
    await expectFailsClosed(fs, files, 'E_SYMLINK', bucket);
  });

  it('a stray file under blobs/', async () => {
    const { fs, tree, files } = sampleTree();
    fs.writeFileSync(`${tree.pathOf({ kind: 'blobAlgorithm', algorithm: 'sha256' })}/.DS_Store`, 'x');
    await expectFailsClosed(fs, files, 'E_STRAY', 'blobs/sha256/.DS_Store', false);
  });

  it('a revisions directory that is not a digest', async () => {
    const { fs, tree, files } = sampleTree();
    fs.mkdirSync(`${tree.pathOf({ kind: 'revisionsAlgorithm', name: 'team/web', algorithm: 'sha256' })}/abc`, { recursive: true });
    await expectFailsClosed(fs, files, 'E_STRAY', 'revisions/sha256/abc');
  });

  // Layer links are first listed in the plan (packed, without digest strings): what is no link there is stray too.
  const strayLinks: [string, string, (fs: WritableFileSystem, where: string) => void][] = [
    ['a layer link directory that is not a digest', 'a'.repeat(63), (fs, where) => fs.mkdirSync(where, { recursive: true })],
    ['a layer link directory in capitals', 'A'.repeat(64), (fs, where) => fs.mkdirSync(where, { recursive: true })],
    ['a file among the layer links', 'b'.repeat(64), (fs, where) => fs.writeFileSync(where, 'x')],
  ];
  for (const [label, name, plant] of strayLinks) {
    it(label, async () => {
      const { fs, tree, files } = sampleTree();
      plant(fs, `${tree.pathOf({ kind: 'layersAlgorithm', name: 'team/web', algorithm: 'sha256' })}/${name}`);
      await expectFailsClosed(fs, files, 'E_STRAY', `team/web/_layers/sha256/${name}`, false);
      await expectFailsClosed(fs, files, 'E_STRAY', `team/web/_layers/sha256/${name}`, true);
    });
  }

  it('blobs/ without repositories/ (half a registry: a volume not mounted)', async () => {
    const { fs, tree, files } = sampleTree();
    const repositories = tree.pathOf({ kind: 'repositoriesRoot' });
    fs.renameSync(repositories, `${repositories}.unmounted`);
    await expectFailsClosed(fs, files, 'E_NOT_REGISTRY', `${repositories} holds no repository, but blobs/ holds`);
  });

  it('blobs/ with an empty repositories/ (the bare mount point of a volume not mounted)', async () => {
    const { fs, tree, files } = sampleTree();
    const repositories = tree.pathOf({ kind: 'repositoriesRoot' });
    fs.renameSync(repositories, `${repositories}.unmounted`);
    fs.mkdirSync(repositories, { recursive: true });
    await expectFailsClosed(fs, files, 'E_NOT_REGISTRY', 'refusing to delete every blob');
  });

  it('repositories/ without blobs/ (half a registry: a volume not mounted)', async () => {
    const { fs, tree, files } = sampleTree();
    const blobs = tree.pathOf({ kind: 'blobsRoot' });
    fs.renameSync(blobs, `${blobs}.unmounted`);
    await expectFailsClosed(fs, files, 'E_NOT_REGISTRY', `${blobs} holds no blob, but there are 2 repositories`);
  });

  it('repositories/ with an empty blobs/ (the bare mount point of a volume not mounted)', async () => {
    const { fs, tree, files } = sampleTree();
    const blobs = tree.pathOf({ kind: 'blobsRoot' });
    fs.renameSync(blobs, `${blobs}.unmounted`);
    fs.mkdirSync(blobs, { recursive: true });
    await expectFailsClosed(fs, files, 'E_NOT_REGISTRY', 'refusing to delete every layer link');
  });

  it('the deletion module alone refuses to delete through a symlinked directory', async () => {
    const { fs, tree, sample } = sampleTree();
    const { Vacuum } = await import('../../src/storage/vacuum.js');
    const revisions = tree.pathOf({ kind: 'revisionsRoot', name: 'team/app' });
    fs.renameSync(revisions, '/elsewhere');
    fs.symlinkSync('/elsewhere', revisions);
    const vacuum = new Vacuum(fs, tree.v2);
    expect(() => vacuum.remove({ kind: 'revision', repository: 'team/app', digest: sample.untagged.digest })).toThrow(
      /refusing to delete through a symbolic link/,
    );
    expect(fs.readdirSync('/elsewhere/sha256', { withFileTypes: true })).toHaveLength(4);
  });

  it('a directory the mark phase cannot read', async () => {
    const { fs, tree, files } = sampleTree();
    const denied = tree.pathOf({ kind: 'revisionsAlgorithm', name: 'team/app', algorithm: 'sha256' });
    const guarded = new Proxy(fs, {
      get(target, prop, receiver) {
        if (prop === 'readdirSync') {
          return (p: string, o: { withFileTypes: true }) => {
            if (p === denied) throw Object.assign(new Error(`EACCES: permission denied, scandir '${p}'`), { code: 'EACCES' });
            return target.readdirSync(p, o);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await expectFailsClosed(guarded, files, 'E_UNREADABLE', `${denied}: permission denied`);
  });
});

describe('tolerated damage, as the reference tolerates it', () => {
  it('a revision whose blob data is missing is skipped with a warning', async () => {
    const { fs, tree, sample } = sampleTree();
    const ghost = 'sha256:' + 'ab'.repeat(32);
    tree.write({ kind: 'revisionLink', name: 'team/web', digest: ghost as Digest }, ghost);
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true });
    expect(result.warnings.map((w: { message: string }) => w.message).join('\n')).toContain(`revision ${ghost} has no blob data`);
    expect(listDeletions(result).blobsDeleted).toContain(sample.orphan);
    expect(
      fs.readdirSync(tree.pathOf({ kind: 'revisionsAlgorithm', name: 'team/web', algorithm: 'sha256' }), { withFileTypes: true }).map((e) => e.name),
    ).toContain('ab'.repeat(32));
  });

  it('a tag directory without current is reported and does not keep anything', async () => {
    const { fs, tree, sample } = sampleTree();
    fs.mkdirSync(tree.pathOf({ kind: 'tagIndexAlgorithm', name: 'team/app', tag: 'half', algorithm: 'sha256' }), { recursive: true });
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true });
    expect(result.warnings.map((w: { message: string }) => w.message).join('\n')).toContain('tag half has no current link');
    expect(listDeletions(result).manifestsDeleted).toEqual([{ repository: 'team/app', digest: sample.untagged.digest }]);
  });

  it('a revision directory left without its link by an interrupted delete', async () => {
    const { fs, tree, sample } = sampleTree();
    fs.unlinkSync(tree.pathOf({ kind: 'revisionLink', name: 'team/app', digest: sample.untagged.digest }));
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true });
    expect(result.warnings.map((w: { message: string }) => w.message).join('\n')).toContain(`revision ${sample.untagged.digest} has no link file`);
    expect(listDeletions(result).blobsDeleted).toContain(sample.untagged.digest);
  });
});

describe('--skip-repo: a damaged repository the admin chose to skip', () => {
  it('the run goes on, keeps every digest the skipped repository links, and deletes nothing in it', async () => {
    const { fs, tree, files, sample } = sampleTree();
    tree.write({ kind: 'revisionLink', name: 'team/app', digest: sample.amd.digest }, 'garbage');
    const appFiles = () => files().filter((f) => f.includes('repositories/team/app/'));
    const before = appFiles();
    const refused = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true }).then(
      () => 'ran',
      (e: unknown) => (e instanceof JanitorError ? e.code : e),
    );
    expect(refused).toBe('E_BAD_LINK');
    const result = await runGc(fs, ROOT, { dryRun: false, deleteUntagged: true, skipRepository: (n) => n === 'team/app' });
    expect(result.skipped).toEqual(['team/app']);
    expect(appFiles()).toEqual(before);
    // Everything team/app links survives: its untagged image too (nothing of it is read).
    for (const digest of [
      sample.index.digest,
      sample.amd.digest,
      sample.arm.digest,
      sample.untagged.digest,
      ...sample.amd.layers.map((l) => l.digest),
      sample.untagged.config.digest,
    ]) {
      expect(
        fs.readdirSync(tree.pathOf({ kind: 'blobShard', algorithm: 'sha256', prefix: digest.slice(7, 9) }), { withFileTypes: true }).map((e) => e.name),
      ).toContain(digest.slice(7));
    }
    // The rest of the registry is still swept.
    expect(listDeletions(result).blobsDeleted).toEqual([sample.orphan]);
  });

  it('a skipped repository with an invalid name is skipped, not refused', async () => {
    const { fs, tree } = sampleTree();
    tree.pushImage('Team/Upper', { layers: ['x'] });
    const result = await runGc(fs, ROOT, { dryRun: true, deleteUntagged: false, skipRepository: (n) => n === 'Team/Upper' });
    expect(result.skipped).toEqual(['Team/Upper']);
  });

  it('prune refuses a named tag in a skipped repository', async () => {
    const { fs, files } = sampleTree();
    const before = files();
    const { code, stderr } = await runCliOn(fs, ['prune', '--root', ROOT, '--skip-repo', 'team/*', 'team/app:latest']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/tag team\/app:latest is in a repository skipped by --skip-repo/);
    expect(files()).toEqual(before);
  });
});
